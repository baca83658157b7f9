"""The converter between records and storage rows.

A *row* is a ``dict`` from field name to a plain Python value of the field's kind
(``str``, ``int``, ``float``, ``bool``, ``date``, aware ``datetime``, ``UUID``, or a
JSON value). Backends turn rows into their own column formats and back; the codec
turns rows into records and records into rows.

Structuring also accepts the looser forms storage layers produce (ISO text for
dates and timestamps, 0/1 for booleans, ints for floats, text for UUIDs). The text
forms are checked by storekit itself, so that they are the same on every Python
version (``fromisoformat`` accepts more forms from Python 3.11 on); see
:func:`configure_converter`. An invalid row raises
:class:`~storekit.errors.RecordValidationError` with one error per failing value,
naming its field path (``$.field``), the reason and the value (a short ``repr``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Dict, List, Optional, Type, TypeVar

import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from .errors import FieldError, RecordValidationError
from .records import Record, spec_of

__all__ = ["Codec", "configure_converter", "make_converter"]

R = TypeVar("R", bound=Record)


# The accepted text forms, checked before fromisoformat: from Python 3.11 on it also takes
# '20260110', week dates ('2026-W02-6'), 'Z', any number of fraction digits... which 3.9
# and 3.10 reject. ASCII digits only ([0-9], not \d). Time fields are range-checked here;
# date fields are left to fromisoformat, whose messages ("month must be in 1..12") are the
# same on every version. An offset fraction ('+00:00:00.5', which 3.9 reads) is rejected:
# CPython (3.9 to 3.13 at least) silently drops it when the offset is under a second.
_is_date_text = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_is_timestamp_text = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]"  # the date, then 'T' or a space
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"  # HH:MM
    r"(?::[0-5][0-9](?:\.[0-9]{3}(?:[0-9]{3})?)?)?"  # [:SS[.fff|.ffffff]]
    r"(?:[+-](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?"  # [+HH:MM[:SS]], or -
).fullmatch

_DATE_FORM = "'YYYY-MM-DD'"
_TIMESTAMP_FORM = "'YYYY-MM-DDTHH:MM[:SS[.fff|.ffffff]][+HH:MM[:SS]]' ('T' or a space, '+' or '-')"


def _structure_date(value: Any, _: type) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError("expected a date, not a datetime")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if _is_date_text(value) is None:
            raise ValueError(f"expected date text {_DATE_FORM}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"invalid date: {exc}") from None
    raise TypeError(f"expected a date or {_DATE_FORM}, not {type(value).__name__}")


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        if _is_timestamp_text(value) is None:
            raise ValueError(f"expected timestamp text {_TIMESTAMP_FORM}")
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"invalid timestamp: {exc}") from None
    raise TypeError(f"expected a datetime or timestamp text, not {type(value).__name__}")


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected a number, not {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise TypeError("expected a bool or 0/1")  # no repr: the error line shows the value, shortened
    raise TypeError(f"expected a bool or 0/1, not {type(value).__name__}")


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an int, not {type(value).__name__}")


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected text, not {type(value).__name__}")


def _structure_uuid(value: Any, _: type) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        return uuid.UUID(value)
    raise TypeError(f"expected a UUID, not {type(value).__name__}")


def configure_converter(converter: cattrs.Converter) -> None:
    """Register storekit's type rules on ``converter``.

    Structure rules: ``str`` and ``int`` must already be of their type (no
    ``bool`` as int); ``float`` also takes ints; ``bool`` also takes 0/1; ``date``
    takes a date (not a datetime) or text of exactly ``YYYY-MM-DD``; ``datetime``
    takes a datetime or text ``YYYY-MM-DD`` + ``T`` or a space + ``HH:MM``, then
    optionally ``:SS``, ``:SS.fff`` or ``:SS.ffffff``, then optionally an offset
    ``+HH:MM`` or ``+HH:MM:SS`` (or with ``-``); SQLite stores
    ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``. ``UUID`` takes a UUID or its text; JSON
    (``Any``) passes through unchanged. Text digits are ASCII, hours 00-23, minutes
    and seconds 00-59; any other text (``'20260110'``, ``'2026-W02-6'``, a ``Z``
    suffix, one fraction digit, an offset with a fraction...) is rejected on every
    Python version, although ``fromisoformat`` reads some of it. Timestamp text
    without an offset gives a naive datetime, which record validation rejects.
    Unstructure rules: every field value is passed through unchanged (rows hold
    Python values, never copies).

    .. versionchanged:: 0.1
       Date and timestamp text must have exactly these forms on every Python version.
    """
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(dt.date, _structure_date)
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    converter.register_structure_hook(uuid.UUID, _structure_uuid)
    converter.register_structure_hook_func(lambda t: t is Any, lambda v, _: v)


def make_converter() -> cattrs.Converter:
    """A new converter with :func:`configure_converter` applied (never the global one)."""
    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    configure_converter(converter)
    return converter


class Codec:
    """Records to rows and back, with one converter per codec."""

    def __init__(self, converter: Optional[cattrs.Converter] = None) -> None:
        self.converter = converter or make_converter()

    @staticmethod
    def to_row(rec: Record) -> Dict[str, Any]:
        """The row of a record: field name to value, in declaration order."""
        return {name: getattr(rec, name) for name in spec_of(rec).field_names}

    def from_row(self, row: Dict[str, Any], record_type: Type[R]) -> R:
        """Structure a row into a record, raising one
        :class:`~storekit.errors.RecordValidationError` that lists every bad field: its
        path (``$.field``), the reason, and the value as a ``repr`` of at most 80
        characters."""
        try:
            return self.converter.structure(row, record_type)
        except ClassValidationError as exc:
            # The record's own validation (type policy, checks) already names every field.
            for inner in exc.exceptions:
                if isinstance(inner, RecordValidationError):
                    errors = [FieldError(e.record_type, f"$.{e.field}", e.reason, e.value) for e in inner.errors]
                    raise RecordValidationError(inner.record_type, errors) from exc
            raise RecordValidationError(record_type.__name__, _field_errors(record_type.__name__, row, exc)) from exc


def _field_errors(record_type: str, row: Dict[str, Any], exc: ClassValidationError) -> List[FieldError]:
    """One error per failing value, with the hook's own message as the reason (records
    are flat, so every structuring failure belongs to one field of ``row``, or to the row)."""
    with_notes, without = exc.group_exceptions()
    errors = []
    for inner, note in with_notes:
        path = f"$.{note.name}"
        if isinstance(inner, KeyError):
            errors.append(FieldError(record_type, path, "required field missing", hide_value=True))
        else:
            errors.append(FieldError(record_type, path, _reason(inner), row.get(note.name)))
    for inner in without:
        if isinstance(inner, ForbiddenExtraKeysError):
            errors.append(FieldError(record_type, "$", "extra fields found", sorted(map(str, inner.extra_fields))))
        else:
            errors.append(FieldError(record_type, "$", _reason(inner), hide_value=True))
    return errors


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
