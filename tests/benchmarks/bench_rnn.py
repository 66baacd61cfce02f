"""Benchmark: our LSTM layer (``n2t.rnn.LSTM``, a Python loop over time) against ``nn.LSTM``, forward + backward.

Batch 32, length 64, width 256 (input and hidden), one layer; also a 2-layer stack and a smaller width, to show
where the overhead of a Python loop matters most. Both compute the same function (the weights are copied; the
outputs are checked equal). Prints the best of several runs of each and the ratio ours / nn.LSTM, and the load
average, since the machine may be shared. Run by ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import os
import sys
import time

import torch
from torch import nn

from n2t import rnn

REPEATS = 7
SHAPES = [  # (batch, time, width, layers)
    (32, 64, 256, 1),
    (32, 64, 256, 2),
    (32, 64, 64, 1),
]


def fwd_bwd_seconds(layer: nn.Module, x: torch.Tensor) -> float:
    """The best of REPEATS timings of one forward and backward pass (after one warm-up)."""
    best = float("inf")
    for repeat in range(REPEATS + 1):
        x.grad = None
        layer.zero_grad(set_to_none=True)
        start = time.perf_counter()
        out, _ = layer(x)
        out.pow(2).mean().backward()
        if repeat:
            best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    load = os.getloadavg()
    print(f"{torch.get_num_threads()} threads, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'batch × time × width, layers':30s} {'nn.LSTM ms':>11s} {'ours ms':>9s} {'ours / nn.LSTM':>15s}")
    for batch, length, width, layers in SHAPES:
        torch.manual_seed(0)
        theirs = nn.LSTM(width, width, layers, batch_first=True)
        ours = rnn.copy_from_torch(rnn.LSTM(width, width, layers), theirs)
        x = torch.randn(batch, length, width, requires_grad=True)
        with torch.no_grad():
            assert torch.allclose(ours(x)[0], theirs(x)[0], atol=1e-5), "ours and nn.LSTM disagree"
        t_theirs, t_ours = fwd_bwd_seconds(theirs, x), fwd_bwd_seconds(ours, x)
        shape = f"{batch} × {length} × {width}, {layers}"
        print(f"{shape:30s} {1e3 * t_theirs:11.1f} {1e3 * t_ours:9.1f} {t_ours / t_theirs:14.1f}x", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
