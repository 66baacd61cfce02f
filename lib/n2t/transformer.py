"""The Transformer (Vaswani et al. 2017) and its two halves, decoder-only (GPT) and encoder-only (BERT) (Ch. 10–11).

Everything is batch-first: ``(batch, time, d_model)``. Masks follow :mod:`n2t.attention`: boolean, ``True`` =
may attend. At the level of the stacks a *padding mask* ``(batch, time)`` says which tokens are real
(``True``) and a causal mask is asked for with ``is_causal``.

One layer class per idea, shared by every model:

- :class:`EncoderLayer`: self-attention + feed-forward. The Transformer's encoder stacks it; with a causal mask
  it is also the GPT block (:class:`DecoderOnly`); without, the BERT block (:class:`EncoderOnly`).
- :class:`DecoderLayer`: masked self-attention + cross-attention over the encoder's output + feed-forward.

Each sub-layer is wrapped by :func:`residual`: post-LN ``LayerNorm(x + Sublayer(x))`` as in the paper (the
default) or pre-LN ``x + Sublayer(LayerNorm(x))`` (``norm_first=True``). For incremental decoding, every layer
takes an optional *cache*, which its attention fills with the keys and values of the positions seen so far
(:class:`n2t.attention.KVCache`), so that a new token costs one position's work instead of the whole prefix's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from n2t import zoo
from n2t.attention import KVCache, MultiHeadAttention, causal_mask, copy_caches
from n2t.data import cmn_eng_split
from n2t.positions import Embeddings
from n2t.text import PairBatch, Vocab, lengths_to_mask
from n2t.train import model_device, records_arguments, seed_everything, warmup_inverse_sqrt
from n2t.translation import Translator, build_vocabs, rebuild, tokenized_pairs, train_translator

DecoderCache = dict[str, KVCache]  # one decoder layer's: "self" (grows) and "cross" (the memory's, static)


def _check_heads(d_model: int, num_heads: int) -> None:
    if d_model <= 0 or num_heads <= 0:
        raise ValueError(f"d_model ({d_model}) and num_heads ({num_heads}) must be positive")
    if d_model % num_heads != 0:
        raise ValueError(
            f"d_model ({d_model}) must be divisible by num_heads ({num_heads}): each head gets "
            f"d_model / num_heads dimensions"
        )


def check_padding_mask(mask: torch.Tensor | None, batch: int, length: int, name: str = "mask") -> None:
    """Raise a clear error unless ``mask`` is ``None`` or a boolean ``(batch, length)`` tensor (True = real token)."""
    if mask is None:
        return
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise TypeError(f"{name} must be a torch.bool tensor (True = real token); got {got}")
    if tuple(mask.shape) != (batch, length):
        raise ValueError(f"{name} must have shape (batch, time) = {(batch, length)}; got {tuple(mask.shape)}")


# ------------------------------------------------------------------------------------- the layers


class FeedForward(nn.Module):
    """Position-wise FFN(x) = W₂ relu(W₁ x + b₁) + b₂: ``(batch, time, d_model)`` → same, via ``d_ff``."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.1, activation: str = "relu") -> None:
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be 'relu' or 'gelu'; got {activation!r}")
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.activation = F.relu if activation == "relu" else F.gelu
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same two-layer network applied at every position independently."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


def residual(
    x: torch.Tensor,
    sublayer: Callable[[torch.Tensor], torch.Tensor],
    norm: nn.LayerNorm,
    dropout: nn.Dropout,
    norm_first: bool,
) -> torch.Tensor:
    """Post-LN ``norm(x + sublayer(x))`` (paper) or pre-LN ``x + sublayer(norm(x))``."""
    if norm_first:
        return x + dropout(sublayer(norm(x)))
    return norm(x + dropout(sublayer(x)))


