"""The optional dependencies of the store layer, imported when first needed."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise an ImportError that names the extra that brings it and where the
    manual says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this needs {module.split('.')[0]}, which orq_nb's '{extra}' extra installs: from a clone, "
            f"pip install -e \".[{extra}]\" (the manual's Install page has the other ways)"
        ) from error
