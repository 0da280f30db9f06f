"""The dashboard's "spend" panel: the strongest anomalies of the last days, by tag and by project.

It draws :func:`~orq_nb.analysis.spend.spend_anomalies` (total cost per day,
against a baseline learnt from the days before) as a table; clicking a row
hands its group and day back to the explorer, which filters to them. A row the
analysis flags as unreliable (``reliable`` False) is marked ⚠ and named, with its
note, above the table.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import pandas as pd
from itables.widget import ITable

from orq_nb.analysis.costs.explain import explain_day
from orq_nb.analysis.spend.anomalies import spend_anomalies, top_anomalies
from orq_nb.analysis.spend.daily_groups import NO_PROJECT, NO_TAG
from orq_nb.analysis.tags import tag_mask
from orq_nb.explore.change_plot import waterfall_html
from orq_nb.explore.tables import small_table_options
from orq_nb.load.tags import as_tags

__all__ = ["SpendPanel", "spend_rows", "flagged_html"]

#: How a row's group names what it is: a tag or a project.
_KINDS = {"tag": "tag", "project_id": "project"}
Pick = Callable[[str, str, pd.Timestamp], None]
_SELECT = {"style": "single"}  # a click selects one row


def spend_rows(df: pd.DataFrame, days: int = 7, n: int = 10, metric: str = "total_cost") -> pd.DataFrame:
    """The ``n`` strongest anomalies of the last ``days`` days, by tag and by project, strongest first.

    Columns ``kind`` ("tag" or "project"), ``group``, ``day``, ``value``, ``baseline``, ``ratio``,
    ``score``, ``reliable`` and ``note`` (from :func:`spend_anomalies`).
    """
    parts = []
    for by, kind in _KINDS.items():
        found = spend_anomalies(df, by=by, metric=metric)
        parts.append(found.assign(group=kind + "\x00" + found["group"].astype(str)))
    both = pd.concat(parts, ignore_index=True)
    both.attrs = parts[0].attrs
    top = top_anomalies(both, days=days, n=n)
    parts = [str(g).split("\x00", 1) for g in top["group"]]
    return top.assign(kind=[p[0] for p in parts], group=[p[1] for p in parts])[
        ["kind", "group", "day", "value", "baseline", "ratio", "score", "reliable", "note"]
    ].reset_index(drop=True)


def flagged_html(rows: pd.DataFrame) -> str:
    """Which of ``rows`` (:func:`spend_rows`) are flagged as unreliable, with each one's note; "" if none."""
    flagged = rows[~rows["reliable"].to_numpy(dtype=bool)]
    if not len(flagged):
        return ""
    items = [f"<li>{html.escape(f'{row.kind} {row.group}, {row.day:%Y-%m-%d}')}: "
             f"{html.escape(row.note or 'no reason given')}</li>" for row in flagged.itertuples()]
    what = "1 of these anomalies is" if len(flagged) == 1 else f"{len(flagged)} of these anomalies are"
    return (f"<div class='orq-spend-flags' style='color:#7a4b00;background:#fff4d6;padding:2px 8px'>"
            f"⚠ {what} flagged as unreliable (marked ⚠ below; weigh them with care):"
            f"<ul style='margin:0;padding-left:1.5em'>{''.join(items)}</ul></div>")


#: The table's columns, named in words; rows come strongest first, as "how unusual" says.
SHOWN_COLUMNS = ["how unusual", "group", "day", "cost", "baseline", "times its baseline"]


def _shown(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "how unusual": [f"{'above' if v > 0 else 'below'} by {abs(v):.1f}" for v in rows["score"]],
        "group": [("" if flag else "⚠ ") + f"{k}: {g}"
                  for k, g, flag in zip(rows["kind"], rows["group"], rows["reliable"], strict=True)],
        "day": rows["day"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "cost": rows["value"].map("${:,.4f}".format).to_numpy(dtype=object),
        "baseline": rows["baseline"].map(lambda v: "" if pd.isna(v) else f"${v:,.4f}").to_numpy(dtype=object),
        "times its baseline": rows["ratio"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}").to_numpy(
            dtype=object),
    }, columns=SHOWN_COLUMNS)


