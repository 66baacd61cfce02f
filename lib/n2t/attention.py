"""Attention: scaled dot-product attention, masks, and multi-head attention (Chapters 8–9).

One mask convention across the library: a boolean mask where ``True`` means "this query may attend to this
key" and ``False`` means "it may not". (``torch.nn.MultiheadAttention`` uses the opposite convention for its
``attn_mask`` and ``key_padding_mask``; invert with ``~mask`` when handing a mask to it.)

A query whose mask row is entirely ``False`` may attend to nothing. Its attention weights are all zero and its
output is the zero vector, in both the forward and the backward pass (no NaN), in every code path. In
``MultiHeadAttention`` a head in which a query sees no key contributes zeros to the concatenated heads, and a
query that sees no key in any head gets a zero output row: the output projection's bias is not added to it.

For decoding one token at a time, ``MultiHeadAttention`` takes an optional :class:`KVCache`: the keys and values
of the positions seen so far, so that a new token costs one position's work instead of the whole prefix's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from n2t.checks import positive_ints
from n2t.text import lengths_to_mask
from n2t.train import map_tensors


def causal_mask(size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Causal mask ``(size, size)``: query ``i`` may attend to keys ``0..i`` (``True`` = may attend)."""
    if size < 0:
        raise ValueError(f"size must be non-negative; got {size}")
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: torch.Tensor | list[int], max_len: int | None = None) -> torch.Tensor:
    """Key padding mask ``(batch, 1, 1, max_len)`` from lengths ``(batch,)`` (``True`` = may attend).

    The two singleton axes let it broadcast against scores ``(batch, heads, n, max_len)``; combine it with a
    causal mask by ``padding_mask(lengths) & causal_mask(max_len)``.
    """
    return lengths_to_mask(lengths, max_len)[:, None, None, :]


@dataclass
class KVCache:
    """The keys and values that one attention layer has computed so far, each ``(batch, heads, length, head_dim)``.

    Self-attention while decoding (``static=False``): every call appends the new positions' keys and values, and
    each new query sees the cached positions and the new ones up to itself (decoding is causal). Cross-attention
    (``static=True``): the keys and values of the memory, projected at the first call and reused after. The
    attention layer fills the cache in place; :func:`copy_caches` gives a step fresh ones to fill.
    """

    static: bool = False
    keys: torch.Tensor | None = None
    values: torch.Tensor | None = None


def copy_caches(caches: Any) -> Any:
    """New cache objects (lists and dicts of :class:`KVCache`) holding the same tensors: a decoding step extends
    the copies, and the state it was given stays as it was."""
    return map_tensors(caches, lambda tensor: tensor)


def _check_mask_type(mask: torch.Tensor) -> None:
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor of dtype bool (True = may attend); got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must have dtype torch.bool (True = may attend); got {mask.dtype}")


def _check_mask(mask: torch.Tensor, target: tuple[int, ...], target_names: str) -> None:
    _check_mask_type(mask)
    try:
        broadcast = torch.broadcast_shapes(tuple(mask.shape), target)
    except RuntimeError:
        broadcast = None
    if mask.dim() > len(target) or broadcast != target:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape {target} {target_names}"
        )


def _check_layer_mask(mask: torch.Tensor, target: tuple[int, int, int, int]) -> None:
    """A layer's mask is 4-D: broadcasting from the right would read a ``(batch, L_k)`` padding mask as
    ``(L_q, L_k)`` whenever batch equals L_q, and a ``(batch, L_q, L_k)`` mask per head whenever batch equals the
    number of heads, so no other rank is accepted."""
    _check_mask_type(mask)
    if mask.dim() != 4:
        raise ValueError(
            f"mask must be 4-D, broadcasting to (batch, heads, L_q, L_k) = {target}; got shape "
            f"{tuple(mask.shape)}. A padding mask (batch, L_k) is mask[:, None, None, :] (padding_mask(lengths) "
            f"builds it), one mask (L_q, L_k) for every sequence is mask[None, None], and a mask per sequence "
            f"(batch, L_q, L_k) is mask[:, None]"
        )
    _check_mask(mask, target, "(batch, heads, L_q, L_k)")


