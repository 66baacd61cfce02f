"""Decoding: turn a model's next-token distributions into output sentences (Chapters 7, 10–11).

Every function here drives a *step function* and knows nothing else about the model::

    step(tokens, state) -> (log_probs, state)

``tokens`` ``(batch,)`` are the tokens just emitted (``<bos>`` at the first call); ``log_probs`` ``(batch, vocab)``
are the log-probabilities of the next token; ``state`` is whatever the model carries from one step to the next
(an RNN's hidden state and the encoder's outputs, or a Transformer's key/value cache): a tensor, or tuples,
lists and dicts of tensors, each with the batch as its **first** dimension, so that beam search can copy and
reorder rows with :func:`select_rows`. Anything in ``state`` that is not a tensor is passed along unchanged.
``tokens`` arrive on the CPU; the step function moves them to its model's device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from n2t.train import map_tensors

State = Any
StepFn = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]


@dataclass(frozen=True)
class Hypothesis:
    """One output of beam search: token ids (no ``<bos>``/``<eos>``), total log-probability, normalised score."""

    tokens: list[int]
    log_prob: float
    score: float
    finished: bool


def select_rows(state: State, index: torch.Tensor) -> State:
    """``state`` with every tensor's first (batch) dimension indexed by ``index`` (to copy or reorder rows)."""
    return map_tensors(state, lambda tensor: tensor.index_select(0, index.to(tensor.device)))


def batch_size_of(state: State) -> int:
    """The batch size of ``state``: the first dimension of its first tensor."""
    if isinstance(state, torch.Tensor):
        return state.shape[0]
    values = (
        state.values()
        if isinstance(state, dict)
        else state
        if isinstance(state, list | tuple)
        else ()
    )
    for value in values:
        try:
            return batch_size_of(value)
        except ValueError:
            continue
    raise ValueError(
        "state holds no tensor, so its batch size is unknown; put at least one (batch, ...) tensor in it"
    )


def length_normalised(log_prob: float, length: int, alpha: float) -> float:
    """The score that ranks hypotheses: ``log_prob / length**alpha`` (``alpha = 0``: raw log-probability)."""
    return log_prob / max(length, 1) ** alpha


def _check(bos_id: int, eos_id: int, max_len: int) -> None:
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1 token; got {max_len}")
    if bos_id < 0 or eos_id < 0:
        raise ValueError(
            f"bos_id and eos_id must be token ids (non-negative); got {bos_id} and {eos_id}"
        )


