"""Word2vec: CBOW and skip-gram with negative sampling and subsampling; analogy and similarity evaluation.

Training is batched and vectorised: each epoch subsamples the whole corpus at once, draws every dynamic
window at once, shuffles the examples, and then updates the two embedding tables batch by batch with
hand-written gradients (``index_add_``), so no Python loop ever runs over tokens; ``torch.compile`` can fuse
each step into compiled loops (``CompiledStep``). The evaluation functions take any pair
``(vectors, itos)`` — word2vec's vectors, the NNLM's embedding, gensim's — so every model is measured alike.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from n2t import data, zoo
from n2t.profile import Settings
from n2t.train import device, progress, to_device

ARCHITECTURES = ("skipgram", "cbow")


# ------------------------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Corpus:
    """A corpus encoded for word2vec: token ids and line ids ``(tokens,)``, the vocabulary and its counts.

    Words seen fewer than ``min_count`` times are dropped from the stream (as word2vec.c and gensim do), not
    mapped to ``<unk>``; a window never crosses a line.
    """

    ids: torch.Tensor
    line_ids: torch.Tensor
    itos: list[str]
    counts: torch.Tensor

    @property
    def stoi(self) -> dict[str, int]:
        """Word → id."""
        return {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return self.ids.numel()


def encode_corpus(lines: Sequence[Sequence[str]], min_count: int = 5) -> Corpus:
    """Encode lines of word tokens: a vocabulary of every word seen ``min_count`` times (by frequency)."""
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1; got {min_count}")
    counts = Counter(w for line in lines for w in line)
    itos = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if not itos:
        raise ValueError(
            f"the corpus is empty: no word occurs at least min_count={min_count} times "
            f"({sum(counts.values())} tokens in {len(lines)} lines)"
        )
    stoi = {w: i for i, w in enumerate(itos)}
    ids, line_ids = [], []
    for number, line in enumerate(lines):
        kept = [stoi[w] for w in line if w in stoi]
        ids.extend(kept)
        line_ids.extend([number] * len(kept))
    vocab_counts = torch.tensor([counts[w] for w in itos], dtype=torch.long)
    return Corpus(torch.tensor(ids, dtype=torch.long), torch.tensor(line_ids, dtype=torch.long), itos, vocab_counts)


# --------------------------------------------------------------------------- noise and subsampling


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """The negative-sampling distribution ``P_n(w) ∝ count(w)^power`` over the vocabulary, shape ``(|V|,)``."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.dim() != 1 or counts.numel() == 0 or bool((counts < 0).any()) or float(counts.sum()) == 0:
        raise ValueError("counts must be a non-empty one-dimensional tensor of non-negative counts, not all zero")
    weights = counts**power
    return weights / weights.sum()


