"""The bases of everything orq_nb raises and warns, at the bottom of every layer.

Each layer defines its own subclasses (``orq_nb.load.errors``,
``orq_nb.api.errors``); a caller catches :class:`OrqError` for any failure about
data, files or the API, and filters :class:`OrqWarning` (a ``UserWarning``) to
silence or raise every warning orq_nb issues. Wrong arguments stay plain
``ValueError``/``TypeError``, as in pandas.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = ["OrqError", "OrqWarning", "warn_user"]

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


class OrqError(Exception):
    """Base class of every failure orq_nb reports about data, files, the API or the store."""


class OrqWarning(UserWarning):
    """Base class of every warning orq_nb issues."""


def warn_user(warning: Warning) -> None:
    """Issue ``warning`` attributed to the first caller outside orq_nb."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    warnings.warn(warning, stacklevel=level)
