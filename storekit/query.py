"""Backend-neutral query descriptions: filters, ordering, pages and aggregates.

These are plain values. Every backend receives the same :class:`Query` or
:class:`Aggregate` and must return what :mod:`storekit.testing.reference` returns for
it; the semantics below are the contract.

Semantics
---------
* Filters combine with AND. ``Eq(f, None)`` matches NULL; ``In`` ignores ``None``
  members; ``Range`` never matches NULL.
* Ordering: text orders by Unicode code point, NULL sorts first ascending and last
  descending, and the record key is always appended as a tie-breaker, so every
  order is total and keyset pagination (``after``) is exact.
* Pages: ``after`` applies first, then ``offset`` skips that many of the remaining
  records (in the query's total order), then ``limit`` caps what is left. With an
  order on a field, ``offset=k, limit=1`` is the ``k``-th smallest record (from 0):
  an exact order statistic, such as a nearest-rank percentile, computed by the database.
* JSON fields can be neither filtered nor ordered nor grouped.
* Aggregates: ``count`` counts non-NULL values (``count()`` with no field counts
  rows); ``sum`` of ints is exact and raises :class:`~storekit.errors.AggregateOverflowError`
  outside int64; ``sum``/``avg`` of floats are computed in an unspecified order,
  so they agree with exact summation only up to floating-point rounding (and ``avg``
  of ints with the exact mean only up to rounding); a float sum whose running total
  leaves the float range is unspecified (``±inf`` or an error); ``avg``
  always returns a float; every aggregate but ``count`` returns ``None`` over no
  non-NULL values; ``min``/``max`` take text, int, float, date and timestamp fields.
  Groups are returned ordered by the group-by fields.
* ``-0.0`` and ``0.0`` are equal: they match the same filters, tie in ordering (the
  key decides), and fall in one group; which of the two represents that group, or
  is its ``min``/``max``, is unspecified.
* Filter values have the field's type; float fields also take ints.
* Increments (:meth:`storekit.Backend.increment`): insert the record if its key is
  absent; else add the record's values of the named int/float fields to the stored
  ones (a stored NULL counts as 0), set the ``replace`` fields to the record's values
  and keep every other stored field, as one atomic step: concurrent increments of one
  key, from any number of threads and processes, lose none. The named fields must not
  be key fields, must hold a value in the record and must not also be in ``replace``
  (which takes any non-key fields); an int result outside int64 raises
  :class:`~storekit.errors.AggregateOverflowError` and writes nothing.
"""

from __future__ import annotations

from typing import Any, Generic, Iterable, Optional, Sequence, Tuple, TypeVar, Union

import attrs

__all__ = [
    "Agg",
    "Aggregate",
    "Eq",
    "Filter",
    "In",
    "Order",
    "Query",
    "Range",
    "asc",
    "desc",
]

T = TypeVar("T")


def _values(value: Iterable[Any]) -> Tuple[Any, ...]:
    return tuple(value)


def _filters(value: Iterable[Filter]) -> Tuple[Filter, ...]:
    return tuple(value)


def _aggs(value: Iterable[Agg]) -> Tuple[Agg, ...]:
    return tuple(value)


def _names(value: Iterable[str]) -> Tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Eq:
    """``field == value`` (``None`` matches NULL)."""

    field: str
    value: Any


@attrs.frozen
class In:
    """``field`` is one of ``values``."""

    field: str
    values: Tuple[Any, ...] = attrs.field(converter=_values)


@attrs.frozen
class Range:
    """``ge <= field < lt`` (also ``gt``/``le``); unset bounds are open."""

    field: str
    ge: Any = None
    gt: Any = None
    le: Any = None
    lt: Any = None


Filter = Union[Eq, In, Range]


@attrs.frozen
class Order:
    """One ordering term."""

    field: str
    descending: bool = False


def asc(field: str) -> Order:
    """Ascending order on ``field``."""
    return Order(field, False)


def desc(field: str) -> Order:
    """Descending order on ``field``."""
    return Order(field, True)


def _orders(value: Sequence[Union[str, Order]]) -> Tuple[Order, ...]:
    out = []
    for item in value:
        if isinstance(item, Order):
            out.append(item)
        elif item.startswith("-"):
            out.append(Order(item[1:], True))
        else:
            out.append(Order(item, False))
    return tuple(out)


@attrs.frozen
class Query(Generic[T]):
    """Select records of ``record_type``.

    ``order_by`` takes :class:`Order` terms or field names (``"-name"`` for
    descending). ``after`` is the record (or the full ordering tuple, key included)
    that the previous page ended with; the query continues strictly after it.
    ``offset`` skips that many records (after ``after``, before ``limit``).

    .. versionchanged:: 0.1
       ``offset``.
    """

    record_type: type
    where: Tuple[Filter, ...] = attrs.field(default=(), converter=_filters)
    order_by: Tuple[Order, ...] = attrs.field(default=(), converter=_orders)
    limit: Optional[int] = None
    after: Any = None
    offset: int = 0


@attrs.frozen
class Agg:
    """One aggregate: ``fn`` over ``field`` (``field=None`` only for ``count``)."""

    fn: str = attrs.field(validator=attrs.validators.in_(("count", "sum", "avg", "min", "max")))
    field: Optional[str] = None

    @property
    def label(self) -> str:
        """The result key: ``count`` for ``count()``, else ``{fn}_{field}``."""
        return f"{self.fn}_{self.field}" if self.field else self.fn


@attrs.frozen
class Aggregate:
    """Group ``record_type`` rows matching ``where`` by ``group_by`` and compute ``aggs``.

    Each result row is a dict with the group-by fields and one entry per aggregate,
    named by :attr:`Agg.label` (``count``, ``sum_value``, ...).
    """

    record_type: type
    aggs: Tuple[Agg, ...] = attrs.field(converter=_aggs)
    where: Tuple[Filter, ...] = attrs.field(default=(), converter=_filters)
    group_by: Tuple[str, ...] = attrs.field(default=(), converter=_names)
