"""``with store.transaction():`` spans several domain stores: an exception rolls back the
writes of all of them, on both backends; without one, all of them commit."""

from __future__ import annotations

import datetime as dt
from typing import Dict, Type

import pytest

from storekit import Store, records
from storekit.domain.feedback_system import PredictionResult
from storekit.domain.model_performance_monitor import ModelPerformanceMetrics
from storekit.domain.performance_tracker import BacktestPrediction
from storekit.errors import RecordValidationError

TODAY = dt.date.today()
WRITTEN: Dict[Type[records.Record], int] = {
    records.Feedback: 1,
    records.DailyStrategyReturn: 1,
    records.ModelPerformance: 1,
    records.ScreeningResult: 1,
    records.BacktestPrediction: 1,
    records.ModelPerformanceHistory: 1,
}


class Boom(Exception):
    pass


def write_through_every_domain_store(store: Store) -> None:
    day = TODAY - dt.timedelta(days=8)
    store.feedback_system.record_predictions([PredictionResult("005930", "삼성전자", day.isoformat(), 0.7, 1)])
    store.strategy_reporter.record_daily_strategy_return("momentum_strategy", day, 1.0, 3.0, 1e6, 0.5)
    store.model_performance_monitor.record_model_performance(
        ModelPerformanceMetrics("m1", "price_predictor", day, accuracy=0.8)
    )
    store.unified_db.save_screening_result(day, "005930", "삼성전자", 70.0)
    store.unified_db.save_model_performance("ensemble", day, 0.7)
    store.performance_tracker.record_backtest_prediction(
        BacktestPrediction(
            "p1", "momentum_strategy", day, ["005930"], {"005930": 0.1}, {"005930": 1.0}, model_confidence=0.9
        )
    )


def counts(store: Store) -> Dict[Type[records.Record], int]:
    return {record_type: store.count(record_type) for record_type in WRITTEN}


def test_an_exception_rolls_back_every_domain_stores_writes(storekit_store: Store) -> None:
    with pytest.raises(Boom), storekit_store.transaction():
        write_through_every_domain_store(storekit_store)
        assert counts(storekit_store) == WRITTEN  # visible inside the transaction
        raise Boom()
    assert counts(storekit_store) == dict.fromkeys(WRITTEN, 0)
    assert storekit_store.unified_db.get_model_accuracy("ensemble") is None


def test_a_rejected_write_rolls_back_the_earlier_ones(storekit_store: Store) -> None:
    with pytest.raises(RecordValidationError), storekit_store.transaction():
        write_through_every_domain_store(storekit_store)
        storekit_store.unified_db.save_feedback("bad-id", "005930", TODAY, 0.5, 1, "ensemble")
    assert counts(storekit_store) == dict.fromkeys(WRITTEN, 0)


def test_without_an_exception_every_domain_stores_writes_commit(storekit_store: Store) -> None:
    with storekit_store.transaction():
        write_through_every_domain_store(storekit_store)
        storekit_store.feedback_system.update_feedback_from_performance(returns=lambda code, day: 0.1)
    assert counts(storekit_store) == WRITTEN
    assert storekit_store.unified_db.get_model_accuracy("ensemble") == 1.0
