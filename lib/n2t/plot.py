"""The book's figures: one style, and the few kinds of plot that the chapters need.

Every function draws on an ``ax`` (a new figure if none is given), labels both axes, and returns the axes, so
a chapter can add to it. Call :func:`use_book_style` once at the top of a chapter.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from functools import cache

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager

from n2t.data import data_file

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


# A subset of Noto Sans CJK SC that covers every character of the shipped data (data/fonts/SOURCE.md).
CJK_FONT_FILE = "fonts/NotoSansCJKsc-Regular-subset.otf"
# matplotlib's warning for a character that no font in the list can draw (it would print a box instead).
MISSING_GLYPH_WARNING = r"Glyph \d+ .* missing from font"


@cache
def register_cjk_font() -> str:
    """Register the shipped CJK font with matplotlib (verified against SHA256SUMS) and return its family name."""
    path = data_file(CJK_FONT_FILE)
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


_last_echoed: list[BaseException | None] = [None]


def _echo_glyph_error_to_stderr(*_args: object) -> None:
    """After a notebook cell: if drawing a figure failed for a missing glyph, say so on stderr as well.

    IPython catches an error raised while it renders a figure and shows it as the cell's error output, which
    nbval fails on but a Jupyter Book build renders silently; a line on stderr makes the strict build fail.
    """
    error = getattr(sys, "last_value", None)  # IPython stores the last error it displayed here
    glyph_error = isinstance(error, UserWarning) and re.search(MISSING_GLYPH_WARNING, str(error))
    if glyph_error and error is not _last_echoed[0]:
        _last_echoed[0] = error
        print(f"n2t.plot: a figure could not be drawn: {error}", file=sys.stderr)


def _fail_on_missing_glyphs() -> None:
    warnings.filterwarnings("error", message=MISSING_GLYPH_WARNING, category=UserWarning)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the pinned environment
        return
    shell = get_ipython()
    if shell is not None and _echo_glyph_error_to_stderr not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _echo_glyph_error_to_stderr)


def use_book_style() -> None:
    """Set the book's matplotlib style: readable sizes, light grid, no top/right spines, crisp PNGs.

    Text is set in DejaVu Sans with the shipped CJK font as a fallback, so Chinese characters show as
    themselves; a character that neither font has raises an error instead of printing a box.
    """
    _fail_on_missing_glyphs()
    mpl.rcParams.update(
        {
            "font.family": ["DejaVu Sans", register_cjk_font()],  # the second draws what the first lacks
            "figure.figsize": (6.0, 3.6),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.autolayout": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] | None = None) -> plt.Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _array(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().float().numpy()
    return np.asarray(values)


def curves(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    marker: str | None = "o",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Line plot of named ``(x, y)`` series, with a legend when there is more than one."""
    ax = _axes(ax)
    for label, (x, y) in series.items():
        x, y = _array(x), _array(y)
        if x.shape != y.shape:
            raise ValueError(f"series {label!r}: x has {len(x)} values but y has {len(y)}")
        ax.plot(x, y, marker=marker, markersize=3, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend()
    return ax


def heatmap(
    matrix,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    cmap: str = "viridis",
    annotate: bool = False,
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """A matrix as an image (attention weights, positional encodings, masks), optionally with values written in."""
    values = _array(matrix)
    if values.ndim != 2:
        raise ValueError(f"matrix must be two-dimensional; got shape {values.shape}")
    ax = _axes(ax)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.grid(False)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), labels=list(xlabels), rotation=90 if len(xlabels) > 6 else 0)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), labels=list(ylabels))
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    if annotate:
        mid = (np.nanmax(values) + np.nanmin(values)) / 2
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if v < mid else "black")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def scatter_2d(
    points,
    labels: Sequence[str] | None = None,
    xlabel: str = "dimension 1",
    ylabel: str = "dimension 2",
    title: str | None = None,
    groups: Sequence[str] | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Points ``(n, 2)`` (e.g. embeddings after PCA), each with its label written beside it.

    ``groups`` names the group of each point: one colour and one legend entry per group, in order of appearance.
    """
    values = _array(points)
    if values.ndim != 2 or values.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2); got {values.shape}")
    if groups is not None and len(groups) != len(values):
        raise ValueError(f"groups must name the group of each of the {len(values)} points; got {len(groups)}")
    if labels is not None and len(labels) != len(values):
        raise ValueError(f"labels must name each of the {len(values)} points; got {len(labels)}")
    ax = _axes(ax)
    if groups is None:
        ax.scatter(values[:, 0], values[:, 1], s=14)
    else:
        for group in dict.fromkeys(groups):
            members = np.array([g == group for g in groups])
            ax.scatter(values[members, 0], values[members, 1], s=16, label=group)
        ax.legend()
    for (x, y), label in zip(values, labels or (), strict=False):
        ax.annotate(label, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=8)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    return ax


def bars(
    values: Mapping[str, float],
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logy: bool = False,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """A bar chart of named values."""
    ax = _axes(ax)
    ax.bar(list(values), [float(v) for v in values.values()], color=PALETTE[0])
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    return ax


def pca_2d(vectors) -> np.ndarray:
    """Project row vectors ``(n, dim)`` onto their first two principal components → ``(n, 2)``."""
    values = _array(vectors).astype(np.float64)
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 2:
        raise ValueError(f"vectors must be (n, dim) with at least 2 rows and 2 columns; got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("vectors hold NaN or infinite values; PCA needs finite numbers")
    centred = values - values.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T
