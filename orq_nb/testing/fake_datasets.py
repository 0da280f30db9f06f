"""The fake server's datasets and datapoints (``/v2/datasets``).

Where the real API is silent it decides, and says so here:

- datasets and datapoints are listed oldest first; ``starting_after`` is the id of the last one of the
  previous page; ``limit`` is 1-50 (default 10) for both;
- ``search`` matches a dataset's ``display_name`` as a case-insensitive substring;
- a bulk add takes 1-5,000 items and answers the datapoints created, in the order of the items; an item
  holds only ``inputs`` (an object), ``messages`` (a list, as the SDK's ``List[Any]``) and
  ``expected_output`` (a string); anything else is refused, as is the whole call then (nothing is
  written);
- a bulk delete takes 1-5,000 ids of the dataset's datapoints and answers 204, no content (as the SDK
  expects).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

__all__ = ["DatasetStore", "BULK_MAX", "PAGE_MAX"]

BULK_MAX = 5000
PAGE_MAX = 50
_ITEM_KEYS = {"inputs", "messages", "expected_output"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _limit(query: dict[str, str]) -> int | str:
    try:
        limit = int(query.get("limit", "10"))
    except ValueError:
        return "limit must be an integer"
    return limit if 1 <= limit <= PAGE_MAX else f"limit must be 1-{PAGE_MAX}"


def _page(items: list[dict], query: dict[str, str]) -> tuple[int, Any]:
    limit = _limit(query)
    if isinstance(limit, str):
        return 400, {"message": limit, "code": 400}
    start = 0
    after = query.get("starting_after")
    if after:
        ids = [item["_id"] for item in items]
        if after not in ids:
            return 400, {"message": f"starting_after {after!r} is not in the list", "code": 400}
        start = ids.index(after) + 1
    data = items[start : start + limit]
    return 200, {"object": "list", "data": data, "has_more": start + limit < len(items)}


def item_problem(item: Any) -> str | None:
    """Why one bulk item would be refused, or None."""
    if not isinstance(item, dict):
        return "an item is an object"
    unknown = set(item) - _ITEM_KEYS
    if unknown:
        return f"unknown keys {sorted(unknown)}"
    if "inputs" in item and not isinstance(item["inputs"], dict):
        return "inputs must be an object"
    if "messages" in item and not isinstance(item["messages"], list):
        return "messages must be a list"
    if "expected_output" in item and not isinstance(item["expected_output"], str):
        return "expected_output must be a string"
    return None


class DatasetStore:
    """The datasets the fake serves, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.datasets: dict[str, dict] = {}
        self.datapoints: dict[str, list[dict]] = {}
        #: Bulk adds that wrote (a test's count of writes, whatever became of their answers).
        self.bulk_writes = 0

    def _dataset(self, display_name: str, path: str | None) -> dict:
        stamp = _now()
        return {"_id": "ds_" + uuid.uuid4().hex[:20], "display_name": display_name,
                "project_id": (path or "default").split("/")[0], "path": path or "default",
                "metadata": {"total_versions": 1, "datapoints_count": 0}, "created_by_id": "user_fake",
                "updated_by_id": "user_fake", "created": stamp, "updated": stamp, "workspace_id": "ws_fake"}

    def handle(self, method: str, rest: list[str], body: Any, query: dict[str, str]) -> tuple[int, Any]:
        """Answer ``/v2/datasets/...`` (``rest``: the path after ``datasets``)."""
        with self._lock:
            if not rest:
                if method == "POST":
                    return self._create(body)
                if method == "GET":
                    wanted = (query.get("search") or "").lower()
                    found = [d for d in self.datasets.values() if wanted in d["display_name"].lower()]
                    return _page(found, query)
            dataset = self.datasets.get(rest[0]) if rest else None
            if dataset is None:
                return 404, {"message": f"dataset {rest[0] if rest else ''} not found", "code": 404}
            points = self.datapoints[dataset["_id"]]
            if method == "GET" and len(rest) == 1:
                return 200, self._counted(dataset)
            if method == "GET" and rest[1:] == ["datapoints"]:
                return _page(points, query)
            if method == "POST" and rest[1:] == ["datapoints", "bulk"]:
                return self._bulk(dataset, body)
            if method == "POST" and rest[1:] == ["datapoints-bulk-delete"]:
                ids = body.get("item_ids") if isinstance(body, dict) and set(body) == {"item_ids"} else None
                if not (isinstance(ids, list) and 1 <= len(ids) <= BULK_MAX and all(isinstance(i, str)
                                                                                     for i in ids)):
                    return 400, {"message": f"item_ids must be a list of 1-{BULK_MAX} ids", "code": 400}
                gone = set(ids)
                self.datapoints[dataset["_id"]] = [p for p in points if p["_id"] not in gone]
                return 204, None  # as the SDK expects: no content
        return 404, {"message": f"no route {method} /v2/datasets/{'/'.join(rest)}"}

    def _counted(self, dataset: dict) -> dict:
        dataset["metadata"]["datapoints_count"] = len(self.datapoints[dataset["_id"]])
        return dataset

    def _create(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("display_name"), str) or not body[
                "display_name"] or set(body) - {"display_name", "path"}:
            return 400, {"message": "a dataset is {display_name, path?}", "code": 400}
        if "path" in body and not isinstance(body["path"], str):
            return 400, {"message": "path must be a string", "code": 400}
        dataset = self._dataset(body["display_name"], body.get("path"))
        self.datasets[dataset["_id"]] = dataset
        self.datapoints[dataset["_id"]] = []
        return 200, dataset

    def _bulk(self, dataset: dict, body: Any) -> tuple[int, Any]:
        items = body.get("items") if isinstance(body, dict) and set(body) == {"items"} else None
        if not isinstance(items, list) or not 1 <= len(items) <= BULK_MAX:
            return 400, {"message": f"items must be a list of 1-{BULK_MAX} datapoints", "code": 400}
        for position, item in enumerate(items):
            problem = item_problem(item)
            if problem:
                return 400, {"message": f"items[{position}]: {problem}", "code": 400}
        stamp = _now()
        created = [{"_id": "dp_" + uuid.uuid4().hex[:20], "dataset_id": dataset["_id"],
                    "created_by_id": "user_fake", "updated_by_id": "user_fake", "inputs": item.get("inputs"),
                    "messages": item.get("messages"), "expected_output": item.get("expected_output"),
                    "created": stamp, "updated": stamp, "workspace_id": "ws_fake"} for item in items]
        self.datapoints[dataset["_id"]].extend(created)
        self.bulk_writes += 1
        self._counted(dataset)
        return 200, created