class EncoderLayer(nn.Module):
    """Self-attention then FFN, each in a residual block: ``(batch, time, d_model)`` → same.

    The Transformer's encoder layer; with ``is_causal`` it is the GPT block, without it the BERT block.
    """

    def __init__(
        self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1, norm_first: bool = False,
        activation: str = "relu", layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        _check_heads(d_model, num_heads)
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ffn = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, is_causal: bool = False,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``x`` ``(batch, time, d_model)``; ``mask`` is 4-D, broadcasting to ``(batch, heads, time, time)`` (True = may attend).

        With ``cache`` (filled in place) ``x`` holds only the new positions, which see the cached ones (causal).
        """

        # excerpt begins EncoderLayer
        def attend(h: torch.Tensor) -> torch.Tensor:  # every position queries every one
            out, _ = self.self_attn(h, h, h, mask, is_causal, cache=cache)
            return out

        x = residual(x, attend, self.norm1, self.dropout1, self.norm_first)
        return residual(x, self.ffn, self.norm2, self.dropout2, self.norm_first)
        # excerpt ends


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's output, FFN: ``(batch, T, d_model)`` → same."""

    def __init__(
        self, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1, norm_first: bool = False,
        activation: str = "relu", layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        _check_heads(d_model, num_heads)
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ffn = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model, eps=layer_norm_eps) for _ in range(3))
        self.dropout1, self.dropout2, self.dropout3 = (nn.Dropout(dropout) for _ in range(3))

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None, cache: DecoderCache | None = None, need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` ``(batch, T, d_model)`` attends to itself (``self_mask``, e.g. causal) and to ``memory`` ``(batch, S,
        d_model)``; both masks are 4-D (``memory_mask`` broadcasting to ``(batch, heads, T, S)``). With ``cache`` (its ``"self"`` and
        ``"cross"`` caches, filled in place) ``x`` holds only the new positions. Returns the output and, when
        ``need_weights``, the cross-attention weights ``(batch, heads, T, S)`` (else ``None``).
        """
        self_cache, cross_cache = (None, None) if cache is None else (cache["self"], cache["cross"])
        cross_weights = None

        # excerpt begins DecoderLayer
        def attend_self(h: torch.Tensor) -> torch.Tensor:  # masked: earlier words only
            return self.self_attn(h, h, h, mask=self_mask, cache=self_cache)[0]

        def attend_memory(h: torch.Tensor) -> torch.Tensor:  # queries from the target
            nonlocal cross_weights
            out, cross_weights = self.cross_attn(
                h, memory, memory, memory_mask, need_weights=need_weights,
                cache=cross_cache,
            )
            return out

        norm_first = self.norm_first
        x = residual(x, attend_self, self.norm1, self.dropout1, norm_first)
        x = residual(x, attend_memory, self.norm2, self.dropout2, norm_first)
        x = residual(x, self.ffn, self.norm3, self.dropout3, norm_first)
        # excerpt ends
        return x, cross_weights


# ------------------------------------------------------------------------------------- the stacks


def _load_layer(ours: EncoderLayer | DecoderLayer, theirs: nn.Module) -> None:
    """Copy one ``nn.TransformerEncoderLayer``/``nn.TransformerDecoderLayer`` into ours."""
    if ours.norm_first != theirs.norm_first:
        raise ValueError(f"norm_first differs: ours {ours.norm_first}, torch's {theirs.norm_first}")
    ours.self_attn.load_torch_weights(theirs.self_attn)
    if isinstance(ours, DecoderLayer):
        ours.cross_attn.load_torch_weights(theirs.multihead_attn)
        ours.norm3.load_state_dict(theirs.norm3.state_dict())
    ours.ffn.linear1.load_state_dict(theirs.linear1.state_dict())
    ours.ffn.linear2.load_state_dict(theirs.linear2.state_dict())
    ours.norm1.load_state_dict(theirs.norm1.state_dict())
    ours.norm2.load_state_dict(theirs.norm2.state_dict())


class _Stack(nn.Module):
    """What the two stacks share: ``num_layers`` identical layers, an optional final LayerNorm, torch's weights.

    ``final_norm``: add a LayerNorm after the last layer (default ``None``: only for pre-LN, where it is needed).
    """

    layer_class: type[EncoderLayer] | type[DecoderLayer]

    def __init__(
        self, num_layers: int, d_model: int, num_heads: int, d_ff: int, dropout: float = 0.1,
        norm_first: bool = False, final_norm: bool | None = None, activation: str = "relu",
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1; got {num_layers}")
        self.layers = nn.ModuleList(
            self.layer_class(d_model, num_heads, d_ff, dropout, norm_first, activation) for _ in range(num_layers)
        )
        final_norm = norm_first if final_norm is None else final_norm
        self.norm = nn.LayerNorm(d_model) if final_norm else nn.Identity()

    def new_caches(self) -> list[Any]:
        """Empty key/value caches for decoding through this stack, one per layer."""
        if self.layer_class is DecoderLayer:
            return [{"self": KVCache(), "cross": KVCache(static=True)} for _ in self.layers]
        return [KVCache() for _ in self.layers]

    def _check_caches(self, caches: list[Any]) -> None:
        if len(caches) != len(self.layers):
            raise ValueError(f"caches must hold one cache per layer ({len(self.layers)}); got {len(caches)}")

    @torch.no_grad()
    def load_torch_weights(self, theirs: nn.TransformerEncoder | nn.TransformerDecoder) -> _Stack:
        """Copy a ``torch.nn.TransformerEncoder``/``TransformerDecoder`` of the same shape into ours; returns self."""
        if len(theirs.layers) != len(self.layers):
            raise ValueError(f"torch's stack has {len(theirs.layers)} layers, ours {len(self.layers)}")
        for ours, layer in zip(self.layers, theirs.layers, strict=True):
            _load_layer(ours, layer)
        if (theirs.norm is None) != isinstance(self.norm, nn.Identity):
            raise ValueError("one stack has a final LayerNorm and the other has not (set final_norm)")
        if theirs.norm is not None:
            self.norm.load_state_dict(theirs.norm.state_dict())
        return self


class Encoder(_Stack):
    """A stack of :class:`EncoderLayer` (+ a final LayerNorm when ``final_norm``; default: when pre-LN).

    ``Encoder(num_layers, d_model, num_heads, d_ff, dropout=0.1, norm_first=False, final_norm=None,
    activation="relu")``. Works on vectors ``(batch, time, d_model)``; the models embed the tokens first.
    """

    layer_class = EncoderLayer

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, is_causal: bool = False,
        caches: list[KVCache] | None = None,
    ) -> torch.Tensor:
        """``x`` ``(batch, time, d_model)``, padding ``mask`` ``(batch, time)`` (True = real) → ``(batch, time, d_model)``.

        ``is_causal``: position t sees positions ≤ t only. ``caches`` (:meth:`new_caches`, filled in place):
        ``x`` holds only new positions, which see the cached ones (causal); ``mask`` then covers all of them.
        """
        if x.dim() != 3:
            raise ValueError(f"x must have shape (batch, time, d_model); got {tuple(x.shape)}")
        if caches is None:
            check_padding_mask(mask, x.shape[0], x.shape[1])
        else:
            self._check_caches(caches)
        attn_mask = None if mask is None else mask[:, None, None, :]  # (batch, 1, 1, time)
        for i, layer in enumerate(self.layers):
            x = layer(x, attn_mask, is_causal, None if caches is None else caches[i])
        return self.norm(x)


class Decoder(_Stack):
    """A stack of :class:`DecoderLayer` (+ a final LayerNorm when ``final_norm``; default: when pre-LN).

    Same constructor as :class:`Encoder`.
    """

    layer_class = DecoderLayer

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None, caches: list[DecoderCache] | None = None,
    ) -> torch.Tensor:
        """Target vectors ``x`` ``(batch, T, d_model)``, encoder output ``memory`` ``(batch, S, d_model)`` → ``(batch,
        T, d_model)``. Self-attention is causal; ``mask`` ``(batch, T)`` and ``memory_mask`` ``(batch, S)`` mark
        real tokens. With ``caches`` (:meth:`new_caches`, filled in place) ``x`` holds only the new positions,
        and ``mask`` must be ``None``: decoding step by step writes no target padding.
        """
        return self._run(x, memory, mask, memory_mask, caches, need_weights=False)[0]

    def cross_attention_weights(
        self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """Every layer's cross-attention weights ``(batch, heads, T, S)`` while reading ``x`` (as :meth:`forward`)."""
        return self._run(x, memory, mask, memory_mask, None, need_weights=True)[1]

    def _run(
        self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None, memory_mask: torch.Tensor | None,
        caches: list[DecoderCache] | None, need_weights: bool,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if x.dim() != 3 or memory.dim() != 3 or x.shape[0] != memory.shape[0]:
            raise ValueError(
                f"x (batch, T, d_model) and memory (batch, S, d_model) must share the batch; got "
                f"{tuple(x.shape)} and {tuple(memory.shape)}"
            )
        check_padding_mask(memory_mask, memory.shape[0], memory.shape[1], "memory_mask")
        self_mask = None
        if caches is None:
            check_padding_mask(mask, x.shape[0], x.shape[1])
            self_mask = causal_mask(x.shape[1], device=x.device)[None, None]  # (1, 1, T, T)
            if mask is not None:
                self_mask = self_mask & mask[:, None, None, :]  # (batch, 1, T, T)
        else:
            self._check_caches(caches)
            if mask is not None:
                raise ValueError(
                    "mask (target padding) cannot be used with caches: decoding step by step has no target "
                    "padding, and the cached positions would not be masked; pass mask=None"
                )
        cross_mask = None if memory_mask is None else memory_mask[:, None, None, :]  # (batch, 1, 1, S)
        weights = []
        for i, layer in enumerate(self.layers):
            cache = None if caches is None else caches[i]
            x, layer_weights = layer(x, memory, self_mask, cross_mask, cache, need_weights)
            weights.append(layer_weights)
        return self.norm(x), weights


# ------------------------------------------------------------------------------------- the models


class Transformer(Translator):
    """The encoder–decoder Transformer for translation, with ``translate(sentences, beam_size=1)``.

    ``share_embeddings`` ties the source and target embeddings (needs one vocabulary for both);
    ``tie_output`` (default) makes the pre-softmax layer the target embedding's transpose, as in the paper.
    Decoding keeps a key/value cache or recomputes the prefix at every step: ``start(…, use_cache)``.
    """

    @records_arguments
    def __init__(
        self, src_vocab: Vocab, tgt_vocab: Vocab, d_model: int = 512, num_heads: int = 8,
        num_encoder_layers: int = 6, num_decoder_layers: int = 6, d_ff: int = 2048, dropout: float = 0.1,
        norm_first: bool = False, positions: str = "sinusoidal", max_len: int = 512,
        share_embeddings: bool = False, tie_output: bool = True, final_norm: bool | None = None,
    ) -> None:
        super().__init__()
        _check_heads(d_model, num_heads)
        if share_embeddings and src_vocab.itos != tgt_vocab.itos:
            raise ValueError("share_embeddings needs one vocabulary for source and target; they differ")
        self.src_vocab, self.tgt_vocab, self.d_model = src_vocab, tgt_vocab, d_model
        self.tgt_embed = Embeddings(len(tgt_vocab), d_model, positions, max_len, dropout, tgt_vocab.pad_id)
        self.src_embed = (
            self.tgt_embed
            if share_embeddings
            else Embeddings(len(src_vocab), d_model, positions, max_len, dropout, src_vocab.pad_id)
        )
        args = (d_model, num_heads, d_ff, dropout, norm_first, final_norm)
        self.encoder = Encoder(num_encoder_layers, *args)
        self.decoder = Decoder(num_decoder_layers, *args)
        self.out = nn.Linear(d_model, len(tgt_vocab), bias=False)
        if tie_output:
            self.out.weight = self.tgt_embed.token.weight  # (vocab, d_model): one matrix, two uses

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Source ids ``(batch, S)`` → memory ``(batch, S, d_model)`` and its padding mask ``(batch, S)``."""
        if src.dim() != 2 or src_lengths.shape != (src.shape[0],):
            raise ValueError(f"src must be (batch, S) with src_lengths (batch,); got {tuple(src.shape)}, "
                             f"{tuple(src_lengths.shape)}")
        if (src_lengths < 1).any():
            raise ValueError(f"every source needs at least one token; got lengths {src_lengths.tolist()}")
        src_mask = lengths_to_mask(src_lengths, src.shape[1]).to(src.device)
        return self.encoder(self.src_embed(src), src_mask), src_mask

    def decode(
        self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor,
        caches: list[DecoderCache] | None = None, offset: int = 0,
    ) -> torch.Tensor:
        """Target prefix ids ``(batch, T)`` at positions ``offset …`` → logits ``(batch, T, vocab)``."""
        x = self.decoder(self.tgt_embed(tgt_in, offset), memory, None, src_mask, caches)
        return self.out(x)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits ``(batch, T, vocab)`` for the target prefix ``tgt_in`` ``(batch, T)``."""
        memory, src_mask = self.encode(src, src_lengths)
        return self.decode(tgt_in, memory, src_mask)

    def loss(self, batch: PairBatch, label_smoothing: float = 0.0) -> torch.Tensor:
        """Mean (label-smoothed) cross-entropy per target token, padding excluded, under teacher forcing."""
        logits = self(batch.src, batch.src_lengths, batch.tgt[:, :-1])
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            batch.tgt[:, 1:].reshape(-1),
            ignore_index=self.tgt_vocab.pad_id,
            label_smoothing=label_smoothing,
        )

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor, use_cache: bool = True) -> dict[str, Any]:
        """Encode ``src`` ``(batch, S)``: the decoding state (every tensor batch-first), with empty key/value
        caches (``use_cache``) or an empty prefix to recompute at every step."""
        memory, src_mask = self.encode(src, src_lengths)
        state: dict[str, Any] = {"memory": memory, "src_mask": src_mask}
        if use_cache:
            state["caches"] = self.decoder.new_caches()
            state["position"] = 0
        else:
            state["prefix"] = torch.empty(src.shape[0], 0, dtype=torch.long, device=src.device)
        return state

    def step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """One step: tokens ``(batch,)`` → log-probs ``(batch, vocab)`` and the new state.

        With the cache only the new token runs through the decoder; without it, the whole prefix again.
        """
        tokens = tokens.to(state["memory"].device)[:, None]  # (batch, 1)
        memory, src_mask = state["memory"], state["src_mask"]
        # excerpt begins step
        if "caches" in state:  # only the new token runs through the decoder
            caches = copy_caches(state["caches"])  # copies, filled in place
            position = state["position"]
            logits = self.decode(tokens, memory, src_mask, caches, position)
            new_state = {**state, "caches": caches, "position": position + 1}
        else:  # the whole prefix, again
            prefix = torch.cat([state["prefix"], tokens], dim=1)  # (batch, t)
            logits = self.decode(prefix, memory, src_mask)
            new_state = {**state, "prefix": prefix}
        # excerpt ends
        return logits[:, -1].log_softmax(dim=-1), new_state

    @torch.no_grad()
    def load_torch_weights(self, theirs: nn.Transformer) -> Transformer:
        """Copy a ``torch.nn.Transformer``'s encoder and decoder stacks (it has no embeddings); returns self."""
        self.encoder.load_torch_weights(theirs.encoder)
        self.decoder.load_torch_weights(theirs.decoder)
        return self

    @torch.no_grad()
    def alignment(self, source: str, target_tokens: list[str], layer: int = -1) -> torch.Tensor:
        """Cross-attention weights ``(heads, T, S)`` of decoder ``layer`` while reading ``target_tokens``."""
        was_training = self.training
        self.eval()
        dev = model_device(self)
        src = torch.tensor([self.src_vocab.encode(self.tokenize_source(source))], device=dev)
        tgt = torch.tensor([[self.tgt_vocab.bos_id, *self.tgt_vocab.encode(target_tokens)]], device=dev)
        memory, src_mask = self.encode(src, torch.tensor([src.shape[1]], device=dev))
        weights = self.decoder.cross_attention_weights(self.tgt_embed(tgt), memory, None, src_mask)
        self.train(was_training)
        return weights[layer][0].cpu()


class DecoderOnly(nn.Module):
    """GPT: token + learned positions, a stack of causal :class:`EncoderLayer`, a tied LM head.

    ``forward(ids (batch, time))`` → hidden ``(batch, time, d_model)``; ``logits(hidden)`` → ``(batch, time,
    vocab)``. ``start``/``step`` decode with a key/value cache in the form :mod:`n2t.decoding` drives.
    """

    def __init__(
        self, vocab_size: int, d_model: int = 256, num_heads: int = 4, num_layers: int = 4,
        d_ff: int | None = None, max_len: int = 512, dropout: float = 0.1, norm_first: bool = False,
        positions: str = "learned", activation: str = "gelu", pad_id: int | None = None,
    ) -> None:
        super().__init__()
        _check_heads(d_model, num_heads)
        self.embed = Embeddings(vocab_size, d_model, positions, max_len, dropout, pad_id)
        self.stack = Encoder(num_layers, d_model, num_heads, d_ff or 4 * d_model, dropout, norm_first,
                             activation=activation)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        self.lm_head.weight = self.embed.token.weight  # tied

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor | None = None, caches: list[KVCache] | None = None,
        offset: int = 0,
    ) -> torch.Tensor:
        """ids ``(batch, time)`` → hidden ``(batch, time, d_model)``; position t sees positions ≤ t only.

        ``mask`` ``(batch, time)``: True = real token (padding is never attended to). With ``caches`` (one
        :class:`KVCache` per layer, filled in place) ``ids`` are the tokens after the ``offset`` cached ones.
        """
        return self.stack(self.embed(ids, offset), mask, is_causal=True, caches=caches)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Hidden ``(batch, time, d_model)`` → next-token logits ``(batch, time, vocab)``."""
        return self.lm_head(hidden)

    def next_token_log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """Hidden ``(..., d_model)`` → ln p of the next token ``(..., vocab)`` through the tied LM head."""
        return self.logits(hidden).log_softmax(dim=-1)

    def start(self, prefix: torch.Tensor) -> dict[str, Any]:
        """Read ``prefix`` ``(batch, P)`` (may be empty, P = 0) into a fresh cache; the next ``step`` continues it."""
        caches = self.stack.new_caches()
        if prefix.shape[1] > 0:
            self(prefix, caches=caches)
        return {"caches": caches, "position": prefix.shape[1], "batch": torch.zeros(prefix.shape[0], 0)}

    def step(
        self, tokens: torch.Tensor, state: dict[str, Any],
        head: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Feed tokens ``(batch,)``: log-probs of the next token ``(batch, vocab)`` and the new state.

        ``head`` maps the last hidden vectors ``(batch, d_model)`` to log-probabilities (default: the tied LM
        head and a softmax; GPT's harness head in :mod:`n2t.pretrain`).
        """
        head = head or self.next_token_log_probs
        # excerpt begins decoder-only step
        caches = copy_caches(state["caches"])  # the old state stays
        position = state["position"]
        tokens = tokens.to(self.lm_head.weight.device)[:, None]  # (batch, 1)
        hidden = self(tokens, caches=caches, offset=position)  # (batch, 1, d_model)
        log_probs = head(hidden[:, -1])  # (batch, vocab)
        # excerpt ends
        return log_probs, {**state, "caches": caches, "position": position + 1}

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, max_new_tokens: int, use_cache: bool = True) -> torch.Tensor:
        """Greedy continuation of ``prompt`` ``(batch, P ≥ 1)`` → ``(batch, P + max_new_tokens)``."""
        if prompt.dim() != 2 or prompt.shape[1] < 1:
            raise ValueError(f"prompt must have shape (batch, P) with P >= 1; got {tuple(prompt.shape)}")
        ids = prompt
        state = self.start(prompt[:, :-1]) if use_cache else None
        for _ in range(max_new_tokens):
            if use_cache:
                log_probs, state = self.step(ids[:, -1], state)
            else:
                log_probs = self.logits(self(ids)[:, -1])
            ids = torch.cat([ids, log_probs.argmax(dim=-1, keepdim=True)], dim=1)
        return ids


class EncoderOnly(nn.Module):
    """BERT: token + learned positions (+ segments), a stack of bidirectional :class:`EncoderLayer`.

    ``forward(ids (batch, time), mask (batch, time) True = real, segments)`` → hidden ``(batch, time, d_model)``.
    """

    def __init__(
        self, vocab_size: int, d_model: int = 256, num_heads: int = 4, num_layers: int = 4,
        d_ff: int | None = None, max_len: int = 512, dropout: float = 0.1, norm_first: bool = False,
        positions: str = "learned", activation: str = "gelu", num_segments: int = 0, pad_id: int | None = None,
    ) -> None:
        super().__init__()
        _check_heads(d_model, num_heads)
        self.embed = Embeddings(vocab_size, d_model, positions, max_len, dropout, pad_id)
        self.segment = nn.Embedding(num_segments, d_model) if num_segments > 0 else None
        self.stack = Encoder(num_layers, d_model, num_heads, d_ff or 4 * d_model, dropout, norm_first,
                             activation=activation)

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor | None = None, segments: torch.Tensor | None = None
    ) -> torch.Tensor:
        """ids ``(batch, time)`` → hidden ``(batch, time, d_model)``; every position sees every real token."""
        x = self.embed(ids)
        if segments is not None:
            if self.segment is None:
                raise ValueError("segments given, but the model was built with num_segments=0")
            if segments.shape != ids.shape:
                raise ValueError(f"segments must have the shape of ids {tuple(ids.shape)}; got {tuple(segments.shape)}")
            x = x + self.segment(segments)
        return self.stack(x, mask)


# ------------------------------------------------------------------------------------- training


def model_from_state(state: dict[str, Any]) -> Transformer:
    """Rebuild a trained :class:`Transformer` from a zoo artefact's state (vocabularies, every argument, weights)."""
    return rebuild(Transformer, state)


MODEL_KEYS = ("d_model", "num_heads", "num_encoder_layers", "num_decoder_layers", "d_ff", "dropout", "norm_first")


def train_transformer(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train a :class:`Transformer` on Chapter 7's training split and score it on its test split."""
    seed_everything(settings.seed)
    train = tokenized_pairs(cmn_eng_split("train")[: settings.train_pairs])
    src_vocab, tgt_vocab = build_vocabs(train, settings.min_freq)
    model = Transformer(src_vocab, tgt_vocab, **{key: settings[key] for key in MODEL_KEYS})
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, betas=(0.9, 0.98), eps=1e-9)
    scheduler = warmup_inverse_sqrt(optimizer, settings.d_model, settings.warmup)
    return train_translator(model, train, settings, optimizer,
                            lambda m, batch: m.loss(batch, settings.label_smoothing), "transformer", scheduler)


@zoo.register("transformer-zh-en", section="transformer")
def train_transformer_zh_en(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The encoder–decoder Transformer on Chapter 7's Chinese → English pairs."""
    return train_transformer(settings)