class NoiseSampler:
    """Draws negative samples from ``noise`` (probabilities ``(|V|,)``) through a table, as word2vec.c does.

    The table holds ``table_size`` word ids, each word filling a share of it equal to its probability, so a
    draw is one random index into the table; a word's share is exact up to ``1/table_size``.
    """

    def __init__(self, noise: torch.Tensor, table_size: int = 10_000_000) -> None:
        cdf = torch.cumsum(torch.as_tensor(noise, dtype=torch.float64), 0)
        bounds = torch.round(cdf / cdf[-1] * table_size).long()  # word i fills [bounds[i-1], bounds[i])
        slots = torch.diff(bounds, prepend=torch.zeros(1, dtype=torch.long))
        self.table = torch.repeat_interleave(torch.arange(cdf.numel(), dtype=torch.int32), slots)

    def __call__(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Word ids ``shape`` drawn independently from the noise distribution."""
        draws = torch.randint(0, self.table.numel(), shape, generator=generator)
        return gather_rows(self.table, draws).long()


def keep_probability(counts: torch.Tensor, t: float) -> torch.Tensor:
    """word2vec.c's subsampling: keep a word of frequency ``f`` with probability ``min(1, sqrt(t/f) + t/f)``.

    The paper writes the discard probability as ``1 - sqrt(t/f)``; the released code (and gensim) keep
    ``(sqrt(f/t) + 1) · t/f``, which is the paper's keep probability plus ``t/f``. ``t <= 0`` keeps every word.
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if t <= 0:
        return torch.ones_like(counts)
    ratio = t / (counts / counts.sum())  # t / f
    return (ratio.sqrt() + ratio).clamp(max=1.0)


def subsample(corpus: Corpus, t: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop each token independently with probability ``1 - keep_probability``; returns ``(ids, line_ids)``."""
    kept = kept_positions(corpus, t, generator)
    return corpus.ids[kept], corpus.line_ids[kept]


def kept_positions(corpus: Corpus, t: float, generator: torch.Generator) -> torch.Tensor:
    """The positions ``(kept,)`` of the tokens that one pass of subsampling keeps, in text order."""
    keep = keep_probability(corpus.counts, t)[corpus.ids]
    mask = torch.rand(len(corpus), generator=generator, dtype=torch.float64) < keep
    return mask.nonzero().squeeze(1)


def learning_rate(lr: float, min_lr: float, progress: float) -> float:
    """The rate after ``progress`` (0 … 1) of all training: linear from ``lr`` to ``min_lr``.

    gensim's schedule (``alpha`` to ``min_alpha``). word2vec.c measures progress in words read; training here
    takes each epoch's examples in random order, so it measures the share of the examples done, which is the
    same thing in expectation.
    """
    return lr - (lr - min_lr) * min(max(progress, 0.0), 1.0)


# ------------------------------------------------------------------------------------------ windows


def dynamic_windows(
    line_ids: torch.Tensor, window: int, generator: torch.Generator
) -> torch.Tensor:
    """Which context slots each position uses: a mask ``(tokens, 2·window)`` over offsets −window … +window.

    Each position draws its own reach ``b`` uniformly from ``1 … window`` (word2vec's dynamic window, so near
    words count more than far ones) and uses the offsets ``|o| <= b`` that stay inside its line.
    ``line_ids`` are in text order (non-decreasing), so a line's words are neighbours.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1; got {window}")
    if line_ids.numel() > 1 and bool((line_ids[1:] < line_ids[:-1]).any()):
        raise ValueError("line_ids must be in text order (non-decreasing)")
    n = line_ids.numel()
    offsets = window_offsets(window)
    reach = torch.randint(1, window + 1, (n,), generator=generator)
    position = torch.arange(n)
    # how many words of its own line come before and after each position
    before = position - torch.searchsorted(line_ids, line_ids)
    after = torch.searchsorted(line_ids, line_ids, right=True) - 1 - position
    within_reach = offsets.abs() <= reach[:, None]
    return within_reach & (offsets >= -before[:, None]) & (offsets <= after[:, None])


def window_offsets(window: int) -> torch.Tensor:
    """The context offsets ``[-window, …, -1, 1, …, window]``, shape ``(2·window,)``."""
    return torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)])


