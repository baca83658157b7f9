"""store.performance_tracker: PerformanceTracker's persistence on both backends; the
tracking summary equals a plain Python computation over the same rows."""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store, records
from storekit.domain.performance_tracker import ActualPerformance, BacktestPrediction
from storekit.errors import IntegrityError, RecordValidationError

TODAY = dt.date.today()
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class TrackingStatus(enum.Enum):  # the application's enum, duck-typed by its .value
    COMPLETED = "completed"


def day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


def predicted(pid: str, days_ago: int = 3, confidence: float = 0.8, **kw: Any) -> BacktestPrediction:
    values: Dict[str, Any] = dict(
        target_stocks=["005930", "000660"],
        predicted_returns={"005930": 0.05, "000660": -0.02, "035420": 0.01},
        predicted_weights={"005930": 0.6, "000660": 0.4},
        expected_return=0.04,
        expected_volatility=0.1,
        expected_sharpe_ratio=1.2,
        expected_max_drawdown=0.05,
        model_confidence=confidence,
        feature_importance={"momentum": 0.7},
        market_conditions={"regime": "bull"},
    )
    values.update(kw)
    return BacktestPrediction(pid, "momentum_strategy", day(days_ago).isoformat(), **values)


def actual(perf_id: str, pid: str, **kw: Any) -> ActualPerformance:
    values: Dict[str, Any] = dict(
        actual_returns={"005930": 0.03, "000660": 0.01},
        actual_weights={"005930": 0.6, "000660": 0.4},
        actual_return=0.03,
        actual_volatility=0.12,
        actual_sharpe_ratio=1.0,
        actual_max_drawdown=0.06,
        execution_costs=0.6,
        slippage=0.1,
        market_impact=0.01,
        status=TrackingStatus.COMPLETED,
    )
    values.update(kw)
    return ActualPerformance(perf_id, pid, day(2), day(1).isoformat(), ["005930", "000660"], **values)


def test_a_prediction_below_the_confidence_threshold_is_skipped(storekit_store: Store) -> None:
    pt = storekit_store.performance_tracker
    assert pt.record_backtest_prediction(predicted("p1", confidence=0.59)) is False
    assert pt.record_backtest_prediction(predicted("p2", confidence=None)) is False  # type: ignore[arg-type]
    assert storekit_store.count(records.BacktestPrediction) == 0
    assert pt.record_backtest_prediction(predicted("p3", confidence=0.6))
    stored = storekit_store.get(records.BacktestPrediction, "p3")
    assert stored is not None
    assert (stored.prediction_date, stored.target_stocks, stored.market_conditions) == (
        day(3),
        ["005930", "000660"],
        {"regime": "bull"},
    )


def test_actual_performance_is_stored_with_its_status_value(storekit_store: Store) -> None:
    pt = storekit_store.performance_tracker
    pt.record_backtest_prediction(predicted("p1"))
    assert pt.record_actual_performance(actual("a1", "p1"))
    stored = storekit_store.get(records.ActualPerformance, "a1")
    assert stored is not None
    assert (stored.status, stored.completion_date, stored.actual_returns["005930"]) == ("completed", day(1), 0.03)


def test_actual_performance_of_an_unknown_prediction_is_refused(storekit_store: Store) -> None:
    with pytest.raises(IntegrityError):
        storekit_store.performance_tracker.record_actual_performance(actual("a1", "never-recorded"))
    assert storekit_store.count(records.ActualPerformance) == 0


def test_an_unknown_status_is_a_typed_error(storekit_store: Store) -> None:
    storekit_store.performance_tracker.record_backtest_prediction(predicted("p1"))
    with pytest.raises(RecordValidationError) as info:
        storekit_store.performance_tracker.record_actual_performance(actual("a1", "p1", status="done"))
    assert info.value.fields == ("status",)


