"""Classes orq_nb hands out, importable for ``isinstance`` checks and type hints (public).

:class:`SyncReport` and :class:`WriteReport` are what :meth:`orq_nb.SessionStore.sync` and its writes
return; :class:`TagFilter` is the explorer's tag picker, a widget that also works on its own.
"""

from orq_nb.explore.tag_filter import TagFilter
from orq_nb.store.report import SyncReport, WriteReport

__all__ = ["SyncReport", "TagFilter", "WriteReport"]
