"""Strict marshmallow fields for orq.ai session records.

The API's numbers are JSON numbers and its times ISO 8601 strings; these
fields accept exactly that and nothing looser, so that the columnar loader in
:mod:`orq_nb.fastload` can mirror them rule for rule.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import fields, validate

#: ISO 8601 date-time as the API writes it: ``T`` or space, 0-9 fractional
#: digits, ``Z`` or a ``+hh:mm`` / ``+hhmm`` offset, or naive (meaning UTC).
#: ASCII digits only, and RE2-compatible, so vectorised string engines agree.
ISO_DATETIME = (
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_ISO_RE = re.compile(ISO_DATETIME)


class NonNegativeNumber(fields.Float):
    """A finite, non-negative JSON number (int or float, never bool or str)."""

    default_error_messages = {"invalid": "Not a valid number."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=0))
        super().__init__(allow_nan=False, **kwargs)

    def _validated(self, value: Any) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class NonNegativeCount(NonNegativeNumber):
    """A count (tokens, traces): a non-negative JSON number up to 2**53, loaded as a whole number.

    ``3`` and ``3.0`` load as ``3``. The API sends whole numbers, but its reference's own example
    carries placeholders such as ``6845.06``: a count with a fraction loads rounded to the nearest
    whole number (halves to even), and the loaders warn (``RoundedCountsWarning``) naming the records.
    Above 2**53 a JSON number no longer holds every whole number exactly: refused.
    """

    #: The largest count: every whole number up to it is exact as a float (as JSON parsers read it).
    LIMIT = 2**53

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=0, max=self.LIMIT))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs) -> int | None:
        number = super()._deserialize(value, attr, data, **kwargs)
        return None if number is None else round(number)


class Text(fields.String):
    """A string that is valid Unicode: a lone surrogate (half an emoji, cut by an exporter) is
    refused, since no UTF-8 file, Arrow column or JSON writer can hold it."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise self.make_error("invalid_utf8") from error
        return text


class StringList(fields.List):
    """A list of strings (tags, contact ids)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text(), **kwargs)


class UtcDateTime(fields.DateTime):
    """An ISO 8601 date-time loaded as an aware UTC :class:`datetime.datetime`.

    A timestamp without offset means UTC. Fractional digits past the
    microsecond are truncated. The instant must lie within years 1-9999 UTC.
    A ``datetime`` (or ``Timestamp``) is read as its ISO 8601 text would be.
    """

    def _deserialize(self, value: Any, attr, data, **kwargs) -> dt.datetime:
        if isinstance(value, dt.datetime):
            if value != value and self.allow_none:  # NaT, unequal to itself: missing
                return None
            value = value.isoformat()
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        match = _ISO_RE.fullmatch(value)
        if match is None:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return _to_utc(match, value, self)


def _to_utc(match: re.Match, value: str, field: UtcDateTime) -> dt.datetime:
    year, month, day, hour, minute, second, frac, offset = match.groups()
    tz = dt.UTC
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        try:
            tz = dt.timezone(sign * delta)
        except ValueError as error:
            raise field.make_error("invalid", input=value, obj_type=field.OBJ_TYPE) from error
    micro = int((frac or "").ljust(6, "0")[:6])
    try:
        local = dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
        return local.astimezone(dt.UTC)
    except (ValueError, OverflowError) as error:
        raise field.make_error("invalid", input=value, obj_type=field.OBJ_TYPE) from error
