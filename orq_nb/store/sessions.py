"""``SessionStore``: a local, versioned copy of orq.ai sessions in a Delta Lake table.

The table holds exactly the columns of a sessions frame. Writes are upserts by
session id in one MERGE; a sync's scope (its filters) and watermark (the newest
``updated_at`` it stored) live in the commit metadata of the same commit as its
data, so the two can never disagree.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from orq_nb.api.bodies import filters_body, takes_filters
from orq_nb.errors import StoreDriftWarning, StoreError, StoreScopeError, VacuumWarning, warn_user
from orq_nb.load.columns import COLUMN_NAMES, VALID_SCHEMA
from orq_nb.load.convert import to_frame
from orq_nb.load.frame import sessions_frame
from orq_nb.load.tags import as_tags
from orq_nb.load.times import utc_timestamp
from orq_nb.store.extras import require
from orq_nb.store.report import SyncReport, WriteReport

__all__ = ["SessionStore"]

_SCOPE, _WATERMARK, _REFUSED = "orq_nb.scope", "orq_nb.watermark", "orq_nb.refused"
_ALL_TIME = "SESSION_INTERVAL_ALL_TIME"
#: Stores synced before 0.3 may hold this interval (which the API refuses) in their scope: all time.
_OLD_ALL_TIME = "SESSION_INTERVAL_UNSPECIFIED"
_STAMP = VALID_SCHEMA.field("started_at").type
#: The upsert rule: a record replaces the stored one when its updated_at is newer or equal; a
#: missing updated_at is older than any.
_NEWER = "(s.updated_at IS NOT NULL AND (t.updated_at IS NULL OR s.updated_at >= t.updated_at))" \
         " OR (s.updated_at IS NULL AND t.updated_at IS NULL)"


def _deltalake():
    return require("deltalake", "store")


def _duration(value: Any) -> pd.Timedelta:
    return value if isinstance(value, pd.Timedelta) else pd.Timedelta(value)


class SessionStore:
    """Sessions kept in a Delta Lake table: upserts by id, incremental sync, time travel.

    Parameters
    ----------
    path : str or path
        A local folder or any URI deltalake supports (``s3://``, ``abfss://``,
        ``gs://``). The table is created by the first write.
    storage_options : dict, optional
        Passed to deltalake for object stores (credentials, locking).

    Examples
    --------
    >>> store = SessionStore("sessions.delta")            # doctest: +SKIP
    >>> store.sync(client)                                # doctest: +SKIP
    >>> df = store.to_pandas()                            # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, storage_options: dict[str, str] | None = None) -> None:
        _deltalake()
        self.path = os.fspath(path)
        self.storage_options = storage_options

    # -- the table ------------------------------------------------------------------
    def _table(self, version: int | None = None, as_of: Any = None):
        deltalake = _deltalake()
        try:
            table = deltalake.DeltaTable(self.path, version=version, storage_options=self.storage_options)
            if as_of is not None:
                # The newest version whose commit time (as history() shows it) is not after as_of;
                # deltalake's own lookup goes by the log files' times, a few ms later.
                moment = utc_timestamp(as_of)
                committed = [(pd.Timestamp(c["timestamp"], unit="ms", tz="UTC"), c["version"])
                             for c in table.history()]
                before = [v for t, v in committed if t <= moment]
                if not before:
                    raise StoreError(f"{self.path} has no version committed by {moment}")
                table.load_as_version(max(before))
        except deltalake.exceptions.TableNotFoundError:
            if version is not None or as_of is not None:
                raise StoreError(f"{self.path} holds no table yet, so no version to go back to") from None
            return None
        except deltalake.exceptions.DeltaError as error:
            wanted = version if as_of is None else as_of
            raise StoreError(f"{self.path} has no version {wanted}: {error}") from None
        return table

    @property
    def version(self) -> int | None:
        """The latest version, or None before the first write."""
        table = self._table()
        return None if table is None else table.version()

    def _local(self) -> bool:
        return "://" not in self.path or self.path.startswith("file://")

    def _arrow(self, table, columns: Sequence[str] | None, where: Any = None) -> pa.Table:
        """The table's rows as Arrow in the store's schema (files cast as they are read)."""
        schema = VALID_SCHEMA if columns is None else pa.schema([VALID_SCHEMA.field(c) for c in columns])
        if self._local():
            # Read the files with pyarrow itself: a file that MERGE rewrote holds string_view
            # types, and the dataset that deltalake builds leaves threads that abort at exit.
            import pyarrow.dataset as ds

            files = table.file_uris()
            if not files:
                return schema.empty_table()
            data = ds.dataset(files, schema=schema, format="parquet").to_table()
            # Filter once cast: pyarrow's kernels do not compare string_view with string.
            return data.filter(where) if where is not None else data
        data = table.to_pyarrow_table(columns=list(schema.names))
        data = data.filter(where) if where is not None else data
        return data.cast(schema)

    def to_pandas(self, columns: Sequence[str] | None = None, start: Any = None, end: Any = None,
                  version: int | None = None, as_of: Any = None) -> pd.DataFrame:
        """Return the stored sessions as a sessions frame (columns and dtypes of ``sessions_frame``).

        Parameters
        ----------
        columns : list of str, optional
            A subset of the columns, in the fixed order.
        start, end : datetime, Timestamp or ISO string, optional
            ``started_at`` window, start inclusive, end exclusive (naive means UTC).
        version : int, optional
            The table as it was at that version.
        as_of : datetime, Timestamp or ISO string, optional
            The table as it was at that moment (the newest version committed by then).
        """
        if columns is not None and not len(columns):
            raise ValueError("columns= names no column; leave it out for all of them")
        unknown = set(columns or ()) - set(COLUMN_NAMES)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}; the columns are "
                             "orq_nb.schemas.COLUMN_NAMES")
        columns = None if columns is None else [c for c in COLUMN_NAMES if c in set(columns)]
        table = self._table(version, as_of)
        if table is None:
            return to_frame(pa.schema(VALID_SCHEMA if columns is None else
                                      [VALID_SCHEMA.field(c) for c in columns]).empty_table())
        import pyarrow.dataset as ds

        where = None
        if start is not None:
            where = ds.field("started_at") >= pa.scalar(utc_timestamp(start), _STAMP)
        if end is not None:
            upper = ds.field("started_at") < pa.scalar(utc_timestamp(end), _STAMP)
            where = upper if where is None else where & upper
        wanted = columns if columns is None or where is None or "started_at" in columns else [
            c for c in COLUMN_NAMES if c in {*columns, "started_at"}]
        return to_frame(self._arrow(table, wanted, where).select(columns or list(COLUMN_NAMES)))

    def to_dask(self, columns: Sequence[str] | None = None, version: int | None = None):
        """Return the stored sessions as a Dask DataFrame: one partition per file, same columns and dtypes.

        The analysis functions (``filter_sessions``, ``tag_counts``, ``cost_by_tag``,
        ``daily_summary``, ``explode_tags``) take it as they take a pandas frame.
        Needs the ``dask`` extra; run it on a ``distributed`` cluster to go past
        one machine's memory.
        """
        dd = require("dask.dataframe", "dask")
        columns = list(COLUMN_NAMES) if columns is None else [c for c in COLUMN_NAMES if c in set(columns)]
        schema = pa.schema([VALID_SCHEMA.field(c) for c in columns])
        meta = to_frame(schema.empty_table())
        table = self._table(version)
        files = [] if table is None else table.file_uris()
        # Keep the frame's own dtypes: Dask would turn its str columns into string[pyarrow].
        with require("dask", "dask").config.set({"dataframe.convert-string": False}):
            if not files:
                return dd.from_pandas(meta, npartitions=1)
            # _read_file takes columns=, so Dask's optimizer reads only the columns a computation uses.
            return dd.from_map(_read_file, files, schema=schema, storage_options=self.storage_options,
                               columns=columns, meta=meta, enforce_metadata=False)

    # -- commits --------------------------------------------------------------------
    def history(self) -> pd.DataFrame:
        """One row per version: version, timestamp, operation, inserted, updated, removed, watermark."""
        table = self._table()
        rows = []
        for commit in table.history() if table is not None else ():
            metrics = commit.get("operationMetrics") or {}
            inserted = metrics.get("num_target_rows_inserted", metrics.get("num_added_rows"))
            rows.append({
                "version": commit.get("version"),
                "timestamp": pd.Timestamp(commit.get("timestamp"), unit="ms", tz="UTC"),
                "operation": commit.get("operation"),
                "inserted": inserted,
                "updated": metrics.get("num_target_rows_updated"),
                "removed": metrics.get("num_target_rows_deleted"),
                "watermark": pd.Timestamp(commit[_WATERMARK]) if commit.get(_WATERMARK) else pd.NaT,
            })
        frame = pd.DataFrame(rows, columns=["version", "timestamp", "operation", "inserted", "updated",
                                            "removed", "watermark"])
        for name in ("inserted", "updated", "removed"):
            frame[name] = frame[name].astype("Int64")
        frame["watermark"] = pd.to_datetime(frame["watermark"], utc=True)
        return frame.sort_values("version", ignore_index=True)

    def _commits(self) -> list[dict]:
        table = self._table()
        return [] if table is None else sorted(table.history(), key=lambda c: c.get("version", 0))

    @property
    def scope(self) -> dict | None:
        """The filters of the first sync (``{}``: everything the key sees), or None before one."""
        return _scope(self._commits())

    @property
    def watermark(self) -> pd.Timestamp | None:
        """The newest ``updated_at`` a sync stored; only ``sync`` moves it."""
        return _watermark(self._commits())

    # -- writing --------------------------------------------------------------------
    def write(self, df: pd.DataFrame) -> WriteReport:
        """Upsert a sessions frame: newer or equal ``updated_at`` replaces, older never does.

        The frame is validated again on the way in; the watermark does not move.
        """
        return self._upsert(df, {}, full=False)

    def _changes(self, frame: pd.DataFrame, table) -> tuple[pd.DataFrame, int, int, int]:
        """The rows that would change the store; counts of new, changed and unchanged ids."""
        if table is None or not len(frame):
            return frame, len(frame), 0, 0
        import pyarrow.dataset as ds

        stored = to_frame(self._arrow(table, None, ds.field("id").isin(pa.array(frame["id"].to_numpy()))))
        stored = stored.set_index("id")
        known = frame["id"].isin(stored.index).to_numpy()
        new = int((~known).sum())
        mine = frame[known]
        theirs = stored.loc[mine["id"]]
        mine_t, theirs_t = mine["updated_at"].to_numpy(), theirs["updated_at"].to_numpy()
        newer = np.where(pd.isna(mine_t), pd.isna(theirs_t), pd.isna(theirs_t) | (mine_t >= theirs_t))
        same = np.array([_same_row(a, b) for a, b in zip(mine.itertuples(index=False),
                                                           theirs.reset_index().itertuples(index=False),
                                                           strict=True)], dtype=bool)
        changing = newer & ~same
        keep = ~known
        keep[np.flatnonzero(known)[changing]] = True
        return frame[keep], new, int(changing.sum()), int(known.sum() - changing.sum())

    def _upsert(self, df: pd.DataFrame, metadata: dict[str, str], full: bool,
                scope: dict | None = None) -> WriteReport:
        """Upsert ``df`` in one MERGE; with ``full``, also remove the stored sessions of ``scope``
        that ``df`` lacks."""
        deltalake = _deltalake()
        started = time.perf_counter()
        frame = sessions_frame(df)
        table = self._table()
        changes, inserted, updated, unchanged = self._changes(frame, table)
        removed_ids = []
        if full and table is not None:
            stored = _in_scope(self.to_pandas(columns=["id", *_SCOPE_COLUMNS]), scope or {})
            removed_ids = stored.loc[~stored["id"].isin(frame["id"]), "id"].tolist()
        properties = deltalake.CommitProperties(custom_metadata=metadata) if metadata else None
        if not len(changes) and not removed_ids and not metadata:
            return WriteReport(0, 0, unchanged, 0, None, time.perf_counter() - started)
        source = pa.Table.from_pandas(changes, schema=VALID_SCHEMA, preserve_index=False)
        try:
            # Every write is a MERGE, the first one too (into an empty version 0): two first
            # writers at once then conflict instead of appending the same sessions twice.
            table = table or self._create()
            merge = table.merge(source, "t.id = s.id", source_alias="s", target_alias="t",
                                commit_properties=properties)
            merge = merge.when_matched_update_all(_NEWER).when_not_matched_insert_all()
            if removed_ids:
                ids = ", ".join("'" + i.replace("'", "''") + "'" for i in removed_ids)
                merge = merge.when_not_matched_by_source_delete(f"t.id IN ({ids})")
            merge.execute()
        except deltalake.exceptions.DeltaError as error:
            raise StoreError(f"{self.path} was not written, nothing of this write is in it "
                             f"(another writer at the same time?); write or sync again: {error}") from None
        return WriteReport(inserted, updated, unchanged, len(removed_ids), self.version,
                           time.perf_counter() - started)

    def _create(self):
        """An empty table in the store's schema (version 0), or the one another writer just made."""
        deltalake = _deltalake()
        try:
            deltalake.write_deltalake(self.path, VALID_SCHEMA.empty_table(), mode="error",
                                      storage_options=self.storage_options)
        except deltalake.exceptions.DeltaError:
            if self._table() is None:
                raise
        return self._table()

    @takes_filters(exclude={"start": "not a scope: the watermark decides the window",
                            "end": "not a scope: the watermark decides the window",
                            "client": "the client is sync's first argument; a store has no client filter"})
    def sync(self, client: Any, *, full: bool = False, overlap: Any = "1h", errors: str = "raise",
             rejects: list | None = None, progress: bool | None = None, **filters: Any) -> SyncReport:
        """Bring the store up to date with orq.ai: fetch what changed since the watermark, upsert it.

        Parameters
        ----------
        client : OrqClient
        full : bool, default False
            Fetch everything in scope and remove the sessions the server no
            longer has (earlier versions keep them).
        overlap : str or Timedelta, default "1h"
            The incremental window starts this long before the watermark.
        errors, rejects, progress
            As in :meth:`OrqClient.query_sessions`; with ``errors="raise"`` a
            bad record aborts the sync and nothing of it is committed.
        interval, project_id, tags, kind, repo
            The scope, as :meth:`OrqClient.query_sessions` takes them, fixed by the
            first sync (no ``start``/``end``: the watermark decides the window; no
            ``client`` filter, whose name the client takes).
        """
        started = time.perf_counter()
        scope = filters_body(**filters)
        commits = self._commits()  # the log, read once: scope, watermark, refused ids
        stored = _scope(commits)
        if stored is not None and stored != scope:
            raise StoreScopeError(f"{self.path} holds the scope {stored}, not {scope}; "
                                  "use another path for other filters")
        watermark = _watermark(commits)
        window = {}
        if not full and watermark is not None:
            window["start"] = watermark - _duration(overlap)
        bad: list = []
        fetched = client.query_sessions(**filters, **window, errors=errors, rejects=bad, progress=progress)
        if rejects is not None:
            rejects.extend(bad)
        info = fetched.attrs.get("orq_nb", {})
        newest = fetched["updated_at"].max() if len(fetched) else pd.NaT
        mark = max([t for t in (watermark, newest) if t is not None and not pd.isna(t)], default=None)
        metadata = {}
        if stored is None:
            metadata[_SCOPE] = json.dumps(scope, sort_keys=True)
        if mark is not None and mark != watermark:
            metadata[_WATERMARK] = mark.isoformat()
        # Ids the server serves but the store refused: remembered, so that drift is counted right.
        refused_before = _refused(commits)
        refused = (set() if full else refused_before) | {r.id for r in bad if r.id}
        refused -= set(fetched["id"])
        if refused != refused_before:
            metadata[_REFUSED] = json.dumps(sorted(refused))
        report = self._upsert(fetched, metadata, full=full, scope=scope)
        pages = max(1, -(-info.get("records", len(fetched)) // getattr(client, "page_size", 100)))
        result = SyncReport(report.inserted, report.updated, report.unchanged, report.removed, report.version,
                            time.perf_counter() - started, pages=pages, fetched=len(fetched),
                            rejected=info.get("rejected", 0), full=full)
        if not full and scope["interval"] == _ALL_TIME:
            # (With an interval, sessions age out of the server's window but stay here: no count compares.)
            self._check_drift(client, filters, len(refused))
        return result

    def _check_drift(self, client: Any, filters: dict, refused: int) -> None:
        try:
            served = client.count_sessions(**filters)
        except Exception:  # noqa: BLE001 - a failed count only means drift is not checked
            return
        held = len(self.to_pandas(columns=["id"]))
        if served != held + refused:  # sessions the store refused as invalid are not held, by design
            warn_user(StoreDriftWarning(
                f"the server counts {served:,} sessions in scope, the store holds {held:,} "
                f"({served - held:+,}); sync(full=True) reconciles"))

    # -- upkeep ---------------------------------------------------------------------
    def optimize(self) -> dict:
        """Compact small files into larger ones (a new version, same rows); returns deltalake's metrics."""
        table = self._table()
        return {} if table is None else table.optimize.compact()

    def vacuum(self, retain: Any = "7 days", dry_run: bool = False) -> list[str]:
        """Delete files no version newer than ``retain`` needs; warns which versions become unreadable."""
        table = self._table()
        if table is None:
            return []
        keep = _duration(retain)
        cutoff = pd.Timestamp.now(tz="UTC") - keep
        history = self.history()
        lost = history.loc[(history["timestamp"] < cutoff) & (history["version"] < history["version"].max()),
                           "version"].tolist()
        files = table.vacuum(retention_hours=max(0, int(keep.total_seconds() // 3600)),
                             enforce_retention_duration=False, dry_run=dry_run)
        if files and lost and not dry_run:
            warn_user(VacuumWarning(f"vacuum removed {len(files):,} files: versions {lost} of "
                                    f"{self.path} may no longer be readable"))
        return files

    # -- display --------------------------------------------------------------------
    def _summary(self) -> dict[str, Any]:
        table = self._table()
        if table is None:
            return {"path": self.path, "version": None, "rows": 0, "watermark": None, "last sync": None}
        commits = self._commits()
        last_sync = next((c for c in reversed(commits) if c.get(_WATERMARK)), None)
        return {
            "path": self.path, "version": table.version(), "rows": len(self.to_pandas(columns=["id"])),
            "watermark": _watermark(commits),
            "last sync": pd.Timestamp(last_sync["timestamp"], unit="ms", tz="UTC") if last_sync else None,
        }

    def __repr__(self) -> str:
        info = self._summary()
        if info["version"] is None:
            return f"SessionStore({self.path!r}: empty, no table yet)"
        return (f"SessionStore({self.path!r}: version {info['version']}, {info['rows']:,} sessions, "
                f"watermark {info['watermark']}, last sync {info['last sync']})")

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in self._summary().items())
        return f"<b>SessionStore</b><table>{rows}</table>"


def _newest(commits: list[dict], key: str) -> str | None:
    """The value of ``key`` in the newest commit (of a log in version order) that sets it."""
    return next((c[key] for c in reversed(commits) if c.get(key)), None)


def _scope(commits: list[dict]) -> dict | None:
    first = next((c[_SCOPE] for c in commits if c.get(_SCOPE) is not None), None)
    if first is None:
        return None
    scope = json.loads(first)
    if scope.get("interval") == _OLD_ALL_TIME:
        scope["interval"] = _ALL_TIME
    return scope


def _watermark(commits: list[dict]) -> pd.Timestamp | None:
    mark = _newest(commits, _WATERMARK)
    return None if mark is None else pd.Timestamp(mark)


def _refused(commits: list[dict]) -> set[str]:
    return set(json.loads(_newest(commits, _REFUSED) or "[]"))


#: The columns a scope's filters read.
_SCOPE_COLUMNS = ["project_id", "tags", "kind", "client", "repo"]


def _in_scope(df: pd.DataFrame, scope: dict) -> pd.DataFrame:
    """The stored sessions a scope covers, so that a full sync removes only those.

    A scope with a time window (``interval``) covers none: which timestamp the
    API's windows apply to is not documented, so nothing outside is guessed at.
    """
    if scope.get("interval", _ALL_TIME) != _ALL_TIME:
        return df.iloc[:0]
    keep = np.ones(len(df), dtype=bool)
    for key in ("project_id", "kind", "client", "repo"):
        if scope.get(key) is not None:
            keep &= (df[key] == scope[key]).to_numpy(dtype=bool, na_value=False)
    if scope.get("tags"):
        wanted = set(scope["tags"])
        keep &= df["tags"].map(lambda tags: bool(set(as_tags(tags)) & wanted)).to_numpy(dtype=bool)
    return df[keep]


def _same_row(a: tuple, b: tuple) -> bool:
    """Whether two rows of the same columns hold the same values (missing equals missing)."""
    for x, y in zip(a, b, strict=True):
        if isinstance(x, list) or isinstance(y, list):
            if list(x) != list(y):
                return False
        elif pd.isna(x) or pd.isna(y):
            if not (pd.isna(x) and pd.isna(y)):
                return False
        elif x != y:
            return False
    return True


def _read_file(uri: str, schema: pa.Schema, storage_options: dict | None,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One data file of the table as a sessions frame (cast to the store's schema as it is read)."""
    import pyarrow.dataset as ds

    if columns is not None:
        schema = pa.schema([schema.field(c) for c in COLUMN_NAMES if c in set(columns)])
    if "://" in uri and not uri.startswith("file://"):
        filesystem, path = pa.fs.FileSystem.from_uri(uri)
        data = ds.dataset(path, filesystem=filesystem, schema=schema, format="parquet").to_table()
    else:
        data = ds.dataset(uri.removeprefix("file://"), schema=schema, format="parquet").to_table()
    return to_frame(data)
