"""Pretraining objectives of Chapter 11: BERT's masked language model and T5's span corruption.

Both are pure functions of token ids, so they can be tested on large draws and reused by any model:

- :func:`mask_tokens` (Devlin et al. 2019): choose 15 % of the real tokens; of those, 80 % become ``<mask>``,
  10 % a random word, 10 % stay as they are; the model must predict the original token at the chosen places.
- :func:`corrupt_spans` (Raffel et al. 2020): drop 15 % of the tokens in spans of mean length 3; each dropped span
  becomes one sentinel ``<extra_id_k>`` in the input, and the target lists each sentinel followed by the span it
  replaced. Input and target together give back the text exactly (:func:`restore_spans`).

:func:`pretrain_vocab` adds the tokens these objectives need (``<pad>``, ``<mask>``, the sentinels) to a
vocabulary without changing the ids it has; :func:`mask_batch` and :func:`span_batch` apply them to a batch of
blocks cut from a running text (:func:`blocks`), as the models of :mod:`n2t.pretrain` are trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from n2t.checks import not_a_string
from n2t.text import PAD, Vocab

MASK = "<mask>"
IGNORE = -100  # the target id of a position that is not predicted (``F.cross_entropy``'s ignore_index)


def sentinel(k: int) -> str:
    """The ``k``-th sentinel token of span corruption, ``<extra_id_k>`` as in T5."""
    return f"<extra_id_{k}>"


def extend_vocab(vocab: Vocab, tokens: Sequence[str]) -> Vocab:
    """A copy of ``vocab`` with ``tokens`` appended as specials: every old id keeps its meaning."""
    not_a_string("tokens", tokens)
    clash = [t for t in tokens if t in vocab.stoi]
    if clash or len(set(tokens)) != len(tokens):
        raise ValueError(f"tokens must be new and distinct; {clash or list(tokens)} are not")
    extended = Vocab(specials=vocab.specials)
    extended.freqs = vocab.freqs
    extended.itos = [*vocab.itos, *tokens]
    extended.stoi = {t: i for i, t in enumerate(extended.itos)}
    extended.unk_id = vocab.unk_id
    extended.specials = (*vocab.specials, *tokens)
    return extended


def pretrain_vocab(vocab: Vocab, sentinels: int = 100) -> Vocab:
    """``vocab`` plus ``<pad>``, ``<mask>`` and ``sentinels`` sentinel tokens, appended after its words."""
    if sentinels < 0:
        raise ValueError(f"sentinels must be a non-negative count; got {sentinels}")
    return extend_vocab(vocab, [PAD, MASK, *(sentinel(k) for k in range(sentinels))])


# ------------------------------------------------------------------------------------ masked LM (BERT)


def mask_tokens(
    ids: torch.Tensor,
    mask_id: int,
    random_ids: tuple[int, int],
    maskable: torch.Tensor | None = None,
    rate: float = 0.15,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of ``ids`` ``(batch, time)`` → (inputs, targets), both ``(batch, time)``.

    Each position where ``maskable`` is True (default: everywhere; pass the padding mask so that padding is never
    chosen) is chosen with probability ``rate``. A chosen token becomes ``mask_id``, a random id drawn uniformly
    from ``range(*random_ids)``, or stays, with the probabilities ``split``; its target is the original id. Every
    other target is :data:`IGNORE`.
    """
    if ids.dim() != 2:
        raise ValueError(f"ids must have shape (batch, time); got {tuple(ids.shape)}")
    if maskable is None:
        maskable = torch.ones_like(ids, dtype=torch.bool)
    if maskable.shape != ids.shape or maskable.dtype != torch.bool:
        raise ValueError(f"maskable must be a bool tensor of the shape of ids {tuple(ids.shape)}")
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be between 0 and 1; got {rate}")
    if len(split) != 3 or not all(p >= 0 for p in split) or not abs(sum(split) - 1.0) <= 1e-6:  # NaN fails
        raise ValueError(f"split must be three probabilities (mask, random, keep) summing to 1; got {split}")
    if isinstance(mask_id, bool) or not isinstance(mask_id, int) or mask_id < 0:
        raise ValueError(f"mask_id must be a token id (an integer >= 0); got {mask_id!r}")
    low, high = random_ids
    if not 0 <= low < high:
        raise ValueError(f"random_ids must be a non-empty id range (low, high); got {random_ids}")
    # excerpt begins mask tokens
    draw = torch.rand(ids.shape, generator=generator)
    chosen = maskable.cpu() & (draw < rate)  # 15 % of the real tokens
    action = torch.rand(ids.shape, generator=generator)  # what happens to a chosen one
    to_mask = chosen & (action < split[0])  # 80 %: <mask>
    to_random = chosen & (action >= split[0]) & (action < split[0] + split[1])  # 10 %
    random_words = torch.randint(low, high, ids.shape, generator=generator)
    inputs = ids.cpu().masked_fill(to_mask, mask_id)
    inputs = torch.where(to_random, random_words, inputs)  # the other 10 %: unchanged
    targets = ids.cpu().masked_fill(~chosen, IGNORE)  # predict only the chosen ones
    # excerpt ends
    return inputs.to(ids.device), targets.to(ids.device)


# ------------------------------------------------------------------------------- span corruption (T5)


