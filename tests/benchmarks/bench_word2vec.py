"""Benchmark: our skip-gram and CBOW against gensim 4.x with the same settings, measured in one run.

Settings (both sides): the whole WikiText-2 train split (each line a sentence), words seen at least 5 times,
dimension 100, 5 epochs, window 5 (dynamic), 5 negatives, subsampling t = 1e-3 (word2vec.c's formula in both),
learning rate 0.025 decaying linearly to 1e-4; our batch size is Chapter 4's (the ``full`` profile). Both train
on the same number of threads, ``N2T_BENCH_THREADS`` (default 1: our loop's default, measured faster than two
threads for its small gathers and scatters): torch's threads for ours, ``workers`` for gensim. gensim is also
timed once more with one worker per core, for reference (not a target). Every model is scored by the same
evaluator (``n2t.word2vec.evaluate``); gensim's own analogy evaluator is printed beside ours as a cross-check.

Targets: analogy accuracy and WordSim-353 ρ at least gensim's, training time at most 1.5 × gensim's. Prints the
ratios and exits non-zero when a target is missed. Run by ``make bench`` (which installs gensim from
requirements-bench.txt); not part of ``make test``.
"""

from __future__ import annotations

import os
import sys
import time

import torch

from n2t import data, profile
from n2t import word2vec as w2v

SETTINGS = {"dim": 100, "epochs": 5, "window": 5, "negatives": 5, "min_count": 5, "subsample_t": 1e-3,
            "lr": 0.025, "min_lr": 1e-4}
BATCH_SIZE = profile.Profile("full").settings("word2vec").batch_size
TIME_RATIO_TARGET = 1.5


def train_ours(corpus: w2v.Corpus, architecture: str, threads: int) -> tuple[torch.Tensor, list[str], float]:
    """Our model: vectors, itos and training seconds (the loop only; the corpus is encoded beforehand)."""
    start = time.perf_counter()
    model = w2v.train(
        corpus, architecture, dim=SETTINGS["dim"], window=SETTINGS["window"], negatives=SETTINGS["negatives"],
        subsample_t=SETTINGS["subsample_t"], epochs=SETTINGS["epochs"], lr=SETTINGS["lr"],
        min_lr=SETTINGS["min_lr"], batch_size=BATCH_SIZE, seed=0, dev="cpu", threads=threads,
    )
    return model.vectors, model.itos, time.perf_counter() - start


def train_gensim(lines: list[list[str]], architecture: str, workers: int):
    """gensim's model with the same settings; returns (vectors, itos, seconds, model). Vocabulary building is
    timed too, as gensim does it inside the constructor (it takes well under a second here)."""
    from gensim.models import Word2Vec

    start = time.perf_counter()
    model = Word2Vec(
        lines, vector_size=SETTINGS["dim"], window=SETTINGS["window"], negative=SETTINGS["negatives"],
        min_count=SETTINGS["min_count"], sample=SETTINGS["subsample_t"], epochs=SETTINGS["epochs"],
        alpha=SETTINGS["lr"], min_alpha=SETTINGS["min_lr"], sg=int(architecture == "skipgram"), hs=0,
        cbow_mean=1, workers=workers, seed=1,
    )
    seconds = time.perf_counter() - start
    return torch.tensor(model.wv.vectors), list(model.wv.index_to_key), seconds, model


def main() -> int:
    try:
        import gensim
    except ImportError:
        print("gensim is not installed: run `make bench` (it installs requirements-bench.txt)")
        return 1
    threads = int(os.environ.get("N2T_BENCH_THREADS", "1"))
    cores = os.cpu_count() or 1
    lines = [line for line in data.wikitext2_lines("train") if line]
    corpus = w2v.encode_corpus(lines, SETTINGS["min_count"])
    print(f"word2vec on WikiText-2 train ({len(corpus):,} tokens, |V| = {len(corpus.itos):,}), settings {SETTINGS}")
    print(f"both on {threads} thread(s): gensim {gensim.__version__} with workers={threads}, ours (torch "
          f"{torch.__version__}, batch {BATCH_SIZE}) with torch.set_num_threads({threads}); the machine has "
          f"{cores} cores")
    load_before = os.getloadavg()
    failures, rows = [], []
    for architecture in ("skipgram", "cbow"):
        ours_v, ours_itos, ours_s = train_ours(corpus, architecture, threads)
        gensim_v, gensim_itos, gensim_s, gensim_model = train_gensim(lines, architecture, threads)
        all_cores_s = train_gensim(lines, architecture, cores)[2] if cores != threads else gensim_s
        ours, theirs = w2v.evaluate(ours_v, ours_itos), w2v.evaluate(gensim_v, gensim_itos)
        own_accuracy = gensim_model.wv.evaluate_word_analogies(
            str(data.data_file("questions-words/questions-words.txt")))[0]
        ratios = {
            "analogy accuracy": ours["analogy_accuracy"] / max(theirs["analogy_accuracy"], 1e-12),
            "WS353 rho": ours["ws353_rho"] / max(theirs["ws353_rho"], 1e-12),
            "time": ours_s / gensim_s,
        }
        rows.append((architecture, ours, theirs, ours_s, gensim_s, own_accuracy, ratios, all_cores_s))
        if ratios["analogy accuracy"] < 1:
            failures.append(f"{architecture} analogy accuracy below gensim's")
        if ratios["WS353 rho"] < 1:
            failures.append(f"{architecture} WS353 rho below gensim's")
        if ratios["time"] > TIME_RATIO_TARGET:
            failures.append(f"{architecture} time {ratios['time']:.2f}x gensim's (target <= {TIME_RATIO_TARGET}x)")
    load_after = os.getloadavg()
    for architecture, ours, theirs, ours_s, gensim_s, own_accuracy, ratios, all_cores_s in rows:
        print(f"\n{architecture}:            ours      gensim    ours/gensim")
        for key, label in (("analogy_accuracy", "analogy accuracy"), ("ws353_rho", "WS353 rho"),
                           ("men_rho", "MEN rho")):
            print(f"  {label:<18}{ours[key]:8.4f}  {theirs[key]:8.4f}  {ours[key] / max(theirs[key], 1e-12):8.2f}")
        print(f"  {'train seconds':<18}{ours_s:8.1f}  {gensim_s:8.1f}  {ratios['time']:8.2f}")
        print(f"  (gensim with workers={cores}: {all_cores_s:.1f} s, ours/that {ours_s / all_cores_s:.2f})")
        print(f"  (analogy coverage {ours['analogy_coverage']:.3f} vs {theirs['analogy_coverage']:.3f}; "
              f"gensim's own evaluator gives it {own_accuracy:.4f})")
    print(f"\nload average (1, 5, 15 min) before: {load_before}, after: {load_after}")
    if failures:
        print("missed: " + "; ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
