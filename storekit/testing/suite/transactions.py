"""Transactions across record types (needs :attr:`storekit.Capability.TRANSACTIONS`)."""

from __future__ import annotations

import datetime as dt

import pytest

from storekit import Capability, IntegrityError, Store
from storekit.records import LearningMetric, Price, ScreeningHistory, Stock

from ..plugin import requires

__all__ = [
    "test_a_failed_write_rolls_back_the_transaction",
    "test_nested_transactions_commit_with_the_outermost",
    "test_put_many_writes_referenced_records_before_those_that_reference_them",
    "test_transaction_spanning_record_types_commits_together",
    "test_transaction_spanning_record_types_rolls_back_together",
]

DAY = dt.date(2026, 1, 10)


def screening(code: str) -> ScreeningHistory:
    return ScreeningHistory(stock_code=code, stock_name=f"종목{code}", screening_date=DAY)


def metric(name: str = "avg_max_gain") -> LearningMetric:
    return LearningMetric(date=DAY, metric_type="performance", metric_name=name, value=1.0)


class Abort(Exception):
    pass


@requires(Capability.TRANSACTIONS)
def test_transaction_spanning_record_types_rolls_back_together(storekit_store: Store) -> None:
    with pytest.raises(Abort), storekit_store.transaction():
        storekit_store.put(screening("005930"))
        storekit_store.put(metric())
        raise Abort
    assert storekit_store.count(ScreeningHistory) == 0
    assert storekit_store.count(LearningMetric) == 0


@requires(Capability.TRANSACTIONS)
def test_transaction_spanning_record_types_commits_together(storekit_store: Store) -> None:
    with storekit_store.transaction():
        storekit_store.put(screening("005930"))
        storekit_store.put_many([metric("avg_max_gain"), metric("avg_max_loss")])
        assert storekit_store.count(ScreeningHistory) == 1  # reads see the transaction's writes
    assert storekit_store.count(ScreeningHistory) == 1
    assert storekit_store.count(LearningMetric) == 2


@requires(Capability.TRANSACTIONS)
def test_a_failed_write_rolls_back_the_transaction(storekit_store: Store) -> None:
    storekit_store.put(screening("000660"))
    with pytest.raises(IntegrityError), storekit_store.transaction():
        storekit_store.put(metric())
        storekit_store.append([screening("000660")])  # exists
    assert storekit_store.count(LearningMetric) == 0
    assert storekit_store.count(ScreeningHistory) == 1


@requires(Capability.TRANSACTIONS)
def test_nested_transactions_commit_with_the_outermost(storekit_store: Store) -> None:
    with pytest.raises(Abort), storekit_store.transaction():
        with storekit_store.transaction():
            storekit_store.put(screening("005930"))
        storekit_store.put(metric())
        raise Abort
    assert storekit_store.count(ScreeningHistory) == 0
    assert storekit_store.count(LearningMetric) == 0
    with storekit_store.transaction(), storekit_store.transaction():
        storekit_store.put(screening("005930"))
    assert storekit_store.count(ScreeningHistory) == 1


@requires(Capability.TRANSACTIONS)
def test_put_many_writes_referenced_records_before_those_that_reference_them(storekit_store: Store) -> None:
    """Whatever the order of the list: a backend that enforces foreign keys would refuse a
    price written before its stock."""
    stock = Stock(id=300, code="005930", name="삼성전자", market="KOSPI")
    prices = [
        Price(id=300 + i, stock_id=300, date=DAY, open_price=1.0, high_price=1.0, low_price=1.0, close_price=1.0,
              volume=i)
        for i in range(2)
    ]
    assert storekit_store.put_many([prices[0], stock, prices[1]]) == 3
    assert storekit_store.get(Stock, 300) == stock
    assert sorted(storekit_store.find(Price), key=lambda p: p.id) == prices
