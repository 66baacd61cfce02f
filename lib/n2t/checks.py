"""Shared checks of arguments: bad input gets a clear error that names the argument and what was expected."""

from __future__ import annotations

import math
import numbers

import torch


def positive_ints(**values: object) -> None:
    """Raise ``ValueError`` naming the first of ``values`` that is not a positive integer (``True`` is not one)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")


def integers(**values: object) -> None:
    """Raise ``TypeError`` naming the first of ``values`` that is not an integer (a seed, an offset)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer; got {value!r}")


def integer_ids(name: str, ids: torch.Tensor) -> None:
    """Raise unless ``ids`` holds token ids: integers (a float tensor would be truncated) and none negative."""
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer token ids; got {ids.dtype}")
    if ids.numel() and int(ids.min()) < 0:
        raise ValueError(f"{name} must hold token ids >= 0; got {int(ids.min())}")


def positive_numbers(**values: object) -> None:
    """Raise ``ValueError`` naming the first of ``values`` that is not a finite number > 0 (a learning rate, a norm)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number; got {value!r}")


def probability(name: str, value: float, upper_open: bool = True) -> None:
    """Raise ``ValueError`` unless ``0 <= value < 1`` (or ``<= 1`` with ``upper_open=False``), naming ``name``."""
    ok = 0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{')' if upper_open else ']'}; got {value}")


def not_a_string(name: str, value: object, items: str = "tokens") -> None:
    """Raise ``TypeError`` when ``value`` is one string where a sequence of ``items`` was expected.

    A string is itself a sequence, of characters, so ``Vocab("some text")`` would otherwise build a vocabulary of
    letters without a word of complaint.
    """
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{name} must be a sequence of {items}, not a string (a string would be read character by "
            f"character); got {value[:40]!r}"
        )


def bool_mask(name: str, mask: object) -> None:
    """Raise ``TypeError`` unless ``mask`` is a boolean tensor (``True`` = a real token or a key that may be seen).

    An integer 0/1 mask used as an index picks rows 0 and 1 instead of selecting, and a float mask scales.
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of dtype bool; got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool (True = real token); got {mask.dtype}: use {name}.bool()")
