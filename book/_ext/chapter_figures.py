"""Number figures and tables per chapter: "Fig. 8.2" is the second figure of ``chapters/08_…``.

Sphinx numbers figures across the whole book unless the sections are numbered, and the book's chapters keep
their titles unnumbered. After Sphinx has assigned its numbers, this extension renumbers every figure (and
table, and captioned code block) of a chapter page as (chapter number from the file name, position in the page).
"""

from __future__ import annotations

import re
from typing import Any

CHAPTER = re.compile(r"^chapters/(\d+)_")


def renumber(app: Any, env: Any) -> list[str]:
    """Rewrite ``env.toc_fignumbers`` for chapter pages; returns the pages whose numbers changed."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        match = CHAPTER.match(docname)
        if not match:
            continue
        chapter = int(match.group(1))
        for numbers in by_type.values():
            in_page_order = sorted(numbers, key=numbers.__getitem__)
            renumbered = {figure_id: (chapter, i) for i, figure_id in enumerate(in_page_order, start=1)}
            if renumbered != numbers:
                numbers.clear()
                numbers.update(renumbered)
                changed.append(docname)
    return changed


def setup(app: Any) -> dict[str, Any]:
    """Run after Sphinx's own numbering (priority 900 > the default 500)."""
    app.connect("env-get-updated", renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