def skipgram_pairs(ids: torch.Tensor, mask: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (centre, context) pair that a window mask ``(tokens, 2·window)`` allows, in text order."""
    position, slot = mask.nonzero(as_tuple=True)
    return ids[position], ids[position + window_offsets(window)[slot]]


# ------------------------------------------------------------------------------------ the updates


def gather_rows(table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The rows ``table[ids]``, shape ``(*ids.shape, *table.shape[1:])``, through ``index_select``: a plain
    copy per row, measured three to four times faster on the CPU than the advanced indexing ``table[ids]``."""
    return table.index_select(0, ids.reshape(-1)).view(*ids.shape, *table.shape[1:])


def skipgram_step(
    w_in: torch.Tensor, w_out: torch.Tensor, words: torch.Tensor, targets: torch.Tensor,
    negatives: torch.Tensor, lr: float | torch.Tensor,
) -> torch.Tensor:
    """One SGD step of skip-gram with negative sampling on a batch of pairs; returns the summed loss (0-d).

    ``words`` and ``targets`` are ``(batch,)`` ids, ``negatives`` is ``(batch, k)``. For each pair the loss
    is ``-ln σ(u_t·v) - Σ_k ln σ(-u_k·v)``, with ``v`` the input vector of the word and ``u`` the output
    vectors; a negative that is the target itself is skipped, as in word2vec.c. The gradients are written
    out, scaled by ``-lr`` while they are small (``index_add_``'s own ``alpha`` measured 2.6 times slower),
    and ``index_add_`` adds them to the rows of ``w_in`` and ``w_out`` in place.
    """
    dim = w_in.shape[1]
    rows = torch.cat([targets[None, :], negatives.T])  # (1 + k, batch)
    v = gather_rows(w_in, words)  # (batch, dim)
    u = gather_rows(w_out, rows)  # (1 + k, batch, dim)
    scores = (u * v).sum(2)  # (1 + k, batch)
    labels, used = _labels(scores, negatives, targets)
    loss = F.binary_cross_entropy_with_logits(scores, labels, used, reduction="sum")
    step = (torch.sigmoid(scores) - labels) * used * -lr  # -lr · d loss / d score
    w_in.index_add_(0, words, (step[:, :, None] * u).sum(0))
    w_out.index_add_(0, rows.reshape(-1), (step[:, :, None] * v).reshape(-1, dim))
    return loss


def _labels(scores: torch.Tensor, negatives: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels ``(1 + k, batch)`` (1 for the target, 0 for the negatives) and which scores count (0 or 1):
    word2vec.c and gensim skip a negative that happens to be the target word."""
    labels = torch.zeros_like(scores)
    labels[0] = 1.0
    used = torch.ones_like(scores)
    used[1:].masked_fill_(targets == negatives.T, 0.0)
    return labels, used


def cbow_step(
    w_in: torch.Tensor, w_out: torch.Tensor, contexts: torch.Tensor, context_mask: torch.Tensor,
    centres: torch.Tensor, negatives: torch.Tensor, lr: float | torch.Tensor,
) -> torch.Tensor:
    """One SGD step of CBOW with negative sampling: the mean context vector predicts the centre word.

    ``centres`` is ``(batch,)`` and ``negatives`` ``(batch, k)``; ``contexts`` ``(slots, batch)`` holds the
    ids around each centre and ``context_mask`` (same shape, 0/1 or bool) which of them are its context words;
    every centre has at least one. (Slots come first so that the sums over a centre's context words add
    whole rows: compiled, that measured seven times faster than the other way round.) Every context word
    receives the whole gradient with respect to the mean, not the ``1/n`` share that the chain rule gives:
    word2vec.c's update, which gensim keeps. A negative that is the centre word itself is skipped.
    """
    dim = w_in.shape[1]
    mask = context_mask.to(w_in.dtype)[:, :, None]  # (slots, batch, 1)
    h = (gather_rows(w_in, contexts) * mask).sum(0) / mask.sum(0).clamp(min=1)  # (batch, dim): the mean
    rows = torch.cat([centres[None, :], negatives.T])  # (1 + k, batch)
    u = gather_rows(w_out, rows)  # (1 + k, batch, dim)
    scores = (u * h).sum(2)
    labels, used = _labels(scores, negatives, centres)
    loss = F.binary_cross_entropy_with_logits(scores, labels, used, reduction="sum")
    step = (torch.sigmoid(scores) - labels) * used * -lr
    grad_h = (step[:, :, None] * u).sum(0)  # (batch, dim), given whole to every context word
    w_in.index_add_(0, contexts.reshape(-1), (mask * grad_h).reshape(-1, dim))
    w_out.index_add_(0, rows.reshape(-1), (step[:, :, None] * h).reshape(-1, dim))
    return loss


class CompiledStep:
    """``step`` through ``torch.compile``: inductor fuses its gathers, arithmetic and
    scatter-adds into compiled loops, so that each row crosses the memory bus about
    once, as in gensim's C loop. Compiling needs a C++ compiler on the CPU (Triton on a
    GPU) and takes seconds, once per shape; where it fails, this warns once and runs
    ``step`` as it is. The rate goes in as a tensor: a new value must not recompile."""

    def __init__(self, step: Callable[..., torch.Tensor]) -> None:
        self.step = step
        self.compiled: Callable[..., torch.Tensor] | None = torch.compile(step)

    def __call__(self, *args: torch.Tensor | float) -> torch.Tensor:
        *tensors, lr = args
        if self.compiled is not None:
            try:
                rate = torch.tensor(lr, device=tensors[0].device)
                return self.compiled(*tensors, rate)
            except Exception as error:  # no compiler here: slower without, not wrong
                warnings.warn(f"torch.compile failed, so word2vec trains without it "
                              f"(slower): {error!r:.300}", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self.step(*tensors, lr)


@functools.cache
def compiled_step(step: Callable[..., torch.Tensor]) -> CompiledStep:
    """The one ``CompiledStep`` of ``step`` in this process: a new one per model would compile again (seconds)."""
    return CompiledStep(step)


# -------------------------------------------------------------------------------------- training


@dataclass
class Word2Vec:
    """Trained word2vec tables: ``vectors`` (input, the product; ``(|V|, dim)``), ``out_vectors``, ``itos``."""

    vectors: torch.Tensor
    out_vectors: torch.Tensor
    itos: list[str]
    counts: torch.Tensor
    architecture: str
    losses: list[float] = field(default_factory=list)  # mean loss per example, one value per logged batch
    examples: int = 0  # training examples seen: pairs (skip-gram) or centre words (CBOW)
    seconds: float = 0.0


def train(
    corpus: Corpus,
    architecture: str = "skipgram",
    dim: int = 100,
    window: int = 5,
    negatives: int = 5,
    subsample_t: float = 1e-3,
    epochs: int = 5,
    lr: float = 0.025,
    min_lr: float = 1e-4,
    batch_size: int = 256,
    seed: int = 0,
    dev: torch.device | str | None = None,
    desc: str | None = None,
    threads: int | None = 1,
    compile: bool = False,
) -> Word2Vec:
    """Train CBOW or skip-gram with negative sampling on ``corpus``; the learning rate decays linearly.

    ``batch_size`` counts the examples of a step: (context, centre) pairs for skip-gram, centre words for
    CBOW. Every step but the last of each epoch has that one shape, as ``torch.compile`` wants; ``compile``
    runs them through it (``compiled_step``), the last one uncompiled. Input vectors start uniform in
    ``±1/dim`` (gensim 4's range, twice word2vec.c's ``±0.5/dim``; measured better here) and output vectors
    at zero, and the learning rate falls from ``lr`` to ``min_lr`` over the training (``learning_rate``),
    as in word2vec.c and gensim. ``threads`` sets torch's CPU threads while training (``None``: leave
    them): the steps are small gathers and scatters, for which one thread measured faster than two here,
    and far faster on a busy machine.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train(corpus, architecture, dim, window, negatives, subsample_t, epochs, lr, min_lr, batch_size, seed,
                      dev, desc, compile)
    finally:
        torch.set_num_threads(previous)


