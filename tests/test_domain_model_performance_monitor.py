"""store.model_performance_monitor: ModelPerformanceMonitor's persistence on both
backends; the baseline and the summary equal a plain Python computation."""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store
from storekit.domain.model_performance_monitor import METRICS, ModelPerformanceMetrics
from storekit.records import ModelBaseline, ModelPerformance, PerformanceAlert

TODAY = dt.date.today()
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class ModelType(enum.Enum):  # the application's enum, duck-typed by its .value
    PRICE_PREDICTOR = "price_predictor"


def day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


def metrics(days_ago: int, name: str = "m1", **kw: Any) -> ModelPerformanceMetrics:
    values: Dict[str, Any] = dict(
        accuracy=0.8,
        precision=0.7,
        recall=0.6,
        f1_score=0.65,
        prediction_accuracy=0.7,
        directional_accuracy=0.6,
        profit_factor=1.5,
        sharpe_ratio=1.5,
        max_drawdown=0.1,
        prediction_variance=0.1,
        feature_importance_stability=0.9,
        data_coverage=0.95,
        missing_data_ratio=0.01,
        outlier_ratio=0.01,
    )
    values.update(kw)
    return ModelPerformanceMetrics(name, ModelType.PRICE_PREDICTOR, day(days_ago).isoformat(), **values)


def test_a_days_metrics_are_stored_once_and_replaced(storekit_store: Store) -> None:
    mon = storekit_store.model_performance_monitor
    assert mon.record_model_performance(metrics(0, accuracy=0.7)) == []  # no baseline: no alerts
    mon.record_model_performance(metrics(0, accuracy=0.75))
    [row] = storekit_store.find(ModelPerformance)
    assert (row.accuracy, row.model_type, row.measurement_date) == (0.75, "price_predictor", TODAY)


def test_a_baseline_needs_five_measurements_and_is_their_mean(storekit_store: Store) -> None:
    mon = storekit_store.model_performance_monitor
    for i in range(4):
        mon.record_model_performance(metrics(i, accuracy=0.70 + i / 100))
    assert mon.establish_baseline("m1", ModelType.PRICE_PREDICTOR) is None
    assert storekit_store.count(ModelBaseline) == 0
    mon.record_model_performance(metrics(40, accuracy=0.1))  # outside the 30 days
    mon.record_model_performance(metrics(4, accuracy=0.74, sharpe_ratio=None))
    baseline = mon.establish_baseline("m1", ModelType.PRICE_PREDICTOR)
    assert baseline is not None and storekit_store.get(ModelBaseline, "m1") == baseline
    assert baseline.baseline_metrics["accuracy"] == pytest.approx(sum(0.70 + i / 100 for i in range(5)) / 5)
    assert baseline.baseline_metrics["sharpe_ratio"] == pytest.approx(1.5)  # the missing value is skipped
    assert baseline.baseline_metrics["model_type"] == "price_predictor"
    assert set(METRICS) <= set(baseline.baseline_metrics)


def test_degradations_against_the_baseline_are_stored_and_reported(storekit_store: Store) -> None:
    mon = storekit_store.model_performance_monitor
    seen: List[PerformanceAlert] = []
    mon.add_alert_callback(seen.append)
    mon.add_alert_callback(lambda alert: 1 / 0)  # a failing callback does not stop the others
    for i in range(1, 6):
        mon.record_model_performance(metrics(i))
    mon.establish_baseline("m1", "price_predictor")
    assert mon.record_model_performance(metrics(0, accuracy=0.78)) == []  # a drop of 0.02 is fine
    alerts = mon.record_model_performance(
        metrics(0, accuracy=0.6, prediction_variance=0.4, sharpe_ratio=0.5, max_drawdown=0.3, missing_data_ratio=0.2)
    )
    kinds = {a.degradation_type: a for a in alerts}
    assert set(kinds) == {"accuracy_drop", "prediction_drift", "overfitting", "concept_drift", "data_quality_issue"}
    assert kinds["accuracy_drop"].severity == "critical"
    assert kinds["accuracy_drop"].performance_drop == pytest.approx(0.2)
    assert kinds["concept_drift"].recommended_actions[0] == "즉시 모델 사용 중단 검토"
    assert kinds["data_quality_issue"].root_cause_analysis["potential_causes"][-1] == "이상값 증가"
    assert all(a.alert_id.startswith(f"m1_{a.degradation_type}_{TODAY.isoformat()}_") for a in alerts)
    assert {a.alert_id for a in storekit_store.find(PerformanceAlert)} == {a.alert_id for a in alerts}
    assert seen == alerts
    high = mon.record_model_performance(metrics(0, accuracy=0.72))
    assert [(a.degradation_type, a.severity) for a in high] == [("accuracy_drop", "high")]


@st.composite
def measurements(draw: st.DrawFn) -> List[ModelPerformanceMetrics]:
    days = draw(st.lists(st.integers(0, 45), unique=True, max_size=12))
    return [
        metrics(
            d,
            accuracy=draw(st.none() | st.floats(0, 1)),
            sharpe_ratio=draw(st.none() | st.floats(-3, 3)),
        )
        for d in days
    ]


@fixture_ok
@given(rows=measurements(), days=st.sampled_from([7, 30]))
def test_the_summary_equals_a_python_computation(
    storekit_store: Store, rows: List[ModelPerformanceMetrics], days: int
) -> None:
    storekit_store.delete(ModelPerformance)
    mon = storekit_store.model_performance_monitor
    for m in rows:
        mon.record_model_performance(m)
    window = sorted((m for m in rows if m.measurement_date >= day(days).isoformat()), key=lambda m: m.measurement_date)
    got = mon.get_model_performance_summary("m1", days)
    if not window:
        assert got == {}
        return
    acc = [(m.accuracy, m.measurement_date) for m in window if m.accuracy is not None]
    sharpe = [m.sharpe_ratio for m in window if m.sharpe_ratio is not None]
    assert got["measurement_count"] == len(window)
    assert got["latest_performance"]["measurement_date"] == window[-1].measurement_date
    assert got["latest_performance"]["accuracy"] == window[-1].accuracy
    if acc:
        values = [a for a, _ in acc]
        mean = sum(values) / len(values)
        assert got["average_accuracy"] == pytest.approx(mean)
        assert got["accuracy_std"] == pytest.approx(
            math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)), abs=1e-9
        )
        best = max(a for a, _ in acc)
        worst = min(a for a, _ in acc)
        assert got["best_performance_date"] == max(d for a, d in acc if a == best)
        assert got["worst_performance_date"] == max(d for a, d in acc if a == worst)
        n = len(values)
        xm = (n - 1) / 2
        slope = (
            sum((i - xm) * (v - mean) for i, v in enumerate(values)) / sum((i - xm) ** 2 for i in range(n))
            if n > 1
            else 0
        )
        want = "improving" if slope > 0.001 else "declining" if slope < -0.001 else "stable"
        if abs(abs(slope) - 0.001) > 1e-9:  # away from the threshold, where rounding could tip it
            assert got["accuracy_trend"] == want
    else:
        assert got["average_accuracy"] is None and got["best_performance_date"] is None
    if sharpe:
        assert got["average_sharpe_ratio"] == pytest.approx(sum(sharpe) / len(sharpe))


def test_a_falling_accuracy_is_reported_as_declining(storekit_store: Store) -> None:
    mon = storekit_store.model_performance_monitor
    for i in range(5):
        mon.record_model_performance(metrics(i, accuracy=0.5 + i / 10))  # older days were better
    assert mon.get_model_performance_summary("m1")["accuracy_trend"] == "declining"
