"""Warnings that point at the user's own line, not at orq_nb's internals."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def warn_user(warning: Warning) -> None:
    """Issue ``warning`` attributed to the first caller outside orq_nb."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    warnings.warn(warning, stacklevel=level)
