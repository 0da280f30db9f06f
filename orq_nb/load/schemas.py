"""marshmallow schemas for orq.ai sessions: the one definition of every field.

Both key styles load: the REST wire form (snake_case, id as ``_id`` or ``id``)
and the Node SDK form (camelCase). Unknown keys are ignored at every depth.
Column lists, dtypes, the columnar loader and request bodies derive from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from orq_nb.load.fields import NonNegativeCount, NonNegativeNumber, StringList, Text, UtcDateTime

__all__ = [
    "BillingSchema",
    "UsageSchema",
    "SessionSchema",
    "SessionListSchema",
    "key_aliases",
    "to_wire",
    "wire_key",
]


def key_aliases(key: str) -> tuple[str, ...]:
    """Return the keys a wire key may arrive under: itself, then its camelCase.

    Examples
    --------
    >>> key_aliases("external_id")
    ('external_id', 'externalId')
    >>> key_aliases("_id")
    ('_id', 'id')
    """
    head, *rest = key.lstrip("_").split("_")
    camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
    return (key,) if camel == key else (key, camel)


def wire_key(name: str, field: fields.Field) -> str:
    """Return the key a field has on the wire (its ``data_key`` or its name)."""
    return field.data_key or name


def conflict_message(first: str, second: str) -> str:
    """Return the error for a field given in both key styles with other values."""
    return f"Given as both '{first}' and '{second}' with different values."


def _differ(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except (TypeError, ValueError):  # e.g. arrays, whose != is elementwise
        return True


class WireSchema(Schema):
    """Base schema: ignores unknown keys and folds camelCase keys to the wire form.

    A field given under both key styles must carry equal values; otherwise the
    record is invalid, with the error on that field (and indexed by record when
    loading with ``many=True``).
    """

    class Meta:
        unknown = EXCLUDE

    def _present(self, data: Mapping) -> Iterator[tuple[str, list[str]]]:
        for name, field in self.load_fields.items():
            wire = wire_key(name, field)
            yield wire, [key for key in key_aliases(wire) if key in data]

    def fold(self, data: Mapping) -> dict:
        """Return ``data`` with this level's camelCase keys renamed to the wire form.

        Where both styles are given, the wire one's value is kept (the load
        then reports the clash if the values differ).
        """
        folded = dict(data)
        for wire, present in self._present(data):
            if present and present != [wire]:
                value = data[present[0]]
                for key in present:
                    del folded[key]
                folded[wire] = value
        return folded

    @pre_load
    def _fold_key_styles(self, data: Any, **kwargs: Any) -> Any:
        return self.fold(data) if isinstance(data, Mapping) else data

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _key_styles_agree(self, data: Any, original_data: Any, **kwargs: Any) -> None:
        if not isinstance(original_data, Mapping):
            return
        errors = {}
        for wire, present in self._present(original_data):
            values = [original_data[key] for key in present]
            if any(_differ(value, values[0]) for value in values[1:]):
                errors[wire] = [conflict_message(*present)]
        if errors:
            raise ValidationError(errors)


class BillingSchema(WireSchema):
    """Costs of a session (``billing``)."""

    input_cost = NonNegativeNumber(required=True)
    output_cost = NonNegativeNumber(required=True)
    total_cost = NonNegativeNumber(required=True)


class UsageSchema(WireSchema):
    """Token usage of a session (``usage``)."""

    prompt_tokens = NonNegativeCount(required=True)
    completion_tokens = NonNegativeCount(required=True)
    total_tokens = NonNegativeCount(required=True)


def _optional_text() -> Text:
    return Text(allow_none=True)


class SessionSchema(WireSchema):
    """One session (thread) record, in declared column order.

    ``duration`` is in milliseconds and loads as ``duration_ms``. Totals are not
    checked against the sums of their parts: the API does not guarantee it.
    Counts (tokens, ``traces_count``) are whole numbers (``80601.0`` loads as
    ``80601``; ``2.5`` is refused) and load as pandas' nullable ``Int64``. Field
    metadata ``update=False`` marks a field that no update body carries.
    """

    id = Text(data_key="_id", required=True, validate=validate.Length(min=1), metadata={"update": False})
    external_id = Text(required=True)
    duration_ms = NonNegativeNumber(data_key="duration", required=True)
    contact_ids = StringList(required=True)
    tags = StringList(required=True)
    billing = fields.Nested(BillingSchema, required=True)
    usage = fields.Nested(UsageSchema, required=True)
    traces_count = NonNegativeCount(required=True)
    #: The older API's shape only; the current one neither sends nor updates it.
    workspace_id = Text(allow_none=True, metadata={"update": False})
    project_id = _optional_text()
    started_at = UtcDateTime(allow_none=True)
    updated_at = UtcDateTime(allow_none=True)
    title = _optional_text()
    client = _optional_text()
    repo = _optional_text()
    kind = _optional_text()


def to_wire(record: Mapping, schema: WireSchema | None = None) -> dict:
    """Return a session record with every key in the wire form, values untouched.

    Nested objects are folded too; unknown keys are kept as they are.
    """
    schema = schema or SessionSchema()
    out = schema.fold(record)
    for name, field in schema.fields.items():
        wire = wire_key(name, field)
        if isinstance(field, fields.Nested) and isinstance(out.get(wire), Mapping):
            out[wire] = to_wire(out[wire], field.schema)
    return out


class SessionListSchema(WireSchema):
    """The list envelope ``{"object": "list", "data": [...], "has_more": bool}``."""

    object = fields.String(validate=validate.Equal("list"))
    data = fields.List(fields.Nested(SessionSchema), required=True)
    has_more = fields.Boolean(required=True)
