"""The query semantics of :mod:`storekit.query`, evaluated in plain Python over records.

A backend that does not translate queries into a database language (an in-memory
store, a key-value store, a file of records) keeps its records however it likes and
hands them to these functions, which follow the contract literally: checked filters
(:func:`matching`, :func:`matches`), the total order with NULLs first and the key as
tie-breaker (:func:`compare`, :func:`sort_key`), keyset pages and limits
(:func:`select`), grouped aggregates with exact sums and the int64 overflow rule
(:func:`aggregate`), increments (:func:`incremented`), and the declared constraints (:func:`check_unique`,
:func:`check_references`, :func:`check_not_referenced`).

:class:`storekit.testing.ReferenceBackend`, the oracle every backend is tested
against, is built on this module; so is the example plugin ``storekit-memory``.

Records are expected as a backend stores them: timestamps in UTC
(:func:`normalize`), so equal instants are equal keys and sort alike.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from fractions import Fraction
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

import attrs

from . import _plan
from .errors import AggregateOverflowError, IntegrityError
from .query import Agg, Aggregate, Eq, Filter, In, Order, Query, Range
from .records import Kind, RecordSpec, spec_of
from .records._declare import INT64_MAX, INT64_MIN

__all__ = [
    "Key",
    "Tables",
    "aggregate",
    "check_not_referenced",
    "check_references",
    "check_unique",
    "checked_records",
    "compare",
    "compare_rows",
    "incremented",
    "latest_by_key",
    "lookup_key",
    "matches",
    "matching",
    "normalize",
    "select",
    "sort_key",
]

R = TypeVar("R")

Key = Tuple[Any, ...]
"""A natural key: the values of a record type's key fields, in declaration order."""

Tables = Mapping[type, Mapping[Key, Any]]
"""Every stored record, by record type and natural key (what the constraint checks read)."""

_UTC = dt.timezone.utc


def _utc(value: Any) -> Any:
    return value.astimezone(_UTC) if isinstance(value, dt.datetime) else value


# -- records ------------------------------------------------------------------------------


def normalize(record: R) -> R:
    """``record`` with every timestamp in UTC, as backends store and return them."""
    spec = spec_of(record)  # type: ignore[arg-type]
    changes = {
        f.name: _utc(getattr(record, f.name))
        for f in spec.fields
        if f.kind is Kind.TIMESTAMP and getattr(record, f.name) is not None
    }
    return attrs.evolve(record, **changes) if changes else record  # type: ignore[misc]


def checked_records(record_type: type, records: Iterable[Any]) -> List[Any]:
    """``records`` as a list, each :func:`normalize`\\ d; a :class:`TypeError` if any is
    not exactly a ``record_type``."""
    spec_of(record_type)
    items = list(records)
    for rec in items:
        if type(rec) is not record_type:
            raise TypeError(f"expected {record_type.__name__} records, got {type(rec).__name__}")
    return [normalize(rec) for rec in items]


def latest_by_key(record_type: type, records: Iterable[R]) -> Dict[Key, R]:
    """``records`` by natural key, a later record of a key replacing an earlier one in its
    own (later) position: what one upsert call writes."""
    spec = spec_of(record_type)
    latest: Dict[Key, R] = {}
    for rec in records:
        key = spec.key_of(rec)
        latest.pop(key, None)
        latest[key] = rec
    return latest


def lookup_key(record_type: type, key: Sequence[Any]) -> Key:
    """``key`` checked against ``record_type``'s key fields and normalized for a lookup.

    :raises TypeError: the number of values is not the number of key fields.
    :raises storekit.QueryError: a value does not have its field's type.
    """
    spec = spec_of(record_type)
    if len(key) != len(spec.key):
        raise TypeError(f"{spec.name} key is ({', '.join(spec.key)}); got {len(key)} values")
    _plan.check_filters(record_type, [Eq(n, v) for n, v in zip(spec.key, key)])
    return tuple(_utc(v) for v in key)


# -- filters and order --------------------------------------------------------------------


def matches(where: Sequence[Filter], record: Any) -> bool:
    """Whether ``record`` matches every filter of ``where`` (AND; ``Eq(f, None)`` matches
    NULL, ``In`` ignores ``None`` members, ``Range`` never matches NULL).

    ``where`` is used as given: check it and make its operands what records hold with
    :func:`matching`, or use that function instead."""
    for flt in where:
        value = getattr(record, flt.field)
        if isinstance(flt, Eq):
            wanted = _utc(flt.value)
            if wanted is None and value is not None:
                return False
            if wanted is not None and (value is None or value != wanted):
                return False
        elif isinstance(flt, In):
            if value is None or not any(value == _utc(v) for v in flt.values if v is not None):
                return False
        elif isinstance(flt, Range):
            if value is None:
                return False
            bounds: Tuple[Tuple[Any, Callable[[Any, Any], bool]], ...] = (
                (flt.ge, lambda v, b: v >= b),
                (flt.gt, lambda v, b: v > b),
                (flt.le, lambda v, b: v <= b),
                (flt.lt, lambda v, b: v < b),
            )
            for bound, holds in bounds:
                if bound is not None and not holds(value, _utc(bound)):
                    return False
    return True


