"""Progress bars: a live tqdm widget in JupyterLab, one tidy closing line on built pages and in CI logs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any


class _OneLineBar:
    """A progress bar for built pages and CI logs: silent while it runs, one line when it closes.

    It keeps tqdm's interface (iteration, ``update``, ``set_postfix``, ``close``) and prints
    ``desc: n/total [postfix]`` once, with no rate or time, so a page shows the same line on every build.
    """

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str | None = None,
                 disable: bool = False, **_ignored: Any) -> None:
        self.iterable, self.desc, self.disable = iterable, desc, disable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n, self.postfix, self.closed = total, 0, "", False

    def __iter__(self) -> Iterator[Any]:
        try:
            for item in self.iterable:
                yield item
                self.n += 1
        finally:
            self.close()

    def __enter__(self) -> _OneLineBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps."""
        self.n += n

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        """Remember values (e.g. the loss) to print on the closing line."""
        values = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Change the label of the closing line."""
        self.desc = desc

    def refresh(self) -> None:
        """Nothing to redraw: the bar prints only when it closes."""

    def close(self) -> None:
        """Print the one closing line (once)."""
        if self.closed or self.disable:
            self.closed = True
            return
        self.closed = True
        done = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        label = f"{self.desc}: " if self.desc else ""
        print(f"{label}{done}" + (f" [{self.postfix}]" if self.postfix else ""), file=sys.stdout, flush=True)


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str | None = None, **kwargs):
    """A progress bar: a live tqdm widget in JupyterLab; one closing line when ``N2T_PROGRESS=text``.

    ``make book`` and ``make test`` set ``N2T_PROGRESS=text``, so a built page shows at most one tidy line per
    loop (``desc: n/total [loss=…]``, no rates or times); ``N2T_PROGRESS=off`` prints nothing.
    """
    mode = os.environ.get("N2T_PROGRESS", "auto")
    if mode not in ("auto", "text", "off"):
        raise ValueError(f"N2T_PROGRESS must be 'auto', 'text' or 'off'; got {mode!r}")
    if mode == "auto":
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, **kwargs)
    return _OneLineBar(iterable, total=total, desc=desc, disable=mode == "off", **kwargs)
