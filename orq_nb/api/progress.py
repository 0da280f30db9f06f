"""Progress bars for multi-page work: tqdm when installed and wanted, else nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Silent:
    def update(self, n: int = 1) -> None:
        pass


@contextlib.contextmanager
def progress_bar(progress: bool | None, total: int, unit: str) -> Iterator[Any]:
    """Yield a bar with ``update(n)``: tqdm's when ``progress`` is True (required) or
    None with several steps (if tqdm is installed); a silent one otherwise."""
    if progress is False or (progress is None and total <= 1):
        yield _Silent()
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("progress=True needs tqdm, which orq_nb's 'progress' extra installs: from a "
                              "clone, pip install -e \".[progress]\" (the manual's Install page has the "
                              "other ways)") from None
        yield _Silent()
        return
    with tqdm(total=total, unit=unit, leave=False) as bar:
        yield bar
