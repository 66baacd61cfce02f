"""GPT, BERT and T5 (Chapter 11), built from Chapter 10's Transformer layers, and their pretraining.

- :class:`GPT`: a decoder-only stack as a body for the :mod:`n2t.lm` harness, trained and scored like every
  language model of the book (the zoo artefact ``"gpt-lm"``).
- :class:`BERT`: an encoder-only stack pretrained as a masked language model (``"bert-mlm"``), then a token
  encoder on Chapter 5's learning curve (``"bert-curves"``).
- :class:`T5`: an encoder–decoder pretrained by span corruption (``"t5-span"``); its text-to-text uses are
  :mod:`n2t.text2text`.

All three share one width, depth and block length (profile section ``"pretraining"``), pre-LN with learned
positions, and the book's streamed training loop (:func:`n2t.train.train_stream`): the objectives are
:mod:`n2t.objectives`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from n2t import data, decoding, lm, profile, transfer, transformer, zoo
from n2t.attention import copy_caches
from n2t.objectives import IGNORE, blocks, extend_vocab, mask_batch, pretrain_vocab, sentinel_ids, span_batch
from n2t.profile import Settings
from n2t.text import Vocab
from n2t.train import (
    TrainLog,
    count_parameters,
    model_device,
    records_arguments,
    seed_everything,
    train_stream,
)

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

    @records_arguments
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
        self.context_range = (block_size - stride, block_size - 1)  # once past the first block

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
    """A :mod:`n2t.decoding` step function for a trained GPT: one new token through the key/value cache, scored
    by the harness's head (:meth:`n2t.transformer.DecoderOnly.step`)."""

    def step(tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        if state["position"] >= model.body.block_size:
            raise ValueError(f"the cache is full: GPT reads at most block_size ({model.body.block_size}) tokens")
        return model.body.net.step(tokens, state, head=model.head.log_prob)

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

    @records_arguments
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
        if not chosen.any():
            raise ValueError("no position is chosen (every target is IGNORE): the mean loss over none is undefined")
        return -self.head.target_logprob(hidden[chosen], targets[chosen]).mean()


class BertEncoder(nn.Module):
    """A pretrained BERT as a token encoder for :mod:`n2t.classify`: ``(ids, mask)`` → ``(batch, time, dim)``."""

    def __init__(self, bert: BERT) -> None:
        super().__init__()
        self.vocab, self.dim, self.encoder = bert.vocab, bert.dim, bert.encoder

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Contextual vectors of every token, each seeing every real token of its text."""
        return self.encoder(ids, mask)


def head_order(vocab_size: int, words: int) -> torch.Tensor:
    """Where the head predicts each vocabulary id ``(vocab_size,)``: ``<unk>`` and ``<eos>`` first, then the
    tokens after the first ``words`` ids, then the words.

    The adaptive softmax gives its first ids the most capacity. The tokens appended after the words (the
    sentinels, the label words) are frequent targets, so the head sees them right after the two specials.
    """
    ids = torch.arange(vocab_size)
    return torch.where(ids < 2, ids, torch.where(ids < words, ids + vocab_size - words, ids - words + 2))


class T5(nn.Module):
    """T5: an encoder–decoder (Chapter 10's stacks, one shared embedding) with one head over ``vocab``.

    The decoder starts from ``<pad>`` (as T5 does). ``loss`` is the mean −ln p per target token. ``words``: how
    many of the first ids are words ordered by frequency (after two specials); the head predicts the tokens
    after them right after the specials (:func:`head_order`; default: all ids are words).
    """

    @records_arguments
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
        head_index = head_order(len(vocab), len(vocab) if words is None else words)
        self.register_buffer("head_index", head_index, persistent=False)  # vocabulary id → the head's id

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """Source ids and mask ``(batch, S)`` → memory ``(batch, S, dim)``."""
        _check_block(src, self.block_size, "src")
        return self.encoder(self.embed(src), src_mask)

    def loss(self, src: torch.Tensor, src_mask: torch.Tensor, tgt: torch.Tensor, tgt_mask: torch.Tensor) -> torch.Tensor:
        """Teacher forcing on targets ``tgt`` ``(batch, T)``: mean −ln p per real target token."""
        _check_block(tgt, self.block_size, "tgt")
        if not tgt_mask.any():
            raise ValueError("tgt_mask selects no target token: the mean loss over none is undefined")
        start = torch.full_like(tgt[:, :1], self.vocab.pad_id)
        tgt_in = torch.cat([start, tgt[:, :-1]], dim=1)  # shifted right
        hidden = self.decoder(self.embed(tgt_in), self.encode(src, src_mask), tgt_mask, src_mask)
        return -self.head.target_logprob(hidden[tgt_mask], self.head_index[tgt[tgt_mask]]).mean()

    def start(self, src: torch.Tensor, src_mask: torch.Tensor) -> dict[str, Any]:
        """The decoding state after encoding ``src``: memory, its mask, empty key/value caches."""
        return {"memory": self.encode(src, src_mask), "src_mask": src_mask, "caches": self.decoder.new_caches(),
                "position": torch.zeros(src.shape[0], dtype=torch.long)}

    def step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """One decoder step through the cache: tokens ``(batch,)`` → log-probs ``(batch, |V|)``, new state."""
        caches = copy_caches(state["caches"])
        position = int(state["position"][0])
        x = self.embed(tokens.to(state["memory"].device)[:, None], position)
        hidden = self.decoder(x, state["memory"], None, state["src_mask"], caches)
        log_probs = self.head.log_prob(hidden[:, -1])[:, self.head_index]  # (batch, |V|) in vocabulary order
        return log_probs, {**state, "caches": caches, "position": state["position"] + 1}


# ---------------------------------------------------------------------------------------- pretraining


BlockLoss = Callable[[nn.Module, torch.Tensor, torch.Generator], tuple[torch.Tensor, int]]


def block_step(
    model: nn.Module, loss_fn: BlockLoss, rows: torch.Tensor, batch_size: int, generator: torch.Generator,
) -> Callable[[], tuple[torch.Tensor, int]]:
    """The step of :func:`n2t.train.train_stream` for pretraining on blocks: the loss of the next batch of
    ``rows`` in shuffled order (a new order every epoch), ``loss_fn(model, batch, generator)``, which returns the
    mean loss per predicted token and the number of predicted tokens."""
    order = torch.randperm(len(rows), generator=generator)

    def step() -> tuple[torch.Tensor, int]:
        nonlocal order
        if len(order) < batch_size:  # a new epoch
            order = torch.cat([order, torch.randperm(len(rows), generator=generator)])
        index, order = order[:batch_size], order[batch_size:]
        return loss_fn(model, rows[index], generator)[0], rows[index].numel()

    return step


def pretrain_on_blocks(
    model: nn.Module, loss_fn: BlockLoss,
    train_rows: torch.Tensor, valid_rows: torch.Tensor, tokens: int, batch_size: int, lr: float,
    eval_every: int, seed: int = 0, desc: str = "pretrain",
) -> TrainLog:
    """Train ``model`` on ``tokens`` tokens of shuffled blocks by the book's streamed loop, as every LM.

    AdamW with warm-up and cosine decay; every ``eval_every`` tokens the mean validation loss on ``valid_rows``
    (with a fixed generator: the same masks every time), and the weights with the lowest one are kept.
    """
    if tokens < 1 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"tokens, batch_size and eval_every must be positive; got {tokens}, {batch_size}, "
                         f"{eval_every}")
    steps = max(1, tokens // (batch_size * train_rows.shape[1]))
    generator = seed_everything(seed)
    step = block_step(model, loss_fn, train_rows, batch_size, generator)

    def evaluate(m: nn.Module) -> dict[str, float]:
        return {"valid_loss": valid_loss(m, loss_fn, valid_rows, batch_size, seed)}

    return train_stream(model, step, steps, evaluate, "valid_loss", eval_every, lr, desc=desc)


@torch.no_grad()
def valid_loss(model: nn.Module, loss_fn: BlockLoss, rows: torch.Tensor, batch_size: int, seed: int = 0) -> float:
    """The mean loss per predicted token of ``loss_fn`` over ``rows`` in eval mode, with a fixed generator.

    Each batch counts by its number of predicted tokens (BERT's chosen tokens vary from batch to batch)."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed + 12345)
    total, predicted = 0.0, 0
    for start in range(0, len(rows), batch_size):
        loss, count = loss_fn(model, rows[start : start + batch_size], generator)
        total, predicted = total + float(loss) * count, predicted + count
    model.train(was_training)
    return total / predicted


def bert_loss(rate: float) -> BlockLoss:
    """The masked-LM loss of a batch of blocks, masked afresh every time (RoBERTa's dynamic masking), and the
    number of chosen tokens."""

    def loss(model: BERT, rows: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, int]:
        inputs, targets = mask_batch(rows, model.vocab, model.head.vocab_size, rate, generator)
        dev = model_device(model)
        return model.loss(inputs.to(dev), targets.to(dev)), int((targets != IGNORE).sum())

    return loss


def t5_loss(noise_density: float, mean_span: float) -> BlockLoss:
    """The span-corruption loss of a batch of blocks (new spans every time), and the number of target tokens."""
    sentinels: list[int] = []

    def loss(model: T5, rows: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, int]:
        if not sentinels:  # looked up once, at the first batch
            sentinels.extend(sentinel_ids(model.vocab))
        src, tgt = span_batch(rows, model.vocab, noise_density, mean_span, generator, sentinels)
        dev = model_device(model)
        src, tgt = src.to(dev), tgt.to(dev)
        mean = model.loss(src, torch.ones_like(src, dtype=torch.bool), tgt, torch.ones_like(tgt, dtype=torch.bool))
        return mean, tgt.numel()

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
    log = lm.train_lm(model, train_ids, valid_ids, cfg.train_tokens, batch_size=cfg.batch_size,
                      seq_len=cfg.block_size, lr=cfg.lr, eval_every=cfg.eval_every, seed=cfg.seed, desc="train GPT")
    return lm.harness_artefact(model, log, test_ids, valid_ids)


def load_gpt(artefact: zoo.Artefact) -> lm.NeuralLM:
    """The trained GPT of a zoo ``"gpt-lm"`` artefact (CPU, eval mode)."""
    return lm.rebuild(GPT, artefact.state)


def build_bert(config: dict[str, Any]) -> BERT:
    """A BERT of the chapter's size over :func:`model_vocab`, predicting the WikiText-2 words."""
    return BERT(model_vocab(), lm.VOCAB_SIZE, *(config[k] for k in MODEL_KEYS))


def build_t5(config: dict[str, Any]) -> T5:
    """A T5 of the chapter's size over :func:`model_vocab`."""
    return T5(model_vocab(), *(config[k] for k in MODEL_KEYS), words=lm.VOCAB_SIZE)


def model_config(model: BERT | T5) -> dict[str, Any]:
    """Every constructor argument of a BERT or a T5 but its vocabulary (always :func:`model_vocab`)."""
    return {k: v for k, v in model.arguments.items() if k != "vocab"}


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
    log = pretrain_on_blocks(model, bert_loss(cfg.mask_rate), train, valid, cfg.train_tokens, cfg.batch_size,
                             cfg.lr, cfg.eval_every, cfg.seed, "pretrain BERT")
    accuracy = mlm_accuracy(model, valid, cfg.mask_rate, cfg.seed)
    model.cpu()
    metrics = {"valid_mlm_loss": log.best["valid_loss"], "valid_mlm_accuracy": accuracy,
               "parameters": count_parameters(model), "tokens_seen": log.clock["tokens"], "clock": log.clock,
               "curve": log.curve}
    return {"model": model.state_dict(), "config": model_config(model)}, metrics


@zoo.register("t5-span", section="pretraining")
def train_t5(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Chapter 11's T5: span-corruption pretraining on WikiText-2 blocks (15 % of tokens, mean span 3)."""
    train, valid = _data(cfg)
    seed_everything(cfg.seed)
    model = build_t5(_config(cfg))
    log = pretrain_on_blocks(model, t5_loss(cfg.noise_density, cfg.mean_span), train, valid, cfg.train_tokens,
                             cfg.batch_size, cfg.lr, cfg.eval_every, cfg.seed, "pretrain T5")
    model.cpu()
    metrics = {"valid_span_loss": log.best["valid_loss"], "parameters": count_parameters(model),
               "tokens_seen": log.clock["tokens"], "clock": log.clock, "curve": log.curve}
    return {"model": model.state_dict(), "config": model_config(model)}, metrics


def load(artefact: zoo.Artefact) -> nn.Module:
    """The trained model of a ``"gpt-lm"``, ``"bert-mlm"`` or ``"t5-span"`` artefact (CPU, eval mode)."""
    if artefact.name not in ("gpt-lm", "bert-mlm", "t5-span"):
        raise ValueError(f"artefact must be 'gpt-lm', 'bert-mlm' or 't5-span'; got {artefact.name!r}")
    if artefact.name == "gpt-lm":
        return load_gpt(artefact)
    model_class = BERT if artefact.name == "bert-mlm" else T5
    model = model_class(model_vocab(), **artefact.state["config"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()


# ------------------------------------------------------------------------------- on Chapter 5's tasks

BERT_VARIANTS = ("BERT frozen", "BERT fine-tuned")


def bert_encoder(bert: BERT, freeze: bool) -> BertEncoder:
    """A copy of ``bert``'s encoder as a token encoder, frozen (no trainable parameter) or not."""
    encoder = BertEncoder(copy.deepcopy(bert))
    encoder.requires_grad_(not freeze)
    return encoder


def transfer_settings(block_size: int, seeds: int) -> Settings:
    """Chapter 5's learning-curve settings (section "transfer"): its first ``seeds`` seeds, texts of ≤ block_size."""
    curve = profile.current().settings("transfer")
    changes = {"max_len": min(curve.max_len, block_size), "seeds": curve.seeds[:seeds]}
    return Settings("transfer", profile.current().name, {**curve, **changes})


def curve_artefact(records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The zoo's (state, metrics) of a learning curve, stored like Chapter 5's ``transfer-curves``."""
    return {"sizes": torch.tensor([r["size"] for r in records])}, {"records": records,
                                                                  "clock": transfer.total_clock(records)}


@zoo.register("bert-curves", section="pretraining")
def train_bert_curves(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pretrained BERT on Chapter 5's learning curve (its sizes and seeds), frozen and fine-tuned."""
    bert = load(zoo.get("bert-mlm"))
    curve = transfer_settings(bert.block_size, cfg.curve_seeds)
    records = []
    for name in cfg.curve_tasks:
        task = data.text_task(name)
        for variant in BERT_VARIANTS:
            records += transfer.learning_curve(
                lambda seed, frozen=variant == "BERT frozen": bert_encoder(bert, frozen), task, variant,
                curve, encoder_lr=cfg.bert_lr,
            )
    return curve_artefact(records)


