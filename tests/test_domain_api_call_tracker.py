"""store.api_call_tracker on both backends: calls written as the records migration writes,
statistics (p95 and error types included) equal to a plain Python computation over the
same rows, as APICallTracker computes them."""

from __future__ import annotations

import collections
import datetime as dt
import math
from typing import Any, Dict, List, Optional

from _api_statistics import assert_statistics, reference_statistics
from hypothesis import given
from hypothesis import strategies as st

from storekit import Store
from storekit.domain.api_call_tracker import p95_index
from storekit.records import ApiCall

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
ENDPOINTS = ["/quote", "/order", "/balance"]
ERRORS = ["timeout", "HTTP 500", "rate limit"]


def _clear(store: Store) -> None:
    store.delete(ApiCall)


def _expected(rows: List[ApiCall], endpoint: str, hours: float) -> Optional[Dict[str, Any]]:
    return reference_statistics(rows, endpoint, NOW - dt.timedelta(hours=hours), NOW)


calls = st.builds(
    ApiCall,
    timestamp=st.one_of(
        st.sampled_from([NOW, NOW - dt.timedelta(hours=24), NOW - dt.timedelta(hours=24, microseconds=1)]),
        st.integers(-30 * 3600, 3600).map(lambda s: NOW + dt.timedelta(seconds=s)),
    ),
    endpoint=st.sampled_from(ENDPOINTS),
    method=st.sampled_from(["GET", "POST"]),
    response_time=st.one_of(st.sampled_from([1.0, 2.0, 50.0]), st.floats(0, 1e6, allow_nan=False)),
    request_size=st.one_of(st.none(), st.integers(0, 10_000)),
    response_size=st.one_of(st.none(), st.integers(0, 10**9)),
    success=st.one_of(st.none(), st.booleans()),
    error_message=st.one_of(st.none(), st.sampled_from(ERRORS)),
)


@given(rows=st.lists(calls, max_size=60), hours=st.sampled_from([1, 24, 48]))
def test_api_statistics_equal_a_python_computation_over_the_same_rows(
    storekit_session_store: Store, rows: List[ApiCall], hours: int
) -> None:
    store = storekit_session_store
    _clear(store)
    store.put_many(rows)
    for endpoint in ENDPOINTS:
        got = store.api_call_tracker.get_api_statistics(endpoint, hours=hours, now=NOW)
        assert_statistics(got, _expected(rows, endpoint, hours))
    _clear(store)


@given(rows=st.lists(calls, max_size=60))
def test_traffic_report_equals_a_python_computation_over_the_same_rows(
    storekit_session_store: Store, rows: List[ApiCall]
) -> None:
    store = storekit_session_store
    _clear(store)
    store.put_many(rows)
    report = store.api_call_tracker.generate_traffic_report(24, now=NOW)
    window = [r for r in rows if NOW - dt.timedelta(hours=24) <= r.timestamp <= NOW]
    assert report["total_calls"] == len(window)
    assert report["successful_calls"] == sum(1 for r in window if r.success is True)
    assert set(report["endpoints"]) == {r.endpoint for r in window}
    for endpoint, e in report["endpoints"].items():
        expected = _expected(rows, endpoint, 24)
        assert expected is not None
        assert e["total_calls"] == expected["total_calls"]
        assert e["failed_calls"] == expected["failed_calls"]
        assert e["max_response_time"] == expected["max_response_time"]
        assert math.isclose(e["avg_response_time"], expected["avg_response_time"], rel_tol=1e-9, abs_tol=1e-9)
    errors = collections.Counter(r.error_message for r in window if r.success is False and r.error_message)
    assert report["error_types"] == dict(errors)
    _clear(store)


def test_p95_index_is_nearest_rank_on_the_sorted_values() -> None:
    for n in range(1, 500):
        values = list(range(n))
        assert values[p95_index(n)] == sorted(values)[int(0.95 * len(values))]


