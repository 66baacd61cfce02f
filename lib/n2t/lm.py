"""The language-model harness: one yardstick for every language model of the book.

Every language model (n-gram, feed-forward NNLM, LSTM, biLM, GPT-style) is trained and scored here the same way,
so that their perplexities can sit in one table.

**Vocabulary.** The 33,278 WikiText-2 types: every type of the training split plus ``<unk>`` and ``<eos>``, most
frequent first (:func:`wikitext2_vocab`). No ``<pad>`` or ``<bos>`` is ever predicted.

**Scoring.** Test perplexity is computed over exactly the 245,569 WikiText-2 test tokens (:data:`TEST_TOKENS`):
each line's words, then one ``<eos>``. Two context conventions give the same tokens in the same order:

- n-grams (:data:`NGRAM_CONTEXT`): each line is one sequence whose context is padded with ``<bos>``;
- neural models (:data:`RUNNING_TEXT`): the split is one running text, ``<eos>`` between lines; token ``t`` is
  predicted from the tokens before it (the stream starts as if after an ``<eos>``). A model never sees the token
  it predicts.

Because the tokens agree one for one, two models' per-token probabilities can be mixed (:func:`mix`).

**The model interface.** A neural language model is a *body* and a shared *head*. The body is any
``nn.Module`` with an attribute ``dim`` and

    ``forward(ids (batch, time), state) -> (hidden (batch, time, dim), state)``

where ``hidden[:, t]`` depends only on ``ids[:, :t + 1]`` and on ``state``, what the body carried over from the
tokens before this window (``None`` at the start of a stream). A feed-forward NNLM carries its last ``n - 2``
input ids; an LSTM carries ``(h, c)``; a Transformer carries its cached keys and values or the last tokens of
its window. A body may set ``context_size`` (how many tokens it reads; ``None``: all of them) and, when a
sliding window reads a varying number, ``context_range`` (the fewest and the most). The
:class:`Head` turns hidden vectors into log-probabilities over the vocabulary: an adaptive softmax
(``nn.AdaptiveLogSoftmaxWithLoss``, Grave et al. 2017; exact and normalised) by default, or the full softmax.
:class:`NeuralLM` joins the two; :func:`train_lm` trains it for a fixed number of tokens (through the book's one
streamed loop, :func:`n2t.train.train_stream`) and :func:`score` returns ln p of every token of a stream.

**Mixtures.** Two models' per-token probabilities mix as λ p_a + (1 − λ) p_b, with λ fitted on validation by
the expectation–maximisation of Chapter 2's interpolation (:func:`n2t.ngram.em_weights`). The counting baselines
that they are mixed with are the zoo artefact ``"ngram-wikitext2"``, fitted and scored here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from n2t import metrics, zoo
from n2t.clock import Clock
from n2t.counting import vocabulary
from n2t.data import wikitext2_lines, wikitext2_tokens
from n2t.ngram import NGramLM, UniformLM, em_weights
from n2t.profile import Settings
from n2t.progress import progress
from n2t.text import LMStream, Vocab
from n2t.train import (
    TrainLog,
    count_parameters,
    model_device,
    records_arguments,
    seed_everything,
    train_stream,
)

TEST_TOKENS = 245_569
VOCAB_SIZE = 33_278
DEFAULT_CUTOFFS = (2_000, 10_000)
START_ID = 1  # the id of <eos> in wikitext2_vocab(): a text is read as if it started after a line end
RUNNING_TEXT = "running text: each line's words then <eos>; token t is predicted from the tokens before it"
NGRAM_CONTEXT = "lines: each line's words then <eos>; the context is padded with <bos> at each line start"

# ------------------------------------------------------------------------------------------ the data


@cache
def _wikitext2_vocab() -> Vocab:
    return vocabulary(wikitext2_lines("train"))  # Chapter 2's: the training types, <unk> and <eos>


def wikitext2_vocab() -> Vocab:
    """The 33,278 predicted WikiText-2 types: the training types plus ``<unk>`` and ``<eos>``, most frequent first."""
    vocab = _wikitext2_vocab()
    if len(vocab) != VOCAB_SIZE or vocab.eos_id != START_ID:
        raise ValueError(
            f"the WikiText-2 vocabulary has {len(vocab)} types and <eos> at id {vocab.eos_id}; expected "
            f"{VOCAB_SIZE} and {START_ID}: the train split is not the standard one"
        )
    return vocab


def encode_stream(tokens: Sequence[str], vocab: Vocab) -> torch.Tensor:
    """Token strings → a ``(tokens,)`` id tensor; a token outside ``vocab`` is a ``KeyError`` naming it.

    WikiText-2 has a closed vocabulary, so an unknown token means the wrong vocabulary, not a rare word.
    """
    if isinstance(tokens, str):
        raise TypeError("tokens must be a sequence of token strings, not a string; split the text first")
    if len(tokens) == 0:
        raise ValueError("the token stream is empty; need at least one token to score or train on")
    unknown = [t for t in set(tokens) if t not in vocab.stoi]
    if unknown:
        raise KeyError(f"{len(unknown)} token type(s) are not in the vocabulary, e.g. {sorted(unknown)[:5]}")
    return torch.tensor(vocab.encode(tokens), dtype=torch.long)


def wikitext2_ids(split: str, max_lines: int | None = None) -> torch.Tensor:
    """WikiText-2 ``split`` as one id stream ``(tokens,)`` over :func:`wikitext2_vocab`."""
    return encode_stream(wikitext2_tokens(split, max_lines), wikitext2_vocab())


def wikitext2_splits(
    train_lines: int | None = None, valid_lines: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The train, valid and test id streams of an LM recipe: the first two sliced, the test split whole."""
    return (wikitext2_ids("train", train_lines), wikitext2_ids("valid", valid_lines), wikitext2_ids("test"))


