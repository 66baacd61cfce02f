"""Sequence to sequence: a GRU encoder–decoder, with or without attention, for Chinese → English (Chapter 7).

The encoder reads the source characters with a bidirectional GRU. The decoder is a GRU over the target words:

- without attention it sees the source only through one vector, the encoder's *summary* (its two final
  states), which sets the decoder's first state and is fed again at every step (Cho et al. 2014);
- with attention, at every step its state is a *query* against the encoder states (the *keys* and *values*),
  scored additively (Bahdanau et al. 2015) or by a dot product (Luong et al. 2015), and the weighted average
  (the *context*) joins the state before the output layer.

Every translation model of the book derives from :class:`Translator`: it provides ``start`` (encode a batch
of sources into a decoding state) and ``step`` (one decoding step), and inherits ``translate``, which tokenises
raw Chinese, batches, decodes with :mod:`n2t.decoding` and detokenises the English.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from n2t import decoding, zoo
from n2t.attention import scaled_dot_product_attention
from n2t.data import (
    PairBatch,
    Vocab,
    chinese_tokenize,
    cmn_eng_split,
    english_tokenize,
    lengths_to_mask,
    pad_sequences,
    pair_batch,
)
from n2t.metrics import bleu, chrf
from n2t.train import (
    count_parameters,
    fit,
    model_device,
    progress,
    seed_everything,
    to_device,
)

# ----------------------------------------------------------------------- detokenisation

_NO_SPACE_BEFORE = {".", ",", "!", "?", ";", ":", "%", ")", "]", "}", "'", "…"}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "#"}
_JOINERS = {"-", "/"}  # "well-known", "and/or": no space on either side
_DIGIT_JOINERS = {".", ",", ":"}  # "3.5", "1,000", "3:30" between digits
_I_WORDS = re.compile(r"^i(?:'(?:m|ll|ve|d))?$")


def detokenize(tokens: Sequence[str]) -> str:
    """English tokens → a sentence: ``["i'm", "here", "."]`` → ``"I'm here."`` (the inverse of english_tokenize).

    Punctuation is attached to its word, double quotes alternate between opening and closing, and the first
    word of a sentence and the pronoun *I* are capitalised (the tokens are lower case; names stay lower case).
    """
    if isinstance(tokens, str):
        raise TypeError("detokenize takes a sequence of tokens, not a string")
    out = ""
    quote_open = False
    glue_next = True  # no space before the first token
    capitalise = True
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        word = token
        if capitalise and word[:1].isalpha():
            word = word[0].upper() + word[1:]
            capitalise = False
        elif _I_WORDS.match(word):
            word = "I" + word[1:]
        between_digits = (
            token in _DIGIT_JOINERS and prev[-1:].isdigit() and nxt[:1].isdigit()
        )
        if token == '"':
            attach = quote_open  # a closing quote sticks to the word before it
            quote_open = not quote_open
            next_glued = quote_open  # an opening quote sticks to the word after it
        else:
            attach = token in _NO_SPACE_BEFORE or token in _JOINERS or between_digits
            next_glued = token in _NO_SPACE_AFTER or token in _JOINERS or between_digits
        out += ("" if glue_next or attach else " ") + word
        glue_next = next_glued
        if token in {".", "!", "?"} and not between_digits:
            capitalise = True
    return out


# --------------------------------------------------------------------------- the models


class Translator(nn.Module):
    """A translation model: subclasses define ``start`` and ``step``; ``translate`` is shared by all of them.

    ``start(src (batch, S), src_lengths (batch,)) -> state`` encodes a batch of source ids;
    ``step(tokens (batch,), state) -> (log_probs (batch, vocab), state)`` is one decoding step, in the form
    that :mod:`n2t.decoding` drives (every tensor in ``state`` batch-first).
    """

    src_vocab: Vocab
    tgt_vocab: Vocab

    def tokenize_source(self, sentence: str) -> list[str]:
        """Source sentence → tokens (Chinese by character)."""
        return chinese_tokenize(sentence)

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Any:
        """Encode source ids ``(batch, S)`` into the decoding state."""
        raise NotImplementedError

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One decoding step: last tokens ``(batch,)`` → next-token log-probs ``(batch, vocab)`` and the state."""
        raise NotImplementedError

    def detokenize_target(self, tokens: Sequence[str]) -> str:
        """Target tokens → the English sentence (:func:`detokenize`)."""
        return detokenize(tokens)

    def max_output_length(self, src_length: int) -> int:
        """How many target tokens decoding may emit for a source of ``src_length`` tokens."""
        return 2 * src_length + 10

    @torch.no_grad()
    def translate(
        self,
        sentences: list[str],
        beam_size: int = 1,
        batch_size: int = 100,
        alpha: float = 1.0,
    ) -> list[str]:
        """Raw source sentences → detokenised translations (greedy for ``beam_size=1``, else beam search).

        Characters never seen in training become ``<unk>``; an empty (or all-space) sentence translates to
        ``""`` without running the model. ``alpha`` is beam search's length normalisation exponent.
        """
        if isinstance(sentences, str) or not isinstance(sentences, Sequence):
            raise TypeError(
                f"sentences must be a list of strings; got {type(sentences).__name__}"
            )
        for i, sentence in enumerate(sentences):
            if not isinstance(sentence, str):
                raise TypeError(
                    f"sentences must be a list of strings; item {i} is a {type(sentence).__name__}"
                )
        if beam_size < 1:
            raise ValueError(f"beam_size must be at least 1; got {beam_size}")
        was_training = self.training
        self.eval()
        ids = [self.src_vocab.encode(self.tokenize_source(s)) for s in sentences]
        order = sorted(
            (i for i in range(len(ids)) if ids[i]), key=lambda i: len(ids[i])
        )  # similar lengths
        outputs = [""] * len(sentences)
        dev = model_device(self)
        tgt = self.tgt_vocab
        # BEGIN translate core
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            src, lengths = pad_sequences([ids[i] for i in chunk], self.src_vocab.pad_id)
            state = self.start(src.to(dev), lengths.to(dev))
            max_len = self.max_output_length(int(lengths.max()))
            if beam_size == 1:
                words = decoding.greedy(
                    self.step, state, tgt.bos_id, tgt.eos_id, max_len
                )
            else:
                hyps = decoding.beam_search(
                    self.step, state, tgt.bos_id, tgt.eos_id, max_len, beam_size, alpha
                )
                words = decoding.best_tokens(hyps)
            for i, row in zip(chunk, words, strict=True):
                outputs[i] = self.detokenize_target(tgt.decode(row))
        # END translate core
        self.train(was_training)
        return outputs


