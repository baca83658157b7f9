"""Column types shared by SQL backends: how each record kind becomes a column value.

Dialect plugins pick, per :class:`~storekit.records.Kind`, one of these or a native
type (see :meth:`storekit.sql.SQLFacts.column_type`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any, Dict, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator, UserDefinedType

__all__ = [
    "DATE_TEXT",
    "Float64",
    "ISODate",
    "JSONText",
    "UTCTimestampText",
    "dump_json",
    "load_json",
    "to_utc",
    "utc_text",
]


def to_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime."""
    return value.astimezone(dt.timezone.utc)


def _float_text(value: float) -> str:
    text = repr(value)
    if "e" not in text and "E" not in text:
        return text
    # Written without an exponent, so that PostgreSQL's JSONB (numeric) keeps it a float
    # on the way back: '1e+16' would come back as the integer 10000000000000000.
    fixed = format(decimal.Decimal(text), "f")
    return fixed if "." in fixed else fixed + ".0"


def _needs_float_text(value: Any) -> bool:
    if isinstance(value, float):
        text = repr(value)
        return "e" in text or "E" in text
    if isinstance(value, dict):
        return any(_needs_float_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_needs_float_text(v) for v in value)
    return False


def _dump_slow(value: Any) -> str:
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dict):
        items = (json.dumps(k, ensure_ascii=False) + ":" + _dump_slow(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump_slow(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def dump_json(value: Any) -> str:
    """Canonical JSON text of a validated JSON value: UTF-8 text (Korean stays
    readable), no NaN, and floats always written so that every backend reads
    them back as the same float (never as an int)."""
    if _needs_float_text(value):
        return _dump_slow(value)
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def load_json(text: str) -> Any:
    """Parse JSON text written by :func:`dump_json` (or by PostgreSQL)."""
    return json.loads(text)


class Float64(UserDefinedType[float]):
    """An 8-byte float column for SQLite that keeps ``-0.0``.

    SQLite stores whole-number floats of a REAL-affinity column as integers, which
    turns ``-0.0`` into ``0``. The declared type ``FLOAT64_BLOB`` has BLOB affinity
    (it contains "BLOB" and not "INT"), so values are stored exactly as bound.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "FLOAT64_BLOB"

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        def process(value: Any) -> Optional[float]:
            return None if value is None else float(value)

        return process


class _DateText(Dict[dt.date, str]):
    """date -> ``'YYYY-MM-DD'``, filled on use: the rows of a batch share few dates."""

    def __missing__(self, day: dt.date) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        text = self[day] = dt.date.isoformat(day)
        return text


class _DayText(Dict[int, str]):
    """Days since 1970-01-01 -> ``'YYYY-MM-DDT'``, filled on use."""

    def __missing__(self, days: int) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        text = self[days] = (_EPOCH_DATE + dt.timedelta(days=days)).isoformat() + "T"
        return text


class _ClockText(Dict[int, str]):
    """Seconds since midnight -> ``'HH:MM:SS.'``, filled on use."""

    def __missing__(self, seconds: int) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        text = self[seconds] = f"{hours:02d}:{minutes:02d}:{secs:02d}."
        return text


class _EpochIn(Dict[dt.timezone, dt.datetime]):
    """A fixed offset -> the Unix epoch expressed in it, filled on use."""

    def __missing__(self, tz: dt.timezone) -> dt.datetime:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        epoch = self[tz] = _EPOCH.astimezone(tz)
        return epoch


_CACHE_LIMIT = 16384
"""Entries each memo holds before it starts over (a few MB at most)."""
_UTC = dt.timezone.utc
_datetime = dt.datetime
_timezone = dt.timezone
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_DATE = _EPOCH.date()
_day_text = _DayText()
_clock_text = _ClockText()
_epoch_in = _EpochIn()


DATE_TEXT: Mapping[dt.date, str] = _DateText()
"""date -> ``'YYYY-MM-DD'`` (``date.isoformat``), memoised for bulk writes: a mapping, so
that the generated bulk writer looks a value up without a function call."""


def utc_text(value: dt.datetime) -> str:
    """An aware ``value`` as fixed-width UTC text ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``:
    exactly ``value.astimezone(timezone.utc).isoformat(timespec="microseconds")``.

    The bulk write path converts every timestamp of every row, so the common case avoids
    ``astimezone`` and ``isoformat`` (about 2 us together): for a ``datetime`` in UTC or
    in any fixed offset (a ``datetime.timezone``, which never changes its offset), the
    time since the epoch is plain arithmetic against the epoch expressed in that same
    ``tzinfo``, and the text is put together from memoised day and clock parts. Any
    other ``tzinfo`` (``zoneinfo``, whose offset changes with DST) and ``datetime``
    subclasses take ``astimezone``.
    """
    if type(value) is _datetime and type(tz := value.tzinfo) is _timezone:
        since = value - _epoch_in[tz]
        # str(10**6 + us)[1:]: the microseconds with their leading zeros, cheaper than a format
        return _day_text[since.days] + _clock_text[since.seconds] + str(1_000_000 + since.microseconds)[1:] + "+00:00"
    return value.astimezone(_UTC).isoformat("T", "microseconds")


class ISODate(TypeDecorator[dt.date]):
    """A date as ``'YYYY-MM-DD'`` text (lexical order is date order)."""

    impl = sa.String(10)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[str]:
        return None if value is None else value.isoformat()

    def process_result_value(self, value: Any, dialect: Any) -> Optional[dt.date]:
        return None if value is None else dt.date.fromisoformat(value)


class UTCTimestampText(TypeDecorator[dt.datetime]):
    """An instant as fixed-width UTC text ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``.

    Fixed width makes lexical order chronological order, and equal instants give
    equal text whatever offset they were written with.
    """

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[str]:
        return None if value is None else utc_text(value)

    def process_result_value(self, value: Any, dialect: Any) -> Optional[dt.datetime]:
        return None if value is None else dt.datetime.fromisoformat(value)


class JSONText(TypeDecorator[Any]):
    """JSON stored as canonical text (:func:`dump_json`)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[str]:
        return None if value is None else dump_json(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else load_json(value)