def test_record_api_call_writes_the_record_the_migration_writes(storekit_store: Store) -> None:
    tracker = storekit_store.api_call_tracker
    before = dt.datetime.now(UTC)
    tracker.record_api_call("/quote", response_time=12.5, request_size=10, response_size=300)
    tracker.record_api_call("/order", "POST", 80.0, 5, 6, 500, False, "HTTP 500", "ua", "127.0.0.1", "s1")
    rows = {r.endpoint: r for r in storekit_store.find(ApiCall)}
    quote, order = rows["/quote"], rows["/order"]
    assert (quote.method, quote.response_time, quote.status_code, quote.success) == ("GET", 12.5, 200, True)
    assert quote.timestamp >= before and quote.timestamp.tzinfo is not None
    assert (order.success, order.error_message, order.session_id, order.ip_address) == (
        False,
        "HTTP 500",
        "s1",
        "127.0.0.1",
    )
    assert quote.id != order.id


def test_statistics_count_a_call_recorded_just_before(storekit_store: Store) -> None:
    tracker = storekit_store.api_call_tracker
    assert tracker.get_api_statistics("/quote") is None
    tracker.record_api_call("/quote", response_time=5.0)
    first = tracker.get_api_statistics("/quote")
    tracker.record_api_call("/quote", response_time=7.0, success=False, error_message="timeout")
    second = tracker.get_api_statistics("/quote")  # never a cached, stale answer
    assert first is not None and second is not None
    assert (first.total_calls, second.total_calls, second.failed_calls) == (1, 2, 1)
    assert second.error_types == {"timeout": 1} and second.p95_response_time == 7.0


def test_endpoint_list_is_every_endpoint_sorted(storekit_store: Store) -> None:
    tracker = storekit_store.api_call_tracker
    for endpoint in ["/b", "/a", "/b", "/c"]:
        tracker.record_api_call(endpoint)
    assert tracker.get_endpoint_list() == ["/a", "/b", "/c"]
    assert [c.endpoint for c in tracker.get_recent_calls(60)] == ["/b", "/a", "/b", "/c"]


def test_statistics_are_read_from_the_covering_indexes_without_a_sort_on_sqlite(tmp_path: Any) -> None:
    """The plans SQLite chooses for get_api_statistics' statements: the aggregate from
    the covering (endpoint, timestamp) index, the p95 row walking (endpoint,
    response_time, id) in order; no full scan of api_calls and no sort of the calls."""
    import sqlalchemy as sa

    from storekit import open_store

    statements: List[Any] = []
    with open_store(f"sqlite:///{tmp_path}/store.db") as store:
        calls = [
            ApiCall(
                id=i + 1,
                timestamp=NOW - dt.timedelta(minutes=i),
                endpoint=ENDPOINTS[i % 3],
                method="GET",
                response_time=float(i % 97),
                success=i % 7 != 0,
                error_message=None if i % 7 else "timeout",
            )
            for i in range(2000)
        ]
        store.append(calls)
        engine = store.backend.engine  # type: ignore[attr-defined]

        def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            if "api_calls" in statement:
                statements.append((statement, parameters))

        sa.event.listen(engine, "before_cursor_execute", keep)
        assert store.api_call_tracker.get_api_statistics("/order", hours=24, now=NOW) is not None
        sa.event.remove(engine, "before_cursor_execute", keep)
        with engine.connect() as conn:
            plans = [
                [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                for statement, parameters in statements
            ]
    assert len(plans) == 2, statements
    aggregate, p95 = plans
    assert any("COVERING INDEX ix_api_calls_endpoint_timestamp" in step for step in aggregate), aggregate
    assert any("COVERING INDEX ix_api_calls_endpoint_response_time_id" in step for step in p95), p95
    assert not any("ix_api_calls_endpoint_timestamp" in step for step in p95), p95  # the row read by key
    # the only sort left is of the one row the page holds (the outer read by key)
    assert sum("TEMP B-TREE" in step for step in p95) <= 1, p95
    assert not any(step.startswith("SCAN api_calls") for plan in plans for step in plan), plans