def _allow_empty_rows(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(safe_mask, has_key)``: rows with no allowed key are opened up (and zeroed later)."""
    has_key = mask.any(dim=-1, keepdim=True)  # (..., n, 1)
    return mask | ~has_key, has_key


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax over the last axis of ``scores`` where the boolean ``mask`` (broadcasting to it) is True; a row
    with no True gets zero weights, with finite gradients, as every attention of the library gives it."""
    _check_mask(mask, tuple(scores.shape), "(..., L_q, L_k)")
    mask, has_key = _allow_empty_rows(mask)
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=-1).masked_fill(~has_key, 0.0)


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float) -> None:
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(
            f"q, k, v must have at least two dimensions (..., length, dim); got shapes "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q (..., L_q, d_k) and k (..., L_k, d_k) must share d_k; got {tuple(q.shape)} and {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k (..., L_k, d_k) and v (..., L_k, d_v) must share L_k; got {tuple(k.shape)} and {tuple(v.shape)}"
        )
    if not (q.is_floating_point() and q.dtype == k.dtype == v.dtype):
        raise TypeError(f"q, k, v must share one floating-point dtype; got {q.dtype}, {k.dtype}, {v.dtype}")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1); got {dropout_p}")


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ/√d_k) v for q (..., L_q, d_k), k (..., L_k, d_k), v (..., L_k, d_v).

    Returns output (..., L_q, d_v) and weights (..., L_q, L_k). The boolean ``mask``
    broadcasts to (..., L_q, L_k), True = may attend; a query with no allowed key gets
    zero weights and a zero output. ``dropout_p`` zeroes weights at random after the
    softmax and scales the others by 1 / (1 - dropout_p); the weights returned are the
    ones that multiplied ``v``.
    """
    _check_qkv(q, k, v, dropout_p)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., L_q, L_k)
    has_key = None
    if mask is not None:
        _check_mask(mask, tuple(scores.shape), "(..., L_q, L_k)")
        mask, has_key = _allow_empty_rows(mask)
        scores = scores.masked_fill(~mask, float("-inf"))  # exp(-inf) = 0: no weight
    weights = scores.softmax(dim=-1)  # each row sums to one
    if has_key is not None:
        weights = weights.masked_fill(~has_key, 0.0)  # no allowed key: zero weights
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch-first: project, split into heads, attend per head, concatenate, project.

    ``q_proj``, ``k_proj``, ``v_proj`` map queries (``embed_dim``), keys (``kdim``) and values (``vdim``) to
    ``embed_dim``; ``out_proj`` mixes the concatenated heads. Masks are boolean, ``True`` = may attend.
    """

    def __init__(
        self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True, kdim: int | None = None,
        vdim: int | None = None,
    ) -> None:
        super().__init__()
        positive_ints(embed_dim=embed_dim, num_heads=num_heads)
        positive_ints(**{name: value for name, value in (("kdim", kdim), ("vdim", vdim)) if value is not None})
        if embed_dim % num_heads != 0:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}): each head gets "
                f"embed_dim / num_heads dimensions and the heads are concatenated back to embed_dim"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim = embed_dim // num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(self.kdim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(self.vdim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    @torch.no_grad()
    def load_torch_weights(self, theirs: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` of the same shape into this layer; returns self.

        torch packs the three input projections into one ``in_proj_weight`` ``(3·embed_dim, embed_dim)`` (or
        keeps separate ``q/k/v_proj_weight`` when ``kdim``/``vdim`` differ); they are split into ours.
        """
        if not isinstance(theirs, nn.MultiheadAttention):
            raise TypeError(f"theirs must be a torch.nn.MultiheadAttention; got {type(theirs).__name__}")
        if theirs.bias_k is not None or theirs.add_zero_attn:
            raise ValueError(
                "cannot copy weights: torch's layer was built with add_bias_kv=True or add_zero_attn=True, which "
                "add keys that this layer does not have, so its outputs would differ"
            )
        ours_shape = (self.embed_dim, self.num_heads, self.kdim, self.vdim, self.q_proj.bias is not None)
        theirs_shape = (theirs.embed_dim, theirs.num_heads, theirs.kdim, theirs.vdim, theirs.in_proj_bias is not None)
        if ours_shape != theirs_shape:
            raise ValueError(
                f"cannot copy weights: (embed_dim, num_heads, kdim, vdim, bias) is {theirs_shape} for torch's "
                f"layer but {ours_shape} for this one"
            )
        # excerpt begins load_torch_weights
        if theirs._qkv_same_embed_dim:  # one packed matrix (3 · embed_dim, embed_dim)
            weights = theirs.in_proj_weight.chunk(3)  # W_Q, W_K, W_V
        else:  # kdim or vdim differ from embed_dim: three separate matrices
            weights = (theirs.q_proj_weight, theirs.k_proj_weight, theirs.v_proj_weight)
        biases = (None, None, None)
        if theirs.in_proj_bias is not None:
            biases = theirs.in_proj_bias.chunk(3)
        projections = (self.q_proj, self.k_proj, self.v_proj)
        for proj, weight, bias in zip(projections, weights, biases, strict=True):
            proj.weight.copy_(weight)
            if bias is not None:
                proj.bias.copy_(bias)
        self.out_proj.load_state_dict(theirs.out_proj.state_dict())
        # excerpt ends
        return self

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"

    def _check_inputs(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, is_causal: bool) -> None:
        for name, x, dim in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if x.dim() != 3:
                raise ValueError(f"{name} must have shape (batch, length, {dim}); got {tuple(x.shape)}")
            if x.shape[-1] != dim:
                expected = {"query": "embed_dim", "key": "kdim", "value": "vdim"}[name]
                raise ValueError(f"{name} of shape {tuple(x.shape)} has last size {x.shape[-1]}, but {expected} is {dim}")
        if not query.shape[0] == key.shape[0] == value.shape[0]:
            raise ValueError(
                f"query, key, value must share the batch size; got shapes "
                f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
            )
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"key {tuple(key.shape)} and value {tuple(value.shape)} must have the same length")
        weight_dtype = self.q_proj.weight.dtype
        if not (query.dtype == key.dtype == value.dtype == weight_dtype):
            raise TypeError(
                f"query, key, value must have the module's dtype {weight_dtype}; got "
                f"{query.dtype}, {key.dtype}, {value.dtype}"
            )
        if is_causal and query.shape[1] != key.shape[1]:
            raise ValueError(
                f"is_causal needs as many queries as keys; got query length {query.shape[1]}, key length "
                f"{key.shape[1]}"
            )

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, length, embed_dim) → (batch, heads, length, head_dim)."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    @staticmethod
    def _fused_attention(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, dropout_p: float, is_causal: bool
    ) -> torch.Tensor:
        """PyTorch's fused kernel (no weights kept), with the library's policy for queries that see no key.

        The kernel returns zeros for a query that holds NaN or ±inf; adding ``0 · Σ q`` (0 for a finite query,
        NaN otherwise) makes that row NaN, as it is on the explicit path.
        """
        nan_if_not_finite = q.sum(dim=-1, keepdim=True) * 0.0  # (batch, heads, L_q, 1)
        if mask is None:
            heads = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=is_causal)
            return heads + nan_if_not_finite
        mask, has_key = _allow_empty_rows(mask)
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        return (heads + nan_if_not_finite).masked_fill(~has_key, 0.0)

    def _keys_values(
        self, key: torch.Tensor, value: torch.Tensor, cache: KVCache | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values ``(batch, heads, L_k, head_dim)``: projected or cached."""
        if cache is not None and cache.static and cache.keys is not None:
            return cache.keys, cache.values  # the memory's, projected at the first call
        k = self._split_heads(self.k_proj(key))  # (batch, heads, L_k, head_dim)
        v = self._split_heads(self.v_proj(value))  # (batch, heads, L_k, head_dim)
        if cache is not None:
            if not cache.static and cache.keys is not None:  # after the positions seen
                k = torch.cat([cache.keys, k], dim=2)
                v = torch.cat([cache.values, v], dim=2)
            cache.keys, cache.values = k, v
        return k, v

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None,
        is_causal: bool = False, need_weights: bool = False, cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from query ``(batch, L_q, embed_dim)`` to key ``(batch, L_k, kdim)`` and value ``(batch, L_k, vdim)``.

        ``mask`` is boolean and 4-D, broadcastable to ``(batch, heads, L_q, L_k)``, ``True`` = may attend (a
        padding mask is ``(batch, 1, 1, L_k)``, as :func:`padding_mask` builds it); ``is_causal`` adds
        the causal mask (needs L_q == L_k). Returns ``(output (batch, L_q, embed_dim), weights)`` where weights
        ``(batch, heads, L_q, L_k)`` are returned only when ``need_weights`` (otherwise ``None``, and the fused
        ``F.scaled_dot_product_attention`` does the work). A query that may attend to no key in any head gets a
        zero output row (not ``out_proj``'s bias). With a ``cache`` (:class:`KVCache`, filled in place) the keys
        are the cached ones and the new ones; a self-attention cache makes the new queries causal, and ``mask``
        then covers every key, cached and new.
        """
        self._check_inputs(query, key, value, is_causal and cache is None)
        # excerpt begins forward
        batch, length_q = query.shape[0], query.shape[1]
        q = self._split_heads(self.q_proj(query))  # (batch, heads, L_q, head_dim)
        k, v = self._keys_values(key, value, cache)  # (batch, heads, L_k, head_dim)
        # excerpt ends
        length_k = k.shape[2]
        if mask is not None:
            _check_layer_mask(mask, (batch, self.num_heads, length_q, length_k))
        if cache is not None and not cache.static:  # query i, at position past + i, sees keys 0 … past + i
            is_causal = False
            if length_q > 1:
                causal = causal_mask(length_k, device=query.device)[length_k - length_q :]
                mask = causal if mask is None else mask & causal
        if is_causal and (mask is not None or need_weights):  # one boolean mask holds both
            causal = causal_mask(length_q, device=query.device)
            mask, is_causal = (causal if mask is None else mask & causal), False
        # excerpt begins attend
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:  # ours, which returns the weights (batch, heads, L_q, L_k)
            heads, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p)
        else:  # PyTorch's fused kernel, which never stores them
            heads = self._fused_attention(q, k, v, mask, dropout_p, is_causal)
            weights = None
        # concatenate the heads: (batch, heads, L_q, head_dim) → (batch, L_q, embed_dim)
        output = self.out_proj(heads.transpose(1, 2).reshape(batch, length_q, -1))
        if mask is not None:  # no key in any head: a zero row, not out_proj's bias
            heads_seeing = mask.any(dim=-1).expand(batch, self.num_heads, length_q)
            sees_a_key = heads_seeing.any(dim=1)[..., None]  # (batch, L_q, 1)
            output = output.masked_fill(~sees_a_key, 0.0)  # (batch, L_q, embed_dim)
        # excerpt ends
        return output, weights
