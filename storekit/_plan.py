"""Query checks and the derived parts of a query that every backend shares:
validated filters, the total order (key appended) and the keyset position."""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

from .errors import QueryError
from .query import Agg, Aggregate, Eq, Filter, In, Order, Query, Range
from .records import Kind, spec_of
from .records._declare import _KIND_CHECKS, FieldSpec, RecordSpec

__all__ = [
    "check_aggregate",
    "check_filters",
    "check_increment",
    "check_query",
    "full_order",
    "keyset_values",
    "operands",
]

_ORDERABLE = {Kind.TEXT, Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.DATE, Kind.TIMESTAMP, Kind.UUID}
_SUMMABLE = {Kind.INT, Kind.FLOAT}


def _field(spec: RecordSpec, name: str, use: str) -> FieldSpec:
    try:
        f = spec.field(name)
    except KeyError:
        raise QueryError(f"{spec.name} has no field {name!r} (fields: {', '.join(spec.field_names)})") from None
    if f.kind is Kind.JSON:
        raise QueryError(f"{spec.name}.{name} is JSON and cannot be used to {use}")
    return f


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _operand(f: FieldSpec, value: Any) -> Any:
    """An int operand of a float field as the float a record holds for that int."""
    return float(value) if f.kind is Kind.FLOAT and _is_int(value) else value


def _check_operand(spec: RecordSpec, f: FieldSpec, value: Any, what: str = "filter value") -> None:
    if value is None:
        return
    if f.kind is Kind.FLOAT and _is_int(value):
        try:  # ints compare with floats exactly as the records' float fields accept them
            float(value)
        except OverflowError:
            raise QueryError(f"{spec.name}.{f.name}: bad {what}: int too large for a float") from None
        return
    reason = _KIND_CHECKS[f.kind](value)
    if reason is not None:
        raise QueryError(f"{spec.name}.{f.name}: bad {what}: {reason}")


def check_filters(record_type: type, where: Sequence[Filter]) -> None:
    """Raise :class:`QueryError` for unknown fields, JSON fields or mistyped values."""
    spec = spec_of(record_type)
    for flt in where:
        if isinstance(flt, Eq):
            _check_operand(spec, _field(spec, flt.field, "filter"), flt.value)
        elif isinstance(flt, In):
            f = _field(spec, flt.field, "filter")
            for v in flt.values:
                _check_operand(spec, f, v)
        elif isinstance(flt, Range):
            f = _field(spec, flt.field, "filter")
            if f.kind not in _ORDERABLE:
                raise QueryError(f"{spec.name}.{f.name} cannot be range-filtered")
            for v in (flt.ge, flt.gt, flt.le, flt.lt):
                _check_operand(spec, f, v)
        else:
            raise QueryError(f"not a filter: {flt!r} (use Eq, In or Range)")


def operands(record_type: type, where: Sequence[Filter]) -> Tuple[Filter, ...]:
    """Checked filters with every int operand of a float field made the float a record
    holds for it, so ``Eq(f, 2**53 + 1)`` finds the record written with ``2**53 + 1``
    (which holds ``2.0**53``) on every backend: databases compare ints with floats
    differently (SQLite exactly, PostgreSQL after converting the int)."""
    spec = spec_of(record_type)
    out: List[Filter] = []
    for flt in where:
        f = spec.field(flt.field)
        if f.kind is not Kind.FLOAT:
            out.append(flt)
        elif isinstance(flt, Eq):
            out.append(Eq(flt.field, _operand(f, flt.value)))
        elif isinstance(flt, In):
            out.append(In(flt.field, [_operand(f, v) for v in flt.values]))
        else:
            out.append(Range(flt.field, *(_operand(f, v) for v in (flt.ge, flt.gt, flt.le, flt.lt))))
    return tuple(out)


def full_order(query: Query[Any]) -> Tuple[Order, ...]:
    """The query's order with the record key appended, so the order is total."""
    spec = spec_of(query.record_type)
    named = {o.field for o in query.order_by}
    return tuple(query.order_by) + tuple(Order(k) for k in spec.key if k not in named)


