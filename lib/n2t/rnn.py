"""Recurrent language models: an LSTM from scratch and an LSTM LM for the harness (Chapter 6).

- :class:`LSTMCell`, :class:`LSTMLayer`, :class:`LSTM`: the LSTM of Hochreiter and Schmidhuber (1997) with a
  forget gate, written out gate by gate, with ``nn.LSTM``'s parameter layout (gates in the order i, f, g, o),
  so weights copy between the two (:func:`copy_from_torch`) and a test shows they agree.
- :class:`RNNCell` and :func:`gradient_by_distance`: how much gradient reaches back k steps, vanilla vs LSTM.
- :class:`LSTMBody`: the body of an LSTM language model for :mod:`n2t.lm` (``forward(ids, state) -> (hidden,
  state)``); the zoo artefact ``"lstm-lm"``.

ELMo's biLM, built from two such language models, is :mod:`n2t.elmo`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from n2t import lm, zoo
from n2t.checks import positive_ints
from n2t.profile import Settings
from n2t.train import records_arguments, seed_everything

State = tuple[torch.Tensor, torch.Tensor]

# ------------------------------------------------------------------------------------------ the cells


class LSTMCell(nn.Module):
    """One LSTM step: x ``(batch, input_size)`` and state (h, c) ``(batch, hidden_size)`` each → new (h, c).

    Parameters as in ``nn.LSTM``: ``weight_ih`` ``(4 H, input_size)``, ``weight_hh`` ``(4 H, H)`` and two biases,
    the four row blocks being the input gate i, the forget gate f, the candidate g and the output gate o.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        positive_ints(input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        bound = 1 / math.sqrt(hidden_size)  # nn.LSTM's initialisation
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def step(self, x_proj: torch.Tensor, state: State) -> State:
        """One step from the input's projection ``W_ih x + b_ih`` ``(batch, 4 H)``."""
        h, c = state
        gates = x_proj + h @ self.weight_hh.T + self.bias_hh  # (batch, 4 H)
        i, f, g, o = gates.chunk(4, dim=-1)
        i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)  # in (0, 1)
        c = f * c + i * torch.tanh(g)  # keep some of the old cell, write some new
        h = o * torch.tanh(c)  # expose some of the cell
        return h, c

    def forward(self, x: torch.Tensor, state: State | None = None) -> State:
        """The new (h, c) after reading x ``(batch, input_size)``; ``state`` ``None`` means zeros."""
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"x must have shape (batch, {self.input_size}); got {tuple(x.shape)}")
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        return self.step(x @ self.weight_ih.T + self.bias_ih, state)


