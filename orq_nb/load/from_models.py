"""What the official SDK hands out: pydantic models (``Thread``, ``ListThreadsResponse``) as JSON.

A model is read through its own JSON dump, by alias (``_id``, times as ISO
8601), so that it takes the bytes reader's columnar path. pydantic is imported
only when a model is given: whoever has one has pydantic.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_model", "models_json", "model_record"]


def is_model(obj: Any) -> bool:
    """Whether ``obj`` is a pydantic model (duck-typed: pydantic need not be installed)."""
    return hasattr(type(obj), "model_fields") and hasattr(obj, "model_dump_json")


def model_record(obj: Any) -> Any:
    """One model as the plain JSON-like record (or envelope) it dumps to, by alias."""
    return obj.model_dump(mode="json", by_alias=True)


def models_json(obj: Any) -> bytearray | None:
    """The JSON bytes of a model, or of a list of models of one class; None for anything else.

    A list takes one ``TypeAdapter(list[cls]).dump_json``: several times faster than
    dumping the models one by one.
    """
    if is_model(obj):
        return bytearray(obj.model_dump_json(by_alias=True).encode())
    if not isinstance(obj, list) or not obj or not is_model(obj[0]):
        return None
    cls = type(obj[0])
    if any(type(item) is not cls for item in obj):
        return None
    import pydantic

    return bytearray(pydantic.TypeAdapter(list[cls]).dump_json(obj, by_alias=True))
