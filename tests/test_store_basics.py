"""The generic store operations, on every backend."""

from __future__ import annotations

import datetime as dt

import pytest

from storekit import Agg, Eq, In, IntegrityError, QueryError, Range, Store
from storekit.records import ActualPerformance, LearningMetric, ScreeningHistory

DAY = dt.date(2026, 1, 10)


def screening(code: str, day: dt.date = DAY, score: float = 50.0, **kw: object) -> ScreeningHistory:
    return ScreeningHistory(stock_code=code, stock_name=f"종목{code}", screening_date=day,
                            overall_score=score, **kw)


def test_put_then_get_returns_an_equal_record(store: Store) -> None:
    rec = screening("005930", per=float("inf"))
    store.put(rec)
    assert store.get(ScreeningHistory, "005930", DAY) == rec


def test_get_of_a_missing_key_is_none(store: Store) -> None:
    assert store.get(ScreeningHistory, "000000", DAY) is None


def test_put_replaces_by_natural_key(store: Store) -> None:
    store.put(screening("005930", score=1.0))
    store.put(screening("005930", score=2.0))
    assert store.count(ScreeningHistory) == 1
    got = store.get(ScreeningHistory, "005930", DAY)
    assert got is not None and got.overall_score == 2.0


def test_put_many_later_record_with_same_key_wins(store: Store) -> None:
    store.put_many([screening("005930", score=1.0), screening("005930", score=3.0)])
    got = store.get(ScreeningHistory, "005930", DAY)
    assert got is not None and got.overall_score == 3.0


def test_append_of_an_existing_key_raises_and_writes_nothing(store: Store) -> None:
    store.put(screening("005930"))
    with pytest.raises(IntegrityError):
        store.append([screening("000660"), screening("005930")])
    assert store.count(ScreeningHistory) == 1


def test_find_filters_order_and_limit(store: Store) -> None:
    store.put_many([screening(f"00000{i}", score=float(i)) for i in range(6)])
    found = list(store.find(ScreeningHistory, Range("overall_score", ge=2.0),
                            order_by=["-overall_score"], limit=3))
    assert [r.overall_score for r in found] == [5.0, 4.0, 3.0]
    found = list(store.find(ScreeningHistory, In("stock_code", ["000001", "000003", "999999"])))
    assert sorted(r.stock_code for r in found) == ["000001", "000003"]


def test_pages_walk_every_record_once_in_order(store: Store) -> None:
    store.put_many([screening(f"{i:06d}", score=float(i % 3)) for i in range(25)])
    pages = list(store.pages(ScreeningHistory, order_by=["overall_score"], size=4))
    seen = [r.stock_code for page in pages for r in page]
    assert len(seen) == 25 and len(set(seen)) == 25
    scores = [r.overall_score for page in pages for r in page]
    assert scores == sorted(scores)


def test_eq_none_matches_null(store: Store) -> None:
    store.put_many([screening("000001", sector=None), screening("000002", sector="반도체")])
    assert [r.stock_code for r in store.find(ScreeningHistory, Eq("sector", None))] == ["000001"]


def test_aggregate_groups_and_functions(store: Store) -> None:
    store.put_many([screening(f"00000{i}", day=DAY + dt.timedelta(days=i % 2), score=float(i))
                    for i in range(4)])
    rows = store.aggregate(ScreeningHistory, Agg("count"), Agg("sum", "overall_score"),
                           Agg("avg", "overall_score"), Agg("max", "stock_code"),
                           group_by=["screening_date"])
    assert rows == [
        {"screening_date": DAY, "count": 2, "sum_overall_score": 2.0, "avg_overall_score": 1.0,
         "max_stock_code": "000002"},
        {"screening_date": DAY + dt.timedelta(days=1), "count": 2, "sum_overall_score": 4.0,
         "avg_overall_score": 2.0, "max_stock_code": "000003"},
    ]


def test_delete_by_filter_returns_the_count(store: Store) -> None:
    store.put_many([screening(f"00000{i}") for i in range(3)])
    assert store.delete(ScreeningHistory, Eq("stock_code", "000001")) == 1
    assert store.count(ScreeningHistory) == 2


def test_transaction_spanning_record_types_rolls_back_together(store: Store) -> None:
    metric = LearningMetric(date=DAY, metric_type="performance", metric_name="x", value=1.0)
    with pytest.raises(RuntimeError), store.transaction():
        store.put(screening("005930"))
        store.put(metric)
        raise RuntimeError("abort")
    assert store.count(ScreeningHistory) == 0
    assert store.count(LearningMetric) == 0


def test_query_on_an_unknown_or_json_field_is_a_query_error(store: Store) -> None:
    with pytest.raises(QueryError, match="no field 'nope'"):
        list(store.find(ScreeningHistory, Eq("nope", 1)))
    with pytest.raises(QueryError, match="JSON"):
        list(store.find(LearningMetric, Eq("metadata", {})))


def test_filter_value_of_the_wrong_type_is_a_query_error(store: Store) -> None:
    with pytest.raises(QueryError, match="screening_date"):
        list(store.find(ScreeningHistory, Eq("screening_date", "2026-01-10")))


def test_dangling_reference_is_an_integrity_error(store: Store) -> None:
    orphan = ActualPerformance(
        performance_id="p1", prediction_id="missing", execution_date=DAY, completion_date=DAY,
        executed_stocks=["005930"], actual_returns={}, actual_weights={}, status="completed",
    )
    with pytest.raises(IntegrityError):
        store.put(orphan)


def test_int_sum_beyond_int64_is_an_aggregate_overflow_error(store: Store) -> None:
    from storekit import AggregateOverflowError
    from storekit.records import ApiCall

    at = dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc)
    store.put_many([ApiCall(timestamp=at, endpoint="/x", method="GET", response_time=1.0,
                            request_size=2**62) for _ in range(3)])
    with pytest.raises(AggregateOverflowError):
        store.aggregate(ApiCall, Agg("sum", "request_size"))


def test_min_of_a_bool_field_is_a_query_error_on_every_backend(store: Store) -> None:
    with pytest.raises(QueryError, match="min/max of bool"):
        store.aggregate(ScreeningHistory, Agg("min", "passed"))


def test_float_fields_take_int_filter_values(store: Store) -> None:
    store.put_many([screening("000001", score=70.0), screening("000002", score=69.5)])
    assert [r.stock_code for r in store.find(ScreeningHistory, Range("overall_score", ge=70))] == ["000001"]
