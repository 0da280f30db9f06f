"""``reconcile``: a frame's own daily totals against the service's report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from orq_nb.analysis.inputs import sessions_input

__all__ = ["reconcile", "REPORT_TO_COLUMN"]

#: A report's group dimension -> the frame's column that holds it.
REPORT_TO_COLUMN = {"project": "project_id", "model": "model", "provider": "provider"}


def reconcile(df: Any, report: pd.DataFrame, *, metric: str = "genai.cost", tolerance: float = 0.01,
              min_gap: float = 0.01) -> pd.DataFrame:
    """Per UTC day and group, a frame's own cost against a report's (:meth:`OrqClient.report`).

    Parameters
    ----------
    df : DataFrame, Dask DataFrame or SessionStore
        Sessions, traces or spans; a row counts on the UTC day its ``started_at`` falls on. (A session
        or trace that runs past midnight is dated by its start, the report by each call's own time: a
        small gap on such days is expected; spans reconcile exactly.)
    report : DataFrame
        As :meth:`OrqClient.report` returns it, asked with ``grain="day"`` (in UTC): ``time``, the group
        columns (``project``, ``model``, ``provider``) and ``metric``.
    metric : str, default "genai.cost"
        The report's column to compare with ``total_cost``.
    tolerance : float, default 0.01
        A day is flagged when its gap is beyond this share of the report's amount *and* beyond
        ``min_gap`` dollars.
    min_gap : float, default 0.01

    Returns
    -------
    DataFrame
        One row per day and group that both have: ``day``, the groups, ``ours``, ``report``, ``gap``
        (ours - report, USD), ``gap_pct`` (of the report's), ``flagged``. ``attrs["orq_nb"]`` counts the
        days and groups that only one side has.
    """
    if metric not in report.columns or "time" not in report.columns:
        raise ValueError(f"report must be a frame from OrqClient.report with columns 'time' and {metric!r}")
    dims = [c for c in report.columns if c not in ("time", metric) and c in REPORT_TO_COLUMN]
    unknown = [c for c in report.columns if c not in ("time", metric, *REPORT_TO_COLUMN)]
    if unknown:
        raise ValueError(f"reconcile knows the report's groups {list(REPORT_TO_COLUMN)}, not {unknown}")
    columns = ["started_at", "total_cost", *[REPORT_TO_COLUMN[d] for d in dims]]
    frame = sessions_input(df, columns)
    if hasattr(frame, "compute"):
        frame = frame[columns].compute()
    ours = pd.DataFrame({"day": frame["started_at"].dt.floor("D"),
                         **{d: frame[REPORT_TO_COLUMN[d]].astype(object) for d in dims},
                         "ours": frame["total_cost"].astype(float)})
    ours = ours.groupby(["day", *dims], dropna=False, as_index=False)["ours"].sum()
    theirs = report.assign(day=report["time"].dt.floor("D")).groupby(["day", *dims], dropna=False,
                                                                      as_index=False)[metric].sum()
    theirs = theirs.rename(columns={metric: "report"})
    for d in dims:
        ours[d] = ours[d].astype(object)
        theirs[d] = theirs[d].astype(object)
    both = ours.merge(theirs, on=["day", *dims], how="outer", indicator=True)
    out = both[both["_merge"] == "both"].drop(columns="_merge").reset_index(drop=True)
    out["gap"] = out["ours"] - out["report"]
    out["gap_pct"] = np.where(out["report"] != 0, out["gap"] / out["report"].where(out["report"] != 0) * 100,
                              np.nan)
    out["flagged"] = (out["gap"].abs() > min_gap) & (out["gap"].abs() > tolerance * out["report"].abs())
    out.attrs["orq_nb"] = {"only_ours": int((both["_merge"] == "left_only").sum()),
                           "only_report": int((both["_merge"] == "right_only").sum()),
                           "flagged": int(out["flagged"].sum())}
    return out
