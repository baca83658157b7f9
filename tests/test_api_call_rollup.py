"""The per-minute rollup of api_calls (schema version 4) on both SQL backends: exact after
any mix of inserts, upserts that change a call, deletes, ``cleanup_old`` (PostgreSQL:
dropped partitions) and concurrent writers; the statistics read from it equal a plain
Python computation over the calls stored."""

from __future__ import annotations

import collections
import datetime as dt
import math
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest
import sqlalchemy as sa
from _api_statistics import assert_statistics, reference_statistics
from hypothesis import given, settings
from hypothesis import strategies as st

from storekit import Eq, Range, Store, open_store
from storekit.records import ApiCall

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
ENDPOINTS = ["/quote", "/order"]
ERRORS = ["timeout", "HTTP 500", ""]

Group = Tuple[str, dt.datetime, Optional[bool], Optional[str]]


def _check_statistics(store: Store, rows: List[ApiCall], now: dt.datetime, hours: float) -> None:
    for endpoint in ENDPOINTS:
        got = store.api_call_tracker.get_api_statistics(endpoint, hours=hours, now=now)
        assert_statistics(got, reference_statistics(rows, endpoint, now - dt.timedelta(hours=hours), now))


def _minute(t: dt.datetime) -> dt.datetime:
    return t.astimezone(UTC).replace(second=0, microsecond=0)


def _rollup_rows(store: Store) -> Dict[Group, Dict[str, Any]]:
    backend: Any = store.backend
    with backend._connection(write=False) as conn:
        result = conn.exec_driver_sql(
            "SELECT endpoint, minute, outcome, error_null, error_message, calls, sum_response_time, "
            "min_response_time, max_response_time, request_size_hi, request_size_lo, response_size_hi, "
            "response_size_lo, stale FROM storekit_api_calls_rollup"
        ).all()
    out: Dict[Group, Dict[str, Any]] = {}
    for r in result:
        minute = r[1] if isinstance(r[1], dt.datetime) else dt.datetime.fromisoformat(r[1])
        key = (r[0], minute, None if r[2] == -1 else bool(r[2]), None if r[3] else r[4])
        out[key] = {
            "calls": r[5],
            "sum": float(r[6]),
            "min": r[7],
            "max": r[8],
            "request": (r[9] << 32) + r[10],
            "response": (r[11] << 32) + r[12],
            "stale": bool(r[13]),
        }
    return out


def _check_rollup(store: Store, rows: List[ApiCall]) -> None:
    """Every group of the stored calls has its rollup row with their count, and a group not
    marked stale has their exact minimum, maximum and sums; no row without calls."""
    groups: Dict[Group, List[ApiCall]] = collections.defaultdict(list)
    for r in rows:
        groups[(r.endpoint, _minute(r.timestamp), r.success, r.error_message)].append(r)
    rollup = _rollup_rows(store)
    assert set(rollup) == set(groups)
    for key, calls in groups.items():
        row = rollup[key]
        assert row["calls"] == len(calls), key
        if row["stale"]:
            continue
        times = [c.response_time for c in calls]
        assert (row["min"], row["max"]) == (min(times), max(times)), key
        assert math.isclose(row["sum"], math.fsum(times), rel_tol=1e-12, abs_tol=1e-9), key
        assert row["request"] == sum(c.request_size or 0 for c in calls), key
        assert row["response"] == sum(c.response_size or 0 for c in calls), key


def _stored(store: Store) -> List[ApiCall]:
    return list(store.find(ApiCall))


