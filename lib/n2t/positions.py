"""Where a token is (Chapter 10): sinusoidal and learned positional encodings, and the Transformer's embeddings.

Self-attention is blind to order: it sees a set of vectors. Each token's vector therefore gets its position
added — the paper's fixed sinusoids (:func:`sinusoidal_table`, :class:`PositionalEncoding`: any length) or a
trained vector per position (:class:`LearnedPositions`: up to ``max_len``, as GPT and BERT do).
:class:`Embeddings` joins the token embedding, scaled by √d_model, its position and dropout.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# ------------------------------------------------------------------------------------- positions


def sinusoidal_table(length: int, d_model: int, offset: int = 0, base: float = 10000.0) -> torch.Tensor:
    """PE ``(length, d_model)`` for positions ``offset … offset+length-1``: sin on even dims, cos on odd."""
    if d_model % 2 != 0:
        raise ValueError(f"d_model ({d_model}) must be even for sinusoidal positions (sin/cos pairs)")
    # excerpt begins sinusoidal_table
    pos = torch.arange(offset, offset + length, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float32)  # 2i = 0, 2, 4, …
    angle = pos / base ** (i / d_model)  # (length, d_model / 2)
    table = torch.empty(length, d_model)
    table[:, 0::2] = torch.sin(angle)  # PE(pos, 2i)
    table[:, 1::2] = torch.cos(angle)  # PE(pos, 2i+1)
    # excerpt ends
    return table


class PositionalEncoding(nn.Module):
    """Sinusoidal positions (no parameters, no length limit): ``x (batch, time, d_model)`` → ``x + PE``."""

    def __init__(self, d_model: int, base: float = 10000.0) -> None:
        super().__init__()
        if d_model % 2 != 0:
            raise ValueError(f"d_model ({d_model}) must be even for sinusoidal positions (sin/cos pairs)")
        self.d_model, self.base = d_model, base

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Add PE of positions ``offset … offset+time-1`` to ``x`` ``(batch, time, d_model)``."""
        table = sinusoidal_table(x.shape[1], self.d_model, offset, self.base)
        return x + table.to(device=x.device, dtype=x.dtype)


class LearnedPositions(nn.Module):
    """Learned positions: one trained vector per position up to ``max_len`` (longer inputs are an error)."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        if max_len < 1:
            raise ValueError(f"max_len must be at least 1; got {max_len}")
        self.max_len = max_len
        self.table = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.table.weight, std=0.02)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Add the vectors of positions ``offset … offset+time-1`` to ``x`` ``(batch, time, d_model)``."""
        end = offset + x.shape[1]
        if end > self.max_len:
            raise ValueError(
                f"sequence of length {end} is longer than the learned-position table ({self.max_len} "
                f"positions, max_len); train with a larger max_len or use sinusoidal positions"
            )
        return x + self.table.weight[offset:end]


POSITIONS = ("sinusoidal", "learned")


class Embeddings(nn.Module):
    """Token ids ``(batch, time)`` → ``dropout(embedding · √d_model + position)`` ``(batch, time, d_model)``."""

    def __init__(
        self, vocab_size: int, d_model: int, positions: str = "sinusoidal", max_len: int = 512,
        dropout: float = 0.1, pad_id: int | None = None,
    ) -> None:
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}; got {positions!r}")
        self.d_model = d_model
        self.token = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        nn.init.normal_(self.token.weight, std=d_model**-0.5)  # ·√d_model brings it to unit scale
        if pad_id is not None:
            with torch.no_grad():
                self.token.weight[pad_id].zero_()
        self.position = PositionalEncoding(d_model) if positions == "sinusoidal" else LearnedPositions(max_len, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Embed ids ``(batch, time)`` at positions ``offset …`` → ``(batch, time, d_model)``."""
        if ids.dim() != 2 or ids.dtype != torch.long:
            raise ValueError(f"ids must be a long tensor of shape (batch, time); got {ids.dtype} {tuple(ids.shape)}")
        # excerpt begins Embeddings
        x = self.token(ids) * math.sqrt(self.d_model)  # (batch, time, d_model)
        return self.dropout(self.position(x, offset))  # + PE(offset …)
        # excerpt ends
