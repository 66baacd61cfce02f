"""Write the diagrams that pages without code show: ``python book/figures/make_diagrams.py``.

The introduction (a Markdown page, which runs no code) shows ``lineage.svg``. Its rows are read from the
table of Chapter 12 (``LINEAGE`` in ``chapters/12_lineage.py``), so the map of the book and the chapter that
closes it name the same models in the same chapters; ``tests/test_diagrams.py`` fails when the file is stale.
"""

from __future__ import annotations

import ast
from pathlib import Path

from n2t import diagrams

HERE = Path(__file__).resolve().parent
CHAPTER_12 = HERE.parents[1] / "chapters" / "12_lineage.py"


def lineage_rows(chapter: Path = CHAPTER_12) -> list[tuple[str, int, str]]:
    """(model, chapter, what it fixed) of Chapter 12's LINEAGE table, in the order the table shows them."""
    for node in ast.walk(ast.parse(chapter.read_text())):
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["LINEAGE"]:
            rows = ast.literal_eval(node.value)
            return [(model, chapter, fixed) for model, chapter, fixed, _ in sorted(rows, key=lambda r: r[1])]
    raise ValueError(f"{chapter} assigns no LINEAGE table")


def lineage_svg() -> str:
    """The lineage diagram as SVG text."""
    return diagrams.lineage(lineage_rows()).svg()


if __name__ == "__main__":
    (HERE / "lineage.svg").write_text(lineage_svg())
    print(f"wrote {HERE / 'lineage.svg'}")