def matching(record_type: type, where: Sequence[Filter], records: Iterable[R]) -> List[R]:
    """The ``records`` that match every filter, in their given order.

    :raises storekit.QueryError: an unknown or JSON field, or a mistyped operand.
    """
    _plan.check_filters(record_type, where)
    checked = _plan.operands(record_type, where)
    return [rec for rec in records if matches(checked, rec)]


def compare(a: Any, b: Any) -> int:
    """``-1``, ``0`` or ``1``: NULL first, then the natural order of the kind (text by
    code point; ``-0.0`` equals ``0.0``)."""
    if a is None:
        return 0 if b is None else -1
    if b is None:
        return 1
    return int(a > b) - int(a < b)


def compare_rows(order: Sequence[Order], a: Sequence[Any], b: Sequence[Any]) -> int:
    """Compare two tuples of values, one per ``order`` term, by that order (a descending
    term reverses :func:`compare`, so NULL comes last there)."""
    for term, x, y in zip(order, a, b):
        c = compare(x, y)
        if c:
            return -c if term.descending else c
    return 0


def sort_key(order: Sequence[Order]) -> Callable[[Any], Any]:
    """A ``key=`` function that sorts records by ``order`` (see :func:`compare_rows`).

    For the query's total order, pass the query's terms with the key fields appended."""
    fields = [o.field for o in order]
    to_key = _values_key(order)
    return lambda rec: to_key(tuple(getattr(rec, f) for f in fields))


def _values_key(order: Sequence[Order]) -> Callable[[Key], Any]:
    def by_order(a: Key, b: Key) -> int:
        return compare_rows(order, a, b)

    return functools.cmp_to_key(by_order)


# -- queries ------------------------------------------------------------------------------


def select(query: Query[Any], records: Iterable[R]) -> List[R]:
    """What a backend's ``query`` returns for ``query`` over ``records`` (all records of
    ``query.record_type``): the matching records in the query's total order (the key
    appended as tie-breaker), strictly after ``query.after``, the first ``query.offset``
    of those skipped, at most ``query.limit``.

    :raises storekit.QueryError: the query is invalid (see :mod:`storekit.query`).
    """
    _plan.check_query(query)
    order = _plan.full_order(query)
    where = _plan.operands(query.record_type, query.where)
    rows = sorted((r for r in records if matches(where, r)), key=sort_key(order))
    if query.after is not None:
        after = tuple(_utc(v) for v in _plan.keyset_values(query))
        fields = [o.field for o in order]
        rows = [r for r in rows if compare_rows(order, [getattr(r, f) for f in fields], after) > 0]
    if query.offset:
        rows = rows[query.offset :]
    if query.limit is not None:
        rows = rows[: query.limit]
    return rows


def aggregate(aggregate: Aggregate, records: Iterable[Any], *, backend: str = "") -> List[Dict[str, Any]]:
    """What a backend's ``aggregate`` returns for ``aggregate`` over ``records`` (all
    records of its record type): one dict per group, ordered by the group-by fields.

    Sums are exact (ints in arbitrary precision, floats as exact fractions rounded once);
    ``avg`` is always a float.

    :param backend: the backend name an :class:`~storekit.errors.AggregateOverflowError` carries.
    :raises storekit.QueryError: the aggregate is invalid.
    :raises storekit.errors.AggregateOverflowError: an int sum outside int64.
    """
    _plan.check_aggregate(aggregate)
    spec = spec_of(aggregate.record_type)
    where = _plan.operands(aggregate.record_type, aggregate.where)
    rows = [r for r in records if matches(where, r)]
    groups: Dict[Key, List[Any]] = {}
    if not aggregate.group_by:
        groups[()] = rows
    for rec in rows if aggregate.group_by else ():
        groups.setdefault(tuple(getattr(rec, g) for g in aggregate.group_by), []).append(rec)
    keys = sorted(groups, key=_values_key([Order(g) for g in aggregate.group_by]))
    out = []
    for key in keys:
        result: Dict[str, Any] = dict(zip(aggregate.group_by, key))
        for agg in aggregate.aggs:
            result[agg.label] = _compute(spec, agg, groups[key], backend)
        out.append(result)
    return out


def _exact_float_sum(values: Sequence[float]) -> float:
    if any(math.isinf(v) for v in values):
        signs = {v for v in values if math.isinf(v)}
        return math.nan if len(signs) == 2 else signs.pop()
    total = sum((Fraction(v) for v in values), Fraction(0))
    try:
        return float(total)
    except OverflowError:  # the exact sum lies beyond the largest float
        return math.inf if total > 0 else -math.inf


