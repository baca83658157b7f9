"""An in-memory reference model of the backend contract, in plain Python.

:class:`ReferenceBackend` implements :class:`storekit.Backend` by following the
semantics in :mod:`storekit.query` literally, with no storage tricks. It is the
oracle of the stateful tests: every real backend must return what it returns.

What it models beyond the query semantics: upserts replace by natural key (a
later record of the same key in one call wins); appends of an existing key raise
:class:`~storekit.errors.IntegrityError`; declared unique constraints and
references are enforced row by row (NULLs never conflict, a reference with a
NULL field is not checked, deleting a referenced row raises); every call is
atomic and :meth:`~ReferenceBackend.transaction` snapshots and restores the whole
state. Timestamps are kept in UTC, as the real backends return them. Sums are
exact (ints in arbitrary precision, floats as exact fractions rounded once), so
the backends' float sums may differ from them only by rounding.

.. versionadded:: 0.1
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
from fractions import Fraction
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import attrs

from .. import _plan
from ..backend import Capability
from ..errors import AggregateOverflowError, IntegrityError
from ..query import Agg, Aggregate, Eq, Filter, In, Order, Query, Range
from ..records import Kind, Record, RecordSpec, spec_of
from ..records._declare import INT64_MAX, INT64_MIN

__all__ = ["ReferenceBackend"]

_UTC = dt.timezone.utc
Key = Tuple[Any, ...]
Tables = Dict[type, Dict[Key, Record]]


def _utc(value: Any) -> Any:
    """Timestamps as UTC instants (so equal instants are equal keys and sort alike)."""
    return value.astimezone(_UTC) if isinstance(value, dt.datetime) else value


def _normalized(rec: Record) -> Record:
    spec = spec_of(rec)
    changes = {
        f.name: _utc(getattr(rec, f.name))
        for f in spec.fields
        if f.kind is Kind.TIMESTAMP and getattr(rec, f.name) is not None
    }
    return attrs.evolve(rec, **changes) if changes else rec  # type: ignore[misc]


def _compare(a: Any, b: Any) -> int:
    """NULL first, then the natural order of the kind (text by code point)."""
    if a is None:
        return 0 if b is None else -1
    if b is None:
        return 1
    return int(a > b) - int(a < b)


def _compare_terms(order: Sequence[Order], a: Sequence[Any], b: Sequence[Any]) -> int:
    for term, x, y in zip(order, a, b):
        c = _compare(x, y)
        if c:
            return -c if term.descending else c
    return 0


def _matches(rec: Record, where: Sequence[Filter]) -> bool:
    for flt in where:
        value = getattr(rec, flt.field)
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


def _exact_float_sum(values: Sequence[float]) -> float:
    if any(math.isinf(v) for v in values):
        signs = {v for v in values if math.isinf(v)}
        return math.nan if len(signs) == 2 else signs.pop()
    total = sum((Fraction(v) for v in values), Fraction(0))
    try:
        return float(total)
    except OverflowError:  # the exact sum lies beyond the largest float
        return math.inf if total > 0 else -math.inf


class ReferenceBackend:
    """The backend contract as plain Python over dicts (see the module docstring)."""

    name = "reference"
    capabilities = frozenset({Capability.TRANSACTIONS, Capability.FOREIGN_KEYS})

    def __init__(self) -> None:
        self._tables: Tables = {}
        self._depth = 0

    def __repr__(self) -> str:
        counts = ", ".join(f"{t.__name__}={len(rows)}" for t, rows in self._tables.items())
        return f"<ReferenceBackend {counts}>"

    # -- state ----------------------------------------------------------------------------

    def _table(self, record_type: type) -> Dict[Key, Record]:
        spec_of(record_type)
        return self._tables.setdefault(record_type, {})

    def _snapshot(self) -> Tables:
        return {t: dict(rows) for t, rows in self._tables.items()}

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        snapshot = self._snapshot()
        try:
            yield
        except BaseException:
            self._tables = snapshot
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._atomic():
                yield
        finally:
            self._depth = 0

    def ensure_schema(self, record_types: Sequence[type]) -> None:
        for record_type in record_types:
            self._table(record_type)

    def close(self) -> None:
        pass

    # -- constraints ----------------------------------------------------------------------

    def _type_of_table(self, table: str) -> Optional[type]:
        return next((t for t in self._tables if spec_of(t).table == table), None)

    def _check_references(self, spec: RecordSpec, rec: Record) -> None:
        for ref in spec.references:
            values = tuple(getattr(rec, n) for n in ref.fields)
            if any(v is None for v in values):
                continue
            target = self._type_of_table(ref.target)
            rows = self._tables.get(target, {}) if target is not None else {}
            if not any(tuple(getattr(p, n) for n in ref.target_fields) == values for p in rows.values()):
                raise IntegrityError(
                    f"reference: {spec.name}.{', '.join(ref.fields)} = {values!r} has no row in "
                    f"{ref.target}", backend=self.name,
                )

    def _check_unique(self, spec: RecordSpec, rec: Record, table: Dict[Key, Record]) -> None:
        key = spec.key_of(rec)
        for group in spec.unique:
            values = tuple(getattr(rec, n) for n in group)
            if any(v is None for v in values):
                continue
            for other_key, other in table.items():
                if other_key != key and tuple(getattr(other, n) for n in group) == values:
                    raise IntegrityError(
                        f"unique: {spec.name}({', '.join(group)}) = {values!r} exists",
                        backend=self.name,
                    )

    def _check_not_referenced(self, spec: RecordSpec) -> None:
        rows = self._tables.get(spec.cls, {})
        for child_type, children in self._tables.items():
            for ref in spec_of(child_type).references:
                if ref.target != spec.table:
                    continue
                present = {tuple(getattr(p, n) for n in ref.target_fields) for p in rows.values()}
                for child in children.values():
                    values = tuple(getattr(child, n) for n in ref.fields)
                    if all(v is not None for v in values) and values not in present:
                        raise IntegrityError(
                            f"reference: {spec.table} rows are still referenced by "
                            f"{child_type.__name__}", backend=self.name,
                        )

    # -- writes ---------------------------------------------------------------------------

    @staticmethod
    def _checked(record_type: type, records: Iterable[Any]) -> List[Record]:
        items = list(records)
        for rec in items:
            if type(rec) is not record_type:
                raise TypeError(f"expected {record_type.__name__} records, got {type(rec).__name__}")
        return [_normalized(rec) for rec in items]

    def upsert(self, record_type: type, records: Iterable[Any]) -> int:
        items = self._checked(record_type, records)
        spec = spec_of(record_type)
        latest: Dict[Key, Record] = {}
        for rec in items:  # a later record with the same key wins, in its own position
            key = spec.key_of(rec)
            latest.pop(key, None)
            latest[key] = rec
        with self._atomic():
            table = self._table(record_type)
            for key, rec in latest.items():
                table[key] = rec
                self._check_unique(spec, rec, table)
                self._check_references(spec, rec)
        return len(items)

    def append(self, record_type: type, records: Iterable[Any]) -> int:
        items = self._checked(record_type, records)
        spec = spec_of(record_type)
        with self._atomic():
            table = self._table(record_type)
            for rec in items:
                key = spec.key_of(rec)
                if key in table:
                    raise IntegrityError(f"duplicate key: {spec.name}{key!r} exists", backend=self.name)
                table[key] = rec
                self._check_unique(spec, rec, table)
                self._check_references(spec, rec)
        return len(items)

    def delete(self, record_type: type, where: Sequence[Filter]) -> int:
        _plan.check_filters(record_type, where)
        spec = spec_of(record_type)
        with self._atomic():
            table = self._table(record_type)
            where = _plan.operands(record_type, where)
            doomed = [key for key, rec in table.items() if _matches(rec, where)]
            for key in doomed:
                del table[key]
            if doomed:
                self._check_not_referenced(spec)
        return len(doomed)

    # -- reads ----------------------------------------------------------------------------

    def get(self, record_type: type, key: Tuple[Any, ...]) -> Optional[Any]:
        spec = spec_of(record_type)
        if len(key) != len(spec.key):
            raise TypeError(f"{spec.name} key is ({', '.join(spec.key)}); got {len(key)} values")
        _plan.check_filters(record_type, [Eq(n, v) for n, v in zip(spec.key, key)])
        return self._table(record_type).get(tuple(_utc(v) for v in key))

    def query(self, query: Query[Any]) -> Iterator[Any]:
        _plan.check_query(query)
        order = _plan.full_order(query)

        def values(rec: Record) -> Tuple[Any, ...]:
            return tuple(getattr(rec, o.field) for o in order)

        where = _plan.operands(query.record_type, query.where)
        rows = [r for r in self._table(query.record_type).values() if _matches(r, where)]
        rows.sort(key=functools.cmp_to_key(lambda a, b: _compare_terms(order, values(a), values(b))))
        if query.after is not None:
            after = tuple(_utc(v) for v in _plan.keyset_values(query))
            rows = [r for r in rows if _compare_terms(order, values(r), after) > 0]
        if query.limit is not None:
            rows = rows[: query.limit]
        return iter(rows)

    def aggregate(self, aggregate: Aggregate) -> List[Dict[str, Any]]:
        _plan.check_aggregate(aggregate)
        spec = spec_of(aggregate.record_type)
        where = _plan.operands(aggregate.record_type, aggregate.where)
        rows = [r for r in self._table(aggregate.record_type).values() if _matches(r, where)]
        groups: Dict[Key, List[Record]] = {}
        if not aggregate.group_by:
            groups[()] = rows
        for rec in rows if aggregate.group_by else ():
            groups.setdefault(tuple(getattr(rec, g) for g in aggregate.group_by), []).append(rec)
        ascending = [Order(g) for g in aggregate.group_by]

        def by_group(a: Key, b: Key) -> int:
            return _compare_terms(ascending, a, b)

        keys = sorted(groups, key=functools.cmp_to_key(by_group))
        out = []
        for key in keys:
            result: Dict[str, Any] = dict(zip(aggregate.group_by, key))
            for agg in aggregate.aggs:
                result[agg.label] = self._compute(spec, agg, groups[key])
            out.append(result)
        return out

    def _compute(self, spec: RecordSpec, agg: Agg, rows: Sequence[Record]) -> Any:
        if agg.field is None:
            return len(rows)
        values = [getattr(r, agg.field) for r in rows if getattr(r, agg.field) is not None]
        if agg.fn == "count":
            return len(values)
        if not values:
            return None
        if agg.fn in ("min", "max"):
            pick = min if agg.fn == "min" else max
            return pick(values, key=functools.cmp_to_key(_compare))
        is_int = spec.field(agg.field).kind is Kind.INT
        if agg.fn == "sum":
            if not is_int:
                return _exact_float_sum(values)
            total = sum(values)
            if not INT64_MIN <= total <= INT64_MAX:
                raise AggregateOverflowError(
                    f"sum of {spec.name}.{agg.field} does not fit in 64 bits", backend=self.name
                )
            return total
        # avg: exact, rounded once
        if is_int:
            return sum(values) / len(values)
        if any(math.isinf(v) for v in values):
            return _exact_float_sum(values)
        return float(sum(map(Fraction, values), Fraction(0)) / len(values))
