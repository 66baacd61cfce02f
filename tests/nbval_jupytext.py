"""nbval for jupytext chapters: collect ``chapters/*.py`` (py:percent) as notebooks.

nbval only collects ``.ipynb`` files and reads them with ``nbformat.read``. This plugin hands nbval the
notebook that ``jupytext.read`` makes of a chapter instead, and keeps pytest from importing a chapter as a
test module. Use it with ``pytest chapters --nbval-lax --nbval-current-env``.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
from nbval.plugin import IPyNbFile


def _is_chapter(path: Path) -> bool:
    return path.suffix == ".py" and path.parent.name == "chapters" and path.name[:2].isdigit()


class JupytextNotebook(IPyNbFile):
    """An nbval collector whose notebook comes from a jupytext ``py:percent`` file."""

    def collect(self):
        import nbval.plugin

        notebook = jupytext.read(self.path)
        real_nbformat = nbval.plugin.nbformat

        class _Reader:
            # nbval calls nbformat.read(path, as_version=4) once, at the start of collect.
            @staticmethod
            def read(path, as_version=4):
                return notebook

            def __getattr__(self, name):
                return getattr(real_nbformat, name)

        nbval.plugin.nbformat = _Reader()
        try:
            yield from super().collect()
        finally:
            nbval.plugin.nbformat = real_nbformat


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """Collect chapters as notebooks when nbval is on."""
    option = parent.config.option
    if _is_chapter(file_path) and (option.nbval or option.nbval_lax):
        return JupytextNotebook.from_parent(parent, path=file_path)
    return None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    """Never import a chapter as a test module (they are notebooks, not tests)."""
    if _is_chapter(collection_path) and not (config.option.nbval or config.option.nbval_lax):
        return True
    return None