def span_lengths(
    length: int, noise_density: float = 0.15, mean_span: float = 3.0, generator: torch.Generator | None = None
) -> list[tuple[int, int]]:
    """T5's random spans for a text of ``length`` tokens: a list of (kept, dropped) run lengths.

    ``round(length · noise_density)`` tokens are dropped in ``round(dropped / mean_span)`` spans; the dropped
    and the kept tokens are each split into that many non-empty runs at random, and the runs alternate, kept
    first (as ``random_spans_noise_mask`` in T5's code). There must be at least as many kept tokens as spans.
    """
    if length < 2:
        raise ValueError(f"length must be at least 2 tokens to corrupt; got {length}")
    if not 0.0 < noise_density < 1.0 or mean_span < 1.0:
        raise ValueError(f"need 0 < noise_density < 1 and mean_span >= 1; got {noise_density}, {mean_span}")
    dropped = min(max(round(length * noise_density), 1), length - 1)
    spans = max(round(dropped / mean_span), 1)
    if spans > length - dropped:  # every span follows a non-empty kept run
        raise ValueError(
            f"noise_density ({noise_density}) and mean_span ({mean_span}) ask for {spans} spans of dropped tokens "
            f"in a text of {length}, but only {length - dropped} tokens are kept to separate them; lower "
            f"noise_density or raise mean_span"
        )

    def split(total: int) -> list[int]:  # ``total`` into ``spans`` positive parts, uniformly at random
        cuts = torch.randperm(total - 1, generator=generator)[: spans - 1].add(1).sort().values.tolist()
        return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]

    return list(zip(split(length - dropped), split(dropped), strict=True))


def corrupt_spans(
    ids: Sequence[int], sentinel_ids: Sequence[int], eos_id: int, noise_density: float = 0.15,
    mean_span: float = 3.0, generator: torch.Generator | None = None,
) -> tuple[list[int], list[int]]:
    """T5's span corruption of one text ``ids`` → (input ids, target ids).

    Each dropped span is replaced in the input by the next sentinel; the target is each sentinel followed by the
    span it stands for, then one more sentinel and ``eos_id``.
    """
    ids = list(ids)
    runs = span_lengths(len(ids), noise_density, mean_span, generator)
    if len(runs) + 1 > len(sentinel_ids):
        raise ValueError(f"{len(runs)} spans need {len(runs) + 1} sentinel ids; got {len(sentinel_ids)}")
    # excerpt begins corrupt spans
    inputs, targets, at = [], [], 0
    for k, (kept, dropped) in enumerate(runs):
        inputs += [*ids[at : at + kept], sentinel_ids[k]]  # keep a run, then a sentinel
        targets += [sentinel_ids[k], *ids[at + kept : at + kept + dropped]]  # the span
        at += kept + dropped
    targets += [sentinel_ids[len(runs)], eos_id]
    # excerpt ends
    return inputs, targets


def restore_spans(inputs: Sequence[int], targets: Sequence[int], sentinel_ids: Sequence[int]) -> list[int]:
    """Undo :func:`corrupt_spans`: put back in ``inputs`` each span that ``targets`` lists after its sentinel."""
    where = {s: k for k, s in enumerate(sentinel_ids)}
    spans: dict[int, list[int]] = {}
    current = None
    for token in targets:
        if token in where:
            current = where[token]
            spans[current] = []
        elif current is not None:
            spans[current].append(token)
    text = []
    for token in inputs:
        text += spans.get(where[token], []) if token in where else [token]
    return text


# ------------------------------------------------------------------------------------ on batches of blocks


def blocks(ids: torch.Tensor, block_size: int) -> torch.Tensor:
    """A running text ``(tokens,)`` cut into whole blocks ``(blocks, block_size)`` (the remainder is dropped)."""
    if ids.dim() != 1 or ids.numel() < block_size:
        raise ValueError(f"ids must be a stream (tokens,) of at least block_size ({block_size}) tokens; "
                         f"got shape {tuple(ids.shape)}")
    return ids[: ids.numel() // block_size * block_size].view(-1, block_size)


def mask_batch(rows: torch.Tensor, vocab: Vocab, words: int, rate: float, generator: torch.Generator) -> tuple:
    """BERT inputs and targets for whole blocks ``rows`` ``(batch, block)`` of word ids below ``words``."""
    if MASK not in vocab:  # vocab[MASK] would silently be <unk>
        raise ValueError(f"vocab has no {MASK} token: use the pretraining vocabulary (pretrain_vocab), not the "
                         f"WikiText-2 one")
    return mask_tokens(rows, vocab.stoi[MASK], (2, words), rate=rate, generator=generator)  # random: no <unk>/<eos>


def sentinel_ids(vocab: Vocab) -> list[int]:
    """The ids of T5's sentinels ``<extra_id_0>``, ``<extra_id_1>`` … in ``vocab``, in order."""
    ids, k = [], 0
    while sentinel(k) in vocab.stoi:
        ids.append(vocab.stoi[sentinel(k)])
        k += 1
    return ids


def span_batch(
    rows: torch.Tensor, vocab: Vocab, noise_density: float, mean_span: float, generator: torch.Generator,
    sentinels: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """T5 inputs and targets ``(batch, ·)`` for whole blocks ``rows``: every row has the same lengths.

    ``sentinels``: the sentinel ids (default: looked up in ``vocab``; pass them to save the look-up per batch).
    """
    sentinels = sentinel_ids(vocab) if sentinels is None else sentinels
    pairs = [corrupt_spans(row, sentinels, vocab.eos_id, noise_density, mean_span, generator)
             for row in rows.tolist()]
    return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])
