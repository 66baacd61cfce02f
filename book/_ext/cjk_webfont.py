"""Serve the book's CJK font subset to the website, so that its Chinese text shows without a system CJK font.

The subset of Noto Sans CJK SC in ``data/fonts/`` covers every Chinese character of the data and of the book's
pages. After an HTML build this extension copies it, with its licence (SIL OFL 1.1), into ``_static/fonts/``;
``_static/n2t.css`` declares it as a web font for the CJK ranges only and names it first in the theme's font
lists (it draws no Latin text).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

FONT_DIR = Path(__file__).resolve().parents[2] / "data" / "fonts"
FILES = {  # shipped file → its name under _static/fonts/
    "NotoSansCJKsc-Regular-subset.otf": "NotoSansCJKsc-Regular-subset.otf",
    "licence.txt": "NotoSansCJKsc-Regular-subset-LICENCE.txt",
}


def copy_font(app: Any, exception: Exception | None) -> None:
    """Copy the font and its licence into the built site's ``_static/fonts/`` (HTML builds only)."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "fonts"
    target.mkdir(parents=True, exist_ok=True)
    for source, name in FILES.items():
        path = FONT_DIR / source
        if not path.is_file():
            raise FileNotFoundError(f"the book's CJK font is missing: {path} (see data/fonts/SOURCE.md)")
        shutil.copyfile(path, target / name)


def setup(app: Any) -> dict[str, Any]:
    """Copy the font when the build has finished."""
    app.connect("build-finished", copy_font)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
