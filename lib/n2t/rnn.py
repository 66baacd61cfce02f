"""Recurrent language models and ELMo: an LSTM from scratch, an LSTM LM for the harness, a biLM and its scalar mix.

- :class:`LSTMCell`, :class:`LSTMLayer`, :class:`LSTM`: the LSTM of Hochreiter and Schmidhuber (1997) with a
  forget gate, written out gate by gate, with ``nn.LSTM``'s parameter layout (gates in the order i, f, g, o),
  so weights copy between the two (:func:`copy_from_torch`) and a test shows they agree.
- :class:`RNNCell` and :func:`gradient_by_distance`: how much gradient reaches back k steps, vanilla vs LSTM.
- :class:`LSTMBody`: the body of an LSTM language model for :mod:`n2t.lm` (``forward(ids, state) -> (hidden,
  state)``); the zoo artefact ``"lstm-lm"``.
- :class:`BiLM`: ELMo's bidirectional LM (Peters et al. 2018), small: a forward and a backward LSTM LM that share
  the token embedding and the softmax; :meth:`BiLM.layers` gives the L + 1 layer representations of each token
  and :class:`ScalarMix` mixes them, γ · Σ_j softmax(s)_j h_j. The zoo artefact ``"bilm"``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn

from n2t import lm, zoo
from n2t.profile import Settings
from n2t.train import (
    BestWeights,
    adamw,
    count_parameters,
    device,
    model_device,
    optimizer_step,
    progress,
    seed_everything,
    warmup_cosine,
)

State = tuple[torch.Tensor, torch.Tensor]

# ------------------------------------------------------------------------------------------ the cells


def _positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")


class LSTMCell(nn.Module):
    """One LSTM step: x ``(batch, input_size)`` and state (h, c) ``(batch, hidden_size)`` each → new (h, c).

    Parameters as in ``nn.LSTM``: ``weight_ih`` ``(4 H, input_size)``, ``weight_hh`` ``(4 H, H)`` and two biases,
    the four row blocks being the input gate i, the forget gate f, the candidate g and the output gate o.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        _positive(input_size=input_size, hidden_size=hidden_size)
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
        _positive(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
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
        _positive(input_size=input_size, hidden_size=hidden_size)
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
    """‖∂ h_T / ∂ x_{T−k}‖ for k = 0 … length − 1, mean over ``batch`` sequences.

    ``cell``: an :class:`RNNCell` (state h) or an :class:`LSTMCell` (state (h, c)).
    The loss: the last hidden state projected on a fixed random direction; the
    inputs are standard normal. Returns ``(length,)``.
    """
    _positive(length=length, batch=batch)
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

    def __init__(
        self, vocab_size: int, hidden_dim: int, num_layers: int = 1, dropout: float = 0.0, impl: str = "torch"
    ) -> None:
        super().__init__()
        _positive(vocab_size=vocab_size, hidden_dim=hidden_dim, num_layers=num_layers)
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


LM_KEYS = ("hidden_dim", "num_layers", "dropout")


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
    return lm.harness_artefact(model, log, test_ids, valid_ids, {key: cfg[key] for key in LM_KEYS})


def load_lstm_lm(artefact: zoo.Artefact) -> lm.NeuralLM:
    """Rebuild the trained model of a zoo ``"lstm-lm"`` artefact (on the CPU, in eval mode)."""
    model = build_lstm_lm(lm.VOCAB_SIZE, artefact.state["config"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()


# ------------------------------------------------------------------------------------------ the biLM


def flip_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row of x ``(batch, time, ...)`` within its length (the padding stays at the end)."""
    if x.dim() < 2 or lengths.shape != (x.shape[0],):
        raise ValueError(f"need x (batch, time, ...) and lengths (batch,); got {tuple(x.shape)}, {tuple(lengths.shape)}")
    steps = torch.arange(x.shape[1], device=x.device)
    lengths = lengths.to(x.device)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)  # (batch, time)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class _Direction(nn.Module):
    """One direction of the biLM: the shared embedding, then stacked 1-layer ``nn.LSTM``s (each layer readable)."""

    def __init__(self, embedding: nn.Embedding, num_layers: int, dropout: float) -> None:
        super().__init__()
        dim = embedding.embedding_dim
        self.dim = dim
        self.embedding = embedding  # shared with the other direction
        self.lstms = nn.ModuleList(nn.LSTM(dim, dim, batch_first=True) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)

    def all_layers(self, ids: torch.Tensor, state: Any = None) -> tuple[list[torch.Tensor], list[State]]:
        """Every layer's outputs ``(batch, time, dim)`` (layer 0: the embedding) and each LSTM's last state."""
        x = self.embedding(ids)
        outputs, states = [x], []
        for index, lstm in enumerate(self.lstms):
            x, layer_state = lstm(self.dropout(x), None if state is None else state[index])
            outputs.append(x)
            states.append(layer_state)
        return outputs, states

    def forward(self, ids: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, list[State]]:
        """The harness's body interface: hidden ``(batch, time, dim)`` of the top layer, the new state."""
        if ids.dim() != 2:
            raise ValueError(f"ids must have shape (batch, time); got {tuple(ids.shape)}")
        outputs, states = self.all_layers(ids, state)
        return self.dropout(outputs[-1]), states


class BiLM(nn.Module):
    """ELMo's biLM: a forward and a backward ``num_layers``-layer LSTM LM sharing the embedding and the softmax.

    ``forward_lm`` reads the text left to right and predicts the next token; ``backward_lm`` is the same kind
    of model reading the text right to left (it is scored on the reversed stream). Both are :class:`n2t.lm.NeuralLM`
    and share one embedding (width ``dim``) and one adaptive-softmax head.
    """

    def __init__(self, vocab_size: int, dim: int, num_layers: int = 2, dropout: float = 0.0,
                 adaptive: bool = True) -> None:
        super().__init__()
        _positive(vocab_size=vocab_size, dim=dim, num_layers=num_layers)
        self.vocab_size, self.dim, self.num_layers = vocab_size, dim, num_layers
        self.embedding = nn.Embedding(vocab_size, dim)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.forward_lm = lm.NeuralLM(_Direction(self.embedding, num_layers, dropout), vocab_size, adaptive)
        self.backward_lm = lm.NeuralLM(_Direction(self.embedding, num_layers, dropout), vocab_size, adaptive)
        self.backward_lm.head = self.forward_lm.head  # one softmax for both directions

    def distributions(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ln p of every type at every position ``(batch, time, V)``: forward from the tokens before, backward after.

        ``forward[:, t]`` is the distribution of token t given ids[:, :t] (t = 0: given ``<eos>``);
        ``backward[:, t]`` given ids[:, t + 1:] (t = time − 1: given ``<eos>``).
        """
        start = ids.new_full((ids.shape[0], 1), lm.START_ID)
        forward, _ = self.forward_lm.next_token_logprobs(torch.cat([start, ids[:, :-1]], dim=1))
        reversed_ids = ids.flip(1)
        backward, _ = self.backward_lm.next_token_logprobs(torch.cat([start, reversed_ids[:, :-1]], dim=1))
        return forward, backward.flip(1)

    def layers(
        self, ids: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """ELMo's layers ``(batch, num_layers + 1, time, 2 dim)`` for ``ids``.

        Layer 0 is the token embedding duplicated to the biLSTM's width; layer j ≥ 1
        joins the forward LSTM's layer j at token k (it has read tokens ≤ k) and the
        backward one's (tokens ≥ k). ``mask`` ``(batch, time)``, True for real tokens,
        marks right padding: the backward LSTM reads each row from its last real token.
        """
        if ids.dim() != 2:
            raise ValueError(f"ids must be (batch, time); got {tuple(ids.shape)}")
        if mask is None:
            mask = torch.ones_like(ids, dtype=torch.bool)
        if mask.shape != ids.shape:
            raise ValueError(
                f"mask must have the shape of ids {tuple(ids.shape)}; "
                f"got {tuple(mask.shape)}"
            )
        lengths = mask.sum(dim=1)
        forward, _ = self.forward_lm.body.all_layers(ids)
        backward, _ = self.backward_lm.body.all_layers(flip_padded(ids, lengths))
        backward = [flip_padded(h, lengths) for h in backward]  # back in text order
        pairs = zip(forward, backward, strict=True)
        joined = [torch.cat(pair, dim=-1) for pair in pairs]
        joined[0] = torch.cat([forward[0], forward[0]], dim=-1)  # token layer, twice
        return torch.stack(joined, dim=1) * mask[:, None, :, None]


class ScalarMix(nn.Module):
    """ELMo's mix of L + 1 layers: γ · Σ_j softmax(s)_j h_j; the task learns s and γ."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        _positive(num_layers=num_layers)
        self.scalars = nn.Parameter(torch.zeros(num_layers))  # s: equal weights
        self.gamma = nn.Parameter(torch.ones(()))  # γ: the scale of the whole vector

    def weights(self) -> torch.Tensor:
        """softmax(s) ``(layers,)``: the share of each layer, summing to 1."""
        return torch.softmax(self.scalars, dim=0)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        """layers ``(batch, layers, time, dim)`` → mixed ``(batch, time, dim)``."""
        if layers.dim() != 4 or layers.shape[1] != len(self.scalars):
            expected = f"(batch, {len(self.scalars)}, time, dim)"
            raise ValueError(
                f"layers must have shape {expected}; got {tuple(layers.shape)}"
            )
        return self.gamma * torch.einsum("l,bltd->btd", self.weights(), layers)


BILM_KEYS = ("bilm_dim", "bilm_layers", "bilm_dropout")


def build_bilm(vocab_size: int, cfg: Settings | dict[str, Any]) -> BiLM:
    """A :class:`BiLM` sized by the settings ``cfg``."""
    return BiLM(vocab_size, cfg["bilm_dim"], cfg["bilm_layers"], cfg["bilm_dropout"])


def train_bilm(
    model: BiLM,
    train_ids: torch.Tensor,
    valid_ids: torch.Tensor,
    tokens: int,
    batch_size: int = 32,
    seq_len: int = 64,
    lr: float = 2e-3,
    eval_every: int | None = None,
    seed: int = 0,
) -> lm.TrainLog:
    """Train both directions of ``model`` for ``tokens`` predicted tokens each (AdamW, cosine decay).

    The forward LM reads the running text ``train_ids``, the backward LM the reversed text; the loss is the mean
    of the two cross-entropies, so the shared embedding and softmax learn from both. The log's ``valid_ppl``
    is the geometric mean of the two directions' validation perplexities; the best weights are kept.
    """
    if tokens < 1:
        raise ValueError(f"tokens must be a positive number of training tokens; got {tokens}")
    streams = (lm.LMStream(train_ids, batch_size, seq_len), lm.LMStream(train_ids.flip(0), batch_size, seq_len))
    steps = lm._steps_for(streams[0], tokens)
    eval_every = tokens if eval_every is None else eval_every
    seed_everything(seed)
    dev = device()
    model.to(dev)
    optimizer = adamw(model, lr, 0.01)
    scheduler = warmup_cosine(optimizer, min(100, steps - 1), steps) if steps > 1 else None
    directions = (model.forward_lm, model.backward_lm)
    curve, best = [], BestWeights(model)
    seen, seconds, next_eval = 0, 0.0, eval_every
    iterators, states = [iter(s) for s in streams], [None, None]
    bar = progress(total=steps, desc="train biLM")
    for step in range(1, steps + 1):
        started = time.perf_counter()
        model.train()
        losses = []
        for d, direction in enumerate(directions):
            batch = next(iterators[d], None)
            if batch is None:  # a new epoch
                iterators[d], states[d] = iter(streams[d]), None
                batch = next(iterators[d])
            inputs, targets = (t.to(dev) for t in batch)
            logp, states[d] = direction(inputs, targets, states[d])
            states[d] = lm.detach_state(states[d])
            losses.append(-logp.mean())
        loss = (losses[0] + losses[1]) / 2
        optimizer_step(loss, model, optimizer, step, 1.0, scheduler)
        seen += targets.numel()
        seconds += time.perf_counter() - started
        bar.update(1)
        if seen >= next_eval or step == steps:
            ppls = [lm.perplexity(lm.score(directions[0], valid_ids)),
                    lm.perplexity(lm.score(directions[1], valid_ids.flip(0)))]
            valid_ppl = math.sqrt(ppls[0] * ppls[1])
            curve.append({"tokens": seen, "seconds": round(seconds, 3), "valid_ppl": valid_ppl,
                          "forward_valid_ppl": ppls[0], "backward_valid_ppl": ppls[1]})
            best.update(model, valid_ppl, seen)
            while next_eval <= seen:
                next_eval += eval_every
            bar.set_postfix(loss=f"{loss.item():.3f}", valid_ppl=f"{valid_ppl:.1f}", refresh=False)
    bar.close()
    best.restore(model)
    return lm.TrainLog(curve, seen, seconds, best.score, best.seen)


@zoo.register("bilm", section="recurrent")
def train_bilm_recipe(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Chapter 6's biLM on WikiText-2; each direction scored on the whole test split (backward: reversed)."""
    vocab = lm.wikitext2_vocab()
    train_ids, valid_ids, test_ids = lm.wikitext2_splits(cfg.train_lines, cfg.valid_lines)
    seed_everything(cfg.seed)
    model = build_bilm(len(vocab), cfg)
    log = train_bilm(model, train_ids, valid_ids, cfg.bilm_tokens, batch_size=cfg.batch_size,
                     seq_len=cfg.seq_len, lr=cfg.lr, eval_every=cfg.eval_every, seed=cfg.seed)
    forward_logp = lm.score(model.forward_lm, test_ids, desc="score forward")
    backward_logp = lm.score(model.backward_lm, test_ids.flip(0), desc="score backward")
    assert len(forward_logp) == len(backward_logp) == lm.TEST_TOKENS
    metrics = {
        "forward_test_ppl": lm.perplexity(forward_logp),
        "backward_test_ppl": lm.perplexity(backward_logp),
        "valid_ppl": log.best_valid_ppl,
        "parameters": count_parameters(model),
        "tokens_seen": log.tokens_seen,
        "training_seconds": round(log.seconds, 3),
        "device": str(model_device(model)),
        "context": f"{lm.RUNNING_TEXT} (forward); the backward LM reads the reversed text",
        "test_tokens": len(forward_logp),
        "head": "adaptive softmax, shared by both directions",
        "curve": log.curve,
    }
    model.cpu()
    state = {"model": model.state_dict(), "config": {key: cfg[key] for key in BILM_KEYS}}
    return state, metrics


def load_bilm(artefact: zoo.Artefact) -> BiLM:
    """Rebuild the trained biLM of a zoo ``"bilm"`` artefact (on the CPU, in eval mode)."""
    model = build_bilm(lm.VOCAB_SIZE, artefact.state["config"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()


# ------------------------------------------------------------------------------------------ ELMo as a token encoder


class ELMoFeatures:
    """A frozen biLM's layer outputs per text, computed once and kept (on the CPU, in float16).

    Shared, not copied: ``copy.deepcopy`` returns the same object, so every copy of an :class:`ELMoEncoder` that
    Chapter 5's learning curve makes reads the same cache. ``copies`` lists those copies (their learned mixes).
    """

    def __init__(self, bilm: BiLM) -> None:
        if not isinstance(bilm, BiLM):
            raise TypeError(f"bilm must be an n2t.rnn.BiLM; got {type(bilm).__name__}")
        self.bilm = bilm.eval()
        for parameter in bilm.parameters():
            parameter.requires_grad_(False)
        self.cache: dict[tuple[int, ...], torch.Tensor] = {}
        self.copies: list[ELMoEncoder] = []
        self.seconds = 0.0

    def __deepcopy__(self, memo: dict) -> ELMoFeatures:
        return self

    @torch.no_grad()
    def _compute(self, texts: list[tuple[int, ...]]) -> None:
        started = time.perf_counter()
        dev = model_device(self.bilm)
        for start in range(0, len(texts), 256):
            chunk = texts[start : start + 256]
            lengths = torch.tensor([len(t) for t in chunk])
            ids = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.long)
            for row, text in enumerate(chunk):
                ids[row, : len(text)] = torch.tensor(text)
            mask = torch.arange(ids.shape[1]) < lengths[:, None]
            layers = self.bilm.layers(ids.to(dev), mask.to(dev)).half().cpu()  # (batch, L + 1, time, 2 dim)
            for row, text in enumerate(chunk):
                self.cache[text] = layers[row, :, : len(text)].clone()
        self.seconds += time.perf_counter() - started

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The layers of each row's real tokens ``(batch, L + 1, time, 2 dim)`` (zeros at the padding)."""
        if ids.shape != mask.shape or ids.dim() != 2:
            raise ValueError(f"ids and mask must both be (batch, time); got {tuple(ids.shape)}, {tuple(mask.shape)}")
        rows = [tuple(r[m].tolist()) for r, m in zip(ids.cpu(), mask.cpu(), strict=True)]
        missing = sorted({r for r in rows if r not in self.cache}, key=len)
        if missing:
            self._compute(missing)
        out = torch.zeros(len(rows), self.bilm.num_layers + 1, ids.shape[1], 2 * self.bilm.dim)
        for row, (text, real) in enumerate(zip(rows, mask.cpu(), strict=True)):
            out[row, :, real] = self.cache[text].float()
        return out.to(ids.device)


class ELMoEncoder(nn.Module):
    """Chapter 5's token encoder from a frozen biLM: ``γ · Σ_j softmax(s)_j h_j`` with only s and γ learned.

    ``forward(ids (batch, time), mask (batch, time))`` → ``(batch, time, dim)``, ``dim`` = 2 × the biLM's width;
    ``vocab`` is WikiText-2's (the biLM's). The layer outputs come from the shared :class:`ELMoFeatures`.
    """

    def __init__(self, features: ELMoFeatures) -> None:
        super().__init__()
        if not isinstance(features, ELMoFeatures):
            raise TypeError(f"features must be an ELMoFeatures; got {type(features).__name__}")
        self.features = features
        self.vocab = lm.wikitext2_vocab()
        self.dim = 2 * features.bilm.dim
        self.mix = ScalarMix(features.bilm.num_layers + 1)

    def __deepcopy__(self, memo: dict) -> ELMoEncoder:
        clone = ELMoEncoder(self.features)
        clone.mix.load_state_dict(self.mix.state_dict())
        self.features.copies.append(clone)
        return clone

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ELMo vectors ``(batch, time, dim)`` of the real tokens (zeros at padding)."""
        return self.mix(self.features(ids, mask)) * mask[..., None]


@zoo.register("elmo-transfer-curves", section="transfer")
def train_elmo_curves(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """ELMo (frozen biLM, learned s and γ) on Chapter 5's tasks and learning curve; the learned layer weights."""
    from n2t import classify, data, profile

    recurrent = profile.current().settings("recurrent")
    bilm = load_bilm(zoo.get("bilm"))
    records, weights, feature_seconds = [], [], 0.0
    for name in settings.tasks:
        task = data.text_task(name)
        features = ELMoFeatures(bilm)
        records += classify.learning_curve(
            lambda seed, f=features: ELMoEncoder(f), task, "ELMo", settings, encoder_lr=recurrent.elmo_lr
        )
        runs = [r for r in records if r["task"] == name]
        for record, clone in zip(runs, features.copies, strict=True):
            weights.append({"task": name, "size": record["size"], "seed": record["seed"],
                            "weights": clone.mix.weights().tolist(), "gamma": clone.mix.gamma.item()})
        feature_seconds += features.seconds
    metrics = {"records": records, "mix_weights": weights, "feature_seconds": round(feature_seconds, 3),
               "device": str(device())}
    return {"sizes": torch.tensor([r["size"] for r in records])}, metrics
