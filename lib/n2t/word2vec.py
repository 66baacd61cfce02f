"""Word2vec (Chapter 4): CBOW and skip-gram with negative sampling and subsampling.

Training is batched and vectorised: each epoch subsamples the whole corpus at once, draws every dynamic
window at once, shuffles the examples, and then updates the two embedding tables batch by batch with
hand-written gradients (``index_add_``), so no Python loop ever runs over tokens; ``torch.compile`` can fuse
each step into compiled loops (``CompiledStep``). The vectors are measured by :mod:`n2t.vectors`, as every
model's are.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from n2t import data, zoo
from n2t.checks import positive_ints
from n2t.clock import Clock, torch_threads
from n2t.counting import check_lines
from n2t.profile import Settings
from n2t.progress import progress
from n2t.train import device, to_device
from n2t.vectors import evaluate

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
    check_lines(lines, "lines")
    positive_ints(min_count=min_count)
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
    draw is one random index into the table; a word's share is exact up to ``1/table_size``. (word2vec.c's table
    holds 10⁸ ids; ten million give every word of WikiText-2's vocabulary dozens of slots.)
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


def learning_rate(lr: float, min_lr: float, share_done: float) -> float:
    """The rate after ``share_done`` (0 … 1) of all training: linear from ``lr`` to ``min_lr``.

    gensim's schedule (``alpha`` to ``min_alpha``). word2vec.c measures progress in words read; training here
    takes each epoch's examples in random order, so it measures the share of the examples done, which is the
    same thing in expectation.
    """
    return lr - (lr - min_lr) * min(max(share_done, 0.0), 1.0)


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


def negative_sampling_steps(
    h: torch.Tensor, w_out: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor,
    lr: float | torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """What skip-gram and CBOW share: input vectors ``h`` ``(batch, dim)`` score their target word and ``k``
    negatives; returns the summed loss (0-d), the step for ``h`` ``(batch, dim)``, and the rows of ``w_out``
    ``(batch · (1 + k),)`` with their steps ``(batch · (1 + k), dim)``.

    ``targets`` is ``(batch,)`` and ``negatives`` ``(batch, k)``. The loss of a row is ``-ln σ(u_t·h) - Σ_k
    ln σ(-u_k·h)``; a negative that is the target itself is skipped, as in word2vec.c. The gradients are
    written out and scaled by ``-lr`` while they are small (``index_add_``'s own ``alpha`` measured 2.6 times
    slower). The caller adds the steps in place: the input rows first, then the output rows (compiled, that
    order measured a quarter faster than the other).
    """
    # excerpt begins negative sampling
    rows = torch.cat([targets[None, :], negatives.T])  # (1 + k, batch)
    u = gather_rows(w_out, rows)  # (1 + k, batch, dim)
    scores = (u * h).sum(2)  # (1 + k, batch)
    labels, used = _labels(scores, negatives, targets)
    loss = F.binary_cross_entropy_with_logits(scores, labels, used, reduction="sum")
    step = (torch.sigmoid(scores) - labels) * used * -lr  # -lr · d loss / d score
    step_h = (step[:, :, None] * u).sum(0)  # (batch, dim)
    step_u = (step[:, :, None] * h).reshape(-1, h.shape[1])  # (rows, dim)
    # excerpt ends
    return loss, step_h, rows.reshape(-1), step_u


def skipgram_step(
    w_in: torch.Tensor, w_out: torch.Tensor, words: torch.Tensor, targets: torch.Tensor,
    negatives: torch.Tensor, lr: float | torch.Tensor,
) -> torch.Tensor:
    """One SGD step of skip-gram with negative sampling on a batch of pairs; returns the summed loss (0-d).

    ``words`` and ``targets`` are ``(batch,)`` ids, ``negatives`` is ``(batch, k)``: the input vector ``v`` of
    each word scores its target (:func:`negative_sampling_steps`), and both tables move in place.
    """
    # excerpt begins skip-gram step
    v = gather_rows(w_in, words)  # (batch, dim)
    loss, step_v, rows, step_u = negative_sampling_steps(v, w_out, targets, negatives, lr)
    w_in.index_add_(0, words, step_v)  # a word seen twice in the batch gets both steps
    w_out.index_add_(0, rows, step_u)
    # excerpt ends
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
    mask = context_mask.to(w_in.dtype)[:, :, None]  # (slots, batch, 1)
    h = (gather_rows(w_in, contexts) * mask).sum(0) / mask.sum(0).clamp(min=1)  # (batch, dim): the mean
    loss, step_h, rows, step_u = negative_sampling_steps(h, w_out, centres, negatives, lr)
    w_in.index_add_(0, contexts.reshape(-1), (mask * step_h).reshape(-1, w_in.shape[1]))  # whole, to each
    w_out.index_add_(0, rows, step_u)
    return loss


class CompiledStep:
    """``step`` through ``torch.compile``: inductor fuses its gathers, arithmetic and
    scatter-adds into compiled loops, so that each row crosses the memory bus about
    once, as in gensim's C loop. Compiling needs a C++ compiler on the CPU (Triton on a
    GPU) and takes seconds, once per shape; where compiling fails, this warns once and
    runs ``step`` as it is. Any other error (a bad id, a wrong shape) is raised as it
    is. The rate goes in as a tensor: a new value must not recompile."""

    def __init__(self, step: Callable[..., torch.Tensor]) -> None:
        self.step = step
        self.compiled: Callable[..., torch.Tensor] | None = torch.compile(step)

    def __call__(self, *args: torch.Tensor | float) -> torch.Tensor:
        *tensors, lr = args
        if self.compiled is not None:
            rate = torch.as_tensor(lr, device=tensors[0].device)
            try:
                return self.compiled(*tensors, rate)
            except Exception as error:
                if not compile_failed(error):  # the step's own error: raise it
                    raise
                # no compiler here: slower without, not wrong
                warnings.warn(f"torch.compile failed, so word2vec trains without it "
                              f"(slower): {error!r:.300}", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self.step(*tensors, lr)


def compile_failed(error: BaseException) -> bool:
    """Whether ``error`` is torch.compile failing to compile (no C++ compiler, a back-end error)."""
    exc = sys.modules.get("torch._dynamo.exc")  # loaded by torch.compile before it can fail
    return exc is not None and isinstance(error, exc.BackendCompilerFailed)


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
    clock: Clock | None = None  # the one compute clock (n2t.clock)
    curve: list[dict] = field(default_factory=list)  # the clock's reading after every epoch


def train(
    corpus: Corpus,
    architecture: str = "skipgram",
    *,
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
    use_compile: bool = False,
) -> Word2Vec:
    """Train CBOW or skip-gram with negative sampling on ``corpus``; the learning rate decays linearly.

    ``batch_size`` counts the examples of a step: (context, centre) pairs for skip-gram, centre words for
    CBOW. Every step but the last of each epoch has that one shape, as ``torch.compile`` wants; ``use_compile``
    runs them through it (``compiled_step``), the last one uncompiled. Input vectors start uniform in
    ``±1/dim`` (gensim 4's range, twice word2vec.c's ``±0.5/dim``; measured better here) and output vectors
    at zero, and the learning rate falls from ``lr`` to ``min_lr`` over the training (``learning_rate``),
    as in word2vec.c and gensim. ``threads`` sets torch's CPU threads while training (``None``: leave
    them): the steps are small gathers and scatters, for which one thread measured faster than two here,
    and far faster on a busy machine. The model's ``curve`` holds the clock after every epoch.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}; got {architecture!r}")
    if len(corpus) == 0:
        raise ValueError("the corpus is empty: it has no tokens to train on")
    positive_ints(dim=dim, window=window, negatives=negatives, epochs=epochs, batch_size=batch_size)
    if not 0 < min_lr <= lr:
        raise ValueError(f"need 0 < min_lr <= lr; got lr={lr}, min_lr={min_lr}")
    dev = device(dev) if dev is None or isinstance(dev, str) else dev
    with torch_threads(threads):
        generator = torch.Generator().manual_seed(seed)
        vocab_size = len(corpus.itos)
        w_in = ((2 * torch.rand(vocab_size, dim, generator=generator) - 1) / dim).to(dev)  # gensim 4's ±1/dim
        w_out = torch.zeros(vocab_size, dim, device=dev)
        model = Word2Vec(w_in, w_out, list(corpus.itos), corpus.counts.clone(), architecture)
        model.clock = Clock("pairs" if architecture == "skipgram" else "tokens", dev)
        plain = skipgram_step if architecture == "skipgram" else cbow_step
        fused = compiled_step(plain) if use_compile else None
        sampler = NoiseSampler(noise_distribution(corpus.counts))
        bar = progress(total=epochs, desc=desc or f"{architecture} epochs")
        for epoch in range(epochs):
            with model.clock.running():
                _epoch(model, corpus, epoch, epochs, plain, fused, sampler, generator, dev, window=window,
                       negatives=negatives, subsample_t=subsample_t, lr=lr, min_lr=min_lr, batch_size=batch_size)
            model.clock.seen = model.examples
            model.curve.append({"epoch": epoch + 1, **model.clock.reading()})
            bar.update(1)
            bar.set_postfix(loss=f"{model.losses[-1]:.3f}" if model.losses else "n/a")
        bar.close()
    model.vectors, model.out_vectors = w_in.cpu(), w_out.cpu()
    return model


