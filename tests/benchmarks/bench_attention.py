"""Benchmark: forward + backward of ``n2t.attention.MultiHeadAttention`` vs ``torch.nn.MultiheadAttention``.

CPU, batch 32, length 128, embed 256, 8 heads, causal self-attention, both with the same weights. Prints the
ratio ours / torch's (medians of interleaved repeats) and exits non-zero when it is above the limit (1.1).
Run with ``make bench`` or ``python tests/benchmarks/bench_attention.py [--threads N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

from n2t.attention import MultiHeadAttention, causal_mask

BATCH, LENGTH, EMBED, HEADS = 32, 128, 256, 8
LIMIT = 1.1


def step_ours(model: MultiHeadAttention, x: torch.Tensor, grad: torch.Tensor) -> None:
    out, _ = model(x, x, x, is_causal=True)
    out.backward(grad)


def step_torch(model: nn.MultiheadAttention, x: torch.Tensor, grad: torch.Tensor, torch_mask: torch.Tensor) -> None:
    out, _ = model(x, x, x, attn_mask=torch_mask, is_causal=True, need_weights=False)
    out.backward(grad)


def timed(fn, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: stable on a shared CPU)")
    parser.add_argument("--repeats", type=int, default=15, help="interleaved measurements of each model")
    parser.add_argument("--inner", type=int, default=3, help="forward+backward passes per measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    theirs = nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
    ours = MultiHeadAttention(EMBED, HEADS)
    ours.load_torch_weights(theirs)
    x = torch.randn(BATCH, LENGTH, EMBED, requires_grad=True)
    grad = torch.randn(BATCH, LENGTH, EMBED)
    torch_mask = ~causal_mask(LENGTH)  # torch's attn_mask: True = may NOT attend

    # Same answer first: a speed comparison of different computations would mean nothing.
    ours_out, _ = ours(x, x, x, is_causal=True)
    theirs_out, _ = theirs(x, x, x, attn_mask=torch_mask, is_causal=True, need_weights=False)
    torch.testing.assert_close(ours_out, theirs_out, atol=1e-5, rtol=1e-4)

    run_ours = lambda: step_ours(ours, x, grad)  # noqa: E731
    run_torch = lambda: step_torch(theirs, x, grad, torch_mask)  # noqa: E731
    for _ in range(2):  # warm-up
        run_ours()
        run_torch()
    ours_times, torch_times = [], []
    for i in range(args.repeats):  # interleave, alternating who goes first, so drifting load hits both alike
        pair = ((ours_times, run_ours), (torch_times, run_torch))
        for times, fn in pair if i % 2 == 0 else pair[::-1]:
            times.append(timed(fn, args.inner))
    ours_med, torch_med = statistics.median(ours_times), statistics.median(torch_times)
    ratio = ours_med / torch_med
    ratio_min = min(ours_times) / min(torch_times)
    print(
        f"MultiHeadAttention forward+backward, CPU ({args.threads} thread(s)), batch {BATCH}, length {LENGTH}, "
        f"embed {EMBED}, {HEADS} heads, causal"
    )
    print(f"  ours  (n2t.attention.MultiHeadAttention): median {ours_med * 1e3:7.2f} ms   min {min(ours_times) * 1e3:7.2f} ms")
    print(f"  torch (nn.MultiheadAttention):            median {torch_med * 1e3:7.2f} ms   min {min(torch_times) * 1e3:7.2f} ms")
    print(f"  ratio ours/torch: {ratio:.3f} (median), {ratio_min:.3f} (min); limit {LIMIT}")
    if ratio > LIMIT:
        print(f"FAIL: ours takes {ratio:.2f}x the time of torch's (limit {LIMIT}x)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
