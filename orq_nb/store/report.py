"""``SyncReport`` and ``WriteReport``: what a sync or a write did, readable in one line."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["WriteReport", "SyncReport"]


@dataclass(frozen=True)
class WriteReport:
    """What one upsert did to the store."""

    inserted: int
    updated: int
    unchanged: int
    removed: int
    version: int | None
    seconds: float

    def _counts(self) -> str:
        return (f"{self.inserted:,} inserted, {self.updated:,} updated, {self.unchanged:,} unchanged, "
                f"{self.removed:,} removed")

    def __str__(self) -> str:
        at = f"version {self.version}" if self.version is not None else "no new version"
        return f"{self._counts()}; {at} ({self.seconds:.2f} s)"

    def _repr_html_(self) -> str:
        return f"<code>{type(self).__name__}</code>: {self}"

    def to_dict(self) -> dict:
        """The figures as a dict."""
        return asdict(self)


@dataclass(frozen=True)
class SyncReport(WriteReport):
    """What one ``SessionStore.sync`` did: pages read, sessions fetched, and the upsert."""

    pages: int = 0
    fetched: int = 0
    rejected: int = 0
    full: bool = False

    def __str__(self) -> str:
        kind = "full sync" if self.full else "sync"
        at = f"version {self.version}" if self.version is not None else "no new version"
        rejected = f", {self.rejected:,} rejected" if self.rejected else ""
        return (f"{kind}: {self.pages:,} pages, {self.fetched:,} fetched{rejected}; {self._counts()}; "
                f"{at} ({self.seconds:.2f} s)")