def keyset_values(query: Query[Any]) -> Tuple[Any, ...]:
    """``query.after`` as a tuple of values, one per :func:`full_order` term."""
    order = full_order(query)
    after = query.after
    if isinstance(after, query.record_type):
        return tuple(getattr(after, o.field) for o in order)
    after = tuple(after)
    if len(after) != len(order):
        raise QueryError(f"after= needs {len(order)} values ({', '.join(o.field for o in order)}), got {len(after)}")
    spec = spec_of(query.record_type)
    for o, v in zip(order, after):  # checked as filter values are, so every backend answers alike
        _check_operand(spec, spec.field(o.field), v, "after= value")
    return tuple(_operand(spec.field(o.field), v) for o, v in zip(order, after))


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_query(query: Query[Any]) -> None:
    spec = spec_of(query.record_type)
    check_filters(query.record_type, query.where)
    for o in query.order_by:
        _field(spec, o.field, "order")
    if query.limit is not None and not _is_count(query.limit):
        raise QueryError(f"limit must be a non-negative int, not {query.limit!r}")
    if not _is_count(query.offset):
        raise QueryError(f"offset must be a non-negative int, not {query.offset!r}")
    if query.after is not None:
        keyset_values(query)


def check_increment(record_type: type, record: Any, fields: Sequence[str], replace: Sequence[str] = ()) -> None:
    """Raise :class:`QueryError` unless ``fields`` are distinct non-key int/float fields
    of ``record_type`` holding a value in ``record`` and ``replace`` other non-key fields
    (a :class:`TypeError` if ``record`` is not a ``record_type``)."""
    spec = spec_of(record_type)
    if type(record) is not record_type:
        raise TypeError(f"expected a {spec.name} record, got {type(record).__name__}")
    if not fields:
        raise QueryError(f"an increment of {spec.name} needs at least one field")
    if len(set(fields)) != len(fields):
        raise QueryError(f"an increment of {spec.name} names a field twice: {', '.join(fields)}")
    for name in fields:
        f = _field(spec, name, "increment")
        if name in spec.key:
            raise QueryError(f"{spec.name}.{name} is a key field and cannot be incremented")
        if f.kind not in _SUMMABLE:
            raise QueryError(f"{spec.name}.{name} is {f.kind.value}; an increment needs int or float")
        if getattr(record, name) is None:
            raise QueryError(f"{spec.name}.{name}: an increment needs a value, not None")
    for name in replace:
        if name not in spec.field_names:
            raise QueryError(f"{spec.name} has no field {name!r} (fields: {', '.join(spec.field_names)})")
        if name in spec.key or name in fields or list(replace).count(name) > 1:
            raise QueryError(
                f"{spec.name}.{name} cannot be replaced by this increment (a key, added or repeated field)"
            )


def check_aggregate(aggregate: Aggregate) -> None:
    spec = spec_of(aggregate.record_type)
    check_filters(aggregate.record_type, aggregate.where)
    for name in aggregate.group_by:
        _field(spec, name, "group by")
    if not aggregate.aggs:
        raise QueryError("an aggregate needs at least one Agg")
    for agg in aggregate.aggs:
        _check_agg(spec, agg)


def _check_agg(spec: RecordSpec, agg: Agg) -> None:
    if agg.field is None:
        if agg.fn != "count":
            raise QueryError(f"{agg.fn}() needs a field")
        return
    f = _field(spec, agg.field, f"compute {agg.fn}")
    if agg.fn in ("sum", "avg") and f.kind not in _SUMMABLE:
        raise QueryError(f"{spec.name}.{f.name} is {f.kind.value}; {agg.fn} needs int or float")
    if agg.fn in ("min", "max") and f.kind in (Kind.UUID, Kind.BOOL):
        raise QueryError(
            f"{spec.name}.{f.name}: min/max of {f.kind.value} fields is not supported (count with an Eq filter instead)"
        )
