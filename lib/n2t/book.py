"""Helpers for the book's pages: glue computed values into the prose, and choose a verdict's words by numbers."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from IPython.display import Markdown

from n2t.checks import not_a_string


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


class Text:
    """A string to glue into the prose: ``{glue:text}`` shows it without the quotes a ``str`` would get."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a string; got {type(text).__name__}")
        self.text = text

    def __repr__(self) -> str:
        return self.text


def as_code(tokens: str | Iterable[str]) -> str:
    """A token, or tokens separated by spaces, as inline code: ``<eos>`` then shows on the page (in a table
    cell too) instead of vanishing as an HTML tag."""
    tokens = [tokens] if isinstance(tokens, str) else list(tokens)
    return " ".join(f"`{token}`" for token in tokens)


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue`` for numbers computed in a chapter, so that ``{glue:text}`name:.2f``` can format them.

    NumPy 2 writes scalars as ``np.float64(…)``, which the page cannot format; this passes plain numbers.
    """
    from myst_nb import glue as myst_glue

    myst_glue(name, plain(value), display=display)


_CODE_SPAN = re.compile(r"(`[^`]*`)")


def _markdown_cell(value: Any) -> str:
    """A table cell as Markdown: ``|`` escaped, and ``<``/``>``/``&`` outside code spans as HTML entities."""
    parts = _CODE_SPAN.split(str(plain(value)).replace("|", "\\|").replace("\n", " "))
    return "".join(
        part if part.startswith("`") else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for part in parts
    )


def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Markdown:
    """A Markdown table (themed on the page, unlike raw HTML) from a header and rows of cells.

    Cells are Markdown: a token such as ``<eos>`` survives (it is escaped, or shown as code when written in
    backticks), and a ``|`` inside a cell does not split it.
    """
    not_a_string("header", header, "column names")
    header = list(header)
    if not header:
        raise ValueError("header must name at least one column")
    lines = ["| " + " | ".join(map(_markdown_cell, header)) + " |", "|" + "---|" * len(header)]
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"row {i} has {len(row)} cells but the header has {len(header)}: {row!r}")
        lines.append("| " + " | ".join(map(_markdown_cell, row)) + " |")
    return Markdown("\n".join(lines))


# Two-sided 95 % critical values of Student's t, by degrees of freedom (beyond 30: the normal's 1.96).
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """The mean of the paired differences ``a[i] − b[i]`` (one pair per seed) and the half-width of its 95 %
    confidence interval (Student's t; ``inf`` for a single pair, whose difference says nothing of the spread)."""
    not_a_string("a", a, "numbers")
    not_a_string("b", b, "numbers")
    a, b = list(a), list(b)
    if len(a) != len(b) or not a:
        raise ValueError(f"a and b must hold the same number of paired results (≥ 1); got {len(a)} and {len(b)}")
    diffs = [float(x) - float(y) for x, y in zip(a, b, strict=True)]
    if not all(math.isfinite(d) for d in diffs):
        raise ValueError(f"the results must be finite numbers; got the differences {diffs}")
    n = len(diffs)
    mean = sum(diffs) / n
    if n == 1:
        return mean, math.inf
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    critical = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
    return mean, critical * sd / math.sqrt(n)


def compare(a: Sequence[float], b: Sequence[float]) -> str:
    """``"higher"``, ``"lower"`` or ``"level"``: how results ``a`` compare with ``b`` on the same seeds.

    A direction is named only when the 95 % interval of the paired difference excludes zero; otherwise the two
    are indistinguishable at this number of seeds ("level"), as they always are with one seed.
    """
    mean, half_width = paired_difference(a, b)
    if mean - half_width > 0:
        return "higher"
    if mean + half_width < 0:
        return "lower"
    return "level"
