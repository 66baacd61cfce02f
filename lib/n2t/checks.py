"""Shared checks of arguments: bad input gets a clear error that names the argument and what was expected."""

from __future__ import annotations


def positive_ints(**values: object) -> None:
    """Raise ``ValueError`` naming the first of ``values`` that is not a positive integer (``True`` is not one)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")


def probability(name: str, value: float, upper_open: bool = True) -> None:
    """Raise ``ValueError`` unless ``0 <= value < 1`` (or ``<= 1`` with ``upper_open=False``), naming ``name``."""
    ok = 0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{')' if upper_open else ']'}; got {value}")
