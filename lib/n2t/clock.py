"""The book's one compute clock: what a training run has read and what it cost, validation excluded.

Every recipe that trains keeps a :class:`Clock`. At each checkpoint it records the units read (tokens, pairs
or steps), the training CPU-seconds of the process (``time.process_time``: all its threads, whatever else the
machine is doing), the wall seconds, the number of torch threads and the device. Validation and scoring run
outside :meth:`Clock.running`, so they are never counted.

Models that a chapter compares are trained with one thread each (the zoo sets it: :func:`torch_threads`), so
their CPU-seconds do not depend on whether ``make book``'s parallel workers or a chapter trained them. On a
GPU the CPU-seconds say little; there the wall seconds are the clock (:func:`clock_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

# The fields of every clock reading, besides the count of units read (named by "unit").
FIELDS = ("unit", "cpu_seconds", "wall_seconds", "threads", "device")
UNITS = ("tokens", "pairs", "steps", "examples")


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the body with ``count`` torch CPU threads, then restore the previous count (``None``: leave it)."""
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"count must be a positive number of threads or None; got {count!r}")
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Clock:
    """Units read and seconds spent by one training run (see the module docstring).

    ``with clock.running(): …`` counts the seconds of the body as training; ``clock.seen += n`` counts units;
    :meth:`reading` is what a checkpoint records. Two clocks add up with :meth:`add` (a recipe that trains
    several models, e.g. a learning curve, reports their sum).
    """

    def __init__(self, unit: str = "tokens", device: torch.device | str = "cpu") -> None:
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}; got {unit!r}")
        self.unit, self.device = unit, str(torch.device(device))
        self.threads = torch.get_num_threads()
        self.seen, self.cpu_seconds, self.wall_seconds = 0, 0.0, 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count the CPU and wall seconds of the body as training time."""
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            if self.device.startswith("cuda"):
                torch.cuda.synchronize()  # the kernels launched in the body have finished
            self.cpu_seconds += time.process_time() - cpu
            self.wall_seconds += time.perf_counter() - wall

    def add(self, other: Clock) -> None:
        """Add another run's units and seconds to this clock (same unit)."""
        if other.unit != self.unit:
            raise ValueError(f"cannot add a clock counting {other.unit} to one counting {self.unit}")
        self.seen += other.seen
        self.cpu_seconds += other.cpu_seconds
        self.wall_seconds += other.wall_seconds
        self.threads = max(self.threads, other.threads)

    def reading(self) -> dict[str, Any]:
        """What a checkpoint records: ``{unit: seen, "unit", "cpu_seconds", "wall_seconds", "threads", "device"}``."""
        return {
            self.unit: self.seen, "unit": self.unit, "cpu_seconds": round(self.cpu_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3), "threads": self.threads, "device": self.device,
        }


@contextmanager
def measured(unit: str = "steps", threads: int | None = 1) -> Iterator[Clock]:
    """Time the body as training on the one clock: ``with measured("tokens") as clock: …``.

    The body runs on ``threads`` torch threads (one, as the zoo's recipes train), so that what a chapter fits
    and times itself reads on the same clock as the zoo's models; set ``clock.seen`` to what it read.
    """
    with torch_threads(threads):
        clock = Clock(unit)
        with clock.running():
            yield clock


def check_reading(reading: Mapping[str, Any], where: str = "reading") -> None:
    """Raise a clear error unless ``reading`` holds every field of a clock reading."""
    if not isinstance(reading, Mapping):
        raise TypeError(f"{where} must be a clock reading (a dict); got {type(reading).__name__}")
    missing = [f for f in FIELDS if f not in reading]
    if not missing and reading["unit"] not in reading:
        missing = [reading["unit"]]
    if missing:
        raise ValueError(f"{where} lacks the clock field(s) {missing}; it has {sorted(reading)}")


def on_gpu(reading: Mapping[str, Any]) -> bool:
    """Whether the run of ``reading`` trained on a GPU."""
    return str(reading["device"]).startswith(("cuda", "mps"))


def clock_seconds(reading: Mapping[str, Any]) -> float:
    """The seconds of the one clock: training CPU-seconds on a CPU, wall seconds on a GPU."""
    check_reading(reading)
    return float(reading["wall_seconds"] if on_gpu(reading) else reading["cpu_seconds"])


def clock_label(*readings: Mapping[str, Any]) -> str:
    """The one label of :func:`clock_seconds` for a table or axis showing ``readings``: "training CPU-seconds,
    one thread", or "training seconds, GPU". Readings with different labels (other thread counts, another
    device) are not on one clock: a ``ValueError`` names them."""
    if not readings:
        raise ValueError("clock_label needs at least one clock reading")
    labels = set()
    for reading in readings:
        check_reading(reading)
        if on_gpu(reading):
            labels.add("training seconds, GPU")
        else:
            threads = int(reading["threads"])
            labels.add("training CPU-seconds, " + ("one thread" if threads == 1 else f"{threads} threads"))
    if len(labels) > 1:
        raise ValueError(f"these runs are not on one clock: {sorted(labels)}; train them alike to compare them")
    return labels.pop()
