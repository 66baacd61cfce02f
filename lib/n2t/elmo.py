"""ELMo (Peters et al. 2018), small: a bidirectional LSTM language model and the scalar mix of its layers.

- :class:`BiLM`: a forward and a backward LSTM LM (each an :class:`n2t.lm.NeuralLM`) that share the token
  embedding and the softmax; trained on WikiText-2 by the book's streamed loop (:func:`train_bilm`), the zoo
  artefact ``"bilm"``. :meth:`BiLM.layers` gives the L + 1 layer representations of each token.
- :class:`ScalarMix`: ELMo's mix of those layers, γ · Σ_j softmax(s)_j h_j, learned by the downstream task.
- :class:`ELMoFeatures` and :class:`ELMoEncoder`: a frozen biLM's mixed layers as a token encoder for
  :mod:`n2t.classify`, on Chapter 5's learning curve (the zoo artefact ``"elmo-transfer-curves"``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from n2t import lm, profile, transfer, zoo
from n2t.checks import bool_mask, positive_ints
from n2t.data import text_task
from n2t.profile import Settings
from n2t.rnn import State
from n2t.text import LMStream
from n2t.train import (
    TrainLog,
    count_parameters,
    model_device,
    records_arguments,
    seed_everything,
    train_stream,
)

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

    @records_arguments
    def __init__(self, vocab_size: int, dim: int, num_layers: int = 2, dropout: float = 0.0,
                 adaptive: bool = True) -> None:
        super().__init__()
        positive_ints(vocab_size=vocab_size, dim=dim, num_layers=num_layers)
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
        backward one's (tokens ≥ k). Each direction first reads ``<eos>``, as in training
        and in :meth:`distributions`: a text starts after a line end. ``mask``
        ``(batch, time)``, True for real tokens, marks right padding: the backward LSTM
        reads each row from its last real token.
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
        start = ids.new_full((ids.shape[0], 1), lm.START_ID)  # <eos>: the boundary
        forward, _ = self.forward_lm.body.all_layers(torch.cat([start, ids], dim=1))
        reversed_ids = torch.cat([start, flip_padded(ids, lengths)], dim=1)
        backward, _ = self.backward_lm.body.all_layers(reversed_ids)
        forward = [h[:, 1:] for h in forward]  # the boundary's own position dropped
        backward = [flip_padded(h[:, 1:], lengths) for h in backward]  # in text order
        pairs = zip(forward, backward, strict=True)
        joined = [torch.cat(pair, dim=-1) for pair in pairs]
        joined[0] = torch.cat([forward[0], forward[0]], dim=-1)  # token layer, twice
        return torch.stack(joined, dim=1) * mask[:, None, :, None]


class ScalarMix(nn.Module):
    """ELMo's mix of L + 1 layers: γ · Σ_j softmax(s)_j h_j; the task learns s and γ."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        positive_ints(num_layers=num_layers)
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
) -> TrainLog:
    """Train both directions of ``model`` for ``tokens`` predicted tokens each, by the book's streamed loop.

    The forward LM reads the running text ``train_ids``, the backward LM the reversed text; the loss is the mean
    of the two cross-entropies, so the shared embedding and softmax learn from both. A checkpoint's ``valid_ppl``
    is the geometric mean of the two directions' validation perplexities; the best weights are kept.
    """
    if tokens < 1:
        raise ValueError(f"tokens must be a positive number of training tokens; got {tokens}")
    streams = (LMStream(train_ids, batch_size, seq_len), LMStream(train_ids.flip(0), batch_size, seq_len))
    steps = streams[0].steps_for(tokens)
    eval_every = tokens if eval_every is None else eval_every
    forward_step = lm.lm_step(model.forward_lm, streams[0])
    backward_step = lm.lm_step(model.backward_lm, streams[1])

    def step() -> tuple[torch.Tensor, int]:
        (forward_loss, read), (backward_loss, _) = forward_step(), backward_step()
        return (forward_loss + backward_loss) / 2, read

    def evaluate(m: BiLM) -> dict[str, float]:
        ppls = [lm.perplexity(lm.score(m.forward_lm, valid_ids)),
                lm.perplexity(lm.score(m.backward_lm, valid_ids.flip(0)))]
        return {"valid_ppl": math.sqrt(ppls[0] * ppls[1]), "forward_valid_ppl": ppls[0],
                "backward_valid_ppl": ppls[1]}

    seed_everything(seed)
    return train_stream(model, step, steps, evaluate, "valid_ppl", eval_every, lr, desc="train biLM")


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
        "valid_ppl": log.best["valid_ppl"],
        "forward_valid_ppl": log.best["forward_valid_ppl"],
        "backward_valid_ppl": log.best["backward_valid_ppl"],
        "parameters": count_parameters(model),
        "tokens_seen": log.clock["tokens"],
        "clock": log.clock,
        "context": f"{lm.RUNNING_TEXT} (forward); the backward LM reads the reversed text",
        "test_tokens": len(forward_logp),
        "head": "adaptive softmax, shared by both directions",
        "curve": log.curve,
    }
    model.cpu()
    return {"model": model.state_dict(), "config": dict(model.arguments)}, metrics


