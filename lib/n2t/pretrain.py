"""Pretraining objectives of Chapter 11: BERT's masked language model and T5's span corruption.

Both are pure functions of token ids, so they can be tested on large draws and reused by any model:

- :func:`mask_tokens` (Devlin et al. 2019): choose 15 % of the real tokens; of those, 80 % become ``<mask>``,
  10 % a random word, 10 % stay as they are; the model must predict the original token at the chosen places.
- :func:`corrupt_spans` (Raffel et al. 2020): drop 15 % of the tokens in spans of mean length 3; each dropped span
  becomes one sentinel ``<extra_id_k>`` in the input, and the target lists each sentinel followed by the span it
  replaced. Input and target together give back the text exactly (:func:`restore_spans`).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from n2t import classify, data, decoding, lm, profile, seq2seq, transformer, zoo
from n2t.data import PAD, Vocab
from n2t.metrics import macro_f1
from n2t.profile import Settings
from n2t.train import (
    adamw,
    count_parameters,
    device,
    fit,
    model_device,
    optimizer_step,
    progress,
    seed_everything,
    warmup_cosine,
)

MASK = "<mask>"
IGNORE = -100  # the target id of a position that is not predicted (``F.cross_entropy``'s ignore_index)


def sentinel(k: int) -> str:
    """The ``k``-th sentinel token of span corruption, ``<extra_id_k>`` as in T5."""
    return f"<extra_id_{k}>"


def extend_vocab(vocab: Vocab, tokens: Sequence[str]) -> Vocab:
    """A copy of ``vocab`` with ``tokens`` appended as specials: every old id keeps its meaning."""
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
    if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1.0) > 1e-6:
        raise ValueError(f"split must be three probabilities (mask, random, keep) summing to 1; got {split}")
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
    first (as ``random_spans_noise_mask`` in T5's code).
    """
    if length < 2:
        raise ValueError(f"length must be at least 2 tokens to corrupt; got {length}")
    if not 0.0 < noise_density < 1.0 or mean_span < 1.0:
        raise ValueError(f"need 0 < noise_density < 1 and mean_span >= 1; got {noise_density}, {mean_span}")
    dropped = min(max(round(length * noise_density), 1), length - 1)
    spans = max(round(dropped / mean_span), 1)

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


# ------------------------------------------------------------------------------------------ the models
# All three share one width, depth and block length (profile section "pretraining"); the stacks are
# Chapter 10's (n2t.transformer), pre-LN, with learned positions.

LABEL_WORDS = ("ham", "spam", "objective", "subjective")  # the text-to-text targets of Chapter 5's tasks


def _check_block(ids: torch.Tensor, block_size: int, name: str = "ids") -> None:
    if ids.dim() != 2 or ids.dtype != torch.long:
        raise ValueError(f"{name} must be a long tensor (batch, time); got {ids.dtype} {tuple(ids.shape)}")
    if ids.shape[1] > block_size:
        raise ValueError(f"{name} has {ids.shape[1]} positions, more than block_size ({block_size})")