def _checked(step: StepFn, eos_id: int) -> StepFn:
    """``step``, checked at every call: a NaN or a row without a finite entry would otherwise decode silently
    (token 0 forever, or no hypothesis at all). An ``eos_id`` outside the step's vocabulary is allowed: it is
    never produced, so decoding runs to ``max_len`` (Chapter 10 times decoding that way)."""
    calls = 0

    def checked(tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        nonlocal calls
        calls += 1
        log_probs, state = step(tokens, state)
        if log_probs.dim() != 2 or log_probs.shape[0] != len(tokens):
            raise ValueError(
                f"step must return log-probs (batch={len(tokens)}, vocab); got shape {tuple(log_probs.shape)}"
            )
        if log_probs.isnan().any() or not (log_probs > float("-inf")).any(dim=-1).all():
            raise ValueError(f"step returned log-probs holding NaN, or a row with no finite entry, at step {calls}")
        return log_probs, state

    return checked


def _cut_at_eos(rows: torch.Tensor, eos_id: int) -> list[list[int]]:
    out = []
    for row in rows.tolist():
        out.append(row[: row.index(eos_id)] if eos_id in row else row)
    return out


def _first_token_ids(state: State, bos_id: int) -> torch.Tensor:
    return torch.full((batch_size_of(state),), bos_id, dtype=torch.long)


@torch.no_grad()
def greedy(
    step: StepFn, state: State, bos_id: int, eos_id: int, max_len: int
) -> list[list[int]]:
    """Greedy decoding: the likeliest token at every step, until ``<eos>`` or max_len.

    Returns the token ids of every sentence, without ``<bos>`` and ``<eos>``.
    """
    _check(bos_id, eos_id, max_len)
    step = _checked(step, eos_id)
    tokens = _first_token_ids(state, bos_id)
    done = torch.zeros_like(tokens, dtype=torch.bool)
    emitted = []
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        tokens = log_probs.argmax(dim=-1).cpu()
        tokens = tokens.masked_fill(
            done, eos_id
        )  # a finished sentence keeps emitting <eos>
        emitted.append(tokens)
        done |= tokens == eos_id
        if done.all():
            break
    return _cut_at_eos(torch.stack(emitted, dim=1), eos_id)


@torch.no_grad()
def sample(
    step: StepFn, state: State, bos_id: int, eos_id: int, max_len: int, temperature: float = 1.0,
    top_k: int | None = None, generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Ancestral sampling: draw each token from softmax(log_probs / temperature), restricted to the ``top_k`` best.

    ``temperature`` < 1 sharpens the distribution (towards greedy), > 1 flattens it; ``generator`` (a CPU
    ``torch.Generator``) makes the draws reproducible. Returns token ids per sentence, without ``<bos>``/``<eos>``.
    """
    _check(bos_id, eos_id, max_len)
    if not temperature > 0:
        raise ValueError(f"temperature must be positive; got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(
            f"top_k must be at least 1 (or None for the whole vocabulary); got {top_k}"
        )
    step = _checked(step, eos_id)
    tokens = _first_token_ids(state, bos_id)
    done = torch.zeros_like(tokens, dtype=torch.bool)
    emitted = []
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        logits = log_probs.float().cpu() / temperature
        if top_k is not None and top_k < logits.shape[-1]:
            kth_best = logits.topk(top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth_best, float("-inf"))
        tokens = torch.multinomial(
            logits.softmax(dim=-1), 1, generator=generator
        ).squeeze(1)
        tokens = tokens.masked_fill(done, eos_id)
        emitted.append(tokens)
        done |= tokens == eos_id
        if done.all():
            break
    return _cut_at_eos(torch.stack(emitted, dim=1), eos_id)


def _keep_best(
    top: list[tuple[float, int]], k: int, vocab: int, eos_id: int
) -> tuple[list[tuple[float, int, int]], list[tuple[float, int]]]:
    """Split one sentence's best extensions ``(score, beam·vocab + token)``, best first, into the ``k`` live
    ones ``(score, beam, token)`` and the finished ones ``(score, beam)``: an ``<eos>`` among the best ``k``."""
    live, ended = [], []
    for rank, (score, flat) in enumerate(top):
        beam, token = divmod(flat, vocab)
        if token != eos_id:
            live.append((score, beam, token))
        elif rank < k and score > float("-inf"):
            ended.append((score, beam))
        if len(live) == k:
            break
    return live, ended


@torch.no_grad()
def beam_search(
    step: StepFn, state: State, bos_id: int, eos_id: int, max_len: int, beam_size: int, alpha: float = 1.0,
) -> list[list[Hypothesis]]:
    """Beam search over a batch of sentences, keeping the ``beam_size`` best prefixes of each.

    At every step each live prefix is extended by every token; the ``beam_size`` best extensions by total
    log-probability survive. An extension by ``<eos>`` that ranks among them is a finished hypothesis, scored
    by :func:`length_normalised` (``alpha``, length counted with the ``<eos>``). A sentence is done when it has
    ``beam_size`` finished hypotheses and its best live prefix, normalised at its current length, scores no
    better than the worst of them (exact for ``alpha = 0``, where scores only fall; the usual heuristic
    otherwise). Prefixes still alive after ``max_len`` tokens join the finished ones, marked unfinished.
    Returns, per sentence, its ``beam_size`` best hypotheses by normalised score, best first.
    ``beam_size=1`` is greedy decoding.
    """
    _check(bos_id, eos_id, max_len)
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1; got {beam_size}")
    step = _checked(step, eos_id)
    batch, k = batch_size_of(state), beam_size
    state = select_rows(state, torch.arange(batch).repeat_interleave(k))  # k copies each
    tokens = torch.full((batch * k,), bos_id, dtype=torch.long)
    prefixes = torch.empty(batch * k, 0, dtype=torch.long)
    scores = torch.full((batch, k), float("-inf"))
    scores[:, 0] = 0.0  # at first the k copies are one prefix: keep one
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    done = [False] * batch
    # BEGIN beam search loop
    for length in range(1, max_len + 1):
        log_probs, state = step(tokens, state)  # (batch·k, vocab)
        vocab = log_probs.shape[-1]
        total = scores[:, :, None] + log_probs.float().cpu().view(batch, k, vocab)
        best = total.view(batch, k * vocab).topk(min(2 * k, k * vocab), dim=-1)
        # the prefix each survivor extends; a finished sentence's rows stay 0 (they copy
        # sentence 0's state along, and nothing reads them again)
        rows = torch.zeros(batch, k, dtype=torch.long)
        tokens = torch.full((batch, k), eos_id, dtype=torch.long)
        scores = torch.full((batch, k), float("-inf"))
        for b in range(batch):
            if done[b]:
                continue
            top = zip(best.values[b].tolist(), best.indices[b].tolist(), strict=True)
            live, ended = _keep_best(list(top), k, vocab, eos_id)
            for score, beam in ended:
                words = prefixes[b * k + beam].tolist()
                norm = length_normalised(score, length, alpha)
                finished[b].append(Hypothesis(words, score, norm, True))
            for j, (score, beam, token) in enumerate(live):
                scores[b, j], rows[b, j], tokens[b, j] = score, b * k + beam, token
            done[b] = _is_done(finished[b], live, k, length, alpha)
        if all(done):
            break
        state = select_rows(state, rows.view(-1))
        prefixes = torch.cat([prefixes[rows.view(-1)], tokens.view(-1, 1)], dim=1)
        tokens = tokens.view(-1)
    # END beam search loop
    else:  # max_len reached: the live prefixes join the finished ones, marked unfinished
        for b in range(batch):
            for j in range(k) if not done[b] else ():
                score = scores[b, j].item()
                if score > float("-inf"):
                    words = prefixes[b * k + j].tolist()
                    finished[b].append(Hypothesis(words, score, length_normalised(score, max_len, alpha), False))
    return [sorted(hyps, key=lambda h: -h.score)[:k] for hyps in finished]


def _is_done(finished: list[Hypothesis], live: list[tuple[float, int, int]], k: int, length: int, alpha: float) -> bool:
    """Whether a sentence is done: ``k`` finished hypotheses, and no live prefix scores better than the k-th."""
    if len(finished) < k:
        return False
    kth_best = sorted((h.score for h in finished), reverse=True)[k - 1]
    return not live or length_normalised(live[0][0], length, alpha) <= kth_best


def best_tokens(hypotheses: list[list[Hypothesis]]) -> list[list[int]]:
    """The tokens of the best hypothesis of every sentence (``[]`` for a sentence without any)."""
    return [hyps[0].tokens if hyps else [] for hyps in hypotheses]


def without_tokens(step: StepFn, token_ids: Sequence[int]) -> StepFn:
    """``step`` with the log-probabilities of ``token_ids`` set to −∞, so that decoding never emits them.

    A translation contains no ``<pad>`` or ``<bos>``, yet a model gives them some probability. The other
    log-probabilities are left as they are (not renormalised): a hypothesis keeps the model's score.
    """
    banned = sorted(set(token_ids))
    if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for i in banned):
        raise ValueError(f"token_ids must be token ids (non-negative integers); got {list(token_ids)}")
    if not banned:
        return step
    index = torch.tensor(banned, dtype=torch.long)

    def banned_step(tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        log_probs, state = step(tokens, state)
        return log_probs.index_fill(-1, index.to(log_probs.device), float("-inf")), state

    return banned_step