class Encoder(nn.Module):
    """Embedding + bidirectional GRU: source ids ``(batch, S)`` → states ``(batch, S, 2·hidden)`` and a summary.

    The summary ``(batch, 2·hidden)`` joins the forward GRU's last state and the backward GRU's first. Padded
    positions are packed away, so they change neither the states of real tokens nor the summary.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        pad_id: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.rnn = nn.GRU(embed_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, src: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``src`` (batch, S) of ``lengths`` (batch,): states, summary."""
        if int(lengths.min()) < 1:
            raise ValueError(
                f"every source needs at least one token; got lengths {lengths.tolist()}"
            )
        x = self.dropout(self.embed(src))
        packed = pack_padded_sequence(
            x, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, last = self.rnn(packed)  # last: (2 directions, batch, hidden)
        states, _ = pad_packed_sequence(
            out, batch_first=True, total_length=src.shape[1]
        )
        return states, torch.cat([last[0], last[1]], dim=-1)


class ProjectedAttention(nn.Module):
    """What both scores share: the query and key projections ``W_q``, ``W_k`` (keys projected once)."""

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int, key_bias: bool) -> None:
        super().__init__()
        self.w_q = nn.Linear(query_dim, attn_dim, bias=False)
        self.w_k = nn.Linear(key_dim, attn_dim, bias=key_bias)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """Keys ``(batch, S, key_dim)`` → ``W_k k`` ``(batch, S, attn_dim)``, computed once per sentence."""
        return self.w_k(keys)