def load_bilm(artefact: zoo.Artefact) -> BiLM:
    """Rebuild the trained biLM of a zoo ``"bilm"`` artefact (on the CPU, in eval mode)."""
    model = BiLM(**artefact.state["config"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()


# ------------------------------------------------------------------------------------------ ELMo as a token encoder


class ELMoFeatures:
    """A frozen biLM's layer outputs per text, computed once and kept (on the CPU, in float16).

    Shared, not copied: ``copy.deepcopy`` returns the same object, so every copy of an :class:`ELMoEncoder` that
    Chapter 5's learning curve makes reads the same cache.
    """

    def __init__(self, bilm: BiLM) -> None:
        if not isinstance(bilm, BiLM):
            raise TypeError(f"bilm must be an n2t.rnn.BiLM; got {type(bilm).__name__}")
        self.bilm = bilm.eval()
        for parameter in bilm.parameters():
            parameter.requires_grad_(False)
        self.cache: dict[tuple[int, ...], torch.Tensor] = {}

    def __deepcopy__(self, memo: dict) -> ELMoFeatures:
        return self

    @torch.no_grad()
    def _compute(self, texts: list[tuple[int, ...]]) -> None:
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

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The layers of each row's real tokens ``(batch, L + 1, time, 2 dim)`` (zeros at the padding)."""
        bool_mask("mask", mask)  # an integer 0/1 mask would index positions 0 and 1 instead of selecting
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
    Chapter 5's classifier standardises its pooled features (batch normalisation), which undoes any common
    scale: there γ changes nothing, and only the layer weights s matter. γ stays, as in the paper.
    """

    def __init__(self, features: ELMoFeatures) -> None:
        super().__init__()
        if not isinstance(features, ELMoFeatures):
            raise TypeError(f"features must be an ELMoFeatures; got {type(features).__name__}")
        self.features = features
        self.vocab = lm.wikitext2_vocab()
        self.dim = 2 * features.bilm.dim
        self.mix = ScalarMix(features.bilm.num_layers + 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ELMo vectors ``(batch, time, dim)`` of the real tokens (zeros at padding)."""
        return self.mix(self.features(ids, mask)) * mask[..., None]


@zoo.register("elmo-transfer-curves", section="transfer")
def train_elmo_curves(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """ELMo (frozen biLM, learned s and γ) on Chapter 5's tasks and learning curve; the learned layer weights."""
    recurrent = profile.current().settings("recurrent")
    bilm = load_bilm(zoo.get("bilm"))
    records, weights = [], []

    def keep_mix(model: nn.Module, record: dict[str, Any]) -> None:
        mix = model.encoder.mix
        weights.append({"task": record["task"], "size": record["size"], "seed": record["seed"],
                        "weights": mix.weights().tolist(), "gamma": mix.gamma.item()})

    for name in settings.tasks:
        features = ELMoFeatures(bilm)
        records += transfer.learning_curve(
            lambda seed, f=features: ELMoEncoder(f), text_task(name), "ELMo", settings,
            encoder_lr=recurrent.elmo_lr, on_run=keep_mix,
        )
    metrics = {"records": records, "mix_weights": weights, "clock": transfer.total_clock(records)}
    return {"sizes": torch.tensor([r["size"] for r in records])}, metrics