def _train(
    corpus: Corpus, architecture: str, dim: int, window: int, negatives: int, subsample_t: float, epochs: int,
    lr: float, min_lr: float, batch_size: int, seed: int, dev: torch.device | str | None, desc: str | None,
    compile: bool,
) -> Word2Vec:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}; got {architecture!r}")
    if len(corpus) == 0:
        raise ValueError("the corpus is empty: it has no tokens to train on")
    for name, value in (("dim", dim), ("window", window), ("negatives", negatives), ("epochs", epochs),
                        ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1; got {value}")
    if not 0 < min_lr <= lr:
        raise ValueError(f"need 0 < min_lr <= lr; got lr={lr}, min_lr={min_lr}")
    dev = device(dev) if dev is None or isinstance(dev, str) else dev
    generator = torch.Generator().manual_seed(seed)
    vocab_size = len(corpus.itos)
    w_in = ((2 * torch.rand(vocab_size, dim, generator=generator) - 1) / dim).to(dev)  # gensim 4's ±1/dim
    w_out = torch.zeros(vocab_size, dim, device=dev)
    draw_negatives = NoiseSampler(noise_distribution(corpus.counts))
    model = Word2Vec(w_in, w_out, list(corpus.itos), corpus.counts.clone(), architecture)
    plain = skipgram_step if architecture == "skipgram" else cbow_step
    fused = compiled_step(plain) if compile else None
    offsets = window_offsets(window)
    start = time.perf_counter()
    bar = progress(total=epochs, desc=desc or f"{architecture} epochs")
    for epoch in range(epochs):
        # [epoch]
        ids, line_ids = subsample(corpus, subsample_t, generator)
        mask = dynamic_windows(line_ids, window, generator)  # (tokens, slots)
        if architecture == "skipgram":
            centre, slot = mask.nonzero(as_tuple=True)  # every (centre, context) pair
        else:
            centre = mask.any(1).nonzero().squeeze(1)  # every centre with a context
        # Shuffled: in text order, one batch would update a word's rows many times over.
        order = torch.randperm(centre.numel(), generator=generator)
        centre = gather_rows(centre, order)
        if architecture == "skipgram":
            context = centre + gather_rows(offsets, gather_rows(slot, order))
            # As in word2vec.c: the context word's vector predicts the centre word.
            examples = [gather_rows(ids, context), gather_rows(ids, centre)]
        else:  # the ids around each centre, which of them count: (slots, centres)
            around = (centre + offsets[:, None]).clamp(0, ids.numel() - 1)
            examples = [gather_rows(ids, around), gather_rows(mask, centre).T,
                        gather_rows(ids, centre)]
        for begin in range(0, centre.numel(), batch_size):
            done = (epoch + begin / centre.numel()) / epochs  # share of all training
            rate = learning_rate(lr, min_lr, done)
            batch = [x[..., begin : begin + batch_size].contiguous() for x in examples]
            count = batch[-1].numel()
            batch.append(draw_negatives((count, negatives), generator))
            compiled = fused is not None and count == batch_size  # one shape to compile
            step = fused if compiled else plain
            loss = step(w_in, w_out, *to_device(batch, dev), rate)
            model.losses.append(float(loss) / count)
            model.examples += count
        # [/epoch]
        bar.update(1)
        bar.set_postfix(loss=f"{model.losses[-1]:.3f}" if model.losses else "n/a")
    bar.close()
    model.seconds = time.perf_counter() - start
    model.vectors, model.out_vectors = w_in.cpu(), w_out.cpu()
    return model


# ------------------------------------------------------------------------------------- evaluation


def check_vectors(vectors: torch.Tensor, itos: Sequence[str]) -> torch.Tensor:
    """``vectors`` as a float tensor, after checking that it is ``(len(itos), dim)``; a clear error if not."""
    if not isinstance(vectors, torch.Tensor):
        vectors = torch.as_tensor(vectors)
    if vectors.dim() != 2:
        raise ValueError(f"vectors must be a (|V|, dim) matrix; got shape {tuple(vectors.shape)}")
    if vectors.shape[0] != len(itos):
        raise ValueError(
            f"vectors has {vectors.shape[0]} rows but itos names {len(itos)} words; they must match"
        )
    if not vectors.is_floating_point():
        raise ValueError(f"vectors must be floating point; got {vectors.dtype}")
    return vectors.float()


class Lookup:
    """Word → row look-up: the word's own casing first, else its most frequent casing ("Paris" for "paris").

    ``itos`` must be ordered by descending frequency for that rule to hold; both word2vec's and the NNLM's are.
    ``canonical[i]`` is the row of the most frequent casing of row ``i``'s word: rows with the same canonical row
    are case variants of one word.
    """

    def __init__(self, itos: Sequence[str]) -> None:
        self.itos = list(itos)
        self.exact = {w: i for i, w in enumerate(self.itos)}
        self.folded: dict[str, int] = {}
        for i, w in enumerate(self.itos):
            self.folded.setdefault(w.upper(), i)
        self.canonical = torch.tensor([self.folded[w.upper()] for w in self.itos], dtype=torch.long)

    def get(self, word: str) -> int | None:
        """The row of ``word`` (its own casing first, then any casing), or ``None``."""
        i = self.exact.get(word)
        return i if i is not None else self.folded.get(word.upper())

    def __getitem__(self, word: str) -> int:
        i = self.get(word)
        if i is None:
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self.itos):,} words)")
        return i