def test_the_comparison_is_computed_stored_and_returned(storekit_store: Store) -> None:
    pt = storekit_store.performance_tracker
    assert pt.perform_comparison_analysis("p1") is None
    pt.record_backtest_prediction(predicted("p1"))
    assert pt.perform_comparison_analysis("p1") is None  # no actual performance yet
    pt.record_actual_performance(actual("a1", "p1"))
    comparison = pt.perform_comparison_analysis("p1")
    assert comparison is not None
    assert storekit_store.get(records.PerformanceComparison, comparison.comparison_id) == comparison
    pairs = [(0.05, 0.03), (-0.02, 0.01)]  # stocks in both predicted and actual returns
    assert comparison.comparison_id.startswith("comp_p1_")
    assert comparison.return_difference == pytest.approx(0.03 - 0.04)
    assert comparison.prediction_accuracy == pytest.approx(1 - abs(0.04 - 0.03) / 0.04)
    assert comparison.direction_accuracy == 0.5
    assert comparison.magnitude_accuracy == pytest.approx((max(0, 1 - 0.02 / 0.05) + max(0, 1 - 0.03 / 0.02)) / 2)
    assert comparison.mean_absolute_error == pytest.approx(sum(abs(p - a) for p, a in pairs) / 2)
    assert comparison.root_mean_square_error == pytest.approx(math.sqrt(sum((p - a) ** 2 for p, a in pairs) / 2))
    assert comparison.correlation == pytest.approx(1.0)  # two pairs, both sides rising together
    combined = (comparison.prediction_accuracy + comparison.direction_accuracy) / 2
    rating = "Excellent" if combined >= 0.8 else "Good" if combined >= 0.6 else "Fair" if combined >= 0.4 else "Poor"
    assert comparison.analysis_summary["overall_rating"] == rating
    assert "실행 비용이 높습니다" in comparison.analysis_summary["key_insights"]


def test_a_constant_side_gives_no_correlation_instead_of_nan(storekit_store: Store) -> None:
    pt = storekit_store.performance_tracker
    pt.record_backtest_prediction(predicted("p1", predicted_returns={"005930": 0.01, "000660": 0.01}))
    pt.record_actual_performance(actual("a1", "p1"))
    comparison = pt.perform_comparison_analysis("p1")
    assert comparison is not None and comparison.correlation is None


@st.composite
def tracking(draw: st.DrawFn) -> Tuple[List[Any], List[Any], List[Any]]:
    predictions, actuals, comparisons = [], [], []
    for i in range(draw(st.integers(0, 12))):
        pid = f"p{i}"
        predictions.append(predicted(pid, days_ago=draw(st.integers(0, 45))))
        for j in range(draw(st.integers(0, 2))):
            actuals.append(actual(f"a{i}_{j}", pid))
        for j in range(draw(st.integers(0, 2))):
            comparisons.append(
                records.PerformanceComparison(
                    comparison_id=f"c{i}_{j}",
                    prediction_id=pid,
                    comparison_date=TODAY,
                    prediction_accuracy=draw(st.none() | st.floats(0, 1)),
                    direction_accuracy=draw(st.none() | st.floats(0, 1)),
                )
            )
    return predictions, actuals, comparisons


@fixture_ok
@given(data=tracking(), days=st.sampled_from([7, 30]))
def test_the_tracking_summary_equals_a_python_computation(
    storekit_store: Store, data: Tuple[List[Any], List[Any], List[Any]], days: int
) -> None:
    for record_type in (records.PerformanceComparison, records.ActualPerformance, records.BacktestPrediction):
        storekit_store.delete(record_type)
    predictions, actuals, comparisons = data
    pt = storekit_store.performance_tracker
    for p in predictions:
        pt.record_backtest_prediction(p)
    for a in actuals:
        pt.record_actual_performance(a)
    storekit_store.put_many(comparisons)
    inside = {p.prediction_id for p in predictions if p.prediction_date >= day(days).isoformat()}
    completed = sum(1 for a in actuals if a.prediction_id in inside)
    acc = [
        c.prediction_accuracy for c in comparisons if c.prediction_id in inside and c.prediction_accuracy is not None
    ]
    direction = [
        c.direction_accuracy for c in comparisons if c.prediction_id in inside and c.direction_accuracy is not None
    ]
    got = pt.get_tracking_summary(days)
    assert got == {
        "period_days": days,
        "total_predictions": len(inside),
        "completed_tracking": completed,
        "tracking_completion_rate": pytest.approx(completed / len(inside) * 100) if inside else 0,
        "avg_prediction_accuracy": pytest.approx(sum(acc) / len(acc)) if acc else 0.0,
        "avg_direction_accuracy": pytest.approx(sum(direction) / len(direction)) if direction else 0.0,
    }