# ------------------------------------------------------------------------------------------ the head


class Head(nn.Module):
    """The output layer: hidden vectors ``(n, dim)`` → log-probabilities over ``vocab_size`` types.

    ``adaptive=True``: ``nn.AdaptiveLogSoftmaxWithLoss`` with ``cutoffs`` (ids must be ordered by frequency);
    ``adaptive=False``: the full softmax, ``log_softmax(W h + b)``. Both give exact, normalised distributions.
    """

    def __init__(
        self, dim: int, vocab_size: int, adaptive: bool = True, cutoffs: Sequence[int] | None = None,
        div_value: float = 4.0,
    ) -> None:
        super().__init__()
        if dim < 1 or vocab_size < 2:
            raise ValueError(f"need dim >= 1 and vocab_size >= 2; got dim={dim}, vocab_size={vocab_size}")
        self.dim, self.vocab_size, self.adaptive = dim, vocab_size, adaptive
        if adaptive:
            if cutoffs is None:
                cutoffs = [c for c in DEFAULT_CUTOFFS if c < vocab_size]
            cutoffs = list(cutoffs)
            if (not cutoffs or cutoffs != sorted(set(cutoffs)) or cutoffs[0] < 1 or cutoffs[-1] >= vocab_size):
                raise ValueError(
                    f"cutoffs must be increasing ids between 1 and vocab_size - 1 ({vocab_size - 1}); got "
                    f"{cutoffs} (for a tiny vocabulary use adaptive=False)"
                )
            if dim // div_value ** len(cutoffs) < 1:
                raise ValueError(
                    f"dim ({dim}) is too small for {len(cutoffs)} tail clusters: the last would have width "
                    f"dim // div_value**{len(cutoffs)} = 0; use fewer cutoffs or a larger dim"
                )
            self.cutoffs = tuple(cutoffs)
            self.softmax = nn.AdaptiveLogSoftmaxWithLoss(dim, vocab_size, cutoffs, div_value=div_value)
        else:
            self.cutoffs = ()
            self.linear = nn.Linear(dim, vocab_size)

    def target_logprob(
        self, hidden: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """ln p(target | hidden) for hidden ``(n, dim)`` and targets ``(n,)`` → ``(n,)``."""
        if self.adaptive:
            return self.softmax(hidden, targets).output
        return -F.cross_entropy(self.linear(hidden), targets, reduction="none")

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """The whole distribution: ln p(· | hidden) ``(n, vocab_size)``."""
        if self.adaptive:
            return self.softmax.log_prob(hidden)
        return F.log_softmax(self.linear(hidden), dim=-1)


# ------------------------------------------------------------------------------------------ the model


def detach_state(state: Any) -> Any:
    """``state`` with every tensor in it detached (truncated back-propagation between windows)."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


class NeuralLM(nn.Module):
    """A body (see the module docstring) and a :class:`Head` over ``vocab_size`` types."""

    @records_arguments
    def __init__(
        self, body: nn.Module, vocab_size: int, adaptive: bool = True, cutoffs: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(getattr(body, "dim", None), int):
            raise TypeError(
                "body must be an nn.Module with an integer attribute dim (the width of its hidden vectors)"
            )
        self.body = body
        self.head = Head(body.dim, vocab_size, adaptive, cutoffs)

    @property
    def vocab_size(self) -> int:
        """|V|: how many types the head predicts."""
        return self.head.vocab_size

    @property
    def context_size(self) -> int | None:
        """How many previous tokens the body reads (``None``: all of them)."""
        return getattr(self.body, "context_size", None)

    @property
    def context_range(self) -> tuple[int, int] | None:
        """The fewest and the most previous tokens the body reads before a token past the text's first window
        (``None``: all of them): the body's ``context_range`` (a sliding window), else its ``context_size``."""
        window = getattr(self.body, "context_range", None)
        if window is not None:
            return (int(window[0]), int(window[1]))
        size = self.context_size
        return None if size is None else (size, size)

    def forward(
        self, ids: torch.Tensor, targets: torch.Tensor, state: Any = None
    ) -> tuple[torch.Tensor, Any]:
        """ln p(targets | ids so far) ``(batch, time)`` and the body's new state; ``ids``/``targets`` ``(batch, time)``."""
        if ids.dim() != 2 or ids.shape != targets.shape:
            raise ValueError(
                f"ids and targets must both have shape (batch, time); got {tuple(ids.shape)} and {tuple(targets.shape)}"
            )
        hidden, state = self.body(ids, state)
        logp = self.head.target_logprob(hidden.reshape(-1, hidden.shape[-1]), targets.reshape(-1))
        return logp.view(ids.shape), state

    def next_token_logprobs(
        self, ids: torch.Tensor, state: Any = None
    ) -> tuple[torch.Tensor, Any]:
        """ln p(· | ids[:, :t + 1]) for every position: ``(batch, time, vocab_size)``, and the new state."""
        hidden, state = self.body(ids, state)
        logp = self.head.log_prob(hidden.reshape(-1, hidden.shape[-1]))
        return logp.view(*ids.shape, -1), state


# ---------------------------------------------------------------------------------------- scoring


def _check_stream(
    ids: torch.Tensor | Sequence[int], name: str, vocab_size: int
) -> torch.Tensor:
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() != 1:
        raise ValueError(f"{name} must be a one-dimensional id stream (tokens,); got shape {tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError(f"{name} is empty; need at least one token")
    if int(ids.min()) < 0 or int(ids.max()) >= vocab_size:
        raise ValueError(f"{name} holds ids outside [0, {vocab_size}); encode it with the model's vocabulary")
    return ids


def score(
    model: NeuralLM, ids: torch.Tensor | Sequence[int], seq_len: int = 1024, start_id: int | None = None,
    desc: str | None = None,
) -> torch.Tensor:
    """ln p of every token of the running text ``ids`` ``(tokens,)`` → float64 ``(tokens,)``.

    The text is read as one row, ``seq_len`` tokens at a time, carrying the body's state, so token ``t`` is
    predicted from all the tokens before it; the first token is predicted after ``start_id`` (default
    :data:`START_ID`, the id of ``<eos>`` in :func:`wikitext2_vocab`: the text starts after a line end).
    """
    ids = _check_stream(ids, "ids", model.vocab_size)
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1; got {seq_len}")
    start_id = START_ID if start_id is None else start_id
    if not 0 <= start_id < model.vocab_size:
        raise ValueError(f"start_id must be an id in [0, {model.vocab_size}); got {start_id}")
    dev = model_device(model)
    inputs = torch.cat([torch.tensor([start_id]), ids[:-1]]).to(dev)
    targets = ids.to(dev)
    was_training = model.training
    model.eval()
    out, state = [], None
    starts = range(0, len(ids), seq_len)
    with torch.no_grad():
        # excerpt begins score
        for start in starts if desc is None else progress(starts, desc=desc):
            window = slice(start, start + seq_len)
            logp, state = model(inputs[None, window], targets[None, window], state)
            out.append(logp[0].double().cpu())
        # excerpt ends
    model.train(was_training)
    return torch.cat(out)


def perplexity(logprobs: torch.Tensor | Sequence[float]) -> float:
    """exp of the mean negative ln p of the tokens (:func:`n2t.metrics.perplexity` of their sum)."""
    logprobs = torch.as_tensor(logprobs, dtype=torch.float64)
    if logprobs.numel() == 0:
        raise ValueError("logprobs is empty; need at least one token")
    if (logprobs > 1e-9).any():
        raise ValueError("logprobs must be log-probabilities (<= 0); were probabilities passed?")
    return metrics.perplexity(-float(logprobs.sum()), logprobs.numel())


def ngram_logprobs(
    model: Any, split: str, max_lines: int | None = None
) -> torch.Tensor:
    """ln p of every token of WikiText-2 ``split`` under a fitted ``n2t.ngram.NGramLM`` (``NGRAM_CONTEXT``)."""
    lines = wikitext2_lines(split, max_lines)
    logp = torch.as_tensor(model.token_logprobs(lines), dtype=torch.float64)
    expected = sum(len(line) + 1 for line in lines)
    if split == "test" and max_lines is None:
        expected = TEST_TOKENS
    if len(logp) != expected:
        raise ValueError(f"the model scored {len(logp)} tokens of {split!r}; the harness expects {expected}")
    return logp


# ---------------------------------------------------------------------------------------- mixtures


def _pair(logp_a: torch.Tensor, logp_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two models' per-token ln p as float64 tensors of one shape, or a ValueError."""
    logp_a = torch.as_tensor(logp_a, dtype=torch.float64)
    logp_b = torch.as_tensor(logp_b, dtype=torch.float64)
    if logp_a.shape != logp_b.shape or logp_a.dim() != 1:
        raise ValueError(
            f"the two models must score the same tokens: got shapes {tuple(logp_a.shape)} "
            f"and {tuple(logp_b.shape)}"
        )
    return logp_a, logp_b


def mix(logp_a: torch.Tensor, logp_b: torch.Tensor, weight: float) -> torch.Tensor:
    """Per-token ln(λ p_a + (1 − λ) p_b), λ = ``weight``: two LMs interpolated."""
    logp_a, logp_b = _pair(logp_a, logp_b)
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1; got {weight}")
    if weight in (0.0, 1.0):
        return (logp_a if weight == 1.0 else logp_b).clone()
    return torch.logaddexp(logp_a + math.log(weight), logp_b + math.log1p(-weight))


def mixture_weight(logp_a: torch.Tensor, logp_b: torch.Tensor) -> float:
    """The λ that maximises the held-out likelihood of λ p_a + (1 − λ) p_b (Chapter 2's EM, two models)."""
    logp_a, logp_b = _pair(logp_a, logp_b)
    return float(em_weights(torch.stack([logp_a, logp_b], dim=1).numpy())[0])


# ---------------------------------------------------------------------------------------- training


def lm_step(model: NeuralLM, stream: LMStream) -> Callable[[], tuple[torch.Tensor, int]]:
    """The step of :func:`n2t.train.train_stream` for a language model: the loss of ``stream``'s next batch.

    The stream is read epoch after epoch; the body's state is carried from one window to the next (truncated
    back-propagation) and reset when the rows start again. Returns ``(loss, tokens predicted)``.
    """
    batches, state = iter(stream), None

    def step() -> tuple[torch.Tensor, int]:
        nonlocal batches, state
        batch = next(batches, None)
        if batch is None:  # a new epoch: the rows start again from the beginning
            batches, state = iter(stream), None
            batch = next(batches)
        dev = model_device(model)
        inputs, targets = (t.to(dev) for t in batch)
        # excerpt begins lm step
        logp, state = model(inputs, targets, state)  # ln p of the targets (batch, time)
        state = detach_state(state)  # carry the context, not the gradient
        return -logp.mean(), targets.numel()  # the cross-entropy in nats per token
        # excerpt ends

    return step


def train_lm(
    model: NeuralLM, train_ids: torch.Tensor, valid_ids: torch.Tensor, tokens: int, batch_size: int = 32,
    seq_len: int = 64, lr: float = 2e-3, weight_decay: float = 0.01, eval_every: int | None = None,
    grad_clip: float = 1.0, warmup_steps: int = 100, seed: int = 0, desc: str = "train",
    start_id: int | None = None,
) -> TrainLog:
    """Train ``model`` on the running text ``train_ids`` for ``tokens`` predicted tokens (AdamW, cosine decay).

    The book's streamed loop (:func:`n2t.train.train_stream`): every ``eval_every`` tokens (and at the end) the
    validation perplexity is measured, and the weights with the best one are kept.
    """
    train_ids = _check_stream(train_ids, "train_ids", model.vocab_size)
    valid_ids = _check_stream(valid_ids, "valid_ids", model.vocab_size)
    stream = LMStream(train_ids, batch_size, seq_len)
    steps = stream.steps_for(tokens)
    eval_every = tokens if eval_every is None else eval_every
    if eval_every < 1:
        raise ValueError(f"eval_every must be a positive number of tokens; got {eval_every}")

    def evaluate(m: NeuralLM) -> dict[str, float]:
        return {"valid_ppl": perplexity(score(m, valid_ids, start_id=start_id))}

    seed_everything(seed)
    return train_stream(model, lm_step(model, stream), steps, evaluate, "valid_ppl", eval_every, lr,
                        weight_decay, warmup_steps, grad_clip, "tokens", desc)


# ----------------------------------------------------------------------------------- the artefacts


@dataclass
class LMResult:
    """What the harness records for one trained LM (stored as the zoo artefact's metrics).

    ``clock``: the training run's last reading (:mod:`n2t.clock`); ``curve``: its validation checkpoints.
    """

    test_ppl: float
    valid_ppl: float
    parameters: int
    tokens_seen: int
    clock: dict[str, Any]
    context: str
    test_tokens: int
    head: str
    curve: list[dict[str, Any]] = field(default_factory=list)
    context_tokens: list[int] | None = None  # [fewest, most] previous tokens read per token; None: all of them
    test_logprobs: torch.Tensor | None = field(default=None, repr=False)  # ln p per test token (not a metric)
    valid_logprobs: torch.Tensor | None = field(default=None, repr=False)

    def metrics(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (without the per-token log-probabilities)."""
        record = asdict(self)
        del record["test_logprobs"], record["valid_logprobs"]
        return record


def evaluate_lm(model: NeuralLM, log: TrainLog, test_ids: torch.Tensor, valid_ids: torch.Tensor) -> LMResult:
    """Score the trained ``model`` on the test and validation streams and write the :class:`LMResult`."""
    test_logp = score(model, test_ids, desc="score test")
    valid_logp = score(model, valid_ids)
    window = model.context_range
    if window is None:
        reads = "all of them"
    else:
        reads = f"the last {window[1]}" if window[0] == window[1] else f"the last {window[0]} to {window[1]}"
    return LMResult(
        test_ppl=perplexity(test_logp),
        valid_ppl=perplexity(valid_logp),
        parameters=count_parameters(model),
        tokens_seen=log.clock["tokens"],
        clock=log.clock,
        context=f"{RUNNING_TEXT}; the model reads {reads}",
        test_tokens=len(test_logp),
        head="adaptive softmax" if model.head.adaptive else "full softmax",
        curve=log.curve,
        context_tokens=None if window is None else list(window),
        test_logprobs=test_logp,
        valid_logprobs=valid_logp,
    )


def lm_config(model: NeuralLM) -> dict[str, Any]:
    """Every constructor argument of ``model`` and of its body, as plain values (see :func:`rebuild`)."""
    return {"body": dict(model.body.arguments), "head": {k: v for k, v in model.arguments.items() if k != "body"}}


def rebuild(body_class: type[nn.Module], state: dict[str, Any]) -> NeuralLM:
    """The trained LM of an artefact's ``state`` with a body of ``body_class`` (on the CPU, in eval mode)."""
    config = state["config"]
    model = NeuralLM(body_class(**config["body"]), **config["head"])
    model.load_state_dict(state["model"])
    return model.eval()


def harness_artefact(
    model: NeuralLM, log: TrainLog, test_ids: torch.Tensor, valid_ids: torch.Tensor, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The zoo's ``(state, metrics)`` of a harness LM trained on WikiText-2.

    Scores ``model`` on the whole test split (:func:`evaluate_lm`) and keeps its weights (on the CPU), every
    constructor argument (:func:`lm_config`), any ``extra`` entries, and the per-token log-probabilities that
    Chapter 12 mixes with Kneser–Ney.
    """
    result = evaluate_lm(model, log, test_ids, valid_ids)
    if result.test_tokens != TEST_TOKENS:
        raise ValueError(f"test_ids must be the whole WikiText-2 test split ({TEST_TOKENS:,} tokens); "
                         f"got {result.test_tokens:,}")
    model.cpu()
    state = {"model": model.state_dict(), "config": lm_config(model), **extra,
             "test_logprobs": result.test_logprobs, "valid_logprobs": result.valid_logprobs}
    return state, result.metrics()


@zoo.register("ngram-wikitext2", section="ngram_models")
def train_ngram_baselines(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Chapter 2's counting baselines on WikiText-2, scored by the harness's rules on the whole test split.

    The metrics hold one record per model (uniform, unigram MLE, Kneser–Ney of order 2 … ``max_order``) with
    the clock of its fit; the state holds the highest-order Kneser–Ney model's ln p of every test and validation
    token, the n-gram side of the book's mixtures with neural LMs (a neural LM validated on the first lines of
    the validation split pairs with the same prefix of these).
    """
    if cfg.max_order < 2:
        raise ValueError(f"max_order must be at least 2 (the mixtures need a Kneser–Ney model); got {cfg.max_order}")
    train = wikitext2_lines("train", cfg.train_lines)
    vocab = wikitext2_vocab()
    models: dict[str, tuple[int, Callable[[], NGramLM]]] = {
        "uniform": (0, UniformLM),
        "unigram (MLE)": (1, lambda: NGramLM(1, "mle")),
    }
    for order in range(2, cfg.max_order + 1):
        models[f"Kneser–Ney {order}-gram"] = (order, lambda order=order: NGramLM(order, "kneser_ney"))
    records, state, total = [], {}, Clock("tokens")
    for name, (order, make) in models.items():
        clock = Clock("tokens")
        with clock.running():
            model = make().fit(train, vocab=vocab)
        clock.seen = sum(len(line) + 1 for line in train)
        total.add(clock)
        test_logp = ngram_logprobs(model, "test")
        valid_logp = ngram_logprobs(model, "valid")  # all of it: any prefix pairs with a neural LM's
        records.append({
            "model": name,
            "order": order,
            "test_ppl": perplexity(test_logp),
            "valid_ppl": perplexity(valid_logp),
            # every number the model stores: a probability per n-gram seen, a weight γ(h) per context
            "parameters": model.parameter_count(),
            "tokens_seen": clock.seen,
            "clock": clock.reading(),
            "context": NGRAM_CONTEXT,
            "test_tokens": len(test_logp),
        })
        if order == cfg.max_order:
            state = {"model": name, "test_logprobs": test_logp, "valid_logprobs": valid_logp}
    return state, {"models": records, "clock": total.reading()}
