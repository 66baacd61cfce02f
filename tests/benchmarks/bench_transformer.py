"""Benchmark: our Transformer against ``torch.nn.Transformer``, and decoding with against without the KV cache.

1. Forward + backward of the encoder and decoder stacks (3 + 3 layers, d_model 256, 8 heads, FFN 1024, batch 32,
   source and target length 32, a source padding mask and the causal target mask), ours and torch's with the
   same weights, timed alternately in one run: target ratio ours / torch ≤ 1.1.
2. Greedy generation of 256 tokens (batch 1, a source of 20 tokens) by a translation ``Transformer`` of the same
   size, with the key/value cache and by recomputing the whole prefix at every step: target speed-up ≥ 5×.

Prints the times and ratios; exits non-zero if either target is missed. Run with ``make bench`` or
``python tests/benchmarks/bench_transformer.py [--threads N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter

import torch
from torch import nn

from n2t import decoding
from n2t.attention import causal_mask
from n2t.data import Vocab
from n2t.transformer import Decoder, Encoder, Transformer

D_MODEL, HEADS, D_FF, LAYERS, BATCH, LENGTH = 256, 8, 1024, 3, 32, 32


def forward_backward_ratio(repeats: int) -> tuple[float, float, float]:
    """Median seconds per forward + backward of ours and of torch's, and the worst-case error between them."""
    torch.manual_seed(0)
    theirs = nn.Transformer(D_MODEL, HEADS, LAYERS, LAYERS, D_FF, dropout=0.1, batch_first=True)
    encoder = Encoder(LAYERS, D_MODEL, HEADS, D_FF, 0.1, final_norm=True).load_torch_weights(theirs.encoder)
    decoder = Decoder(LAYERS, D_MODEL, HEADS, D_FF, 0.1, final_norm=True).load_torch_weights(theirs.decoder)
    x, y = torch.randn(BATCH, LENGTH, D_MODEL), torch.randn(BATCH, LENGTH, D_MODEL)
    lengths = torch.randint(LENGTH // 2, LENGTH + 1, (BATCH,))
    src_mask = torch.arange(LENGTH) < lengths[:, None]  # True = real token
    causal = causal_mask(LENGTH)

    def ours() -> torch.Tensor:
        return decoder(y, encoder(x, src_mask), None, src_mask)

    def torchs() -> torch.Tensor:
        return theirs(x, y, src_key_padding_mask=~src_mask, tgt_mask=~causal, memory_key_padding_mask=~src_mask)

    for module in (theirs, encoder, decoder):
        module.eval()  # no dropout: the two must agree
    error = (ours() - torchs()).abs().max().item()
    for module in (theirs, encoder, decoder):
        module.train()  # timed as in training, dropout included
    times: dict[str, list[float]] = {"ours": [], "torch": []}
    for i in range(repeats + 2):
        for name, run in (("ours", ours), ("torch", torchs)) if i % 2 else (("torch", torchs), ("ours", ours)):
            start = time.perf_counter()
            run().square().mean().backward()
            if i >= 2:  # two warm-up rounds
                times[name].append(time.perf_counter() - start)
    return statistics.median(times["ours"]), statistics.median(times["torch"]), error


def cache_speedup(tokens: int) -> tuple[float, float]:
    """Seconds to generate ``tokens`` tokens greedily with the KV cache and without it (identical outputs)."""
    torch.manual_seed(0)
    vocab = Vocab(Counter({f"w{i}": 1 for i in range(1000)}))
    model = Transformer(vocab, vocab, D_MODEL, HEADS, LAYERS, LAYERS, D_FF, dropout=0.0).eval()
    src = torch.randint(4, len(vocab), (1, 20))
    never = len(vocab)  # an id no step can emit: exactly `tokens` tokens are generated
    seconds, outputs = {}, {}
    for use_cache in (True, False):
        model.use_cache = use_cache
        start = time.perf_counter()
        state = model.start(src, torch.tensor([20]))
        outputs[use_cache] = decoding.greedy(model.step, state, vocab.bos_id, never, tokens)
        seconds[use_cache] = time.perf_counter() - start
    assert outputs[True] == outputs[False] and len(outputs[True][0]) == tokens, "cache changed the output"
    return seconds[True], seconds[False]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: stable on a shared CPU)")
    parser.add_argument("--repeats", type=int, default=10, help="timed forward + backward passes of each")
    parser.add_argument("--tokens", type=int, default=256, help="tokens generated with and without the cache")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ours, theirs, error = forward_backward_ratio(args.repeats)
    cached, recomputed = cache_speedup(args.tokens)
    ratio, speedup = ours / theirs, recomputed / cached
    print(f"{torch.get_num_threads()} thread(s); max |ours - torch| = {error:.2e}")
    print(f"forward+backward: ours {ours * 1000:.1f} ms, nn.Transformer {theirs * 1000:.1f} ms, ratio {ratio:.3f} (target <= 1.1)")
    print(f"greedy {args.tokens} tokens: cache {cached:.2f} s, recompute {recomputed:.2f} s, speed-up {speedup:.1f}x (target >= 5)")
    return 0 if ratio <= 1.1 and speedup >= 5 and error < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
