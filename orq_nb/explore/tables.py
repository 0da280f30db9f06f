"""The explorer's tables: sessions as people read them, in a sortable, pageable itables widget.

Durations are in seconds, times to the minute, tags joined; text is left-aligned
and never broken mid-word (a wide table scrolls inside its own box), and the
CSV button downloads every row of the table, not only the page shown.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from itables.widget import ITable

from orq_nb.load.tags import as_tags

__all__ = ["TABLE_COLUMNS", "readable", "session_table", "details_html", "small_table_options"]

#: What a table of sessions shows, from the frame's columns: the numbers next to the id, so that a wide
#: tags column (last) never pushes them out of view.
TABLE_COLUMNS = ["id", "duration_ms", "total_cost", "total_tokens", "project_id", "started_at",
                 "external_id", "tags"]
_HEADERS = {"external_id": "external id", "project_id": "project", "duration_ms": "duration (s)",
            "total_cost": "cost (USD)", "total_tokens": "tokens", "started_at": "started (UTC)"}
_NUMBERS = {"duration_ms", "total_cost", "total_tokens"}
_TEXT = [i for i, name in enumerate(TABLE_COLUMNS) if name not in _NUMBERS]  # left-aligned


def readable(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` as the tables show them: seconds, minutes, joined tags, plain headers."""
    started = rows["started_at"]
    columns = {
        "id": rows["id"].to_numpy(dtype=object),
        "external_id": rows["external_id"].fillna("").to_numpy(dtype=object),
        "project_id": rows["project_id"].fillna("").to_numpy(dtype=object),
        "tags": [", ".join(as_tags(t)) for t in rows["tags"]],
        "duration_ms": np.round(rows["duration_ms"].to_numpy(dtype=float) / 1000, 2),
        "total_cost": np.round(rows["total_cost"].to_numpy(dtype=float), 6),
        "total_tokens": rows["total_tokens"].astype("Int64").to_numpy(dtype=object, na_value=None),
        "started_at": started.dt.strftime("%Y-%m-%d %H:%M").fillna("").to_numpy(dtype=object),
    }
    return pd.DataFrame({name: columns[name] for name in TABLE_COLUMNS}).rename(columns=_HEADERS)


def _options(name: str) -> dict:
    return {
        "showIndex": False, "maxBytes": 0, "paging": True, "pageLength": 10, "lengthMenu": [10, 25, 100],
        "scrollX": True, "autoWidth": False, "classes": "display compact nowrap cell-border",
        "columnDefs": [{"className": "dt-left", "targets": _TEXT}],
        "buttons": [{"extend": "csvHtml5", "text": "Download CSV", "filename": name,
                     "exportOptions": {"modifier": {"search": "none", "page": "all"}}}],
        "layout": {"topStart": "pageLength", "topEnd": "buttons", "bottomStart": "info",
                   "bottomEnd": "paging"},
        "order": [],
        # A click on a column's name sorts by it (not only on its small arrow).
        "text_in_header_can_be_selected": False,
    }


def small_table_options(**extra) -> dict:
    """itables options of a short table read whole (a panel's result): no paging, search or info line,
    compact, and a click on a column's name sorts by it."""
    return {"showIndex": False, "paging": False, "order": [], "classes": "display compact nowrap",
            "text_in_header_can_be_selected": False,
            "layout": {"topStart": None, "topEnd": None, "bottomStart": None, "bottomEnd": None}, **extra}


def session_table(rows: pd.DataFrame, name: str, table: ITable | None = None) -> ITable:
    """Show ``rows`` (sessions) in ``table``, or in a new widget; ``name`` names the CSV download."""
    shown = readable(rows)
    if table is None:
        return ITable(shown, **_options(name))
    table.update(shown, **_options(name))
    return table


def details_html(row: pd.Series) -> str:
    """Every field of one session, one per line."""
    lines = []
    for name, value in row.items():
        if isinstance(value, list | tuple | np.ndarray):
            text = ", ".join(map(str, value))
        elif isinstance(value, pd.Timestamp):
            text = value.strftime("%Y-%m-%d %H:%M:%S %Z")
        elif name == "duration_ms" and pd.notna(value):
            name, text = "duration (s)", f"{value / 1000:,.3f}"  # shown in seconds: so says the label
        elif pd.isna(value):
            text = ""
        else:
            text = str(value)
        lines.append(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(str(name))}</th>"
                     f"<td style='text-align:left'>{html.escape(text)}</td></tr>")
    return f"<table class='orq-details'>{''.join(lines)}</table>"