class GPT(nn.Module):
    """GPT as a body for the :mod:`n2t.lm` harness: ids ``(batch, time)`` → hidden ``(batch, time, dim)``.

    A :class:`n2t.transformer.DecoderOnly` stack with ``block_size`` learned positions. Training reads
    independent blocks of at most ``block_size`` tokens, as GPT did (the state is ``None``). Scoring slides a
    window of ``block_size`` tokens ``stride`` at a time: each token is predicted from between ``block_size -
    stride`` and ``block_size - 1`` tokens before it; the state is the last ``block_size - stride`` tokens.
    """

    def __init__(
        self, vocab_size: int, d_model: int, num_heads: int, num_layers: int, d_ff: int, block_size: int,
        stride: int | None = None, dropout: float = 0.1,
    ) -> None:
        super().__init__()
        stride = block_size // 2 if stride is None else stride
        if not 1 <= stride <= block_size:
            raise ValueError(f"stride must be between 1 and block_size ({block_size}); got {stride}")
        self.net = transformer.DecoderOnly(
            vocab_size, d_model, num_heads, num_layers, d_ff, block_size, dropout, norm_first=True
        )
        self.dim, self.block_size, self.stride = d_model, block_size, stride
        self.context_size = block_size - 1

    def forward(self, ids: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, Any]:
        """Hidden vectors ``(batch, time, dim)`` and the state for the next window."""
        if self.training:
            _check_block(ids, self.block_size)
            return self.net(ids), None
        return self._slide(ids, state)

    def _slide(
        self, ids: torch.Tensor, state: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # the text so far: (batch, past + time)
        text = ids if state is None else torch.cat([state, ids], dim=1)
        total, block = text.shape[1], self.block_size
        pieces = []
        done = text.shape[1] - ids.shape[1]
        if state is None:  # the start of a text: its first block is read as in training
            done = min(block, total)
            pieces.append(self.net(text[:, :done]))
        starts = range(done, total, self.stride)
        chunks = [(s, min(s + self.stride, total)) for s in starts]
        # a window shorter than a block only follows a very short first call
        pieces += [self.net(text[:, :e])[:, s:] for s, e in chunks if e < block]
        full = [(s, e) for s, e in chunks if e >= block]  # whole windows: one batch
        if full:
            # (chunks · batch, block)
            windows = torch.cat([text[:, e - block : e] for _, e in full])
            hidden = self.net(windows).view(len(full), ids.shape[0], block, -1)
            pieces += [hidden[i, :, block - (e - s) :] for i, (s, e) in enumerate(full)]
        memory = text[:, max(0, total - (block - self.stride)) :]
        return torch.cat(pieces, dim=1), memory


def build_gpt(cfg: Settings | dict[str, Any]) -> lm.NeuralLM:
    """A GPT body with the harness's adaptive-softmax head over the 33,278 WikiText-2 words."""
    body = GPT(lm.VOCAB_SIZE, cfg["d_model"], cfg["num_heads"], cfg["num_layers"], cfg["d_ff"],
               cfg["block_size"], dropout=cfg["dropout"])
    return lm.NeuralLM(body, lm.VOCAB_SIZE)


def gpt_step(model: lm.NeuralLM) -> Callable[[torch.Tensor, dict[str, Any]], tuple[torch.Tensor, dict]]:
    """A :mod:`n2t.decoding` step function for a trained GPT: one new token through the key/value cache."""

    def step(tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        if state["position"] >= model.body.block_size:
            raise ValueError(f"the cache is full: GPT reads at most block_size ({model.body.block_size}) tokens")
        # excerpt begins gpt step
        caches = [dict(cache) for cache in state["caches"]]  # the old state stays
        position = state["position"]
        tokens = tokens.to(model_device(model))[:, None]  # (batch, 1)
        hidden = model.body.net(tokens, caches=caches, offset=position)  # (batch, 1, d)
        log_probs = model.head.log_prob(hidden[:, -1])  # (batch, vocab)
        return log_probs, {**state, "caches": caches, "position": position + 1}
        # excerpt ends

    return step


@torch.no_grad()
def generate(
    model: lm.NeuralLM, prompt: Sequence[int], max_new_tokens: int, temperature: float = 1.0,
    top_k: int | None = None, seed: int = 0, greedy: bool = False,
) -> list[int]:
    """Continue ``prompt`` (ids) by up to ``max_new_tokens`` ids, stopping at ``<eos>``: sampled or greedy."""
    if len(prompt) < 1:
        raise ValueError("prompt must hold at least one token id")
    if len(prompt) + max_new_tokens > model.body.block_size:
        raise ValueError(f"prompt + max_new_tokens ({len(prompt) + max_new_tokens}) exceeds block_size "
                         f"({model.body.block_size})")
    model.eval()
    state = model.body.net.start(torch.tensor([list(prompt[:-1])], device=model_device(model)))
    args = (gpt_step(model), state, prompt[-1], lm.START_ID, max_new_tokens)
    if greedy:
        return decoding.greedy(*args)[0]
    return decoding.sample(*args, temperature, top_k, torch.Generator().manual_seed(seed))[0]


class BERT(nn.Module):
    """BERT for masked-LM pretraining: a :class:`n2t.transformer.EncoderOnly` stack and a word head.

    ``vocab`` is the input vocabulary (:func:`pretrain_vocab`: the WikiText-2 words, then ``<pad>``, ``<mask>``
    …); the head predicts only the ``words`` WikiText-2 types (an adaptive softmax, as the harness's).
    """

    def __init__(
        self, vocab: Vocab, words: int, d_model: int, num_heads: int, num_layers: int, d_ff: int,
        block_size: int, dropout: float = 0.1, adaptive: bool = True,
    ) -> None:
        super().__init__()
        self.vocab, self.dim, self.block_size = vocab, d_model, block_size
        self.encoder = transformer.EncoderOnly(
            len(vocab), d_model, num_heads, num_layers, d_ff, block_size, dropout, norm_first=True,
            pad_id=vocab.pad_id,
        )
        self.head = lm.Head(d_model, words, adaptive)

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean −ln p of the original token at the chosen positions (``targets != IGNORE``)."""
        _check_block(inputs, self.block_size, "inputs")
        hidden = self.encoder(inputs, mask)  # (batch, time, dim)
        chosen = targets != IGNORE
        return -self.head.target_logprob(hidden[chosen], targets[chosen]).mean()


class BertEncoder(nn.Module):
    """A pretrained BERT as a token encoder for :mod:`n2t.classify`: ``(ids, mask)`` → ``(batch, time, dim)``."""

    def __init__(self, bert: BERT) -> None:
        super().__init__()
        self.vocab, self.dim, self.encoder = bert.vocab, bert.dim, bert.encoder

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Contextual vectors of every token, each seeing every real token of its text."""
        return self.encoder(ids, mask)


class T5(nn.Module):
    """T5: an encoder–decoder (Chapter 10's stacks, one shared embedding) with one head over ``vocab``.

    The decoder starts from ``<pad>`` (as T5 does). ``loss`` is the mean −ln p per target token. ``words``: how
    many of the first ids are words ordered by frequency (after two specials); the tokens after them are
    placed third in the head's order (default: all ids are words).
    """

    def __init__(
        self, vocab: Vocab, d_model: int, num_heads: int, num_layers: int, d_ff: int, block_size: int,
        dropout: float = 0.1, adaptive: bool = True, words: int | None = None,
    ) -> None:
        super().__init__()
        self.vocab, self.dim, self.block_size = vocab, d_model, block_size
        self.embed = transformer.Embeddings(len(vocab), d_model, "learned", block_size, dropout, vocab.pad_id)
        args = (d_model, num_heads, d_ff, dropout, True)
        self.encoder = transformer.Encoder(num_layers, *args, activation="gelu")
        self.decoder = transformer.Decoder(num_layers, *args, activation="gelu")
        self.head = lm.Head(d_model, len(vocab), adaptive)
        # The adaptive softmax gives its first ids the most capacity. The tokens appended after the words
        # (sentinels, label words) are frequent targets, so the head sees them right after <unk> and <eos>.
        ids = torch.arange(len(vocab))
        words = len(vocab) if words is None else words
        rank = torch.where(ids < 2, ids, torch.where(ids < words, ids + len(vocab) - words, ids - words + 2))
        self.register_buffer("rank", rank, persistent=False)  # vocabulary id → the head's id

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """Source ids and mask ``(batch, S)`` → memory ``(batch, S, dim)``."""
        _check_block(src, self.block_size, "src")
        return self.encoder(self.embed(src), src_mask)

    def loss(self, src: torch.Tensor, src_mask: torch.Tensor, tgt: torch.Tensor, tgt_mask: torch.Tensor) -> torch.Tensor:
        """Teacher forcing on targets ``tgt`` ``(batch, T)``: mean −ln p per real target token."""
        _check_block(tgt, self.block_size, "tgt")
        start = torch.full_like(tgt[:, :1], self.vocab.pad_id)
        tgt_in = torch.cat([start, tgt[:, :-1]], dim=1)  # shifted right
        hidden = self.decoder(self.embed(tgt_in), self.encode(src, src_mask), tgt_mask, src_mask)
        return -self.head.target_logprob(hidden[tgt_mask], self.rank[tgt[tgt_mask]]).mean()

    def start(self, src: torch.Tensor, src_mask: torch.Tensor) -> dict[str, Any]:
        """The decoding state after encoding ``src``: memory, its mask, empty key/value caches."""
        return {"memory": self.encode(src, src_mask), "src_mask": src_mask,
                "caches": [{} for _ in self.decoder.layers], "position": torch.zeros(src.shape[0], dtype=torch.long)}

    def step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """One decoder step through the cache: tokens ``(batch,)`` → log-probs ``(batch, |V|)``, new state."""
        caches = [dict(cache) for cache in state["caches"]]
        position = int(state["position"][0])
        x = self.embed(tokens.to(state["memory"].device)[:, None], position)
        hidden = self.decoder(x, state["memory"], None, state["src_mask"], caches)
        log_probs = self.head.log_prob(hidden[:, -1])[:, self.rank]  # (batch, |V|) in vocabulary order
        return log_probs, {**state, "caches": caches, "position": state["position"] + 1}


# ---------------------------------------------------------------------------------------- pretraining


def blocks(ids: torch.Tensor, block_size: int) -> torch.Tensor:
    """A running text ``(tokens,)`` cut into whole blocks ``(blocks, block_size)`` (the remainder is dropped)."""
    if ids.dim() != 1 or ids.numel() < block_size:
        raise ValueError(f"ids must be a stream (tokens,) of at least block_size ({block_size}) tokens; "
                         f"got shape {tuple(ids.shape)}")
    return ids[: ids.numel() // block_size * block_size].view(-1, block_size)


def mask_batch(rows: torch.Tensor, vocab: Vocab, words: int, rate: float, generator: torch.Generator) -> tuple:
    """BERT inputs and targets for whole blocks ``rows`` ``(batch, block)`` of word ids below ``words``."""
    return mask_tokens(rows, vocab[MASK], (2, words), rate=rate, generator=generator)  # random: no <unk>/<eos>


def span_batch(
    rows: torch.Tensor, vocab: Vocab, noise_density: float, mean_span: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """T5 inputs and targets ``(batch, ·)`` for whole blocks ``rows``: every row has the same lengths."""
    sentinel_ids = [i for i, t in enumerate(vocab.itos) if t.startswith("<extra_id_")]
    pairs = [corrupt_spans(row, sentinel_ids, vocab.eos_id, noise_density, mean_span, generator)
             for row in rows.tolist()]
    return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])


@dataclass
class PretrainLog:
    """A pretraining run: the loss curve (steps, tokens, seconds, valid loss), tokens read, wall and CPU seconds."""

    curve: list[dict[str, float]]
    tokens_seen: int
    seconds: float
    cpu_seconds: float


def train_on_blocks(
    model: nn.Module, loss_fn: Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor],
    train_rows: torch.Tensor, valid_rows: torch.Tensor, tokens: int, batch_size: int, lr: float,
    eval_every: int, seed: int = 0, desc: str = "pretrain",
) -> PretrainLog:
    """Train ``model`` on ``tokens`` tokens of shuffled blocks: ``loss_fn(model, rows, generator)`` per batch.

    AdamW with warm-up and cosine decay, as the harness. Every ``eval_every`` tokens the mean validation loss
    is measured on ``valid_rows`` with a fixed generator (the same masks every time).
    """
    if tokens < 1 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"tokens, batch_size and eval_every must be positive; got {tokens}, {batch_size}, "
                         f"{eval_every}")
    steps = max(1, tokens // (batch_size * train_rows.shape[1]))
    generator = seed_everything(seed)
    dev = device()
    model.to(dev)
    optimizer = adamw(model, lr, 0.01)
    scheduler = warmup_cosine(optimizer, min(100, steps - 1), steps) if steps > 1 else None
    curve, seen, seconds, cpu, next_eval = [], 0, 0.0, 0.0, eval_every
    order = torch.randperm(len(train_rows), generator=generator)
    bar = progress(total=steps, desc=desc)
    for step in range(1, steps + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        if len(order) < batch_size:  # a new epoch
            order = torch.cat([order, torch.randperm(len(train_rows), generator=generator)])
        index, order = order[:batch_size], order[batch_size:]
        model.train()
        loss = loss_fn(model, train_rows[index], generator)
        optimizer_step(loss, model, optimizer, step, 1.0, scheduler)
        seen += train_rows[index].numel()
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        bar.update(1)
        if seen >= next_eval or step == steps:
            valid = valid_loss(model, loss_fn, valid_rows, batch_size, seed)
            curve.append({"step": step, "tokens": seen, "seconds": round(seconds, 3), "valid_loss": valid})
            next_eval += eval_every
            bar.set_postfix(loss=f"{loss.item():.3f}", valid=f"{valid:.3f}", refresh=False)
    bar.close()
    return PretrainLog(curve, seen, round(seconds, 3), round(cpu, 3))


@torch.no_grad()
def valid_loss(
    model: nn.Module, loss_fn: Callable, rows: torch.Tensor, batch_size: int, seed: int = 0
) -> float:
    """The mean of ``loss_fn`` over ``rows`` in eval mode, with a fixed generator (weighted by rows)."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed + 12345)
    total = 0.0
    for start in range(0, len(rows), batch_size):
        part = rows[start : start + batch_size]
        total += float(loss_fn(model, part, generator)) * len(part)
    model.train(was_training)
    return total / len(rows)


def bert_loss(rate: float) -> Callable[[BERT, torch.Tensor, torch.Generator], torch.Tensor]:
    """The masked-LM loss of a batch of blocks, masked afresh every time (BERT's dynamic masking as RoBERTa's)."""

    def loss(model: BERT, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        inputs, targets = mask_batch(rows, model.vocab, model.head.vocab_size, rate, generator)
        dev = model_device(model)
        return model.loss(inputs.to(dev), targets.to(dev))

    return loss


def t5_loss(noise_density: float, mean_span: float) -> Callable[[T5, torch.Tensor, torch.Generator], torch.Tensor]:
    """The span-corruption loss of a batch of blocks (new spans every time)."""

    def loss(model: T5, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        src, tgt = span_batch(rows, model.vocab, noise_density, mean_span, generator)
        dev = model_device(model)
        src, tgt = src.to(dev), tgt.to(dev)
        return model.loss(src, torch.ones_like(src, dtype=torch.bool), tgt, torch.ones_like(tgt, dtype=torch.bool))

    return loss


def model_vocab() -> Vocab:
    """The input vocabulary of BERT and T5: WikiText-2's words, ``<pad>``, ``<mask>``, 100 sentinels, label words."""
    words = lm.wikitext2_vocab()
    vocab = pretrain_vocab(words)
    return extend_vocab(vocab, [w for w in LABEL_WORDS if w not in vocab.stoi])


MODEL_KEYS = ("d_model", "num_heads", "num_layers", "d_ff", "block_size", "dropout")


def _config(cfg: Settings) -> dict[str, Any]:
    return {key: cfg[key] for key in MODEL_KEYS}


def _data(cfg: Settings) -> tuple[torch.Tensor, torch.Tensor]:
    train = blocks(lm.wikitext2_ids("train", cfg.train_lines), cfg.block_size)
    valid = blocks(lm.wikitext2_ids("valid", cfg.valid_lines), cfg.block_size)
    return train, valid


@zoo.register("gpt-lm", section="pretraining")
def train_gpt(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Chapter 11's GPT, trained on WikiText-2 by the harness and scored on the whole test split."""
    train_ids, valid_ids, test_ids = lm.wikitext2_splits(cfg.train_lines, cfg.valid_lines)
    seed_everything(cfg.seed)
    model = build_gpt(cfg)
    cpu_started = time.process_time()
    log = lm.train_lm(model, train_ids, valid_ids, cfg.train_tokens, batch_size=cfg.batch_size,
                      seq_len=cfg.block_size, lr=cfg.lr, eval_every=cfg.eval_every, seed=cfg.seed, desc="train GPT")
    cpu_seconds = time.process_time() - cpu_started  # training and its validation checkpoints
    state, metrics = lm.harness_artefact(model, log, test_ids, valid_ids, _config(cfg))
    return state, {**metrics, "cpu_seconds": round(cpu_seconds, 3)}


def load_gpt(artefact: zoo.Artefact) -> lm.NeuralLM:
    """The trained GPT of a zoo ``"gpt-lm"`` artefact (CPU, eval mode)."""
    model = build_gpt(artefact.state["config"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()


def build_bert(config: dict[str, Any]) -> BERT:
    """A BERT of the chapter's size over :func:`model_vocab`, predicting the WikiText-2 words."""
    return BERT(model_vocab(), lm.VOCAB_SIZE, *(config[k] for k in MODEL_KEYS))


def build_t5(config: dict[str, Any]) -> T5:
    """A T5 of the chapter's size over :func:`model_vocab`."""
    return T5(model_vocab(), *(config[k] for k in MODEL_KEYS), words=lm.VOCAB_SIZE)


@torch.no_grad()
def mlm_accuracy(model: BERT, rows: torch.Tensor, rate: float, seed: int = 0, batch_size: int = 64) -> float:
    """The share of chosen tokens whose original word is BERT's top guess (fixed masks)."""
    model.eval()
    generator = torch.Generator().manual_seed(seed + 12345)
    dev, right, total = model_device(model), 0, 0
    for start in range(0, len(rows), batch_size):
        inputs, targets = mask_batch(rows[start : start + batch_size], model.vocab, model.head.vocab_size, rate,
                                     generator)
        chosen = targets != IGNORE
        hidden = model.encoder(inputs.to(dev))[chosen.to(dev)]
        right += int((model.head.log_prob(hidden).argmax(-1).cpu() == targets[chosen]).sum())
        total += int(chosen.sum())
    return right / total


@zoo.register("bert-mlm", section="pretraining")
def train_bert(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Chapter 11's BERT: masked-LM pretraining on WikiText-2 blocks (15 %, 80/10/10, fresh masks)."""
    train, valid = _data(cfg)
    seed_everything(cfg.seed)
    model = build_bert(_config(cfg))
    log = train_on_blocks(model, bert_loss(cfg.mask_rate), train, valid, cfg.train_tokens, cfg.batch_size, cfg.lr,
                   cfg.eval_every, cfg.seed, "pretrain BERT")
    accuracy = mlm_accuracy(model, valid, cfg.mask_rate, cfg.seed)
    model.cpu()
    metrics = {"valid_mlm_loss": log.curve[-1]["valid_loss"], "valid_mlm_accuracy": accuracy,
               "parameters": count_parameters(model), "tokens_seen": log.tokens_seen,
               "training_seconds": log.seconds, "cpu_seconds": log.cpu_seconds, "curve": log.curve,
               "device": str(device())}
    return {"model": model.state_dict(), "config": _config(cfg)}, metrics


@zoo.register("t5-span", section="pretraining")
def train_t5(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Chapter 11's T5: span-corruption pretraining on WikiText-2 blocks (15 % of tokens, mean span 3)."""
    train, valid = _data(cfg)
    seed_everything(cfg.seed)
    model = build_t5(_config(cfg))
    log = train_on_blocks(model, t5_loss(cfg.noise_density, cfg.mean_span), train, valid, cfg.train_tokens,
                   cfg.batch_size, cfg.lr, cfg.eval_every, cfg.seed, "pretrain T5")
    model.cpu()
    metrics = {"valid_span_loss": log.curve[-1]["valid_loss"], "parameters": count_parameters(model),
               "tokens_seen": log.tokens_seen, "training_seconds": log.seconds, "cpu_seconds": log.cpu_seconds,
               "curve": log.curve, "device": str(device())}
    return {"model": model.state_dict(), "config": _config(cfg)}, metrics


def load(artefact: zoo.Artefact) -> nn.Module:
    """The trained model of a ``"gpt-lm"``, ``"bert-mlm"`` or ``"t5-span"`` artefact (CPU, eval mode)."""
    if artefact.name not in ("gpt-lm", "bert-mlm", "t5-span"):
        raise ValueError(f"artefact must be 'gpt-lm', 'bert-mlm' or 't5-span'; got {artefact.name!r}")
    if artefact.name == "gpt-lm":
        return load_gpt(artefact)
    model = (build_bert if artefact.name == "bert-mlm" else build_t5)(artefact.state["config"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()


# ------------------------------------------------------------------------------- on Chapter 5's tasks

BERT_VARIANTS = ("BERT frozen", "BERT fine-tuned")
T5_VARIANT = "T5 text-to-text"


def bert_encoder(bert: BERT, freeze: bool) -> BertEncoder:
    """A copy of ``bert``'s encoder as a token encoder, frozen (no trainable parameter) or not."""
    encoder = BertEncoder(copy.deepcopy(bert))
    encoder.requires_grad_(not freeze)
    return encoder


def transfer_settings(block_size: int, seeds: int) -> Settings:
    """Chapter 5's learning-curve settings (section "transfer"): its first ``seeds`` seeds, texts of ≤ block_size."""
    transfer = profile.current().settings("transfer")
    changes = {"max_len": min(transfer.max_len, block_size), "seeds": transfer.seeds[:seeds]}
    return Settings("transfer", profile.current().name, {**transfer, **changes})


def curve_artefact(records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The zoo's (state, metrics) of a learning curve, stored like Chapter 5's ``transfer-curves``."""
    return {"sizes": torch.tensor([r["size"] for r in records])}, {"records": records, "device": str(device())}


@zoo.register("bert-curves", section="pretraining")
def train_bert_curves(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pretrained BERT on Chapter 5's learning curve (its sizes and seeds), frozen and fine-tuned."""
    bert = load(zoo.get("bert-mlm"))
    transfer = transfer_settings(bert.block_size, cfg.curve_seeds)
    records = []
    for name in cfg.curve_tasks:
        task = data.text_task(name)
        for variant in BERT_VARIANTS:
            records += classify.learning_curve(
                lambda seed, frozen=variant == "BERT frozen": bert_encoder(bert, frozen), task, variant,
                transfer, encoder_lr=cfg.bert_lr,
            )
    return curve_artefact(records)


def label_word_ids(task: data.TextTask, vocab: Vocab) -> list[int]:
    """The vocabulary id of each label word of ``task`` (T5 writes the label as a word)."""
    missing = [label for label in task.labels if label not in vocab.stoi]
    if missing:
        raise ValueError(f"label words {missing} are not in the vocabulary; add them to LABEL_WORDS")
    return [vocab[label] for label in task.labels]


@torch.no_grad()
def generate_labels(model: T5, ids: torch.Tensor, mask: torch.Tensor, max_len: int = 2) -> list[list[int]]:
    """Greedy text-to-text outputs (token ids without ``<eos>``) for padded inputs ``(batch, S)``."""
    model.eval()
    dev = model_device(model)
    state = model.start(ids.to(dev), mask.to(dev))
    return decoding.greedy(model.step, state, model.vocab.pad_id, model.vocab.eos_id, max_len)


def text_to_text_scores(outputs: list[list[int]], label_ids: list[int], targets: torch.Tensor) -> dict[str, float]:
    """Macro-F1 and accuracy of generated outputs: an output that is not exactly one label word is wrong."""
    invalid = len(label_ids)  # a class of its own that is never a target: it scores F1 = 0
    predictions = torch.tensor([label_ids.index(o[0]) if len(o) == 1 and o[0] in label_ids else invalid
                                for o in outputs])
    with_invalid = macro_f1(predictions, targets, invalid + 1)
    return {"macro_f1": with_invalid * (invalid + 1) / invalid,  # the mean over the real classes only
            "accuracy": float((predictions == targets).double().mean()),
            "invalid": int((predictions == invalid).sum())}


def fine_tune_text_to_text(
    model: T5, task: data.TextTask, index: torch.Tensor, steps: int, batch_size: int, lr: float, seed: int,
    max_len: int,
) -> None:
    """Fine-tune all of ``model`` to write the label word of ``task.train[index]`` then ``<eos>``."""
    vocab, dev = model.vocab, device()
    model.to(dev).train()
    labels = label_word_ids(task, vocab)
    examples = [task.train[i] for i in index.tolist()]
    encoded = classify.encode_texts([e.text for e in examples], vocab, data.wikitext_tokenize, max_len)
    targets = torch.tensor([[labels[task.labels.index(e.label)], vocab.eos_id] for e in examples])
    optimizer = adamw(model, lr, 0.01)
    generator = torch.Generator().manual_seed(seed)
    order, batch_size = torch.randperm(len(examples), generator=generator), min(batch_size, len(examples))
    for step in range(1, steps + 1):
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(examples), generator=generator)])
        batch, order = order[:batch_size].tolist(), order[batch_size:]
        ids, mask = classify.pad_ids([encoded[i] for i in batch], vocab.pad_id)
        tgt = targets[batch].to(dev)
        loss = model.loss(ids.to(dev), mask.to(dev), tgt, torch.ones_like(tgt, dtype=torch.bool))
        optimizer_step(loss, model, optimizer, step, 1.0)


def text_to_text_curve(t5: T5, task: data.TextTask, settings: Settings, lr: float) -> list[dict[str, Any]]:
    """T5 fine-tuned to generate the label word, on the learning curve of ``settings`` (section "transfer")."""
    train_labels = task.label_ids(task.train)
    test = classify.encode_texts([e.text for e in task.test], t5.vocab, data.wikitext_tokenize, settings.max_len)
    test_ids, test_mask = classify.pad_ids(test, t5.vocab.pad_id)
    test_labels = task.label_ids(task.test)
    records = []
    runs = progress(total=len(settings.seeds) * len(settings.sizes), desc=f"{task.name}: {T5_VARIANT}")
    for seed in settings.seeds:
        for size in settings.sizes:
            index = classify.labelled_subset(train_labels, size, seed)
            steps = classify.steps_for(len(index), settings)
            seed_everything(seed)
            model = copy.deepcopy(t5)
            fine_tune_text_to_text(model, task, index, steps, settings.batch_size, lr, seed, settings.max_len)
            outputs = []
            for start in range(0, len(test), 256):
                rows = slice(start, start + 256)
                outputs += generate_labels(model, test_ids[rows], test_mask[rows])
            result = text_to_text_scores(outputs, label_word_ids(task, t5.vocab), test_labels)
            records.append({"task": task.name, "variant": T5_VARIANT, "size": len(index), "seed": seed,
                            "steps": steps, **result})
            runs.update(1)
    runs.close()
    return records


@zoo.register("t5-curves", section="pretraining")
def train_t5_curves(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pretrained T5 on Chapter 5's learning curve, writing each label as a word (text-to-text)."""
    t5 = load(zoo.get("t5-span"))
    transfer = transfer_settings(t5.block_size, cfg.curve_seeds)
    tasks = [data.text_task(name) for name in cfg.curve_tasks]
    return curve_artefact([r for task in tasks for r in text_to_text_curve(t5, task, transfer, cfg.t2t_lr)])


# ---------------------------------------------------------------- translation as text to text (Chapter 10's data)

TRANSLATE_PREFIX = ("translate", "Chinese", "to", "English", ":")  # T5's task prefix, in WikiText-2's words
_WIKITEXT_MARKUP = {"@-@": "-", "@,@": ",", "@.@": "."}  # WikiText-2's "1 @,@ 000" and "well @-@ known"


class PadStartVocab(Vocab):
    """A vocabulary whose ``bos_id`` is ``<pad>``: T5 has no ``<bos>``, its decoder starts from ``<pad>``."""

    @classmethod
    def of(cls, vocab: Vocab) -> PadStartVocab:
        """``vocab``, unchanged but for where decoding starts."""
        copied = cls.__new__(cls)
        copied.__dict__.update(vocab.__dict__)
        return copied

    @property
    def bos_id(self) -> int:
        """The id of ``<pad>``, where T5's decoder starts."""
        return self.pad_id


def translation_source(sentence: str, block_size: int) -> list[str]:
    """What T5 reads to translate ``sentence``: the task prefix, then its characters (cut to ``block_size``)."""
    return [*TRANSLATE_PREFIX, *data.chinese_tokenize(sentence)][:block_size]


def translation_tokens(
    pairs: Sequence[tuple[str, str]], vocab: Vocab, block_size: int
) -> list[tuple[list[str], list[str]]]:
    """``(chinese, english)`` pairs as T5 reads and writes them: the task prefix and the characters in, English
    out in WikiText-2's words (a capitalised word it lacks, "Did", is written in lower case, "did"), both cut to
    ``block_size`` (with room for ``<eos>`` on the output side)."""
    def english(text: str) -> list[str]:
        words = data.wikitext_tokenize(text, lower=False)
        return [w if w in vocab.stoi else w.lower() for w in words][: block_size - 1]

    return [(translation_source(zh, block_size), english(en)) for zh, en in pairs]


class T5Translator(seq2seq.Translator):
    """A T5 that translates Chinese → English as text to text, with the ``translate`` of every translator.

    ``chars``: the Chinese characters that get embedding rows of their own, appended after the pretrained
    vocabulary's (initialised at random; every other weight is the T5's). The output vocabulary is the T5's.
    """

    def __init__(self, t5: T5, chars: Sequence[str]) -> None:
        super().__init__()
        self.t5 = t5
        # excerpt begins t5 translator
        self.src_vocab = extend_vocab(t5.vocab, list(chars))
        self.tgt_vocab = PadStartVocab.of(t5.vocab)
        old, dim = t5.embed.token, t5.dim
        grown = nn.Embedding(len(self.src_vocab), dim, padding_idx=old.padding_idx)
        with torch.no_grad():
            nn.init.normal_(grown.weight, std=dim**-0.5)  # as in transformer.Embeddings
            grown.weight[: old.num_embeddings] = old.weight  # the pretrained rows
        t5.embed.token = grown
        # excerpt ends

    def tokenize_source(self, sentence: str) -> list[str]:
        """The task prefix, then the characters (cut to the block size)."""
        return translation_source(sentence, self.t5.block_size)

    def detokenize_target(self, tokens: Sequence[str]) -> str:
        """WikiText-2's words → a sentence written as every translator writes it (lower case, "i 'm" → "I'm")."""
        words: list[str] = []
        for token in tokens:
            token = _WIKITEXT_MARKUP.get(token, token).lower()
            if words and token[:1] == "'" and len(token) > 1:
                words[-1] += token  # a contraction joins its word
            else:
                words.append(token)
        return seq2seq.detokenize(words)

    def max_output_length(self, src_length: int) -> int:
        """As every translator, but never past the learned positions."""
        return min(super().max_output_length(src_length), self.t5.block_size)

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor) -> dict[str, Any]:
        """Encode a padded batch of sources ``(batch, S)``."""
        return self.t5.start(src, data.lengths_to_mask(src_lengths, src.shape[1]).to(src.device))

    def step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """One decoding step of the T5 (its key/value cache)."""
        return self.t5.step(tokens, state)

    def loss(self, batch: data.PairBatch) -> torch.Tensor:
        """Mean −ln p per target token (``<eos>`` included) under teacher forcing."""
        return self.t5.loss(batch.src, batch.src_mask, batch.tgt[:, 1:], batch.tgt_mask[:, 1:])


def fine_tune_translation(t5: T5, cfg: Settings, desc: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fine-tune all of ``t5`` on Chapter 7's pairs with Chapter 10's split, epochs, batches and beams (section
    "transformer"), at learning rate ``cfg.t2t_lr``; the zoo's ``(state, metrics)`` as for every translator."""
    settings = profile.current().settings("transformer")
    seed_everything(settings.seed)

    def tokenize(pairs: Sequence[tuple[str, str]]) -> list[tuple[list[str], list[str]]]:
        return translation_tokens(pairs, t5.vocab, t5.block_size)

    train = tokenize(data.cmn_eng_split("train")[: settings.train_pairs])
    counts = Counter(c for source, _ in train for c in source[len(TRANSLATE_PREFIX) :])
    chars = sorted((c for c, n in counts.items() if n >= settings.min_freq and c not in t5.vocab.stoi),
                   key=lambda c: (-counts[c], c))
    model = T5Translator(t5, chars).to(device())
    optimizer = adamw(model, cfg.t2t_lr, 0.01)
    cpu_start = time.process_time()
    history = fit(model, seq2seq.epoch_batches(train, model.src_vocab, model.tgt_vocab, settings),
                  lambda m, batch: m.loss(batch), optimizer, epochs=settings.epochs,
                  evaluate=seq2seq.validation_loss(model.src_vocab, model.tgt_vocab, settings, tokenize),
                  grad_clip=1.0, desc=desc)
    cpu_seconds = time.process_time() - cpu_start
    config = {**_config(cfg), "chars": chars}
    state, metrics = seq2seq.translator_artefact(model, settings, train, history, cpu_seconds, config, desc)
    unknown = sum(t not in t5.vocab.stoi for _, target in train for t in target)
    metrics["target_unk_share"] = unknown / sum(len(target) for _, target in train)
    return state, metrics


@zoo.register("t5-zh-en", section="pretraining")
def train_t5_zh_en(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pretrained T5 (zoo ``"t5-span"``) fine-tuned to translate Chapter 7's Chinese → English pairs."""
    return fine_tune_translation(load(zoo.get("t5-span")), cfg, "T5 (pretrained)")


@zoo.register("t5-scratch-zh-en", section="pretraining")
def train_t5_scratch_zh_en(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The control: the same T5, from random weights, trained exactly as ``"t5-zh-en"`` is fine-tuned."""
    seed_everything(cfg.seed)
    return fine_tune_translation(build_t5(_config(cfg)), cfg, "T5 (from scratch)")


def load_translator(artefact: zoo.Artefact) -> T5Translator:
    """The T5 translator of a ``"t5-zh-en"`` or ``"t5-scratch-zh-en"`` artefact (CPU, eval mode)."""
    if artefact.name not in ("t5-zh-en", "t5-scratch-zh-en"):
        raise ValueError(f"artefact must be 't5-zh-en' or 't5-scratch-zh-en'; got {artefact.name!r}")
    config = artefact.state["config"]
    model = T5Translator(build_t5(config), config["chars"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()
