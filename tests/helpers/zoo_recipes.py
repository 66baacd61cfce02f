"""A slow toy recipe for the zoo tests: it records every time it actually trains."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from n2t import profile, zoo
from n2t.clock import Clock

profile.SETTINGS.setdefault(
    "zoo_test",
    {"quick": {"size": 3, "sleep": 0.0}, "full": {"size": 5, "sleep": 0.0}},
)


@zoo.register("zoo-test-weights", section="zoo_test")
def train_toy(settings):
    """Sleep, log the call, and return seeded weights of the profile's size."""
    log = os.environ.get("ZOO_TEST_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("ZOO_TEST_SLEEP", settings.sleep)))
    if os.environ.get("ZOO_TEST_FAIL"):
        raise RuntimeError("training failed on purpose")
    clock = Clock("steps")
    with clock.running():
        weights = torch.randn(settings.size, generator=torch.Generator().manual_seed(0))
    clock.seen = 1
    metrics = {"accuracy": 0.5, "parameters": settings.size, "clock": clock.reading(),
               "threads_seen": torch.get_num_threads()}
    return {"weights": weights, "note": "toy"}, metrics


def main() -> None:
    """Fetch the toy artefact and print its weights (used by the two-process test)."""
    artefact = zoo.get("zoo-test-weights")
    Path(os.environ["ZOO_TEST_OUT"]).write_text(repr(artefact.state["weights"].tolist()))


if __name__ == "__main__":
    main()
