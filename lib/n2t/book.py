"""Helpers for the book's pages: glue computed values into the prose."""

from __future__ import annotations

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
