"""Declared references (needs :attr:`storekit.Capability.FOREIGN_KEYS`)."""

from __future__ import annotations

import datetime as dt

import pytest

from storekit import Capability, IntegrityError, Store
from storekit.records import ActualPerformance, BacktestPrediction

from ..plugin import requires

__all__ = [
    "test_a_dangling_reference_is_an_integrity_error",
    "test_deleting_a_referenced_record_is_an_integrity_error",
]

DAY = dt.date(2026, 1, 10)


def prediction(prediction_id: str) -> BacktestPrediction:
    return BacktestPrediction(prediction_id=prediction_id, strategy_name="s", prediction_date=DAY,
                              target_stocks=["005930"], predicted_returns={}, predicted_weights={})


def performance(prediction_id: str) -> ActualPerformance:
    return ActualPerformance(
        performance_id="p1", prediction_id=prediction_id, execution_date=DAY, completion_date=DAY,
        executed_stocks=["005930"], actual_returns={}, actual_weights={}, status="completed",
    )


@requires(Capability.FOREIGN_KEYS)
def test_a_dangling_reference_is_an_integrity_error(storekit_store: Store) -> None:
    with pytest.raises(IntegrityError):
        storekit_store.put(performance("missing"))
    assert storekit_store.count(ActualPerformance) == 0
    storekit_store.put_many([prediction("present"), performance("present")])  # parent first: fine
    assert storekit_store.count(ActualPerformance) == 1


@requires(Capability.FOREIGN_KEYS)
def test_deleting_a_referenced_record_is_an_integrity_error(storekit_store: Store) -> None:
    storekit_store.put_many([prediction("p"), performance("p")])
    with pytest.raises(IntegrityError):
        storekit_store.delete(BacktestPrediction)
    assert storekit_store.count(BacktestPrediction) == 1
