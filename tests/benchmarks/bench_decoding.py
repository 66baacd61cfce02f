"""Benchmark: beam search (width 4) against greedy decoding, in sentences per second, on Chapter 7's test set.

The model is the attention model of Chapter 7 from the zoo (``seq2seq-attention-zh-en`` in the current
profile: ``N2T_PROFILE``, default ``full``; it is trained first if it is not cached, which takes minutes in
``full``), on the CPU. It decodes the test sentences three ways: greedy and beam search of width 4, both
batched over sentences (``--batch`` sentences at a time), and beam search one sentence at a time (on the first
``--unbatched`` sentences) to show what batching over sentences buys. Prints sentences/s and the ratios; it
exits non-zero only if batched beam search of width 4 is slower per sentence than unbatched beam search.
Run with ``make bench`` or ``python tests/benchmarks/bench_decoding.py [--threads N] [--batch N]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from n2t import data, seq2seq, zoo


def rate(translate, sentences: list[str]) -> float:
    """Sentences per second of ``translate(sentences)``."""
    start = time.perf_counter()
    translate(sentences)
    return len(sentences) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: stable on a shared CPU)")
    parser.add_argument("--batch", type=int, default=100, help="sentences decoded together")
    parser.add_argument("--unbatched", type=int, default=100, help="sentences decoded one at a time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    artefact = zoo.get("seq2seq-attention-zh-en")
    model = seq2seq.model_from_state(artefact.state).to("cpu")
    sources = [zh for zh, _ in data.cmn_eng_split("test")]
    # Same answer first: batched decoding must give what the zoo stored when it trained the model.
    stored = artefact.state["test_translations"]
    test = sources[: len(stored["1"])]
    greedy = rate(lambda s: model.translate(s, beam_size=1, batch_size=args.batch), test)
    beam4 = rate(lambda s: model.translate(s, beam_size=4, batch_size=args.batch), test)
    again = model.translate(test[:50], beam_size=4, batch_size=args.batch)
    same = sum(a == b for a, b in zip(again, stored["4"], strict=False))
    assert same >= 45, f"only {same} of 50 beam-4 translations match the stored ones"
    few = test[: args.unbatched]
    unbatched = rate(lambda s: [model.translate([x], beam_size=4) for x in s], few)
    print(f"profile {artefact.profile}, {len(test)} test sentences, {torch.get_num_threads()} thread(s)")
    print(f"greedy, batched:        {greedy:8.1f} sentences/s")
    print(f"beam 4, batched:        {beam4:8.1f} sentences/s  ({greedy / beam4:.1f}x slower than greedy)")
    print(f"beam 4, one at a time:  {unbatched:8.1f} sentences/s  (batching is {beam4 / unbatched:.1f}x faster)")
    return 0 if beam4 >= unbatched else 1


if __name__ == "__main__":
    sys.exit(main())