def unit_rows(vectors: torch.Tensor) -> torch.Tensor:
    """Each row divided by its length (rows of zeros stay zero)."""
    return vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)


def nearest(vectors: torch.Tensor, itos: Sequence[str], word: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded)."""
    vectors = unit_rows(check_vectors(vectors, itos))
    row = Lookup(itos)[word]
    cosines = vectors @ vectors[row]
    cosines[row] = -math.inf
    best = cosines.topk(min(k, len(itos) - 1))
    return [(itos[i], float(c)) for c, i in zip(best.values, best.indices, strict=True)]


def analogy(
    vectors: torch.Tensor, itos: Sequence[str], a: str, b: str, c: str, k: int = 5
) -> list[tuple[str, float]]:
    """3CosAdd: the ``k`` words ``d`` closest to ``b − a + c`` ("a is to b as c is to d"), a, b, c excluded."""
    vectors = unit_rows(check_vectors(vectors, itos))
    lookup = Lookup(itos)
    rows = [lookup[w] for w in (a, b, c)]
    scores = vectors @ (vectors[rows[1]] - vectors[rows[0]] + vectors[rows[2]])
    scores[rows] = -math.inf
    best = scores.topk(min(k, len(itos) - 3))
    return [(itos[i], float(s)) for s, i in zip(best.values, best.indices, strict=True)]


@dataclass(frozen=True)
class AnalogyResult:
    """Analogy accuracy per category: ``correct`` and ``covered`` (all four words known) of ``total``."""

    correct: dict[str, int]
    covered: dict[str, int]
    total: dict[str, int]

    @property
    def accuracy(self) -> float:
        """Correct answers over the questions covered by the vocabulary (gensim's convention)."""
        covered = sum(self.covered.values())
        return sum(self.correct.values()) / covered if covered else 0.0

    @property
    def coverage(self) -> float:
        """The fraction of all questions whose four words are in the vocabulary."""
        return sum(self.covered.values()) / max(sum(self.total.values()), 1)

    def category_accuracy(self, category: str) -> float:
        """Accuracy within one category (over its covered questions; 0 if none is covered)."""
        return self.correct[category] / self.covered[category] if self.covered[category] else 0.0

    @property
    def semantic_accuracy(self) -> float:
        """Accuracy over the covered semantic questions (the categories not named ``gram…``)."""
        return self._group(lambda name: not name.startswith("gram"))

    @property
    def syntactic_accuracy(self) -> float:
        """Accuracy over the covered syntactic questions (the ``gram…`` categories)."""
        return self._group(lambda name: name.startswith("gram"))

    def _group(self, keep) -> float:
        names = [n for n in self.total if keep(n)]
        covered = sum(self.covered[n] for n in names)
        return sum(self.correct[n] for n in names) / covered if covered else 0.0


def evaluate_analogies(
    vectors: torch.Tensor,
    itos: Sequence[str],
    questions: Mapping[str, Sequence[tuple[str, str, str, str]]],
    batch_size: int = 2048,
) -> AnalogyResult:
    """Answer every question ``a : b :: c : ?`` by 3CosAdd over the whole vocabulary, a, b, c excluded.

    A question word excludes its case variants too ("King" for "king"), and an answer that differs from the
    expected word only in casing ("Queen" for "queen") counts as correct, as in gensim's evaluation.
    """
    vectors = unit_rows(check_vectors(vectors, itos))
    lookup = Lookup(itos)
    variants = (lookup.canonical != torch.arange(len(itos))).nonzero().squeeze(1)
    correct, covered, total = {}, {}, {}
    for category, rows in questions.items():
        total[category] = len(rows)
        known = [[lookup.get(w) for w in q] for q in rows]
        known = [q for q in known if None not in q]  # all four words in the vocabulary
        known = torch.tensor(known, dtype=torch.long).reshape(-1, 4)
        covered[category] = known.shape[0]
        hits = 0
        for begin in range(0, known.shape[0], batch_size):
            q = known[begin : begin + batch_size]  # (questions, 4) word ids
            target = vectors[q[:, 1]] - vectors[q[:, 0]] + vectors[q[:, 2]]
            scores = target @ vectors.T  # (questions, |V|)
            word = lookup.canonical[q]  # each word in its most frequent casing
            scores.scatter_(1, torch.cat([q[:, :3], word[:, :3]], 1), -math.inf)
            variant_of = lookup.canonical[variants][None, :, None]  # "KING" → "king"
            banned = (variant_of == word[:, None, :3]).any(2)  # variants of a, b, c
            scores[:, variants] = scores[:, variants].masked_fill(banned, -math.inf)
            answer = lookup.canonical[scores.argmax(1)]
            hits += int((answer == word[:, 3]).sum())
        correct[category] = hits
    return AnalogyResult(correct, covered, total)


def rank(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1 … n of ``values`` ``(n,)``, ties sharing the mean of the ranks they span."""
    values = torch.as_tensor(values, dtype=torch.float64)
    order = torch.argsort(values, stable=True)
    sorted_values = values[order]
    ranks = torch.empty_like(values)
    # Group equal values: each group's rank is the mean of its positions (1-based).
    new_group = torch.ones_like(sorted_values, dtype=torch.bool)
    new_group[1:] = sorted_values[1:] != sorted_values[:-1]
    group = torch.cumsum(new_group.long(), 0) - 1
    positions = torch.arange(1, values.numel() + 1, dtype=torch.float64)
    sums = torch.zeros(int(group[-1]) + 1 if values.numel() else 0, dtype=torch.float64).index_add_(0, group, positions)
    sizes = torch.bincount(group).to(torch.float64)
    ranks[order] = (sums / sizes)[group]
    return ranks


def spearman(x: Sequence[float] | torch.Tensor, y: Sequence[float] | torch.Tensor) -> float:
    """Spearman's rank correlation ρ: Pearson's correlation of the ranks (ties get mean ranks)."""
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    if x.shape != y.shape or x.dim() != 1:
        raise ValueError(f"x and y must be one-dimensional and equally long; got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.numel() < 2:
        raise ValueError(f"Spearman's ρ needs at least 2 pairs; got {x.numel()}")
    rx, ry = rank(x), rank(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float(rx.norm() * ry.norm())
    if denominator == 0:
        raise ValueError("Spearman's ρ is undefined when one of the variables is constant")
    return float((rx * ry).sum()) / denominator


@dataclass(frozen=True)
class SimilarityResult:
    """Spearman's ρ between cosine similarities and human scores, over the ``covered`` of ``total`` pairs."""

    rho: float
    covered: int
    total: int

    @property
    def coverage(self) -> float:
        """The fraction of pairs with both words in the vocabulary."""
        return self.covered / self.total if self.total else 0.0


def evaluate_similarity(
    vectors: torch.Tensor, itos: Sequence[str], pairs: Iterable[tuple[str, str, float]]
) -> SimilarityResult:
    """Spearman's ρ between the cosine of each word pair and its human score (pairs with unknown words skipped)."""
    vectors = unit_rows(check_vectors(vectors, itos))
    lookup = Lookup(itos)
    pairs = list(pairs)
    known = [(lookup.get(a), lookup.get(b), s) for a, b, s in pairs]
    known = [(i, j, s) for i, j, s in known if i is not None and j is not None]
    if len(known) < 2:
        raise ValueError(f"only {len(known)} of {len(pairs)} pairs have both words in the vocabulary")
    left = torch.tensor([i for i, _, _ in known])
    right = torch.tensor([j for _, j, _ in known])
    cosines = (vectors[left] * vectors[right]).sum(1)
    return SimilarityResult(spearman(cosines, [s for _, _, s in known]), len(known), len(pairs))


def evaluate(vectors: torch.Tensor, itos: Sequence[str]) -> dict[str, float | dict[str, float]]:
    """The book's word-vector yardstick: analogies (3CosAdd), WordSim-353 and MEN, as plain numbers."""
    analogies = evaluate_analogies(vectors, itos, data.analogy_questions())
    ws353 = evaluate_similarity(vectors, itos, data.wordsim353())
    men = evaluate_similarity(vectors, itos, data.men())
    return {
        "analogy_accuracy": analogies.accuracy,
        "analogy_coverage": analogies.coverage,
        "analogy_semantic": analogies.semantic_accuracy,
        "analogy_syntactic": analogies.syntactic_accuracy,
        "analogy_by_category": {n: analogies.category_accuracy(n) for n in analogies.total},
        "ws353_rho": ws353.rho,
        "ws353_coverage": ws353.coverage,
        "men_rho": men.rho,
        "men_coverage": men.coverage,
    }


# ----------------------------------------------------------------------------------- vector files


def save_vectors(path: str | Path, vectors: torch.Tensor, itos: Sequence[str]) -> None:
    """Write vectors in word2vec's text format: a header ``|V| dim``, then one ``word x1 … xd`` per line."""
    vectors = check_vectors(vectors, itos)
    lines = [f"{vectors.shape[0]} {vectors.shape[1]}"]
    lines += [w + " " + " ".join(f"{x:.6g}" for x in row) for w, row in zip(itos, vectors.tolist(), strict=True)]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_vectors(path: str | Path) -> tuple[torch.Tensor, list[str]]:
    """Read a word2vec text file into ``(vectors (|V|, dim), itos)``; a wrong shape is a clear error."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError(f"{path} is empty; expected a header '|V| dim' and one line per word")
    header = lines[0].split()
    if len(header) != 2 or not all(x.isdigit() for x in header):
        raise ValueError(f"{path}: the first line must be '|V| dim'; got {lines[0]!r}")
    size, dim = map(int, header)
    rows = [line.split(" ") for line in lines[1:] if line]
    if len(rows) != size:
        raise ValueError(f"{path}: the header announces {size} words but the file has {len(rows)}")
    for number, row in enumerate(rows, start=2):
        if len(row) != dim + 1:
            raise ValueError(f"{path}, line {number}: expected a word and {dim} numbers; got {len(row) - 1} numbers")
    itos = [row[0] for row in rows]
    return torch.tensor([[float(x) for x in row[1:]] for row in rows], dtype=torch.float32), itos


# --------------------------------------------------------------------------------------- the zoo


def _train_recipe(settings: Settings, architecture: str) -> tuple[dict, dict]:
    lines = data.wikitext2_lines("train", settings.train_lines)
    corpus = encode_corpus(lines, settings.min_count)
    model = train(
        corpus, architecture, dim=settings.dim, window=settings.window, negatives=settings.negatives,
        subsample_t=settings.subsample_t, epochs=settings.epochs, lr=settings.lr, min_lr=settings.min_lr,
        batch_size=settings.batch_size, compile=settings.compile, seed=settings.seed,
        desc=f"word2vec {architecture}",
    )
    metrics = evaluate(model.vectors, model.itos)
    metrics.update(
        architecture=architecture, vocab_size=len(model.itos), corpus_tokens=len(corpus), examples=model.examples,
        examples_per_second=model.examples / model.seconds, train_loop_seconds=model.seconds,
        device=str(device()),
    )
    state = {"vectors": model.vectors, "out_vectors": model.out_vectors, "itos": model.itos,
             "counts": model.counts, "losses": torch.tensor(model.losses)}
    return state, metrics


@zoo.register("word2vec-skipgram", section="word2vec")
def train_skipgram(settings: Settings) -> tuple[dict, dict]:
    """Skip-gram with negative sampling on the WikiText-2 training split (the profile's settings)."""
    return _train_recipe(settings, "skipgram")


@zoo.register("word2vec-cbow", section="word2vec")
def train_cbow(settings: Settings) -> tuple[dict, dict]:
    """CBOW with negative sampling on the WikiText-2 training split (the profile's settings)."""
    return _train_recipe(settings, "cbow")


@zoo.register("word2vec-curves", section="word2vec")
def train_curves(settings: Settings) -> tuple[dict, dict]:
    """Skip-gram scored after training on growing shares of the lines, and with each threshold t."""
    lines = data.wikitext2_lines("train", settings.train_lines)
    chosen = zoo.get("word2vec-skipgram").metrics  # all lines, settings.subsample_t

    def run(share: float, t: float) -> dict:
        if share == 1.0 and t == settings.subsample_t:
            scores = chosen
        else:
            part = lines[: max(1, round(share * len(lines)))]
            model = train(
                encode_corpus(part, settings.min_count), "skipgram",
                **{k: settings[k] for k in _TRAIN_SETTINGS}, subsample_t=t,
                desc=f"skip-gram on {share:.3g} of the lines, t = {t:g}",
            )
            scores = {"corpus_tokens": model.counts.sum().item(),
                      **evaluate(model.vectors, model.itos)}
        return {k: scores[k] for k in ("corpus_tokens", *_CURVE_METRICS)}

    growth = [{"share": p, **run(p, settings.subsample_t)} for p in settings.fractions]
    sweep = [{"t": t, **run(1.0, t)} for t in settings.subsample_grid]
    curves = {"growth": growth, "subsampling": sweep}
    return {"shares": torch.tensor(settings.fractions)}, curves


_TRAIN_SETTINGS = ("dim", "window", "negatives", "epochs", "lr", "min_lr", "batch_size", "compile", "seed")
_CURVE_METRICS = ("analogy_accuracy", "analogy_coverage", "analogy_semantic", "analogy_syntactic",
                  "analogy_by_category", "ws353_rho", "men_rho")
