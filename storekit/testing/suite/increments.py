"""Atomic increments (:meth:`storekit.Store.increment`) and ``Query.offset``."""

from __future__ import annotations

import datetime as dt
from typing import Any, List

import pytest

from storekit import AggregateOverflowError, Capability, Query, QueryError, Range, Store
from storekit.records import AlertStatistics, ApiCall, NotificationStats, ScreeningHistory

from ..plugin import requires

__all__ = [
    "test_increment_beyond_int64_is_an_aggregate_overflow_error_and_writes_nothing",
    "test_increment_inserts_then_adds_the_named_fields_and_replaces_only_those_asked",
    "test_increment_of_a_key_text_or_unset_field_is_a_query_error",
    "test_increment_rolls_back_with_its_transaction",
    "test_query_offset_skips_in_order_after_the_keyset_and_before_the_limit",
]

DAY = dt.date(2026, 1, 10)
AT = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.timezone.utc)


def test_increment_inserts_then_adds_the_named_fields_and_replaces_only_those_asked(storekit_store: Store) -> None:
    store = storekit_store
    first = NotificationStats(date=DAY, total_count=1, sent_count=1, updated_at=AT)
    store.increment(first, "total_count", "sent_count")
    assert store.get(NotificationStats, DAY) == first  # inserted as it is
    later = AT + dt.timedelta(hours=1)
    second = NotificationStats(date=DAY, total_count=2, failed_count=5, email_count=7, updated_at=later)
    store.increment(second, "total_count", "sent_count", "failed_count", replace=["updated_at"])
    got = store.get(NotificationStats, DAY)
    assert got is not None
    assert (got.total_count, got.sent_count, got.failed_count) == (3, 1, 5)  # added
    assert got.updated_at == later  # replaced
    assert got.email_count == 0  # neither: the stored value stays
    other = DAY + dt.timedelta(days=1)
    store.increment(AlertStatistics(date=other, total_alerts=1, info_alerts=1), "total_alerts", "info_alerts")
    assert store.get(AlertStatistics, other) == AlertStatistics(date=other, total_alerts=1, info_alerts=1)
    assert store.count(NotificationStats) == 1


def test_increment_of_a_key_text_or_unset_field_is_a_query_error(storekit_store: Store) -> None:
    store = storekit_store
    with pytest.raises(QueryError, match="key"):
        store.increment(NotificationStats(date=DAY), "date")
    with pytest.raises(QueryError, match="endpoint"):
        store.increment(ApiCall(id=1, timestamp=AT, endpoint="/x", method="GET", response_time=1.0), "endpoint")
    with pytest.raises(QueryError, match="request_size"):
        store.increment(ApiCall(id=1, timestamp=AT, endpoint="/x", method="GET", response_time=1.0), "request_size")
    with pytest.raises(QueryError, match="no field"):
        store.increment(NotificationStats(date=DAY), "nope")
    with pytest.raises(QueryError):
        store.increment(NotificationStats(date=DAY))
    with pytest.raises(QueryError, match="total_count"):
        store.increment(NotificationStats(date=DAY), "total_count", replace=["total_count"])
    with pytest.raises(QueryError, match="date"):
        store.increment(NotificationStats(date=DAY), "total_count", replace=["date"])
    assert store.count(NotificationStats) == 0 and store.count(ApiCall) == 0


def test_increment_beyond_int64_is_an_aggregate_overflow_error_and_writes_nothing(storekit_store: Store) -> None:
    store = storekit_store
    store.increment(AlertStatistics(date=DAY, total_alerts=2**62, info_alerts=1), "total_alerts", "info_alerts")
    with pytest.raises(AggregateOverflowError):
        store.increment(AlertStatistics(date=DAY, total_alerts=2**62, info_alerts=1), "info_alerts", "total_alerts")
    assert store.get(AlertStatistics, DAY) == AlertStatistics(date=DAY, total_alerts=2**62, info_alerts=1)


@requires(Capability.TRANSACTIONS)
def test_increment_rolls_back_with_its_transaction(storekit_store: Store) -> None:
    store = storekit_store
    store.increment(AlertStatistics(date=DAY, total_alerts=1), "total_alerts")

    class Abort(Exception):
        pass

    with pytest.raises(Abort), store.transaction():
        store.increment(AlertStatistics(date=DAY, total_alerts=1), "total_alerts")
        got = store.get(AlertStatistics, DAY)
        assert got is not None and got.total_alerts == 2  # the transaction sees its own increment
        raise Abort
    got = store.get(AlertStatistics, DAY)
    assert got is not None and got.total_alerts == 1


def test_query_offset_skips_in_order_after_the_keyset_and_before_the_limit(storekit_store: Store) -> None:
    store = storekit_store
    times = [5.0, 1.0, 3.0, 3.0, 2.0, 4.0]
    store.put_many(
        [ApiCall(id=i + 1, timestamp=AT, endpoint="/x", method="GET", response_time=t) for i, t in enumerate(times)]
    )

    def ids(**kw: Any) -> List[int]:
        query: Query[ApiCall] = Query(ApiCall, order_by=["response_time"], **kw)
        return [r.id for r in store.backend.query(query)]

    assert ids() == [2, 5, 3, 4, 6, 1]
    assert ids(offset=2) == [3, 4, 6, 1]
    assert ids(offset=2, limit=1) == [3]  # the third smallest
    assert ids(offset=3, limit=2) == [4, 6]
    assert ids(offset=6) == [] and ids(offset=9, limit=1) == []
    assert ids(after=(2.0, 5), offset=1, limit=2) == [4, 6]
    descending: Query[ApiCall] = Query(
        ApiCall, where=[Range("response_time", le=4.0)], order_by=["-response_time"], offset=1
    )
    assert [r.id for r in store.backend.query(descending)] == [3, 4, 5, 2]
    compound = [
        ScreeningHistory(stock_code=f"{i:06d}", stock_name="n", screening_date=DAY, overall_score=float(i % 3))
        for i in range(7)
    ]
    store.put_many(compound)
    by_score: Query[ScreeningHistory] = Query(ScreeningHistory, order_by=["-overall_score"], offset=2, limit=3)
    assert [r.stock_code for r in store.backend.query(by_score)] == ["000001", "000004", "000000"]
    with pytest.raises(QueryError, match="offset"):
        list(store.backend.query(Query(ApiCall, offset=-1)))
