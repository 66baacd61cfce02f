"""Helpers for the book's pages: glue computed values into the prose."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch


def plain(value: Any) -> Any:
    """A NumPy or torch scalar as the plain Python number it holds (other values are returned unchanged)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"only a one-element tensor can be glued as a number; got shape {tuple(value.shape)}")
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue`` for numbers computed in a chapter, so that ``{glue:text}`name:.2f``` can format them.

    NumPy 2 writes scalars as ``np.float64(…)``, which the page cannot format; this passes plain numbers.
    """
    from myst_nb import glue as myst_glue

    myst_glue(name, plain(value), display=display)