class AdditiveAttention(ProjectedAttention):
    """Bahdanau's score ``vᵀ tanh(W_q q + W_k k)``: a one-hidden-layer network compares a query with a key."""

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int) -> None:
        super().__init__(query_dim, key_dim, attn_dim, key_bias=True)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Context ``(batch, T, dim)`` and weights ``(batch, T, S)`` of every query.

        queries ``(batch, T, query_dim)``, keys (projected) ``(batch, S, attn_dim)``,
        values ``(batch, S, dim)``, mask ``(batch, S)``: True = a real source token.
        """
        scores = self.v(
            torch.tanh(self.w_q(queries)[:, :, None] + keys[:, None])
        ).squeeze(-1)  # (batch, T, S)
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        weights = scores.softmax(dim=-1)
        return weights @ values, weights


class DotProductAttention(ProjectedAttention):
    """Luong's score as in Chapter 8: project query and key to ``attn_dim``, then scaled dot product."""

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int) -> None:
        super().__init__(query_dim, key_dim, attn_dim, key_bias=False)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As :class:`AdditiveAttention`; scores ``(W_q q)·(W_k k) / √attn_dim``."""
        return scaled_dot_product_attention(
            self.w_q(queries), keys, values, mask=mask[:, None, :]
        )


ATTENTION = {"none": None, "additive": AdditiveAttention, "dot": DotProductAttention}


class Seq2Seq(Translator):
    """The GRU encoder–decoder; ``attention`` is ``"none"`` (one summary vector), ``"additive"`` or ``"dot"``."""

    def __init__(
        self,
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        embed_dim: int = 256,
        hidden_dim: int = 256,
        attention: str = "additive",
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if attention not in ATTENTION:
            raise ValueError(
                f"attention must be one of {sorted(ATTENTION)}; got {attention!r}"
            )
        if embed_dim < 1 or hidden_dim < 1:
            raise ValueError(
                f"embed_dim and hidden_dim must be positive; got {embed_dim} and {hidden_dim}"
            )
        self.src_vocab, self.tgt_vocab, self.attention_kind = (
            src_vocab,
            tgt_vocab,
            attention,
        )
        enc_dim = 2 * hidden_dim
        self.encoder = Encoder(
            len(src_vocab), embed_dim, hidden_dim, src_vocab.pad_id, dropout
        )
        self.bridge = nn.Linear(
            enc_dim, hidden_dim
        )  # summary → the decoder's first state
        self.embed = nn.Embedding(
            len(tgt_vocab), embed_dim, padding_idx=tgt_vocab.pad_id
        )
        feeds_summary = attention == "none"
        self.rnn = nn.GRU(
            embed_dim + (enc_dim if feeds_summary else 0), hidden_dim, batch_first=True
        )
        self.attention = (
            None
            if feeds_summary
            else ATTENTION[attention](hidden_dim, enc_dim, hidden_dim)
        )
        self.combine = nn.Linear(
            hidden_dim + enc_dim, hidden_dim
        )  # [state; context] → attentional state
        self.out = nn.Linear(hidden_dim, len(tgt_vocab))
        self.dropout = nn.Dropout(dropout)

    def start(
        self, src: torch.Tensor, src_lengths: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Encode ``src`` ``(batch, S)``: the decoding state (all batch-first)."""
        states, summary = self.encoder(src, src_lengths)
        keys = (
            self.attention.project_keys(states)
            if self.attention is not None
            else states
        )
        return {
            "hidden": torch.tanh(self.bridge(summary)),  # (batch, hidden)
            "states": states,  # (batch, S, 2·hidden): the values
            "keys": keys,  # (batch, S, attn_dim)
            "mask": lengths_to_mask(
                src_lengths, src.shape[1]
            ),  # (batch, S): True = real token
            "summary": summary,  # (batch, 2·hidden)
        }

    def decode(
        self, tgt_in: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Read ``tgt_in`` ``(batch, T)``: logits, attention weights, last state."""
        x = self.dropout(self.embed(tgt_in))  # (batch, T, embed)
        steps = tgt_in.shape[1]
        if self.attention is None:  # the one summary vector, at every step
            context = state["summary"][:, None].expand(-1, steps, -1)
            x = torch.cat([x, context], dim=-1)
        decoder_states, last = self.rnn(
            x, state["hidden"][None].contiguous()
        )  # (batch, T, hidden)
        weights = None
        if (
            self.attention is not None
        ):  # every decoder state queries every encoder state
            context, weights = self.attention(
                decoder_states, state["keys"], state["states"], state["mask"]
            )
        attentional = torch.tanh(
            self.combine(torch.cat([decoder_states, context], dim=-1))
        )
        return self.out(self.dropout(attentional)), weights, last[0]

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher forcing: logits ``(batch, T, vocab)`` for the prefix ``tgt_in``."""
        logits, _, _ = self.decode(tgt_in, self.start(src, src_lengths))
        return logits

    def step(
        self, tokens: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step: tokens ``(batch,)`` → log-probs ``(batch, vocab)`` and the new state."""
        logits, weights, hidden = self.decode(
            tokens.to(state["hidden"].device)[:, None], state
        )
        new_state = {**state, "hidden": hidden}
        if weights is not None:
            new_state["weights"] = weights[:, 0]  # (batch, S): where this step looked
        return logits[:, 0].log_softmax(dim=-1), new_state

    def loss(self, batch: PairBatch) -> torch.Tensor:
        """Mean cross-entropy per target token (``<eos>`` included, padding excluded) under teacher forcing."""
        logits = self(batch.src, batch.src_lengths, batch.tgt[:, :-1])
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            batch.tgt[:, 1:].reshape(-1),
            ignore_index=self.tgt_vocab.pad_id,
        )

    @torch.no_grad()
    def alignment(self, source: str, target_tokens: Sequence[str]) -> torch.Tensor:
        """Attention weights ``(T, S)`` while reading ``target_tokens`` (teacher-forced) for ``source``."""
        if self.attention is None:
            raise ValueError("a model without attention has no alignment to show")
        was_training = self.training
        self.eval()
        dev = model_device(self)
        src = torch.tensor(
            [self.src_vocab.encode(self.tokenize_source(source))], device=dev
        )
        tgt = [self.tgt_vocab.bos_id, *self.tgt_vocab.encode(target_tokens)]
        state = self.start(src, torch.tensor([src.shape[1]], device=dev))
        _, weights, _ = self.decode(torch.tensor([tgt], device=dev), state)
        self.train(was_training)
        return weights[0].cpu()


# ----------------------------------------------------------------------- data, training


def tokenized_pairs(
    pairs: Sequence[tuple[str, str]],
) -> list[tuple[list[str], list[str]]]:
    """``(chinese, english)`` strings → ``(characters, english tokens)``."""
    return [(chinese_tokenize(zh), english_tokenize(en)) for zh, en in pairs]


def build_vocabs(
    pairs: Sequence[tuple[list[str], list[str]]], min_freq: int
) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies of tokenized pairs; types seen fewer than ``min_freq`` times → ``<unk>``."""
    src = Vocab(Counter(t for s, _ in pairs for t in s), min_freq=min_freq)
    tgt = Vocab(Counter(t for _, t in pairs for t in t), min_freq=min_freq)
    return src, tgt


def length_batches(
    pairs: Sequence[tuple[list[str], list[str]]],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    batch_size: int,
    seed: int,
) -> Iterator[PairBatch]:
    """Shuffled batches of pairs of similar source length (little padding), in a seeded random order."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(pairs), generator=generator).tolist()
    chunk = (
        batch_size * 50
    )  # sort within chunks of 50 batches, then shuffle the batches
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(pairs[i][0]))
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    for b in torch.randperm(len(batches), generator=generator).tolist():
        yield pair_batch([pairs[i] for i in batches[b]], src_vocab, tgt_vocab)


def model_from_state(state: dict[str, Any]) -> Seq2Seq:
    """Rebuild a trained :class:`Seq2Seq` from a zoo artefact's state (vocabularies, settings, weights)."""
    src_vocab = Vocab(Counter(state["src_freqs"]), min_freq=state["config"]["min_freq"])
    tgt_vocab = Vocab(Counter(state["tgt_freqs"]), min_freq=state["config"]["min_freq"])
    config = state["config"]
    model = Seq2Seq(
        src_vocab,
        tgt_vocab,
        config["embed_dim"],
        config["hidden_dim"],
        config["attention"],
        config["dropout"],
    )
    model.load_state_dict(state["model"])
    return model.eval()


def epoch_batches(
    train: Sequence[tuple[list[str], list[str]]], src_vocab: Vocab, tgt_vocab: Vocab, settings: Any
) -> Callable[[], list[PairBatch]]:
    """A function that returns the next epoch's batches, in a new seeded order at every call (for ``fit``)."""
    epoch = 0

    def batches() -> list[PairBatch]:
        nonlocal epoch
        epoch += 1
        return list(length_batches(train, src_vocab, tgt_vocab, settings.batch_size, settings.seed + epoch))

    return batches


def validation_loss(
    src_vocab: Vocab, tgt_vocab: Vocab, settings: Any,
    tokenize: Callable[[Sequence[tuple[str, str]]], list[tuple[list[str], list[str]]]] = tokenized_pairs,
) -> Callable[[nn.Module], dict[str, float]]:
    """``fit``'s ``evaluate``: a model's mean cross-entropy per target token on the validation split.

    ``tokenize`` turns the ``(chinese, english)`` pairs into the model's tokens (default :func:`tokenized_pairs`).
    """
    valid = tokenize(cmn_eng_split("valid")[: settings.test_pairs])
    valid_batches = list(length_batches(valid, src_vocab, tgt_vocab, settings.batch_size, settings.seed))
    tokens = sum(int((b.tgt_lengths - 1).sum()) for b in valid_batches)

    def valid_loss(m: nn.Module) -> dict[str, float]:
        batches = to_device(valid_batches, model_device(m))
        return {"valid_loss": sum(m.loss(b).item() * int((b.tgt_lengths - 1).sum()) for b in batches) / tokens}

    return valid_loss


def translator_artefact(
    model: Translator,
    settings: Any,
    train: Sequence[tuple[list[str], list[str]]],
    history: Any,
    cpu_seconds: float,
    config: dict[str, Any],
    desc: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode the test split with every beam width of ``settings``; the zoo artefact's ``(state, metrics)``.

    ``state`` holds the weights, the vocabularies' counts, ``config``, the losses and the test translations;
    ``metrics`` the parameters, steps, training seconds and BLEU/chrF of every beam width.
    """
    test = cmn_eng_split("test")[: settings.test_pairs]
    sources, references = [zh for zh, _ in test], [en for _, en in test]
    translations = {}
    for beam in progress(settings.beam_sizes, desc=f"decode test ({desc})"):
        translations[str(beam)] = model.translate(sources, beam_size=beam)
    state = {
        "model": {k: v.cpu() for k, v in model.state_dict().items()},
        "src_freqs": dict(model.src_vocab.freqs),
        "tgt_freqs": dict(model.tgt_vocab.freqs),
        "config": config,
        "step_loss": history.step_loss,
        "valid_loss": [m["valid_loss"] for m in history.epoch_metrics],
        "test_translations": translations,
    }
    metrics = {
        "parameters": count_parameters(model),
        "steps": history.steps,
        "target_tokens": sum(len(t) + 1 for _, t in train) * settings.epochs,
        "fit_seconds": round(history.seconds, 3),
        "fit_cpu_seconds": round(cpu_seconds, 3),
        "torch_threads": torch.get_num_threads(),
        "src_vocab": len(model.src_vocab),
        "tgt_vocab": len(model.tgt_vocab),
    }
    for beam, hypotheses in translations.items():
        metrics[f"bleu_beam{beam}"] = bleu(hypotheses, references)
        metrics[f"chrf_beam{beam}"] = chrf(hypotheses, references)
    return state, metrics


def train_translator(
    settings: Any, attention: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train a :class:`Seq2Seq` on the training split with ``settings`` and score it on the test split."""
    seed_everything(settings.seed)
    train = tokenized_pairs(cmn_eng_split("train")[: settings.train_pairs])
    src_vocab, tgt_vocab = build_vocabs(train, settings.min_freq)
    model = Seq2Seq(
        src_vocab,
        tgt_vocab,
        settings.embed_dim,
        settings.hidden_dim,
        attention,
        settings.dropout,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    cpu_start = time.process_time()
    history = fit(
        model,
        epoch_batches(train, src_vocab, tgt_vocab, settings),
        lambda m, batch: m.loss(batch),
        optimizer,
        epochs=settings.epochs,
        evaluate=validation_loss(src_vocab, tgt_vocab, settings),
        grad_clip=1.0,
        desc=f"seq2seq ({attention})",
    )
    cpu_seconds = time.process_time() - cpu_start  # CPU time of all threads: independent of other load
    config = {key: settings[key] for key in ("embed_dim", "hidden_dim", "dropout", "min_freq")}
    config["attention"] = attention
    return translator_artefact(model, settings, train, history, cpu_seconds, config, attention)


@zoo.register("seq2seq-zh-en", section="seq2seq")
def train_seq2seq(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The encoder–decoder without attention (the source reaches the decoder as one vector)."""
    return train_translator(settings, "none")


@zoo.register("seq2seq-attention-zh-en", section="seq2seq")
def train_seq2seq_attention(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The encoder–decoder with attention (the decoder queries every encoder state)."""
    return train_translator(settings, settings.attention)