offsets = st.one_of(
    st.sampled_from([0, -60, -61, -3600, -24 * 3600, -24 * 3600 - 1]),
    st.integers(-150, 0),  # three minutes: groups of several calls, then changed and deleted
    st.integers(-150, 0),
    st.integers(-40 * 3600, 3600),
)
calls = st.builds(
    ApiCall,
    id=st.integers(1, 25),
    timestamp=st.tuples(offsets, st.sampled_from([0, 1, 999_999, 500_000])).map(
        lambda o: NOW + dt.timedelta(seconds=o[0], microseconds=o[1])
    ),
    endpoint=st.sampled_from(ENDPOINTS),
    method=st.just("GET"),
    response_time=st.one_of(st.sampled_from([0.0, 1.0, 2.5, 1e6]), st.floats(0, 1e6, allow_nan=False)),
    request_size=st.one_of(st.none(), st.integers(0, 10_000), st.just(2**62)),
    response_size=st.one_of(st.none(), st.integers(0, 10**9)),
    success=st.sampled_from([True, True, True, False, None]),
    error_message=st.sampled_from([None, None, None, *ERRORS]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put_many"), st.lists(calls, max_size=15)),
        st.tuples(st.just("append"), st.lists(calls, max_size=8)),
        st.tuples(st.just("delete_id"), st.integers(1, 25)),
        st.tuples(st.just("delete_before"), st.integers(0, 200)),
        st.tuples(st.just("delete_endpoint"), st.sampled_from(ENDPOINTS)),
        st.tuples(st.just("cleanup_old"), st.sampled_from([0.0, 0.5, 1.0, 1.5])),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60)
@given(ops=operations, hours=st.sampled_from([0.01, 1, 24, 48]), shift=st.integers(-90, 90))
def test_statistics_stay_equal_to_a_python_computation_through_any_writes(
    storekit_session_store: Store, ops: List[Tuple[str, Any]], hours: float, shift: int
) -> None:
    store = storekit_session_store
    store.delete(ApiCall)
    for op, arg in ops:
        if op == "put_many":
            store.put_many(arg)
        elif op == "append":
            fresh = {c.id: c for c in arg if store.get(ApiCall, c.id) is None}
            store.append(fresh.values())
        elif op == "delete_id":
            store.delete(ApiCall, Eq("id", arg))
        elif op == "delete_before":  # part of a minute's calls
            store.delete(ApiCall, Range("timestamp", lt=NOW - dt.timedelta(seconds=arg)))
        elif op == "delete_endpoint":
            store.delete(ApiCall, Eq("endpoint", arg), Range("timestamp", ge=NOW - dt.timedelta(hours=30)))
        else:
            store.api_call_tracker.cleanup_old(days=arg, now=NOW)
        rows = _stored(store)
        _check_rollup(store, rows)
    rows = _stored(store)
    _check_statistics(store, rows, NOW + dt.timedelta(seconds=shift, microseconds=shift * 7919), hours)
    report = store.api_call_tracker.generate_traffic_report(hours, now=NOW)
    window = [r for r in rows if NOW - dt.timedelta(hours=hours) <= r.timestamp <= NOW]
    assert report["total_calls"] == len(window)
    assert report["error_types"] == dict(
        collections.Counter(r.error_message for r in window if r.success is False and r.error_message is not None)
    )
    store.delete(ApiCall)
    assert _rollup_rows(store) == {}


def _call(i: int, second: float, endpoint: str = "/quote", **kw: Any) -> ApiCall:
    values: Dict[str, Any] = {"method": "GET", "response_time": float(i % 17), "request_size": i, "success": True}
    values.update(kw)
    return ApiCall(id=i, timestamp=NOW - dt.timedelta(seconds=second), endpoint=endpoint, **values)


def test_concurrent_writers_lose_no_call_of_the_rollup(storekit_store: Store) -> None:
    """Threads (their own connections) inserting, changing and deleting calls of the same
    minutes at once: the rollup is exact after, as the statistics."""
    store = storekit_store
    errors: List[BaseException] = []

    def writer(n: int) -> None:
        try:
            base = 1000 * (n + 1)
            for k in range(30):
                store.append([_call(base + k, (k % 3) * 7 + n, success=k % 4 != 0)])
                if k % 5 == 4:
                    store.put(_call(base + k - 1, 5.0, response_time=99.5, success=False, error_message="timeout"))
                if k % 7 == 6:
                    store.delete(ApiCall, Eq("id", base + k - 2))
            store.put_many([_call(base + 100 + k, 61.0 + k, endpoint="/order") for k in range(20)])
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    rows = _stored(store)
    assert len(rows) == 4 * (30 - 4 + 20)
    _check_rollup(store, rows)
    _check_statistics(store, rows, NOW, 1)


def test_a_store_without_the_rollup_table_answers_from_the_calls(tmp_path: Any) -> None:
    """Statistics through the generic path when the backend keeps no rollup: the memory
    backend (conformance kit) has no api_call_totals; a SQL store always has the table."""
    url = f"sqlite:///{tmp_path}/store.db"
    rows = [_call(i, 13.0 * i, success=i % 3 != 0, error_message=None if i % 3 else "timeout") for i in range(1, 200)]
    with open_store(url) as store:
        store.append(rows)
        fast = store.api_call_tracker.get_api_statistics("/quote", hours=1, now=NOW)
        backend: Any = store.backend
        totals = backend.api_call_totals
        backend.api_call_totals = lambda *a: None  # a backend whose dialect has no rollup
        try:
            slow = store.api_call_tracker.get_api_statistics("/quote", hours=1, now=NOW)
        finally:
            backend.api_call_totals = totals
    expected = reference_statistics(rows, "/quote", NOW - dt.timedelta(hours=1), NOW)
    assert fast is not None and fast == slow
    assert expected is not None and fast.total_calls == expected["total_calls"]


def test_cleanup_old_drops_the_rollup_of_dropped_partitions_on_postgresql(pg_schema_url: str) -> None:
    """cleanup_old drops the months before the cutoff whole (no trigger fires on a DROP):
    their rollup rows go in the same transaction."""
    months = [dt.datetime(2025, m, 15, 10, 30, tzinfo=UTC) for m in (9, 10, 11, 12)]
    rows = [
        ApiCall(id=i + 1, timestamp=t + dt.timedelta(seconds=i), endpoint="/q", method="GET", response_time=float(i))
        for i, t in enumerate(m for m in months for _ in range(5))
    ]
    with open_store(pg_schema_url) as store:
        store.append(rows)
        cutoff = dt.datetime(2025, 11, 20, tzinfo=UTC)
        assert store.api_call_tracker.cleanup_old(days=0, now=cutoff) == 10 + 5  # two months dropped, one row by row
        left = _stored(store)
        assert len(left) == 5
        _check_rollup(store, left)
        assert {k[1].month for k in _rollup_rows(store)} == {12}


def test_rows_moved_out_of_the_default_partition_are_counted_once_on_postgresql(pg_schema_url: str) -> None:
    """Calls of a month without a partition land in the DEFAULT partition (written by a role
    that may not create partitions); ``storekit schema upgrade`` moves them into a new
    partition, which re-inserts them: the rollup's trigger must not count them again."""
    from storekit.schema import upgrade

    with open_store(pg_schema_url) as store:
        store.append([_call(1, 10.0)])
        backend: Any = store.backend
        with backend.engine.begin() as conn:  # through the parent, as such a role writes
            conn.exec_driver_sql(
                "INSERT INTO api_calls (id, timestamp, endpoint, method, response_time, success) "
                "VALUES (2, '2031-05-05 10:00:00+00', '/quote', 'GET', 4.5, true)"
            )
            held = conn.exec_driver_sql("SELECT count(*) FROM api_calls_default").scalar_one()
        assert held == 1
        before = _rollup_rows(store)
    upgrade(pg_schema_url)
    with open_store(pg_schema_url) as store:
        backend = store.backend
        with backend.engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM api_calls_default").scalar_one() == 0
        assert _rollup_rows(store) == before
        _check_rollup(store, _stored(store))


def test_truncate_empties_the_rollup_on_postgresql(pg_schema_url: str) -> None:
    with open_store(pg_schema_url) as store:
        store.append([_call(i, float(i)) for i in range(1, 30)])
        backend: Any = store.backend
        with backend.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE api_calls"))
        assert _rollup_rows(store) == {}
        assert store.api_call_tracker.get_api_statistics("/quote", hours=1, now=NOW) is None


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_the_rollup_is_read_in_one_statement_from_its_key(
    backend_name: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    """get_api_statistics reads the groups in one statement, whose rollup part walks the
    rollup's key (endpoint, minute) and whose edges read the covering index."""
    url = f"sqlite:///{tmp_path}/store.db" if backend_name == "sqlite" else request.getfixturevalue("pg_schema_url")
    statements: List[str] = []
    with open_store(url) as store:
        store.append([_call(i, 7.0 * i, endpoint=ENDPOINTS[i % 2]) for i in range(1, 400)])
        engine = store.backend.engine  # type: ignore[attr-defined]

        def keep(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "storekit_api_calls_rollup" in statement:
                statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", keep)
        try:
            assert store.api_call_tracker.get_api_statistics("/order", hours=1, now=NOW) is not None
        finally:
            sa.event.remove(engine, "before_cursor_execute", keep)
    assert len(statements) == 1


def test_statistics_through_a_fallback_store_are_read_from_the_side_serving_reads(
    proxy: Any, pg_schema_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL primary with a SQLite fallback: each side keeps its own rollup with its
    own triggers, and the statistics come from the side that serves reads (the primary's
    rollup, the fallback's during an outage, the primary's again after the replay)."""
    monkeypatch.setenv("STOREKIT_FALLBACK_RETRY_MAX", "0")
    first = [_call(i, 5.0 * i) for i in range(1, 40)]
    during = [_call(i, 3.0 * (i - 100), response_time=500.0 + i) for i in range(100, 120)]
    url = proxy.url(pg_schema_url)
    with open_store(url, fallback=f"sqlite:///{tmp_path}/fallback.db", options={"connect_timeout": 3}) as store:
        tracker = store.api_call_tracker
        store.append(first)
        _check_statistics(store, first, NOW, 1)
        assert store.served_by == "primary"
        proxy.cut()
        store.append(during)  # the outage's writes go to the fallback
        _check_statistics(store, during, NOW, 1)  # the fallback holds only those
        assert store.served_by == "fallback"
        proxy.restore()
        store.sync()
        _check_statistics(store, first + during, NOW, 1)
        assert store.served_by == "primary"
        assert tracker.generate_traffic_report(1, now=NOW)["total_calls"] == len(first) + len(during)