def _group_rows(sessions: pd.DataFrame, kind: str, group: str) -> np.ndarray:
    """The sessions of an anomaly's group: a tag's, a project's, or those without tags or project."""
    if kind == "tag":
        if group == NO_TAG:
            return np.array([len(as_tags(t)) == 0 for t in sessions["tags"]], dtype=bool)
        return tag_mask(sessions["tags"], [group])
    if group == NO_PROJECT:
        return sessions["project_id"].isna().to_numpy()
    return (sessions["project_id"] == group).to_numpy(dtype=bool, na_value=False)


class SpendPanel(widgets.VBox):
    """The strongest spend anomalies of the last ``days`` days; a click on one filters the explorer.

    Parameters
    ----------
    df : DataFrame
        The sessions (the explorer's whole frame).
    on_pick : callable
        Called with ``(kind, group, day)`` ("tag" or "project", its name, the day) when a row is clicked.
    days, n : int
        The last days looked at, and how many anomalies are listed.
    """

    def __init__(self, df: pd.DataFrame, on_pick: Pick, days: int = 7, n: int = 10,
                 spans: pd.DataFrame | None = None) -> None:
        self.on_pick, self.days, self.n, self.spans = on_pick, days, n, spans
        self.head = widgets.HTML()
        self.df = df
        self._find(df)
        self.table = ITable(_shown(self.rows), **small_table_options(select=dict(_SELECT)))
        self.table.observe(self._clicked, names="selected_rows")
        self.explained: pd.DataFrame | None = None
        self.explanation = widgets.HTML()
        super().__init__([self.head, self.table, self.explanation])
        self.add_class("orq-spend")

    def set_frame(self, df: pd.DataFrame) -> None:
        """Find the anomalies of ``df`` (after the frame changed) and list them."""
        self.df = df
        self._find(df)
        self.table.update(_shown(self.rows), **small_table_options(select=dict(_SELECT)))

    def _find(self, df: pd.DataFrame) -> None:
        """The anomalies of ``df`` (:attr:`rows`), and the head that says what they are."""
        self.rows = spend_rows(df, self.days, self.n)
        last = df["started_at"].max() if len(df) else None
        since = "" if last is None or pd.isna(last) else f" up to {last:%Y-%m-%d}"
        self.head.value = (f"<b>Spend watch</b>: the strongest anomalies of daily cost in the last "
                           f"{self.days} days{html.escape(since)}, by tag and project, against each one's "
                           f"own baseline (the 28 days before), the most unusual first (in robust standard "
                           f"scores above or below it). Click one to see its sessions."
                           + ("" if len(self.rows) else "<br><i>No anomaly in those days.</i>")
                           + flagged_html(self.rows))

    def pick(self, row: int) -> None:
        """Hand row ``row`` (a position in :attr:`rows`) to the explorer, as a click does, and explain it."""
        picked = self.rows.iloc[row]
        self.explain(row)
        self.on_pick(picked["kind"], picked["group"], picked["day"])

    def explain(self, row: int) -> pd.DataFrame:
        """Why row ``row``'s day cost what it did against its average baseline day: volume, mix, tokens and
        price by model (when spans were given) or by project, shown as a small waterfall; returned."""
        picked = self.rows.iloc[row]
        sessions = self.df
        keep = _group_rows(sessions, picked["kind"], picked["group"])
        if self.spans is not None:
            frame, by = self.spans, "model"
            keep = frame["session_id"].isin(sessions["id"][keep]).to_numpy(dtype=bool, na_value=False)
        else:
            frame, by = sessions, "project_id"
        self.explained = explain_day(frame, picked["day"], by=by, mask=keep)
        top = self.explained.drop(index="(all)")
        effects = top[["volume", "mix", "tokens", "price"]]
        lead = ""
        if len(effects) and effects.abs().to_numpy().max() > 0:
            group, effect = effects.abs().stack().idxmax()
            lead = f" The largest part: {effect} in {by.replace('_id', '')} {group}."
        self.explanation.value = (
            f"<b>Why {html.escape(picked['kind'])} {html.escape(str(picked['group']))} cost what it did on "
            f"{picked['day']:%Y-%m-%d}</b>, against its average day with sessions in the 28 days before "
            f"({self.explained.attrs['orq_nb']['baseline_days']} had some; by {by}):{html.escape(lead)}"
            + waterfall_html(self.explained))
        return self.explained

    def _clicked(self, change: dict) -> None:
        if change["new"]:
            self.pick(int(change["new"][0]))
