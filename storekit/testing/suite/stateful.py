"""Equivalence, proven: the backend and the reference model
(:class:`storekit.testing.ReferenceBackend`, the oracle) run the same random operations
(upserts, appends, deletes, queries, counts, aggregates, transactions) and must return
the same results.

Values come from small pools so that keys collide and filters hit, and the pools hold
the hard values: ``-0.0``, ``5e-324``, the int64 bounds, the date bounds, the same instant
in several UTC offsets, empty, Korean and emoji text. Transactions are exercised only on
backends that declare :attr:`storekit.Capability.TRANSACTIONS`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from storekit import (
    Agg,
    AggregateOverflowError,
    BackendInfo,
    Capability,
    Eq,
    In,
    Order,
    Range,
    Store,
    StorekitError,
)
from storekit.query import Filter
from storekit.records import ApiCall, DailyStrategyReturn, FieldSpec, Kind, Record, ScreeningHistory, spec_of

from ..compare import record_diff, same_value
from ..reference import ReferenceBackend
from ..strategies import records

__all__ = [
    "test_avg_of_floats_beyond_1e154",
    "test_backend_agrees_with_the_reference_model",
    "test_int_operands_of_float_fields_compare_as_the_float_a_record_holds",
    "test_int_sum_is_exact_when_a_running_total_overflows",
    "test_ranges_and_pages_on_boolean_fields",
]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

TYPES: Tuple[type, ...] = (ScreeningHistory, ApiCall, DailyStrategyReturn)
"""Three key shapes: (text, date); one int id; (text, date) with only floats besides."""

UTC = dt.timezone.utc
INSTANT = dt.datetime(2026, 1, 10, 0, 0, tzinfo=UTC)

# Float sums and averages are compared up to rounding (the contract leaves the order of
# summation open). Keeping |x| <= 1e300 in the fields that are summed keeps every partial
# sum finite whatever the order, so the comparison stays meaningful; ``per`` (documented
# as possibly +inf) keeps the infinities and is only filtered, ordered, min/max'd and counted.
BOUNDED_FLOATS = (0.0, -0.0, 1.5, -2.25, 0.1, 100.0, 1e300, -1e300, 5e-324, 3, 2**53 + 1)
"""The ints are there because float fields and filters on them take ints (2**53 + 1 is
no float: records store 2.0**53)."""
UNBOUNDED = {"per"}

POOLS_BY_KIND: Dict[Kind, Tuple[Any, ...]] = {
    Kind.TEXT: ("", "a", "B", "한글", "📈"),
    Kind.INT: (INT64_MIN, -1, 0, 1, 2**62, INT64_MAX),
    Kind.FLOAT: BOUNDED_FLOATS,
    Kind.BOOL: (False, True),
    Kind.DATE: (dt.date.min, dt.date(2026, 1, 10), dt.date(2026, 1, 11), dt.date.max),
    Kind.TIMESTAMP: (
        INSTANT,
        INSTANT.astimezone(dt.timezone(dt.timedelta(hours=9))),  # the same instant
        (INSTANT + dt.timedelta(microseconds=1)).astimezone(dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        dt.datetime.min.replace(tzinfo=UTC),
        dt.datetime.max.replace(tzinfo=UTC).astimezone(dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC).astimezone(dt.timezone(dt.timedelta(hours=14))),
    ),
}
POOLS_BY_NAME: Dict[str, Tuple[Any, ...]] = {
    "stock_code": ("005930", "000660", "37550L", "000000"),
    "per": (math.inf, -math.inf, 0.0, -0.0, 15.0),
}


def full_order(record_type: type, order: Sequence[Order]) -> Tuple[Order, ...]:
    """``order`` with the record key appended, so the order is total (as the contract has it)."""
    named = {o.field for o in order}
    return tuple(order) + tuple(Order(k) for k in spec_of(record_type).key if k not in named)


def pool(field: FieldSpec) -> Tuple[Any, ...]:
    values = POOLS_BY_NAME.get(field.name, POOLS_BY_KIND.get(field.kind, ()))
    return (*values, None) if field.nullable else values


def fields_of(record_type: type) -> List[FieldSpec]:
    """The fields queries may use (JSON cannot be filtered, ordered or grouped)."""
    return [f for f in spec_of(record_type).fields if f.kind is not Kind.JSON]


def pooled_records(record_type: type) -> st.SearchStrategy[Record]:
    return records(record_type, **{f.name: st.sampled_from(pool(f)) for f in spec_of(record_type).fields})


ANY_RECORD = st.one_of(*[pooled_records(t) for t in TYPES])


def a_filter(record_type: type) -> st.SearchStrategy[Filter]:
    def for_field(f: FieldSpec) -> st.SearchStrategy[Filter]:
        values = st.sampled_from(pool(f))
        bound = st.one_of(st.none(), st.sampled_from([v for v in pool(f) if v is not None]))
        return st.one_of(
            st.builds(Eq, st.just(f.name), values),
            st.builds(In, st.just(f.name), st.lists(values, max_size=3)),
            st.builds(Range, st.just(f.name), ge=bound, gt=bound, le=bound, lt=bound),
        )

    return st.sampled_from(fields_of(record_type)).flatmap(for_field)


def filters(record_type: type) -> st.SearchStrategy[List[Filter]]:
    return st.lists(a_filter(record_type), max_size=2)


def orders(record_type: type) -> st.SearchStrategy[List[Order]]:
    return st.lists(
        st.builds(Order, st.sampled_from([f.name for f in fields_of(record_type)]), st.booleans()),
        max_size=3,
        unique_by=lambda o: o.field,
    )


def aggs(record_type: type) -> st.SearchStrategy[List[Agg]]:
    fields = fields_of(record_type)
    summable = [f.name for f in fields if f.kind in (Kind.INT, Kind.FLOAT) and f.name not in UNBOUNDED]
    names = [f.name for f in fields]
    one = st.one_of(
        st.just(Agg("count")),
        st.builds(Agg, st.sampled_from(("count", "min", "max")), st.sampled_from(names)),
        st.builds(Agg, st.sampled_from(("sum", "avg")), st.sampled_from(summable)),
    )
    return st.lists(one, min_size=1, max_size=4, unique_by=lambda a: a.label)


# -- comparing results -------------------------------------------------------------------


def _group_value_diff(kind: Kind, a: Any, b: Any, where: str) -> List[str]:
    # -0.0 and 0.0 are equal, so they fall in one group (and tie for min/max); which of the
    # two represents it is not specified (storekit.query).
    if isinstance(a, float) and isinstance(b, float):
        return [] if a == b else [f"{where}: {a!r} != {b!r}"]
    return [] if same_value(kind, a, b) else [f"{where}: {a!r} != {b!r}"]


def _close(a: Any, b: Any, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if type(a) is not float or type(b) is not float:
        return False
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return abs(a - b) <= max(1e-9 * max(abs(a), abs(b)), tolerance)


class Outcome:
    """What one store did with one operation: a result or a storekit error."""

    def __init__(self, store: Store, op: Callable[[Store], Any]) -> None:
        self.error: Optional[StorekitError] = None
        self.value: Any = None
        try:
            self.value = op(store)
        except StorekitError as exc:
            self.error = exc


class Equivalence(RuleBasedStateMachine):
    stores: ClassVar[Sequence[Store]] = ()
    """The reference model first, then the backend under test."""
    transactions: ClassVar[bool] = True
    """Whether the backend declares :attr:`storekit.Capability.TRANSACTIONS`."""

    def __init__(self) -> None:
        super().__init__()
        for store in self.stores:
            with store.transaction():
                for record_type in TYPES:
                    store.delete(record_type)
        self.pages: Dict[type, List[Record]] = {}

    @property
    def reference(self) -> Store:
        return self.stores[0]

    def agree(self, what: str, op: Callable[[Store], Any], diff: Callable[[Any, Any], List[str]]) -> Any:
        """Run ``op`` on every store; all must raise the same storekit error or return
        results without differences from the reference's. Returns the reference's."""
        expected, *others = [Outcome(s, op) for s in self.stores]
        for store, got in zip(self.stores[1:], others):
            name = store.backend.name
            if expected.error is not None or got.error is not None:
                assert type(got.error) is type(expected.error), (
                    f"{what}: the reference {'raised ' + repr(expected.error) if expected.error else 'succeeded'}"
                    f", {name} {'raised ' + repr(got.error) if got.error else 'succeeded'}"
                )
                continue
            problems = diff(expected.value, got.value)
            assert not problems, f"{what}: {name} differs from the reference:\n" + "\n".join(problems)
        return expected.value

    @staticmethod
    def equal(a: Any, b: Any) -> List[str]:
        return [] if a == b else [f"{a!r} != {b!r}"]

    @staticmethod
    def same_records(a: List[Record], b: List[Record]) -> List[str]:
        if len(a) != len(b):
            return [f"{len(a)} records != {len(b)} records", f"reference: {a!r}", f"backend:   {b!r}"]
        return [f"#{i}: {d}" for i, (x, y) in enumerate(zip(a, b)) for d in [record_diff(x, y)] if d]

    # -- writes ------------------------------------------------------------------------

    @rule(rec=ANY_RECORD)
    def put(self, rec: Record) -> None:
        self.agree(f"put({rec!r})", lambda s: s.put(rec), self.equal)

    @rule(recs=st.lists(ANY_RECORD, min_size=1, max_size=6))
    def put_many(self, recs: List[Record]) -> None:
        self.agree(f"put_many({recs!r})", lambda s: s.put_many(recs), self.equal)

    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        record_type = data.draw(st.sampled_from(TYPES))
        recs = data.draw(st.lists(pooled_records(record_type), min_size=1, max_size=4))
        self.agree(f"append({recs!r})", lambda s: s.append(recs), self.equal)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        record_type = data.draw(st.sampled_from(TYPES))
        where = data.draw(filters(record_type))
        self.agree(f"delete({record_type.__name__}, {where!r})", lambda s: s.delete(record_type, *where), self.equal)

    @precondition(lambda self: self.transactions)
    @rule(recs=st.lists(ANY_RECORD, min_size=1, max_size=4), data=st.data())
    def committed_transaction(self, recs: List[Record], data: st.DataObject) -> None:
        record_type = data.draw(st.sampled_from(TYPES))
        where = data.draw(filters(record_type))

        def op(s: Store) -> int:
            with s.transaction():
                s.put_many(recs)
                return s.delete(record_type, *where)

        self.agree(f"transaction: put_many({recs!r}), delete({where!r})", op, self.equal)

    @precondition(lambda self: self.transactions)
    @rule(recs=st.lists(ANY_RECORD, min_size=1, max_size=4))
    def rolled_back_transaction(self, recs: List[Record]) -> None:
        class Abort(Exception):
            pass

        def op(s: Store) -> None:
            with contextlib.suppress(Abort), s.transaction():
                s.put_many(recs)
                raise Abort

        self.agree(f"rolled back put_many({recs!r})", op, self.equal)

    # -- reads -------------------------------------------------------------------------

    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        record_type = data.draw(st.sampled_from(TYPES))
        spec = spec_of(record_type)
        key = tuple(data.draw(st.sampled_from(pool(spec.field(k)))) for k in spec.key)

        def diff(a: Optional[Record], b: Optional[Record]) -> List[str]:
            if a is None or b is None:
                return [] if a is b else [f"{a!r} != {b!r}"]
            return [record_diff(a, b)] if record_diff(a, b) else []

        self.agree(f"get({record_type.__name__}, {key!r})", lambda s: s.get(record_type, *key), diff)

    @rule(data=st.data())
    def find(self, data: st.DataObject) -> None:
        record_type = data.draw(st.sampled_from(TYPES))
        where = data.draw(filters(record_type))
        order = data.draw(orders(record_type))
        limit = data.draw(st.one_of(st.none(), st.integers(0, 5)))
        full = full_order(record_type, order)
        after_tuple = st.tuples(*[st.sampled_from(pool(spec_of(record_type).field(o.field))) for o in full])
        page = self.pages.get(record_type, [])
        after = data.draw(st.one_of(st.none(), after_tuple, *([st.sampled_from(page)] if page else [])))
        what = f"find({record_type.__name__}, {where!r}, order_by={order!r}, limit={limit!r}, after={after!r})"
        found = self.agree(
            what,
            lambda s: list(s.find(record_type, *where, order_by=order, limit=limit, after=after)),
            self.same_records,
        )
        if found:
            self.pages[record_type] = found

    @rule(data=st.data())
    def count(self, data: st.DataObject) -> None:
        record_type = data.draw(st.sampled_from(TYPES))
        where = data.draw(filters(record_type))
        self.agree(f"count({record_type.__name__}, {where!r})", lambda s: s.count(record_type, *where), self.equal)

    @rule(data=st.data())
    def aggregate(self, data: st.DataObject) -> None:
        record_type = data.draw(st.sampled_from(TYPES))
        where = data.draw(filters(record_type))
        group_by = data.draw(
            st.lists(st.sampled_from([f.name for f in fields_of(record_type)]), max_size=2, unique=True)
        )
        wanted = data.draw(aggs(record_type))
        what = f"aggregate({record_type.__name__}, {wanted!r}, where={where!r}, group_by={group_by!r})"
        self.agree(
            what,
            lambda s: s.aggregate(record_type, *wanted, where=where, group_by=group_by),
            lambda a, b: self.aggregate_diff(record_type, wanted, where, group_by, a, b),
        )

    def aggregate_diff(
        self,
        record_type: type,
        wanted: Sequence[Agg],
        where: Sequence[Filter],
        group_by: Sequence[str],
        expected: List[Dict[str, Any]],
        got: List[Dict[str, Any]],
    ) -> List[str]:
        if len(expected) != len(got):
            return [f"{len(expected)} groups != {len(got)} groups", f"reference: {expected!r}", f"backend:   {got!r}"]
        spec = spec_of(record_type)
        problems: List[str] = []
        for i, (a, b) in enumerate(zip(expected, got)):
            if set(a) != set(b):
                problems.append(f"group #{i}: keys {sorted(a)} != {sorted(b)}")
                continue
            for name in group_by:
                problems += _group_value_diff(spec.field(name).kind, a[name], b[name], f"group #{i} {name}")
            for agg in wanted:
                x, y, where_ = a[agg.label], b[agg.label], f"group #{i} {agg.label}"
                kind = spec.field(agg.field).kind if agg.field else Kind.INT
                if agg.fn in ("sum", "avg") and (kind is Kind.FLOAT or agg.fn == "avg"):
                    rows = self.group_rows(record_type, where, {g: a[g] for g in group_by})
                    values = [getattr(r, agg.field or "") for r in rows if getattr(r, agg.field or "") is not None]
                    # the error bound of summing n values in any order: n * eps * sum(|x|)
                    tolerance = (len(values) + 1) * 2.0**-52 * sum(abs(float(v)) for v in values)
                    if agg.fn == "avg" and values:
                        tolerance /= len(values)
                    if not _close(x, y, tolerance):
                        problems.append(f"{where_}: {x!r} != {y!r} (tolerance {tolerance!r})")
                elif agg.fn in ("min", "max"):
                    problems += _group_value_diff(kind, x, y, where_)
                elif type(x) is not type(y) or x != y:
                    problems.append(f"{where_}: {x!r} != {y!r}")
        if problems:
            problems += [f"reference: {expected!r}", f"backend:   {got!r}"]
        return problems

    def group_rows(self, record_type: type, where: Sequence[Filter], group: Dict[str, Any]) -> List[Record]:
        return list(self.reference.find(record_type, *where, *[Eq(k, v) for k, v in group.items()]))

    # -- the whole state ---------------------------------------------------------------

    @invariant()
    def every_table_is_the_same(self) -> None:
        for record_type in TYPES:

            def everything(s: Store, t: type = record_type) -> List[Record]:
                return list(s.find(t))

            self.agree(f"all {record_type.__name__}", everything, self.same_records)


def test_backend_agrees_with_the_reference_model(
    storekit_store: Store, storekit_backend_info: BackendInfo
) -> None:
    class Machine(Equivalence):
        stores = (Store(ReferenceBackend(), url="reference:"), storekit_store)
        transactions = Capability.TRANSACTIONS in storekit_backend_info.capabilities

    run_state_machine_as_test(Machine, settings=settings(stateful_step_count=30))


# -- what the machine found, pinned down (each on the backend and on the reference) --------


def _api_call(i: int, **kw: Any) -> ApiCall:
    values: Dict[str, Any] = dict(timestamp=INSTANT, endpoint="/quotations", method="GET", response_time=1.0)
    return ApiCall(id=i, **{**values, **kw})


def _both(store: Store) -> List[Store]:
    """The emptied backend store and a fresh reference model."""
    return [store, Store(ReferenceBackend(), url="reference:")]


def test_int_sum_is_exact_when_a_running_total_overflows(storekit_store: Store) -> None:
    values = (INT64_MAX, 1, INT64_MIN, -5, None)  # running total passes INT64_MAX, total is -5
    for s in _both(storekit_store):
        s.put_many([_api_call(i, status_code=v) for i, v in enumerate(values)])
        assert s.aggregate(ApiCall, Agg("sum", "status_code")) == [{"sum_status_code": -5}]
        s.put_many([_api_call(9, status_code=INT64_MAX), _api_call(10, status_code=INT64_MAX)])
        with pytest.raises(AggregateOverflowError):
            s.aggregate(ApiCall, Agg("sum", "status_code"))


def test_avg_of_floats_beyond_1e154(storekit_store: Store) -> None:
    for s in _both(storekit_store):
        s.put_many([_api_call(1, response_time=1e300), _api_call(2, response_time=-2.5)])
        assert s.aggregate(ApiCall, Agg("avg", "response_time")) == [{"avg_response_time": 5e299}]


def test_ranges_and_pages_on_boolean_fields(storekit_store: Store) -> None:
    for s in _both(storekit_store):
        s.put_many([_api_call(1, success=True), _api_call(2, success=False), _api_call(3)])
        assert [r.id for r in s.find(ApiCall, Range("success", lt=True))] == [2]
        assert [r.id for r in s.find(ApiCall, Range("success", ge=False, le=True))] == [1, 2]
        page = list(s.find(ApiCall, order_by=["-success"], limit=1))
        assert [r.id for r in s.find(ApiCall, order_by=["-success"], after=page[-1])] == [2, 3]


def test_int_operands_of_float_fields_compare_as_the_float_a_record_holds(storekit_store: Store) -> None:
    big = 2**53 + 1  # no float: a record given it holds 2.0**53
    for s in _both(storekit_store):
        s.put_many([_api_call(1, response_time=big), _api_call(2, response_time=3)])
        assert s.get(ApiCall, 1).response_time == 2.0**53  # type: ignore[union-attr]
        assert [r.id for r in s.find(ApiCall, Eq("response_time", big))] == [1]
        assert [r.id for r in s.find(ApiCall, In("response_time", [big, 7]))] == [1]
        assert [r.id for r in s.find(ApiCall, Range("response_time", lt=big))] == [2]
        assert [r.id for r in s.find(ApiCall, Range("response_time", ge=3, le=3))] == [2]
        assert s.count(ApiCall, Range("response_time", gt=big)) == 0