def _epoch(
    model: Word2Vec, corpus: Corpus, epoch: int, epochs: int, plain: Callable[..., torch.Tensor],
    fused: CompiledStep | None, sampler: NoiseSampler, generator: torch.Generator, dev: torch.device, *,
    window: int, negatives: int, subsample_t: float, lr: float, min_lr: float, batch_size: int,
) -> None:
    """One epoch of :func:`train`: subsample, draw the windows, shuffle the examples, update batch by batch."""
    w_in, w_out, offsets = model.vectors, model.out_vectors, window_offsets(window)
    # [epoch]
    ids, line_ids = subsample(corpus, subsample_t, generator)
    mask = dynamic_windows(line_ids, window, generator)  # (tokens, slots)
    if model.architecture == "skipgram":
        centre, slot = mask.nonzero(as_tuple=True)  # every (centre, context) pair
    else:
        centre = mask.any(1).nonzero().squeeze(1)  # every centre with a context
    # Shuffled: in text order, one batch would update a word's rows many times over.
    order = torch.randperm(centre.numel(), generator=generator)
    centre = gather_rows(centre, order)
    if model.architecture == "skipgram":
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
        batch.append(sampler((count, negatives), generator))
        compiled = fused is not None and count == batch_size  # one shape to compile
        step = fused if compiled else plain
        loss = step(w_in, w_out, *to_device(batch, dev), rate)
        model.losses.append(float(loss) / count)
        model.examples += count
    # [/epoch]


