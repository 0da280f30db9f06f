"""Layer 4: the local session store, a Delta Lake table (extra ``orq_nb[store]``)."""

from orq_nb.store.report import SyncReport, WriteReport
from orq_nb.store.sessions import SessionStore

__all__ = ["SessionStore", "SyncReport", "WriteReport"]
