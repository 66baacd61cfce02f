"""Sequence to sequence: a GRU encoder–decoder, with or without attention, for Chinese → English (Chapter 7).

The encoder reads the source characters with a bidirectional GRU. The decoder is a GRU over the target words:

- without attention it sees the source only through one vector, the encoder's *summary* (its two final
  states), which sets the decoder's first state and is fed again at every step (Cho et al. 2014);
- with attention, at every step its state is a *query* against the encoder states (the *keys* and *values*),
  scored additively (Bahdanau et al. 2015) or by Luong et al.'s (2015) *general* score, projected and scaled as
  in Chapter 8, and the weighted average (the *context*) joins the state before the output layer (Luong's
  order, without his *input feeding* of the attentional state into the next step).

Both are :class:`n2t.translation.Translator` s: they inherit ``translate`` and are trained by the one driver of
every translator (:func:`n2t.translation.train_translator`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from n2t import zoo
from n2t.attention import masked_softmax, scaled_dot_product_attention
from n2t.data import cmn_eng_split
from n2t.text import PairBatch, Vocab, lengths_to_mask
from n2t.train import model_device, records_arguments, seed_everything
from n2t.translation import Translator, build_vocabs, rebuild, tokenized_pairs, train_translator

# --------------------------------------------------------------------------- the models


class Encoder(nn.Module):
    """Embedding + bidirectional GRU: source ids ``(batch, S)`` → states ``(batch, S, 2·hidden)`` and a summary.

    The summary ``(batch, 2·hidden)`` joins the forward GRU's last state and the backward GRU's first. Padded
    positions are packed away, so they change neither the states of real tokens nor the summary.
    """

    def __init__(
        self, vocab_size: int, embed_dim: int, hidden_dim: int, pad_id: int, dropout: float = 0.0,
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
        # excerpt begins Encoder.forward
        x = self.dropout(self.embed(src))
        # the padding is packed away: the GRU reads each sentence to its own length
        packed = pack_padded_sequence(
            x, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, last = self.rnn(packed)  # last: (2 directions, batch, hidden)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return states, torch.cat([last[0], last[1]], dim=-1)
        # excerpt ends


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
        self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Context ``(batch, T, dim)`` and weights ``(batch, T, S)`` of every query.

        queries ``(batch, T, query_dim)``, keys (projected) ``(batch, S, attn_dim)``,
        values ``(batch, S, dim)``, mask ``(batch, S)``: True = a real source token.
        """
        scores = self.v(
            torch.tanh(self.w_q(queries)[:, :, None] + keys[:, None])
        ).squeeze(-1)  # (batch, T, S)
        weights = masked_softmax(scores, mask[:, None, :])  # padding gets 0
        return weights @ values, weights


class DotProductAttention(ProjectedAttention):
    """Luong's *general* score ``qᵀ W_a k``, factored as ``(W_q q)·(W_k k)`` and scaled by ``1/√attn_dim`` as
    in Chapter 8 (Luong's scores are unscaled)."""

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int) -> None:
        super().__init__(query_dim, key_dim, attn_dim, key_bias=False)

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As :class:`AdditiveAttention`; scores ``(W_q q)·(W_k k) / √attn_dim``."""
        return scaled_dot_product_attention(
            self.w_q(queries), keys, values, mask=mask[:, None, :]
        )


ATTENTION = {"none": None, "additive": AdditiveAttention, "dot": DotProductAttention}


class Seq2Seq(Translator):
    """The GRU encoder–decoder; ``attention`` is ``"none"`` (one summary vector), ``"additive"`` or ``"dot"``."""

    @records_arguments
    def __init__(
        self, src_vocab: Vocab, tgt_vocab: Vocab, embed_dim: int = 256, hidden_dim: int = 256,
        attention: str = "additive", dropout: float = 0.2,
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
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.attention_kind = attention
        enc_dim = 2 * hidden_dim
        self.encoder = Encoder(len(src_vocab), embed_dim, hidden_dim, src_vocab.pad_id, dropout)
        # the summary → the decoder's first state
        self.bridge = nn.Linear(enc_dim, hidden_dim)
        self.embed = nn.Embedding(len(tgt_vocab), embed_dim, padding_idx=tgt_vocab.pad_id)
        feeds_summary = attention == "none"
        self.rnn = nn.GRU(embed_dim + (enc_dim if feeds_summary else 0), hidden_dim, batch_first=True)
        self.attention = None if feeds_summary else ATTENTION[attention](hidden_dim, enc_dim, hidden_dim)
        # [state; context] → the attentional state
        self.combine = nn.Linear(hidden_dim + enc_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, len(tgt_vocab))
        self.dropout = nn.Dropout(dropout)

    def start(
        self, src: torch.Tensor, src_lengths: torch.Tensor, use_cache: bool = True
    ) -> dict[str, torch.Tensor]:
        """Encode ``src`` ``(batch, S)``: the decoding state (all batch-first; the GRU's state is its cache)."""
        states, summary = self.encoder(src, src_lengths)
        keys = states if self.attention is None else self.attention.project_keys(states)
        return {
            "hidden": torch.tanh(self.bridge(summary)),  # (batch, hidden)
            "states": states,  # (batch, S, 2·hidden): the values
            "keys": keys,  # (batch, S, attn_dim)
            # (batch, S): True = a real token
            "mask": lengths_to_mask(src_lengths, src.shape[1]),
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
        # (batch, T, hidden)
        decoder_states, last = self.rnn(x, state["hidden"][None].contiguous())
        weights = None
        if self.attention is not None:
            # every decoder state queries every encoder state
            context, weights = self.attention(
                decoder_states, state["keys"], state["states"], state["mask"]
            )
        # [s_t; c_t] → the attentional state → the logits
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


# ----------------------------------------------------------------------- training


def model_from_state(state: dict[str, Any]) -> Seq2Seq:
    """Rebuild a trained :class:`Seq2Seq` from a zoo artefact's state (vocabularies, arguments, weights)."""
    return rebuild(Seq2Seq, state)


def train_seq2seq_model(settings: Any, attention: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train a :class:`Seq2Seq` on the training split with ``settings`` and score it on the test split."""
    seed_everything(settings.seed)
    train = tokenized_pairs(cmn_eng_split("train")[: settings.train_pairs])
    src_vocab, tgt_vocab = build_vocabs(train, settings.min_freq)
    model = Seq2Seq(src_vocab, tgt_vocab, settings.embed_dim, settings.hidden_dim, attention, settings.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    return train_translator(model, train, settings, optimizer, lambda m, batch: m.loss(batch),
                            f"seq2seq ({attention})", grad_clip=1.0)


@zoo.register("seq2seq-zh-en", section="seq2seq")
def train_seq2seq(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The encoder–decoder without attention (the source reaches the decoder as one vector)."""
    return train_seq2seq_model(settings, "none")


@zoo.register("seq2seq-attention-zh-en", section="seq2seq")
def train_seq2seq_attention(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The encoder–decoder with attention (the decoder queries every encoder state)."""
    return train_seq2seq_model(settings, settings.attention)