# --------------------------------------------------------------------------------------- the zoo


def _train_recipe(settings: Settings, architecture: str) -> tuple[dict, dict]:
    lines = data.wikitext2_lines("train", settings.train_lines)
    corpus = encode_corpus(lines, settings.min_count)
    model = train(corpus, architecture, **{k: settings[k] for k in _TRAIN_SETTINGS},
                  subsample_t=settings.subsample_t, desc=f"word2vec {architecture}")
    metrics = evaluate(model.vectors, model.itos)
    metrics.update(
        architecture=architecture, vocab_size=len(model.itos), corpus_tokens=len(corpus), examples=model.examples,
        clock=model.clock.reading(), curve=model.curve,
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
    total = Clock("pairs", device())

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
            total.add(model.clock)
            scores = {"corpus_tokens": model.counts.sum().item(),
                      **evaluate(model.vectors, model.itos)}
        return {k: scores[k] for k in ("corpus_tokens", *_CURVE_METRICS)}

    growth = [{"share": p, **run(p, settings.subsample_t)} for p in settings.fractions]
    sweep = [{"t": t, **run(1.0, t)} for t in settings.subsample_grid]
    curves = {"growth": growth, "subsampling": sweep, "clock": total.reading()}
    return {"shares": torch.tensor(settings.fractions)}, curves


_TRAIN_SETTINGS = ("dim", "window", "negatives", "epochs", "lr", "min_lr", "batch_size", "use_compile", "seed")
_CURVE_METRICS = ("analogy_accuracy", "analogy_coverage", "analogy_semantic", "analogy_syntactic",
                  "analogy_by_category", "ws353_rho", "men_rho")
