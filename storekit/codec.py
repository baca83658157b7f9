"""The converter between records and storage rows.

A *row* is a ``dict`` from field name to a plain Python value of the field's kind
(``str``, ``int``, ``float``, ``bool``, ``date``, aware ``datetime``, ``UUID``, or a
JSON value). Backends turn rows into their own column formats and back; the codec
turns rows into records and records into rows.

Structuring also accepts the looser forms storage layers produce (ISO strings for
dates and timestamps, 0/1 for booleans, ints for floats, strings for UUIDs). An
invalid row raises :class:`~storekit.errors.RecordValidationError` whose errors name
the field path (``$.field``) of every failing value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Dict, Optional, Type, TypeVar

import cattrs
from cattrs.errors import ClassValidationError

from .errors import FieldError, RecordValidationError
from .records import Record, spec_of

__all__ = ["Codec", "configure_converter", "make_converter"]

R = TypeVar("R", bound=Record)


def _structure_date(value: Any, _: type) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError(f"expected a date, not a datetime ({value!r})")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError(f"expected a date or 'YYYY-MM-DD', not {type(value).__name__}")


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    raise TypeError(f"expected a datetime or ISO 8601 text, not {type(value).__name__}")


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected a number, not {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f"expected a bool or 0/1, not {value!r}")


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
    takes a date or ``YYYY-MM-DD``; ``datetime`` takes a datetime or ISO 8601 text;
    ``UUID`` takes a UUID or its text; JSON (``Any``) passes through unchanged.
    Unstructure rules: every field value is passed through unchanged (rows hold
    Python values, never copies).
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
        """Structure a row into a record, raising one error that lists every bad field."""
        try:
            return self.converter.structure(row, record_type)
        except ClassValidationError as exc:
            # The record's own validation (type policy, checks) already names every field.
            for inner in exc.exceptions:
                if isinstance(inner, RecordValidationError):
                    errors = [FieldError(e.record_type, f"$.{e.field}", e.reason, e.value) for e in inner.errors]
                    raise RecordValidationError(inner.record_type, errors) from exc
            name = record_type.__name__
            errors = [
                FieldError(name, path, message, hide_value=True)
                for message, path in _paths(exc)
            ]
            raise RecordValidationError(name, errors) from exc


def _paths(exc: ClassValidationError) -> list[tuple[str, str]]:
    out = []
    for message in cattrs.transform_error(exc):
        text, _, path = message.rpartition(" @ ")
        out.append((text or message, path or "$"))
    return out
