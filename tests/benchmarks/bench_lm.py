"""Benchmark: the language-model harness's speed — tokens/s of training and of scoring, full vs adaptive softmax.

Two bodies on the WikiText-2 vocabulary (33,278 types): Chapter 3's NNLM (the ``full`` profile's sizes) and a
1-layer LSTM of width 256, each with the full softmax and with the adaptive softmax (cutoffs 2k/10k). Training:
AdamW steps on batches of 32 × 64 tokens of the training text; scoring: :func:`n2t.lm.score` on the start of
the test text (one running row, state carried). Prints the load average, since the machine may be shared.
Run by ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import os
import sys
import time

import torch
from torch import nn

from n2t import lm, nnlm
from n2t.profile import Profile
from n2t.train import device

TRAIN_STEPS, WARMUP_STEPS, SCORE_TOKENS = 8, 2, 20_000


class LSTMBody(nn.Module):
    """A plain 1-layer LSTM body for the harness: ids (batch, time) → hidden (batch, time, dim), state (h, c)."""

    def __init__(self, vocab_size: int, dim: int = 256) -> None:
        super().__init__()
        self.dim = dim
        self.embedding = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)

    def forward(self, ids: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        hidden, state = self.lstm(self.embedding(ids), state)
        return hidden, state


def bodies() -> dict[str, callable]:
    cfg = Profile("full").settings("neural_lm")
    sizes = {key: cfg[key] for key in ("context_size", "embed_dim", "hidden_dim", "direct", "dropout")}
    return {
        f"NNLM (n-1={cfg.context_size}, m={cfg.embed_dim}, h={cfg.hidden_dim})": lambda: nnlm.NNLM(
            lm.VOCAB_SIZE, sizes["context_size"], sizes["embed_dim"], sizes["hidden_dim"],
            direct=sizes["direct"], dropout=sizes["dropout"]),
        "LSTM (1 layer, 256)": lambda: LSTMBody(lm.VOCAB_SIZE, 256),
    }


def train_speed(model: lm.NeuralLM, stream: lm.LMStream, dev: torch.device) -> float:
    """Training tokens per second over TRAIN_STEPS AdamW steps (after WARMUP_STEPS untimed ones)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches, state, tokens = iter(stream), None, 0
    for step in range(WARMUP_STEPS + TRAIN_STEPS):
        if step == WARMUP_STEPS:
            start, tokens = time.perf_counter(), 0
        inputs, targets = (t.to(dev) for t in next(batches))
        logp, state = model(inputs, targets, state)
        state = lm.detach_state(state)
        optimizer.zero_grad(set_to_none=True)
        (-logp.mean()).backward()
        optimizer.step()
        tokens += targets.numel()
    return tokens / (time.perf_counter() - start)


def score_speed(model: lm.NeuralLM, ids: torch.Tensor) -> float:
    """Scoring tokens per second of :func:`n2t.lm.score` over ``ids``."""
    lm.score(model, ids[:2_000])  # warm up
    start = time.perf_counter()
    lm.score(model, ids)
    return len(ids) / (time.perf_counter() - start)


def main() -> int:
    torch.manual_seed(0)
    dev = device()
    train_ids, test_ids = lm.wikitext2_ids("train"), lm.wikitext2_ids("test")[:SCORE_TOKENS]
    stream = lm.LMStream(train_ids, 32, 64)
    load = os.getloadavg()
    print(f"device {dev}, {torch.get_num_threads()} threads, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'model':38s} {'output layer':16s} {'train tok/s':>12s} {'score tok/s':>12s}")
    for name, make_body in bodies().items():
        speeds = {}
        for adaptive in (False, True):
            torch.manual_seed(0)
            model = lm.NeuralLM(make_body(), lm.VOCAB_SIZE, adaptive=adaptive).to(dev)
            train, scoring = train_speed(model, stream, dev), score_speed(model, test_ids)
            speeds[adaptive] = train
            head = "adaptive softmax" if adaptive else "full softmax"
            print(f"{name:38s} {head:16s} {train:12,.0f} {scoring:12,.0f}", flush=True)
        print(f"{'':38s} {'adaptive / full':16s} {speeds[True] / speeds[False]:11.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
