"""N-gram language models (Chapter 2): MLE, add-k (Laplace), linear interpolation, modified Kneser–Ney.

Every model is fitted on the counts of :mod:`n2t.counting` (:class:`n2t.counting.NGramCounts`), with its
conventions: each line is one sequence (a paragraph, a heading or blank, not a sentence) whose context is padded
with ``<bos>``, and every token of the line and one ``<eos>`` are predicted. The mixture weights of interpolation are fitted on held-out text by expectation–
maximisation (:func:`em_weights`), the one EM of the book.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from n2t.counting import NGramCounts, check_order, encode_lines, find_keys
from n2t.metrics import perplexity as _perplexity
from n2t.text import BOS, EOS, UNK, Vocab

SMOOTHINGS = ("mle", "add_k", "interpolation", "kneser_ney")


def _discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """Chen & Goodman's modified Kneser–Ney discounts ``D1, D2, D3+`` from the count-of-counts ``n1 … n4``.

    ``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 − 2Y n2/n1``, ``D2 = 2 − 3Y n3/n2``, ``D3+ = 3 − 4Y n4/n3``. A ratio with a
    zero denominator counts as 0, and ``Dj`` is clipped to ``[0, j]`` (KenLM raises instead). That happens beyond
    tiny corpora: WikiText-2's closed vocabulary has no word seen once or twice, so its raw unigram counts give
    n1 = n2 = 0, Y = 0 and the largest discounts (0, 2, 3), and the order-1 Kneser–Ney model equals the MLE.
    """
    n1, n2, n3, n4 = (int(np.count_nonzero(counts == j)) for j in (1, 2, 3, 4))

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else 0.0

    y = ratio(n1, n1 + 2 * n2)
    d1 = 1 - 2 * y * ratio(n2, n1) if n1 > 0 else 0.0
    d2 = 2 - 3 * y * ratio(n3, n2)
    d3 = 3 - 4 * y * ratio(n4, n3)
    return float(np.clip(d1, 0, 1)), float(np.clip(d2, 0, 2)), float(np.clip(d3, 0, 3))


# ------------------------------------------------------------------------------------------ mixtures


def em_weights(logp: np.ndarray, max_iter: int = 500, tol: float = 1e-10) -> np.ndarray:
    """The weights λ ``(k,)`` of a mixture Σ_m λ_m p_m of ``k`` models that best fit held-out text, by EM.

    ``logp`` ``(tokens, k)`` holds ln p_m of each held-out token under each model. Each step credits every
    model with its share of each token's mixed probability and averages the shares into the new weights
    (expectation–maximisation), which never lowers the held-out likelihood; it stops when the mean ln p gains
    less than ``tol``. Computed in log space, so probabilities far below float64's range cannot underflow. The
    book fits every mixture weight with it: the orders of an interpolated n-gram model here, and a neural LM
    with Kneser–Ney in :func:`n2t.lm.mixture_weight`.
    """
    logp = np.asarray(logp, dtype=np.float64)
    if logp.ndim != 2 or logp.shape[0] < 1 or logp.shape[1] < 1:
        raise ValueError(f"logp must be (tokens, models) with at least one of each; got shape {logp.shape}")
    if np.isnan(logp).any() or (logp > 1e-9).any() or np.isneginf(logp).all(axis=1).any():
        raise ValueError("logp must hold log-probabilities (<= 0, no NaN), and some model must give each token p > 0")
    weights = np.full(logp.shape[1], 1.0 / logp.shape[1])
    previous = -np.inf
    for _ in range(max_iter):
        # excerpt begins em
        with np.errstate(divide="ignore"):
            joint = logp + np.log(weights)  # ln λ_m p_m(token)
        mixed = np.logaddexp.reduce(joint, axis=1)  # ln Σ_m λ_m p_m(token)
        loglik = float(mixed.mean())
        weights = np.exp(joint - mixed[:, None]).mean(axis=0)  # shares, averaged
        # excerpt ends
        if loglik - previous < tol:
            break
        previous = loglik
    return weights / weights.sum()


# --------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Evaluation:
    """The score of a model on a corpus: summed negative log-likelihood (nats), predicted tokens, perplexity."""

    nll: float
    tokens: int

    @property
    def perplexity(self) -> float:
        """exp(nll / tokens); infinite when some token got probability 0."""
        return _perplexity(self.nll, self.tokens)

    @property
    def cross_entropy(self) -> float:
        """Bits per token: log2 of the perplexity."""
        return self.nll / self.tokens / math.log(2)


@dataclass
class _Level:
    """One order m of a fitted model: p_m(w | h) = a(h, w) + gamma(h) · p_{m-1}(w | h') for a seen context h."""

    keys: np.ndarray  # sorted n-gram keys: context node · |V| + word
    a: np.ndarray  # the discounted (or plain) relative frequency of each n-gram
    gamma: np.ndarray  # per context node: the weight of the lower order


class NGramLM:
    """An n-gram language model of ``order`` with one smoothing method.

    - ``"mle"``: relative frequencies C(h w) / C(h); an unseen context uses its longest seen suffix, and an
      unseen n-gram after a seen context gets probability 0.
    - ``"add_k"``: (C(h w) + k) / (C(h) + k|V|); ``k = 1`` (the default) is add-one (Laplace) smoothing.
    - ``"interpolation"``: λ_0/|V| + Σ_m λ_m p_mle,m(w | h), the weights given as ``lambdas`` or tuned by EM on
      held-out lines.
    - ``"kneser_ney"``: interpolated modified Kneser–Ney (Chen & Goodman 1998) with KenLM's estimator: three
      discounts per order from the count-of-counts, continuation counts at the lower orders (raw counts for
      n-grams that begin with ``<bos>``, which nothing precedes), the uniform distribution below the unigrams.
      KenLM starts a line with one ``<s>``; here a context that begins with ``<bos> <bos>`` is the same line
      start as its suffix, so its level passes the lower order through and is left out of the discounts. Unlike
      KenLM's ``lmplz``, ``<unk>`` may be an ordinary word of the text, and a discount that cannot be estimated
      is clipped instead of raising (:func:`_discounts`).

    ``k`` belongs to ``"add_k"`` and ``lambdas`` to ``"interpolation"``; any other method rejects them.
    """

    def __init__(
        self, order: int, smoothing: str = "kneser_ney", k: float | None = None,
        lambdas: Sequence[float] | None = None,
    ) -> None:
        order = check_order(order)
        if smoothing not in (*SMOOTHINGS, "uniform") or (smoothing == "uniform" and type(self) is NGramLM):
            raise ValueError(f"smoothing must be one of {', '.join(map(repr, SMOOTHINGS))}; got {smoothing!r}")
        if k is not None and smoothing != "add_k":
            raise ValueError(f"k is the pseudo-count of add-k smoothing; smoothing {smoothing!r} does not use it")
        if lambdas is not None and smoothing != "interpolation":
            raise ValueError(
                f"lambdas are the weights of interpolation; smoothing {smoothing!r} does not use them"
            )
        if smoothing == "add_k":
            k = 1.0 if k is None else k
            if isinstance(k, bool) or not (isinstance(k, int | float) and k > 0 and math.isfinite(k)):
                raise ValueError(f"k must be a positive number for add-k smoothing; got {k!r}")
            k = float(k)
        if lambdas is not None:
            lam = np.asarray(lambdas, dtype=np.float64)
            if lam.shape != (order + 1,) or (lam < 0).any() or not math.isclose(lam.sum(), 1.0, abs_tol=1e-9):
                raise ValueError(
                    f"lambdas must be {order + 1} non-negative weights (uniform, unigram, …, {order}-gram) "
                    f"summing to 1; got {list(lambdas)}"
                )
            lambdas = lam
        self.order, self.smoothing, self.k = order, smoothing, k
        self.lambdas: np.ndarray | None = lambdas
        self._tuned = lambdas is None  # interpolation weights come from held-out lines
        self.discounts: dict[int, tuple[float, float, float]] = {}
        self.counts: NGramCounts | None = None
        self._levels: list[_Level | None] = []

    def __repr__(self) -> str:
        state = f"vocab_size={self.vocab_size}" if self.counts is not None else "unfitted"
        return f"NGramLM(order={self.order}, smoothing={self.smoothing!r}, {state})"

    # ------------------------------------------------------------------------------------------ fitting

    def fit(
        self, lines: Sequence[Sequence[str]] | NGramCounts, vocab: Vocab | Iterable[str] | None = None,
        heldout: Sequence[Sequence[str]] | None = None,
    ) -> NGramLM:
        """Count the n-grams of ``lines`` (or reuse :class:`NGramCounts` of order ≥ ``order``) and estimate.

        ``vocab`` gives the predicted types (default: the training tokens, ``<unk>`` and ``<eos>``).
        ``heldout`` lines tune the weights of interpolation (and only those) when no ``lambdas`` were given.
        """
        if heldout is not None and not (self.smoothing == "interpolation" and self._tuned):
            raise ValueError(
                "heldout lines only tune interpolation weights; "
                + ("lambdas were given" if self.smoothing == "interpolation" else f"{self.smoothing!r} has none")
            )
        if self.smoothing == "interpolation" and self._tuned and heldout is None:
            raise ValueError("interpolation needs heldout lines to tune its weights (or lambdas=...)")
        if isinstance(lines, NGramCounts):
            if lines.order < self.order:
                raise ValueError(f"counts of order {lines.order} cannot fit a model of order {self.order}")
            if vocab is not None:
                raise ValueError("vocab is fixed by the counts; pass vocab=None with NGramCounts")
            counts = lines
        else:
            counts = NGramCounts(lines, self.order, vocab)
        self.counts = counts
        self._levels = [None] * self.order
        self._estimate()
        if heldout is not None:
            self.lambdas = self._tune_lambdas(heldout)
        return self

    def _estimate(self) -> None:
        """Fill ``_levels`` from ``counts`` with this model's smoothing method."""
        estimators = {
            "mle": self._fit_mle,
            "interpolation": self._fit_mle,
            "add_k": self._fit_add_k,
            "kneser_ney": self._fit_kneser_ney,
            "uniform": lambda: None,  # no level: every probability is 1/|V|
        }
        estimators[self.smoothing]()

    def _context_of(self, m: int) -> tuple[np.ndarray, int]:
        """The context node of every n-gram of order ``m`` and the number of context nodes of depth m - 1."""
        counts = self.counts
        return counts.gram_keys[m - 1] // counts.vocab_size, len(counts.ctx_keys[m - 1])

    def _fit_mle(self) -> None:
        for m in range(1, self.order + 1):
            ctx, n_nodes = self._context_of(m)
            c = self.counts.gram_counts[m - 1].astype(np.float64)
            total = np.bincount(ctx, weights=c, minlength=n_nodes)
            self._levels[m - 1] = _Level(self.counts.gram_keys[m - 1], c / total[ctx], np.zeros(n_nodes))

    def _fit_add_k(self) -> None:
        m, V = self.order, self.vocab_size
        ctx, n_nodes = self._context_of(m)
        c = self.counts.gram_counts[m - 1].astype(np.float64)
        denominator = np.bincount(ctx, weights=c, minlength=n_nodes) + self.k * V
        self._levels[m - 1] = _Level(self.counts.gram_keys[m - 1], c / denominator[ctx], self.k * V / denominator)

    def kneser_ney_counts(self, m: int) -> np.ndarray:
        """The count that Kneser–Ney discounts, per n-gram of order m."""
        counts, V = self._fitted(), self._check_level(m)
        raw = counts.gram_counts[m - 1]
        if m == self.order:
            return raw  # the highest order: C(h w)
        continuation = counts.continuation_counts(m)  # N1+(• h w)
        # nothing precedes <bos>: n-grams that begin with it keep raw counts
        context = counts.gram_keys[m - 1] // V  # each n-gram's context node
        begins_with_bos = counts.leading_bos(m - 1)[context] > 0
        return np.where(begins_with_bos, raw, continuation)

    def _check_level(self, m: int) -> int:
        """|V|, once ``m`` is checked to be an order of this model."""
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or not 1 <= m <= self.order:
            raise ValueError(f"m must be an order of this model, 1 … {self.order}; got {m!r}")
        return self.vocab_size

    def _fit_kneser_ney(self) -> None:
        self.discounts = {}
        for m in range(1, self.order + 1):
            ctx, n_nodes = self._context_of(m)  # each n-gram's context h
            c = self.kneser_ney_counts(m)
            # h = <bos> <bos> ...: the line start h' again (KenLM: one <s>)
            padding = self.counts.leading_bos(m - 1) >= 2
            d1, d2, d3 = self.discounts[m] = _discounts(c[~padding[ctx]])
            discount = np.where(c == 1, d1, np.where(c == 2, d2, d3))
            # per context h: sum of c(h w), and sum of the discounts given
            total = np.bincount(ctx, c.astype(np.float64), n_nodes)
            mass = np.bincount(ctx, discount, n_nodes)
            a = np.where(padding[ctx], 0.0, (c - discount) / total[ctx])
            gamma = np.where(padding, 1.0, mass / total)  # padding: p_m-1
            keys = self.counts.gram_keys[m - 1]
            self._levels[m - 1] = _Level(keys, a, gamma)

    def _tune_lambdas(self, heldout: Sequence[Sequence[str]]) -> np.ndarray:
        """The weights of (uniform, p_1, …, p_N) that fit the held-out text best (by EM)."""
        enc = encode_lines(heldout, self.counts.stoi, self.order - 1, "heldout")
        # q[t, m]: p_m(w_t | context) of held-out token t, order m = 0 … N
        q = self._probabilities(enc.token_at, enc.token_at(0), stack=True)
        with np.errstate(divide="ignore"):
            return em_weights(np.log(q))

    def parameter_count(self) -> int:
        """The numbers the fitted model stores, as an ARPA file would: a probability per n-gram seen and, where
        the model interpolates, a weight γ(h) per context seen (a context of line-start padding stores none: it
        passes the lower order through), plus interpolation's weights λ."""
        counts = self._fitted()
        levels = [(m, level) for m, level in enumerate(self._levels, start=1) if level is not None]
        stored = sum(len(level.keys) for _, level in levels)
        if self.smoothing in ("kneser_ney", "add_k"):  # γ per context of depth m - 1
            stored += sum(int((counts.leading_bos(m - 1) < 2).sum()) for m, _ in levels)
        return stored + (len(self.lambdas) if self.smoothing == "interpolation" else 0)

    # ----------------------------------------------------------------------------------------- scoring

    @property
    def vocab(self) -> list[str]:
        """The predicted types, in id order."""
        return self._fitted().itos

    @property
    def vocab_size(self) -> int:
        """|V|: the number of predicted types (``<bos>`` excluded)."""
        return self._fitted().vocab_size

    def _fitted(self) -> NGramCounts:
        if self.counts is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call .fit(lines) first")
        return self.counts

    def _probabilities(
        self, token_at: Callable[[int], np.ndarray], words: np.ndarray, stack: bool = False
    ) -> np.ndarray:
        """p(word | context) for contexts read through ``token_at(k)`` (k steps back) — shape of ``words``.

        With ``stack=True``: the columns (uniform, p_1, …, p_N) of the per-order probabilities, last axis.
        """
        counts, V = self.counts, self.vocab_size
        nodes = counts._nodes(token_at, self.order - 1)
        p = np.full(np.broadcast_shapes(np.shape(words), nodes[-1][0].shape), 1.0 / V)
        columns = [p]
        for m, level in enumerate(self._levels, start=1):
            if level is None:
                continue
            node, found = nodes[m - 1]
            idx, hit = find_keys(level.keys, node * V + words)
            a = np.where(found & hit, level.a[idx], 0.0)
            p = np.where(found, a + level.gamma[node] * p, p)
            columns.append(p)
        if stack:
            return np.stack(columns, axis=-1)
        if self.smoothing == "interpolation":
            return np.stack(columns, axis=-1) @ self.lambdas
        return p

    def _context_ids(self, context: Sequence[str]) -> np.ndarray:
        if isinstance(context, str):
            raise TypeError("context must be a sequence of tokens such as ['I', 'like'], not a string")
        if any(not isinstance(t, str) for t in context):
            raise TypeError(f"context must hold token strings such as ['I', 'like']; got {list(context)!r}")
        if len(context) > self.order - 1:
            raise ValueError(
                f"context has {len(context)} tokens but a model of order {self.order} uses at most "
                f"{self.order - 1}; pass context[-{self.order - 1}:]"
                if self.order > 1
                else f"context has {len(context)} tokens but a model of order 1 uses none; pass []"
            )
        ids = self.counts._ids(context)
        ids = [self.counts.bos_id] * (self.order - 1 - len(ids)) + ids
        return np.array(ids[::-1], dtype=np.int64)  # [k-1]: the token k steps back

    def next_token_distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """p(· | context) over the vocabulary, float64 ``(|V|,)``; a short context starts a line (``<bos>``)."""
        self._fitted()
        ctx = self._context_ids(context)
        return self._probabilities(lambda k: ctx[k - 1 : k], np.arange(self.vocab_size))

    def logprob(self, word: str, context: Sequence[str] = ()) -> float:
        """ln p(word | context); a context shorter than order − 1 is the start of a line (padded with ``<bos>``)."""
        counts = self._fitted()
        if word == BOS:
            raise ValueError(f"{BOS} is never predicted; it only pads the context at the start of a line")
        if not isinstance(word, str):
            raise TypeError(f"word must be a token string; got {type(word).__name__}")
        ctx = self._context_ids(context)
        w = np.array([counts.stoi.get(word, counts.stoi[UNK])])
        with np.errstate(divide="ignore"):
            return float(np.log(self._probabilities(lambda k: ctx[k - 1 : k], w)[0]))

    def token_logprobs(self, lines: Sequence[Sequence[str]]) -> np.ndarray:
        """ln p of every predicted token (every word and one ``<eos>`` per line), float64 ``(tokens,)``."""
        counts = self._fitted()
        enc = encode_lines(lines, counts.stoi, self.order - 1, "lines")
        with np.errstate(divide="ignore"):
            return np.log(self._probabilities(enc.token_at, enc.token_at(0)))

    def evaluate(self, lines: Sequence[Sequence[str]]) -> Evaluation:
        """Summed negative log-likelihood, number of predicted tokens and perplexity on ``lines``."""
        logp = self.token_logprobs(lines)
        return Evaluation(nll=float(-logp.sum()), tokens=len(logp))

    def perplexity(self, lines: Sequence[Sequence[str]]) -> float:
        """PPL on ``lines``: exp of the mean negative log-probability of every predicted token (∞ after a 0)."""
        return self.evaluate(lines).perplexity

    def generate(
        self, max_words: int = 40, temperature: float = 1.0, seed: int = 0, context: Sequence[str] = (),
    ) -> list[str]:
        """Sample up to ``max_words`` tokens after ``context`` (the start of a line), stopping at ``<eos>``.

        Only the last ``order - 1`` tokens of the history condition each draw. The distribution is sharpened
        (temperature < 1) or flattened (> 1) as p^(1/temperature), renormalised.
        """
        counts = self._fitted()
        if max_words < 1:
            raise ValueError(f"max_words must be at least 1; got {max_words}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive; got {temperature}")
        if isinstance(context, str):
            raise TypeError("context must be a sequence of tokens such as ['The'], not a string")
        rng = np.random.default_rng(seed)
        history = list(context)
        out: list[str] = []
        for _ in range(max_words):
            window = history[-(self.order - 1) :] if self.order > 1 else []
            p = self.next_token_distribution(window)
            with np.errstate(divide="ignore"):
                logits = np.log(p) / temperature
            p = np.exp(logits - logits.max())
            word = counts.itos[int(rng.choice(len(p), p=p / p.sum()))]
            if word == EOS:
                break
            out.append(word)
            history.append(word)
        return out


class UniformLM(NGramLM):
    """The baseline that knows only the vocabulary: p(w | h) = 1/|V| for every w and h, so its PPL is |V|.

    It is the bottom of every smoothed model's hierarchy, fitted and scored like an :class:`NGramLM`.
    """

    def __init__(self) -> None:
        super().__init__(order=1, smoothing="uniform")

    def __repr__(self) -> str:
        state = f"vocab_size={self.vocab_size}" if self.counts is not None else "unfitted"
        return f"UniformLM({state})"
