"""Benchmark: 5-gram interpolated modified Kneser–Ney on the whole WikiText-2 train split.

Budgets (a 2-core CPU): fit ≤ 30 s, test perplexity ≤ 30 s, peak memory ≤ 4 GB. Prints the figures and exits
non-zero when a budget is exceeded. Run by ``make bench``; not part of ``make test``.
"""

from __future__ import annotations

import resource
import sys
import time

from n2t.data import wikitext2_lines
from n2t.ngram import NGramLM

FIT_BUDGET_S, SCORE_BUDGET_S, MEMORY_BUDGET_GB = 30.0, 30.0, 4.0
TEST_TOKENS = 245_569


def peak_rss_gb() -> float:
    """Peak resident memory of this process in GB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e9 if sys.platform == "darwin" else peak * 1024 / 1e9


def main() -> int:
    train, test = wikitext2_lines("train"), wikitext2_lines("test")  # reading the corpus is not timed
    start = time.perf_counter()
    model = NGramLM(5, "kneser_ney").fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    result = model.evaluate(test)
    score_s = time.perf_counter() - start
    memory = peak_rss_gb()
    assert result.tokens == TEST_TOKENS, result.tokens
    print(f"5-gram modified Kneser-Ney on WikiText-2 (|V| = {model.vocab_size:,})")
    print(f"  fit:             {fit_s:6.2f} s   (budget {FIT_BUDGET_S:.0f} s)")
    print(f"  test perplexity: {score_s:6.2f} s   (budget {SCORE_BUDGET_S:.0f} s)  -> {result.perplexity:.2f}")
    print(f"  peak memory:     {memory:6.2f} GB  (budget {MEMORY_BUDGET_GB:.0f} GB)")
    failures = [
        name
        for name, value, budget in (
            ("fit time", fit_s, FIT_BUDGET_S),
            ("test time", score_s, SCORE_BUDGET_S),
            ("peak memory", memory, MEMORY_BUDGET_GB),
        )
        if value > budget
    ]
    if failures:
        print("over budget: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