def _compute(spec: RecordSpec, agg: Agg, rows: Sequence[Any], backend: str) -> Any:
    if agg.field is None:
        return len(rows)
    values = [getattr(r, agg.field) for r in rows if getattr(r, agg.field) is not None]
    if agg.fn == "count":
        return len(values)
    if not values:
        return None
    if agg.fn in ("min", "max"):
        pick = min if agg.fn == "min" else max
        return pick(values, key=functools.cmp_to_key(compare))
    is_int = spec.field(agg.field).kind is Kind.INT
    if agg.fn == "sum":
        if not is_int:
            return _exact_float_sum(values)
        total = sum(values)
        if not INT64_MIN <= total <= INT64_MAX:
            raise AggregateOverflowError(f"sum of {spec.name}.{agg.field} does not fit in 64 bits", backend=backend)
        return total
    # avg: exact, rounded once
    if is_int:
        return sum(values) / len(values)
    if any(math.isinf(v) for v in values):
        return _exact_float_sum(values)
    return float(sum(map(Fraction, values), Fraction(0)) / len(values))


# -- increments ----------------------------------------------------------------------------


def incremented(
    stored: Optional[R], record: R, fields: Sequence[str], replace: Sequence[str] = (), *, backend: str = ""
) -> R:
    """What a backend's ``increment`` stores for ``record`` when ``stored`` is the record
    its key holds (``None``: none): ``record`` itself, or ``stored`` with each of
    ``fields`` set to the stored value (NULL counting as 0) plus the record's and each
    of ``replace`` set to the record's.

    :raises storekit.QueryError: ``fields`` cannot be incremented (see :mod:`storekit.query`).
    :raises storekit.errors.AggregateOverflowError: an int result outside int64.
    """
    record_type = type(record)
    _plan.check_increment(record_type, record, fields, replace)
    if stored is None:
        return record
    spec = spec_of(record_type)
    changes = {name: getattr(record, name) for name in replace}
    for name in fields:
        value = (getattr(stored, name) or 0) + getattr(record, name)
        if spec.field(name).kind is Kind.INT and not INT64_MIN <= value <= INT64_MAX:
            raise AggregateOverflowError(f"increment of {spec.name}.{name} does not fit in 64 bits", backend=backend)
        changes[name] = value
    return attrs.evolve(stored, **changes)  # type: ignore[misc]


# -- constraints --------------------------------------------------------------------------
# NULLs never conflict: a unique group or a reference with a NULL field is not checked.


def _type_of_table(tables: Tables, table: str) -> Optional[type]:
    return next((t for t in tables if spec_of(t).table == table), None)


def check_unique(record: Any, rows: Mapping[Key, Any], *, backend: str = "") -> None:
    """Raise :class:`~storekit.errors.IntegrityError` if another of ``rows`` (the stored
    records of ``record``'s type, by key) has the same values in a declared unique group."""
    spec = spec_of(record)
    key = spec.key_of(record)
    for group in spec.unique:
        values = tuple(getattr(record, n) for n in group)
        if any(v is None for v in values):
            continue
        for other_key, other in rows.items():
            if other_key != key and tuple(getattr(other, n) for n in group) == values:
                raise IntegrityError(f"unique: {spec.name}({', '.join(group)}) = {values!r} exists", backend=backend)


def check_references(record: Any, tables: Tables, *, backend: str = "") -> None:
    """Raise :class:`~storekit.errors.IntegrityError` if a declared reference of ``record``
    has no target row in ``tables``."""
    spec = spec_of(record)
    for ref in spec.references:
        values = tuple(getattr(record, n) for n in ref.fields)
        if any(v is None for v in values):
            continue
        target = _type_of_table(tables, ref.target)
        rows = tables.get(target, {}) if target is not None else {}
        if not any(tuple(getattr(p, n) for n in ref.target_fields) == values for p in rows.values()):
            raise IntegrityError(
                f"reference: {spec.name}.{', '.join(ref.fields)} = {values!r} has no row in {ref.target}",
                backend=backend,
            )


def check_not_referenced(record_type: type, tables: Tables, *, backend: str = "") -> None:
    """Raise :class:`~storekit.errors.IntegrityError` if a record in ``tables`` references a
    ``record_type`` row that ``tables`` no longer holds (call it after deleting)."""
    spec = spec_of(record_type)
    rows = tables.get(record_type, {})
    for child_type, children in tables.items():
        for ref in spec_of(child_type).references:
            if ref.target != spec.table:
                continue
            present = {tuple(getattr(p, n) for n in ref.target_fields) for p in rows.values()}
            for child in children.values():
                values = tuple(getattr(child, n) for n in ref.fields)
                if all(v is not None for v in values) and values not in present:
                    raise IntegrityError(
                        f"reference: {spec.table} rows are still referenced by {child_type.__name__}",
                        backend=backend,
                    )
