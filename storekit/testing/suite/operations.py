"""The generic store operations: put, get, put_many, append, find, pages, aggregate,
delete and count."""

from __future__ import annotations

import datetime as dt
from typing import Any, List

import pytest

from storekit import (
    Agg,
    AggregateOverflowError,
    Eq,
    In,
    IntegrityError,
    QueryError,
    Range,
    Store,
)
from storekit.records import ApiCall, LearningMetric, ScreeningHistory

__all__ = [
    "test_aggregate_groups_and_functions",
    "test_append_of_an_existing_key_raises_and_writes_nothing",
    "test_append_with_a_duplicate_inside_the_call_raises_and_writes_nothing",
    "test_count_with_and_without_filters",
    "test_delete_by_filter_returns_the_count",
    "test_delete_without_filters_empties_the_type",
    "test_eq_none_matches_null",
    "test_filter_value_of_the_wrong_type_is_a_query_error",
    "test_find_filters_order_and_limit",
    "test_float_fields_take_int_filter_values",
    "test_get_of_a_missing_key_is_none",
    "test_int_sum_beyond_int64_is_an_aggregate_overflow_error",
    "test_keyset_and_limit_values_of_the_wrong_type_are_query_errors",
    "test_min_of_a_bool_field_is_a_query_error",
    "test_pages_walk_every_record_once_in_order",
    "test_put_many_later_record_with_same_key_wins",
    "test_put_replaces_by_natural_key",
    "test_put_then_get_returns_an_equal_record",
    "test_query_on_an_unknown_or_json_field_is_a_query_error",
]

DAY = dt.date(2026, 1, 10)


def screening(code: str, day: dt.date = DAY, score: float = 50.0, **kw: Any) -> ScreeningHistory:
    return ScreeningHistory(stock_code=code, stock_name=f"종목{code}", screening_date=day,
                            overall_score=score, **kw)


def test_put_then_get_returns_an_equal_record(storekit_store: Store) -> None:
    rec = screening("005930", per=float("inf"))
    storekit_store.put(rec)
    assert storekit_store.get(ScreeningHistory, "005930", DAY) == rec


def test_get_of_a_missing_key_is_none(storekit_store: Store) -> None:
    assert storekit_store.get(ScreeningHistory, "000000", DAY) is None


def test_put_replaces_by_natural_key(storekit_store: Store) -> None:
    storekit_store.put(screening("005930", score=1.0))
    storekit_store.put(screening("005930", score=2.0))
    assert storekit_store.count(ScreeningHistory) == 1
    got = storekit_store.get(ScreeningHistory, "005930", DAY)
    assert got is not None and got.overall_score == 2.0


def test_put_many_later_record_with_same_key_wins(storekit_store: Store) -> None:
    written = storekit_store.put_many([screening("005930", score=1.0), screening("005930", score=3.0)])
    got = storekit_store.get(ScreeningHistory, "005930", DAY)
    assert got is not None and got.overall_score == 3.0
    assert storekit_store.count(ScreeningHistory) == 1
    assert written == 2  # records passed in, not rows that remain


def test_append_of_an_existing_key_raises_and_writes_nothing(storekit_store: Store) -> None:
    storekit_store.put(screening("005930"))
    with pytest.raises(IntegrityError):
        storekit_store.append([screening("000660"), screening("005930")])
    assert storekit_store.count(ScreeningHistory) == 1
    assert storekit_store.get(ScreeningHistory, "000660", DAY) is None


def test_append_with_a_duplicate_inside_the_call_raises_and_writes_nothing(storekit_store: Store) -> None:
    with pytest.raises(IntegrityError):
        storekit_store.append([screening("000660"), screening("005930"), screening("000660")])
    assert storekit_store.count(ScreeningHistory) == 0


def test_find_filters_order_and_limit(storekit_store: Store) -> None:
    storekit_store.put_many([screening(f"00000{i}", score=float(i)) for i in range(6)])
    found = list(storekit_store.find(ScreeningHistory, Range("overall_score", ge=2.0),
                                     order_by=["-overall_score"], limit=3))
    assert [r.overall_score for r in found] == [5.0, 4.0, 3.0]
    found = list(storekit_store.find(ScreeningHistory, In("stock_code", ["000001", "000003", "999999"])))
    assert sorted(r.stock_code for r in found) == ["000001", "000003"]


def test_pages_walk_every_record_once_in_order(storekit_store: Store) -> None:
    storekit_store.put_many([screening(f"{i:06d}", score=float(i % 3)) for i in range(25)])
    pages = list(storekit_store.pages(ScreeningHistory, order_by=["overall_score"], size=4))
    assert [len(p) for p in pages] == [4, 4, 4, 4, 4, 4, 1]
    seen = [r.stock_code for page in pages for r in page]
    assert len(seen) == 25 and len(set(seen)) == 25
    scores: List[Any] = [r.overall_score for page in pages for r in page]
    assert scores == sorted(scores)