class LSTMLayer(nn.Module):
    """An :class:`LSTMCell` run over time: x ``(batch, time, input_size)`` → outputs ``(batch, time, H)``, (h, c)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """All the hidden states of the sequence and the last (h, c) (each ``(batch, H)``)."""
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must have shape (batch, time, {self.input_size}); got {tuple(x.shape)}")
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        cell = self.cell
        x_proj = x @ cell.weight_ih.T + cell.bias_ih  # every step's input projection in one product
        outputs = []
        for t in range(x.shape[1]):
            state = cell.step(x_proj[:, t], state)
            outputs.append(state[0])
        return torch.stack(outputs, dim=1), state


class LSTM(nn.Module):
    """A stack of ``num_layers`` LSTM layers, batch-first, with ``nn.LSTM``'s interface.

    ``forward(x (batch, time, input_size), state)`` → ``(outputs (batch, time, H), (h, c))`` with h and c
    ``(num_layers, batch, H)``; ``dropout`` is applied between layers (not after the last), as in ``nn.LSTM``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        positive_ints(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(LSTMLayer(size, hidden_size) for size in sizes)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Outputs of the top layer ``(batch, time, H)`` and the last (h, c) of every layer."""
        if state is not None:
            expected = (self.num_layers, x.shape[0], self.hidden_size)
            if tuple(state[0].shape) != expected or tuple(state[1].shape) != expected:
                raise ValueError(f"state must be (h, c), each of shape {expected}")
        hs, cs = [], []
        for index, layer in enumerate(self.layers):
            if index > 0:
                x = self.dropout(x)
            x, (h, c) = layer(x, None if state is None else (state[0][index], state[1][index]))
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))


def copy_from_torch(ours: LSTM, theirs: nn.LSTM) -> LSTM:
    """Copy the weights of a batch-first, unidirectional ``nn.LSTM`` into ``ours`` (same sizes); returns ``ours``."""
    if theirs.bidirectional or not theirs.batch_first or theirs.proj_size or not theirs.bias:
        raise ValueError("theirs must be a batch-first, unidirectional nn.LSTM with biases and no projection")
    if (theirs.input_size, theirs.hidden_size, theirs.num_layers) != (
        ours.input_size,
        ours.hidden_size,
        ours.num_layers,
    ):
        raise ValueError(
            f"sizes differ: ours (input, hidden, layers) = {(ours.input_size, ours.hidden_size, ours.num_layers)},"
            f" theirs = {(theirs.input_size, theirs.hidden_size, theirs.num_layers)}"
        )
    with torch.no_grad():
        for index, layer in enumerate(ours.layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(layer.cell, name).copy_(getattr(theirs, f"{name}_l{index}"))
    return ours


class RNNCell(nn.Module):
    """Elman's vanilla RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh), with ``nn.RNNCell``'s layout."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        positive_ints(input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size))
        bound = 1 / math.sqrt(hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """The new h ``(batch, H)`` after reading x ``(batch, input_size)``."""
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        return torch.tanh(x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh)


def gradient_by_distance(
    cell: nn.Module, length: int, batch: int = 16, seed: int = 0
) -> torch.Tensor:
    """‖∂(h_T · d) / ∂ x_{T−k}‖ for k = 0 … length − 1, mean over ``batch`` sequences.

    ``cell``: an :class:`RNNCell` (state h) or an :class:`LSTMCell` (state (h, c)).
    The loss h_T · d is the last hidden state projected on a fixed random direction d;
    the inputs are standard normal. Returns ``(length,)``.
    """
    positive_ints(length=length, batch=batch)
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, length, cell.input_size)
    x = torch.randn(*shape, generator=generator, requires_grad=True)
    direction = torch.randn(cell.hidden_size, generator=generator)
    state = None
    for t in range(length):
        state = cell(x[:, t], state)
    h = state[0] if isinstance(state, tuple) else state
    (h @ direction).sum().backward()
    norms = x.grad.norm(dim=-1).mean(dim=0)  # (length,) indexed by time t
    return norms.flip(0)  # indexed by distance k = T - 1 - t


# ------------------------------------------------------------------------------------------ the LSTM LM


class LSTMBody(nn.Module):
    """The body of an LSTM LM: ids ``(batch, time)`` → hidden ``(batch, time, dim)``, state (h, c).

    An embedding of width ``hidden_dim`` (so it can share the LSTM's width), ``num_layers`` LSTM layers
    (``impl="torch"``: ``nn.LSTM``, fast; ``"ours"``: :class:`LSTM`, the same computation in Python) and dropout.
    The state carried between windows is the last (h, c): the model reads everything before the window.
    """

    @records_arguments
    def __init__(
        self, vocab_size: int, hidden_dim: int, num_layers: int = 1, dropout: float = 0.0, impl: str = "torch"
    ) -> None:
        super().__init__()
        positive_ints(vocab_size=vocab_size, hidden_dim=hidden_dim, num_layers=num_layers)
        if impl not in ("torch", "ours"):
            raise ValueError(f"impl must be 'torch' or 'ours'; got {impl!r}")
        self.dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, hidden_dim)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        if impl == "torch":
            self.lstm = nn.LSTM(hidden_dim, hidden_dim, num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0)
        else:
            self.lstm = LSTM(hidden_dim, hidden_dim, num_layers, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, ids: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """Hidden ``(batch, time, dim)`` (row t has read ids[:, :t + 1]), new (h, c)."""
        if ids.dim() != 2:
            raise ValueError(f"ids must be (batch, time); got {tuple(ids.shape)}")
        x = self.dropout(self.embedding(ids))
        hidden, state = self.lstm(x, state)
        return self.dropout(hidden), state


def build_lstm_lm(vocab_size: int, cfg: Settings | dict[str, Any]) -> lm.NeuralLM:
    """An LSTM body with the harness's adaptive-softmax head, sized by the settings ``cfg``."""
    body = LSTMBody(vocab_size, cfg["hidden_dim"], cfg["num_layers"], cfg["dropout"])
    return lm.NeuralLM(body, vocab_size, adaptive=True)


@zoo.register("lstm-lm", section="recurrent")
def train_lstm_lm(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Chapter 6's LSTM LM, trained on WikiText-2 by the harness and scored on the whole test split."""
    vocab = lm.wikitext2_vocab()
    train_ids, valid_ids, test_ids = lm.wikitext2_splits(cfg.train_lines, cfg.valid_lines)
    seed_everything(cfg.seed)
    model = build_lstm_lm(len(vocab), cfg)
    log = lm.train_lm(
        model, train_ids, valid_ids, cfg.lm_tokens, batch_size=cfg.batch_size, seq_len=cfg.seq_len,
        lr=cfg.lr, eval_every=cfg.eval_every, seed=cfg.seed, desc="train LSTM LM",
    )
    return lm.harness_artefact(model, log, test_ids, valid_ids)


def load_lstm_lm(artefact: zoo.Artefact) -> lm.NeuralLM:
    """Rebuild the trained model of a zoo ``"lstm-lm"`` artefact (on the CPU, in eval mode)."""
    return lm.rebuild(LSTMBody, artefact.state)
