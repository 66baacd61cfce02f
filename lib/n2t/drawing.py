"""Drawing in the style of the book's architecture diagrams: boxes, arrows and labels, one colour per kind.

A :class:`Diagram` is shown by a notebook as an SVG (text stays text) on its own white background, so that it
reads in the site's dark mode too. One colour per kind of part, in every diagram: :data:`KINDS` (embeddings
blue, attention orange, feed-forward green, normalisation purple, outputs red, recurrent cells brown, fixed
operations grey). Coordinates are in inches, with the origin at the bottom left; font sizes are in points. A
diagram checks its own layout (:meth:`Diagram.layout_problems`): every label inside its box, no two boxes
overlapping. The diagrams themselves are :mod:`n2t.diagrams`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from n2t import plot

# One colour per kind of part, the same in every diagram (edges in the colour, fills a light tint of it).
KINDS: dict[str, tuple[str, str]] = {  # kind: (colour, the legend's words)
    "embedding": (plot.PALETTE[0], "embedding"),
    "attention": (plot.PALETTE[3], "attention"),
    "feedforward": (plot.PALETTE[2], "feed-forward"),
    "norm": (plot.PALETTE[4], "normalisation"),
    "output": (plot.PALETTE[1], "output"),
    "recurrent": (plot.PALETTE[5], "recurrent cell"),
    "operation": (plot.PALETTE[7], "fixed operation"),
    "data": ("#444444", "tokens, vectors"),
}
INK = "#222222"  # text and arrows
MUTED = "#666666"  # what is left out, notes
FONT = 11.0  # points: box labels
SMALL = 9.5  # points: notes and sizes; nothing is smaller
# Every text names its font: the chapters' style lists a CJK fallback that has no bold (matplotlib would log that).
FAMILY = "DejaVu Sans"
# The SVG names DejaVu Sans (matplotlib's font, whose widths it laid out); Verdana has nearly its widths.
SVG_FONTS = "'DejaVu Sans', Verdana, sans-serif"


def tint(colour: str, amount: float = 0.16) -> str:
    """``colour`` mixed with white: ``amount`` of the colour (the fill of a box of that kind)."""
    rgb = np.array(mpl.colors.to_rgb(colour))
    return mpl.colors.to_hex(amount * rgb + (1 - amount))


@dataclass
class Box:
    """A drawn box: centre ``(x, y)``, size ``(w, h)`` in inches."""

    x: float
    y: float
    w: float
    h: float
    patch: Any
    label: Any = None
    container: bool = False
    symbol: bool = False  # a pointwise operation's circle: its label is a symbol, not text to fit

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.h / 2)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.w / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    def at(self, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
        """A point relative to the centre, in fractions of half the size (``dx=1``: the right edge)."""
        return (self.x + dx * self.w / 2, self.y + dy * self.h / 2)


class Diagram:
    """A figure of ``width`` × ``height`` inches to draw boxes and arrows on; shown in a notebook as SVG."""

    def __init__(self, name: str, width: float, height: float) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"width and height must be positive inches; got {width} × {height}")
        self.name = name
        with mpl.rc_context(_STYLE):
            self.figure = Figure(figsize=(width, height), facecolor="white")
            FigureCanvasAgg(self.figure)
            self.ax = self.figure.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_axis_off()
        self.width, self.height = width, height
        self.boxes: list[Box] = []
        self.texts: list[Any] = []
        self.kinds_used: list[str] = []

    # ------------------------------------------------------------------ drawing

    def box(
        self, x: float, y: float, w: float, h: float, text: str = "", kind: str = "data", size: float = FONT,
        dashed: bool = False, bold: bool = False, container: bool = False, fill: str | None = None,
        colour: str | None = None, round_: float = 0.06,
    ) -> Box:
        """A rounded box centred at ``(x, y)`` in the colour of ``kind``, with ``text`` (lines split on \\n)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}; got {kind!r}")
        edge = colour or KINDS[kind][0]
        face = fill or ("white" if kind == "data" or container else tint(edge))
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={round_}", facecolor=face,
            edgecolor=edge, linewidth=1.0 if container else 1.3, linestyle=(0, (4, 2)) if dashed else "-",
            zorder=1 if container else 3,
        )
        self.ax.add_patch(patch)
        label = None
        if text:
            label = self.ax.text(x, y, text, ha="center", va="center", fontsize=size, color=INK, zorder=4, family=FAMILY,
                                 fontweight="bold" if bold else "normal", linespacing=1.25)
        made = Box(x, y, w, h, patch, label, container)
        self.boxes.append(made)
        if kind not in self.kinds_used and not container:
            self.kinds_used.append(kind)
        return made

    def op(self, x: float, y: float, symbol: str, r: float = 0.14, size: float = FONT + 1) -> Box:
        """A small circle holding a pointwise operation (``+``, ``×``, ``‖``)."""
        colour = KINDS["operation"][0]
        patch = Circle((x, y), r, facecolor=tint(colour), edgecolor=colour, linewidth=1.3, zorder=3)
        self.ax.add_patch(patch)
        label = self.ax.text(x, y, symbol, ha="center", va="center", fontsize=size, color=INK, zorder=4,
                             family=FAMILY)
        made = Box(x, y, 2 * r, 2 * r, patch, label, symbol=True)
        self.boxes.append(made)
        if "operation" not in self.kinds_used:
            self.kinds_used.append("operation")
        return made

    def arrow(
        self, start: tuple[float, float], end: tuple[float, float], dashed: bool = False, colour: str = INK,
        curve: float = 0.0, head: bool = True, width: float = 1.1, zorder: float = 2,
    ) -> None:
        """An arrow from ``start`` to ``end`` (``curve``: the bend, as matplotlib's arc3 radius)."""
        patch = FancyArrowPatch(
            start, end, arrowstyle="-|>,head_length=5,head_width=2.6" if head else "-",
            connectionstyle=f"arc3,rad={curve}", color=colour, linewidth=width, shrinkA=0, shrinkB=0,
            linestyle=(0, (4, 2.5)) if dashed else "-", zorder=zorder, mutation_scale=1,
        )
        self.ax.add_patch(patch)

    def path(self, points: Sequence[tuple[float, float]], dashed: bool = False, colour: str = INK,
             head: bool = True, width: float = 1.1) -> None:
        """A polyline through ``points`` with an arrowhead at the last one."""
        xs, ys = zip(*points[:-1], strict=True)
        style = (0, (4, 2.5)) if dashed else "-"
        self.ax.plot(xs, ys, color=colour, linewidth=width, linestyle=style, zorder=2, solid_capstyle="butt")
        self.arrow(points[-2], points[-1], dashed=dashed, colour=colour, head=head, width=width)

    def text(self, x: float, y: float, text: str, size: float = SMALL, ha: str = "center", va: str = "center",
             colour: str = INK, bold: bool = False, italic: bool = False) -> Any:
        """Free text (a note, a title), checked to lie inside the figure."""
        made = self.ax.text(x, y, text, ha=ha, va=va, fontsize=size, color=colour, zorder=4, linespacing=1.25, family=FAMILY,
                            fontweight="bold" if bold else "normal", fontstyle="italic" if italic else "normal")
        self.texts.append(made)
        return made

    def legend(self, y: float, kinds: Iterable[str] | None = None, x0: float = 0.15, step: float = 0.26) -> None:
        """One swatch per kind used (or ``kinds``), wrapped at the figure's width; the last row at height ``y``."""
        placed, x, row = [], x0, 0
        for kind in kinds or [k for k in KINDS if k in self.kinds_used]:
            label = self.ax.text(0, 0, KINDS[kind][1], fontsize=SMALL, family=FAMILY)
            width = 0.26 + _text_width(label, self)
            label.remove()
            if x > x0 and x + width > self.width - 0.1:
                x, row = x0, row + 1
            placed.append((kind, x, row))
            x += width + 0.22
        for kind, x, row in placed:
            colour, words = KINDS[kind]
            at = y + (placed[-1][2] - row) * step
            face = "white" if kind == "data" else tint(colour)
            self.ax.add_patch(FancyBboxPatch((x, at - 0.07), 0.2, 0.14, boxstyle="round,pad=0,rounding_size=0.03",
                                             facecolor=face, edgecolor=colour, linewidth=1.2, zorder=3))
            self.text(x + 0.26, at, words, ha="left", colour=MUTED)

    # ------------------------------------------------------------------ output

    def svg(self) -> str:
        """The diagram as SVG text: text stays text, ids are stable, fonts fall back to a sans-serif."""
        out = io.StringIO()
        with mpl.rc_context({**_STYLE, "svg.fonttype": "none", "svg.hashsalt": f"n2t-{self.name}"}):
            self.figure.savefig(out, format="svg", facecolor="white", metadata={"Date": None})
        text = out.getvalue().replace("'DejaVu Sans'", SVG_FONTS)
        return re.sub(r"<svg ", f'<svg role="img" aria-label="{self.name}" ', text, count=1)

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        return f"<n2t diagram {self.name!r}>"

    def labels(self) -> list[str]:
        """Every text of the diagram, in drawing order (for tests: what the picture says)."""
        return [t.get_text() for t in self.ax.texts]

    def layout_problems(self) -> list[str]:
        """What would look wrong: a label wider or taller than its box, boxes or texts overlapping, text outside."""
        renderer = self.figure.canvas.get_renderer()
        scale = self.figure.dpi
        problems = []
        for box in self.boxes:
            if box.label is None or box.symbol:
                continue
            extent = box.label.get_window_extent(renderer)
            if extent.width / scale > box.w - 0.1 or extent.height / scale > box.h - 0.04:
                problems.append(f"label {box.label.get_text()!r} does not fit its box ({box.w} × {box.h} in)")
        solid = [b for b in self.boxes if not b.container]
        for i, a in enumerate(solid):
            for b in solid[i + 1:]:
                if abs(a.x - b.x) < (a.w + b.w) / 2 - 1e-6 and abs(a.y - b.y) < (a.h + b.h) / 2 - 1e-6:
                    problems.append(f"boxes overlap: {_name(a)} and {_name(b)}")
        extents = [(t.get_text(), t.get_window_extent(renderer)) for t in self.texts]
        for text, extent in extents:
            if extent.x0 < -1 or extent.y0 < -1 or extent.x1 > self.width * scale + 1 or (
                    extent.y1 > self.height * scale + 1):
                problems.append(f"text {text!r} reaches outside the figure")
        for i, (a, ea) in enumerate(extents):
            for b, eb in extents[i + 1:]:
                if ea.overlaps(eb):
                    problems.append(f"texts overlap: {a!r} and {b!r}")
        return problems


# Whatever the chapter's style: no automatic layout (the boxes are placed by hand), matplotlib's own font.
_STYLE = {"font.family": [FAMILY], "mathtext.fontset": "dejavusans", "figure.dpi": 100,
          "figure.autolayout": False, "figure.constrained_layout.use": False}


def _name(box: Box) -> str:
    return repr(box.label.get_text()) if box.label is not None else f"box at ({box.x:.2f}, {box.y:.2f})"


def _text_width(text: Any, diagram: Diagram) -> float:
    """The width of a drawn text, in inches."""
    renderer = diagram.figure.canvas.get_renderer()
    return text.get_window_extent(renderer).width / diagram.figure.dpi