def test_eq_none_matches_null(storekit_store: Store) -> None:
    storekit_store.put_many([screening("000001", sector=None), screening("000002", sector="반도체")])
    assert [r.stock_code for r in storekit_store.find(ScreeningHistory, Eq("sector", None))] == ["000001"]


def test_aggregate_groups_and_functions(storekit_store: Store) -> None:
    storekit_store.put_many([screening(f"00000{i}", day=DAY + dt.timedelta(days=i % 2), score=float(i))
                             for i in range(4)])
    rows = storekit_store.aggregate(ScreeningHistory, Agg("count"), Agg("sum", "overall_score"),
                                    Agg("avg", "overall_score"), Agg("max", "stock_code"),
                                    group_by=["screening_date"])
    assert rows == [
        {"screening_date": DAY, "count": 2, "sum_overall_score": 2.0, "avg_overall_score": 1.0,
         "max_stock_code": "000002"},
        {"screening_date": DAY + dt.timedelta(days=1), "count": 2, "sum_overall_score": 4.0,
         "avg_overall_score": 2.0, "max_stock_code": "000003"},
    ]


def test_delete_by_filter_returns_the_count(storekit_store: Store) -> None:
    storekit_store.put_many([screening(f"00000{i}") for i in range(3)])
    assert storekit_store.delete(ScreeningHistory, Eq("stock_code", "000001")) == 1
    assert storekit_store.count(ScreeningHistory) == 2
    assert storekit_store.get(ScreeningHistory, "000001", DAY) is None


def test_delete_without_filters_empties_the_type(storekit_store: Store) -> None:
    storekit_store.put_many([screening(f"00000{i}") for i in range(3)])
    storekit_store.put(LearningMetric(date=DAY, metric_type="performance", metric_name="avg_max_gain", value=1.0))
    assert storekit_store.delete(ScreeningHistory) == 3
    assert storekit_store.count(ScreeningHistory) == 0
    assert storekit_store.count(LearningMetric) == 1


def test_count_with_and_without_filters(storekit_store: Store) -> None:
    assert storekit_store.count(ScreeningHistory) == 0
    storekit_store.put_many([screening(f"00000{i}", score=float(i)) for i in range(5)])
    assert storekit_store.count(ScreeningHistory) == 5
    assert storekit_store.count(ScreeningHistory, Range("overall_score", lt=2.0)) == 2
    assert storekit_store.count(ScreeningHistory, Eq("stock_code", "999999")) == 0


def test_query_on_an_unknown_or_json_field_is_a_query_error(storekit_store: Store) -> None:
    with pytest.raises(QueryError, match="no field 'nope'"):
        list(storekit_store.find(ScreeningHistory, Eq("nope", 1)))
    with pytest.raises(QueryError, match="JSON"):
        list(storekit_store.find(LearningMetric, Eq("metadata", {})))


def test_filter_value_of_the_wrong_type_is_a_query_error(storekit_store: Store) -> None:
    with pytest.raises(QueryError, match="screening_date"):
        list(storekit_store.find(ScreeningHistory, Eq("screening_date", "2026-01-10")))


def test_keyset_and_limit_values_of_the_wrong_type_are_query_errors(storekit_store: Store) -> None:
    """Checked as filter values are, before the backend sees them, so no backend answers
    a mistyped page differently (an empty page, or rows compared as text)."""
    stored = screening("005930")
    storekit_store.put(stored)
    order = ["-overall_score"]  # then the key: (overall_score, stock_code, screening_date)
    for after, field in [(("high", "005930", DAY), "overall_score"), ((50.0, 5930, DAY), "stock_code"),
                         ((50.0, "005930", "2026-01-10"), "screening_date"), ((True, "005930", DAY), "overall_score")]:
        with pytest.raises(QueryError, match=f"ScreeningHistory.{field}: bad after= value"):
            list(storekit_store.find(ScreeningHistory, order_by=order, after=after))
    after_int = (60, "005930", DAY)  # an int for a float field, as in filters
    assert list(storekit_store.find(ScreeningHistory, order_by=order, after=after_int)) == [stored]
    with pytest.raises(QueryError, match="limit"):
        list(storekit_store.find(ScreeningHistory, limit=True))


def test_int_sum_beyond_int64_is_an_aggregate_overflow_error(storekit_store: Store) -> None:
    at = dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc)
    storekit_store.put_many([ApiCall(timestamp=at, endpoint="/x", method="GET", response_time=1.0,
                                     request_size=2**62) for _ in range(3)])
    with pytest.raises(AggregateOverflowError):
        storekit_store.aggregate(ApiCall, Agg("sum", "request_size"))


def test_min_of_a_bool_field_is_a_query_error(storekit_store: Store) -> None:
    with pytest.raises(QueryError, match="min/max of bool"):
        storekit_store.aggregate(ScreeningHistory, Agg("min", "passed"))


def test_float_fields_take_int_filter_values(storekit_store: Store) -> None:
    storekit_store.put_many([screening("000001", score=70.0), screening("000002", score=69.5)])
    found = storekit_store.find(ScreeningHistory, Range("overall_score", ge=70))
    assert [r.stock_code for r in found] == ["000001"]
