"""Small value helpers shared by the domain stores of issue 5's second half
(unified_db, feedback_system, model_performance_monitor, performance_tracker,
strategy_reporter): legacy date strings, duck-typed inputs, JSON values."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable, Iterator, List, Sequence, Tuple, TypeVar

import attrs

from ..errors import FieldError, RecordValidationError
from ..records import Record

T = TypeVar("T")
R = TypeVar("R", bound=Record)

CHUNK = 500
"""How many keys go into one ``In`` filter when a join is done in steps."""


def today() -> dt.date:
    """The local calendar date, as the legacy ``datetime.now().strftime('%Y-%m-%d')``."""
    return dt.date.today()


def since(days: int) -> dt.date:
    """The first date of a window of ``days`` days back from today (legacy
    ``(datetime.now() - timedelta(days=days)).strftime('%Y-%m-%d')``)."""
    return today() - dt.timedelta(days=days)


def invalid(record: str, field: str, reason: str, value: Any) -> RecordValidationError:
    """The typed error for one bad input value (nothing is written)."""
    return RecordValidationError(record, [FieldError(record, field, reason, value)])


def as_date(value: Any, record: str, field: str) -> dt.date:
    """A legacy date: a ``date``, a ``datetime`` (its date) or ``'YYYY-MM-DD'`` text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise invalid(record, field, "must be a date or 'YYYY-MM-DD' text", value)


def as_float(value: Any) -> Any:
    """A number as a Python float (numpy scalars included), ``None`` kept."""
    if value is None or isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond the float range
        return value  # left for record validation to name


def number(value: Any, record: str, field: str) -> Any:
    """``value`` as a float to compute with (:func:`as_float`; ``None`` kept); anything
    that is not a number is a :class:`~storekit.RecordValidationError` naming
    ``record.field`` (issue 7: a typed error, not the ``TypeError`` of the arithmetic)."""
    converted = as_float(value)
    if converted is None or type(converted) is float:
        return converted
    raise invalid(record, field, "must be a number", value)


def as_int(value: Any) -> Any:
    """An integer as a Python int (numpy int64 included, which sqlite3 could not bind)."""
    if value is None or isinstance(value, bool):
        return value
    try:
        as_integer = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return value
    return as_integer if as_integer == value else value


def evolve(record: R, **changes: Any) -> R:
    """A copy of ``record`` with ``changes`` (validated again)."""
    return attrs.evolve(record, **changes)  # type: ignore[misc]


def enum_value(value: Any) -> Any:
    """The ``.value`` of an enum member (the application's ``ModelType``, ``TrackingStatus``)."""
    return getattr(value, "value", value)


def as_json(value: Any, record: str, field: str) -> Any:
    """A JSON value from a Python value (tuples become lists, numpy floats floats), or
    from JSON text, as the legacy columns held ``json.dumps`` text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise invalid(record, field, "is not valid JSON text", value) from None
    try:
        return json.loads(json.dumps(value, default=_plain))
    except (TypeError, ValueError) as exc:
        raise invalid(record, field, f"is not a JSON value ({exc})", value) from None


def _plain(value: Any) -> Any:
    for kind in (float, int):
        try:
            return kind(value)
        except (TypeError, ValueError):
            continue
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` (duck typing: the application passes its own dataclasses)."""
    return getattr(obj, name, default)


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[List[T]]:
    """``items`` in lists of at most ``size``."""
    batch: List[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def ratio(part: float, whole: float) -> float:
    """``part / whole``, or ``0.0`` when ``whole`` is 0 (the legacy ``... if x > 0 else 0``)."""
    return part / whole if whole else 0.0


def mean_and_slope(points: Sequence[Tuple[float, float]]) -> Tuple[float, float]:
    """The mean of the ``y`` values and the least-squares slope of ``y`` over ``x``
    (``0.0`` with fewer than two points), as ``numpy.polyfit(x, y, 1)[0]``."""
    n = len(points)
    if n == 0:
        return 0.0, 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    if n < 2:
        return mean_y, 0.0
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return mean_y, (sxy / sxx if sxx else 0.0)
