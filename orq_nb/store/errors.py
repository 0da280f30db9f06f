"""What the store raises and warns."""

from __future__ import annotations

from orq_nb.errors import OrqError, OrqWarning

__all__ = ["StoreError", "StoreScopeError", "StoreDriftWarning", "VacuumWarning", "require"]


class StoreError(OrqError):
    """A session store could not be read or written (a conflicting writer, a damaged table...)."""


class StoreScopeError(StoreError, ValueError):
    """``sync`` was asked for other filters than the store's scope: use another path."""


class StoreDriftWarning(OrqWarning):
    """After a sync, the server counts another number of sessions in scope than the store holds."""


class VacuumWarning(OrqWarning):
    """``vacuum`` deleted files that older versions need: those versions can no longer be read."""


def require(module: str, extra: str):
    """Import ``module``, or raise an ImportError that names the ``pip install`` that fixes it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this needs {module.split('.')[0]}, which orq_nb's '{extra}' extra installs: "
            f"pip install \"orq_nb[{extra}]\""
        ) from error
