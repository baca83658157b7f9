"""The persistence methods of ModelPerformanceMonitor (``data/model_performance.db``).

The rows are :class:`~storekit.records.ModelPerformance`,
:class:`~storekit.records.PerformanceAlert` and :class:`~storekit.records.ModelBaseline`,
the records ``storekit migrate`` writes from ``model_performance.db``. The schedules
(``start_monitoring``/``stop_monitoring``) stay in the application. See
``docs/modules/model_performance_monitor.rst``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import attrs

from ..query import Agg, Eq, Filter, Range, asc
from ..records import ModelBaseline, ModelPerformance, PerformanceAlert
from ._base import DomainStore
from ._unified_db_values import as_date, as_float, attr, enum_value, mean_and_slope, since, today

__all__ = ["METRICS", "THRESHOLDS", "ModelPerformanceMetrics", "ModelPerformanceMonitor"]

log = logging.getLogger("storekit.domain.model_performance_monitor")

METRICS: Tuple[str, ...] = (
    "accuracy",
    "precision",
    "recall",
    "f1_score",
    "prediction_accuracy",
    "directional_accuracy",
    "profit_factor",
    "sharpe_ratio",
    "max_drawdown",
    "prediction_variance",
    "feature_importance_stability",
    "data_coverage",
    "missing_data_ratio",
    "outlier_ratio",
)
"""The metric fields of ``ModelPerformanceMetrics``, in declaration order."""

THRESHOLDS: Dict[str, float] = {
    "accuracy_drop_warning": 0.05,
    "accuracy_drop_critical": 0.15,
    "prediction_variance_high": 0.3,
    "sharpe_ratio_low": 1.0,
    "max_drawdown_high": 0.2,
}
"""The legacy degradation thresholds."""

MIN_BASELINE_POINTS = 5

_ACTIONS: Dict[str, List[str]] = {
    "accuracy_drop": ["모델 재학습 실행", "피처 엔지니어링 재검토", "하이퍼파라미터 튜닝"],
    "data_quality_issue": ["데이터 품질 검증 강화", "데이터 전처리 개선", "이상값 필터링 강화"],
    "concept_drift": ["온라인 학습 활성화", "적응형 모델로 전환", "시장 환경 분석"],
    "overfitting": ["정규화 강화", "교차 검증 재실행", "모델 복잡도 감소"],
}
_CAUSES: Dict[str, Tuple[List[str], float]] = {
    "data_quality_issue": (["입력 데이터 품질 저하", "누락 데이터 증가", "이상값 증가"], 0.4),
    "concept_drift": (["시장 환경 변화", "트레이딩 패턴 변화", "모델 가정 불일치"], 0.3),
}


@attrs.define
class ModelPerformanceMetrics:
    """A model's metrics on one day (the application's ``ModelPerformanceMetrics``).

    ``model_type`` is a ``ModelType`` member or its value; ``measurement_date`` a date
    or ``'YYYY-MM-DD'``.
    """

    model_name: str
    model_type: Any
    measurement_date: Any
    accuracy: Optional[float] = None
    precision: Optional[float] = None
    recall: Optional[float] = None
    f1_score: Optional[float] = None
    prediction_accuracy: Optional[float] = None
    directional_accuracy: Optional[float] = None
    profit_factor: Optional[float] = None
    sharpe_ratio: Optional[float] = None
    max_drawdown: Optional[float] = None
    prediction_variance: Optional[float] = None
    feature_importance_stability: Optional[float] = None
    data_coverage: Optional[float] = None
    missing_data_ratio: Optional[float] = None
    outlier_ratio: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        """The legacy ``to_dict()``: every field, ``model_type`` as its value, the date as text."""
        out = attrs.asdict(self)
        out["model_type"] = enum_value(self.model_type)
        day = self.measurement_date
        out["measurement_date"] = day.isoformat() if isinstance(day, dt.date) else day
        return out


def metrics_dict(row: ModelPerformance) -> Dict[str, Any]:
    """A stored row as ``ModelPerformanceMetrics.to_dict()``."""
    out: Dict[str, Any] = {
        "model_name": row.model_name,
        "model_type": row.model_type,
        "measurement_date": row.measurement_date.isoformat(),
    }
    out.update((name, getattr(row, name)) for name in METRICS)
    return out


class ModelPerformanceMonitor(DomainStore):
    """The persistence methods of ModelPerformanceMonitor (``data/model_performance.db``)."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self._alert_callbacks: List[Callable[[PerformanceAlert], Any]] = []

    def add_alert_callback(self, callback: Callable[[PerformanceAlert], Any]) -> None:
        """Call ``callback(alert)`` with every :class:`~storekit.records.PerformanceAlert`
        stored by :meth:`record_model_performance` (after it is committed)."""
        self._alert_callbacks.append(callback)

    def record_model_performance(self, metrics: Any) -> List[PerformanceAlert]:
        """Store a model's metrics of one day (replacing that day's earlier ones) and,
        when the model has a baseline, the degradation alerts they raise, in one
        transaction. Returns the alerts (legacy: nothing)."""
        row = ModelPerformance(
            model_name=attr(metrics, "model_name"),
            model_type=enum_value(attr(metrics, "model_type")),
            measurement_date=as_date(attr(metrics, "measurement_date"), "ModelPerformance", "measurement_date"),
            **{name: as_float(attr(metrics, name)) for name in METRICS},
        )
        with self._store.transaction():
            self._store.put(row)
            baseline = self._store.get(ModelBaseline, row.model_name)
            alerts = self._degradation_alerts(row, baseline.baseline_metrics) if baseline else []
            if alerts:
                self._store.put_many(alerts)
        for alert in alerts:
            log.warning("model degradation: %s %s (%s)", alert.model_name, alert.degradation_type, alert.severity)
            for callback in self._alert_callbacks:
                try:
                    callback(alert)
                except Exception:
                    log.error("alert callback failed", exc_info=True)
        return alerts

    def _degradation_alerts(self, current: ModelPerformance, baseline: Dict[str, Any]) -> List[PerformanceAlert]:
        def base(name: str) -> Optional[float]:
            value = baseline.get(name) if isinstance(baseline, dict) else None
            return float(value) if isinstance(value, (int, float)) else None

        found: List[Tuple[str, str, Optional[float], Optional[float], Optional[float]]] = []
        acc, base_acc = current.accuracy, base("accuracy")
        if acc is not None and base_acc is not None:
            drop = base_acc - acc
            if drop > THRESHOLDS["accuracy_drop_critical"]:
                found.append(("accuracy_drop", "critical", acc, base_acc, drop))
            elif drop > THRESHOLDS["accuracy_drop_warning"]:
                found.append(("accuracy_drop", "high", acc, base_acc, drop))
        variance, base_variance = current.prediction_variance, base("prediction_variance")
        if variance is not None and variance > THRESHOLDS["prediction_variance_high"]:
            found.append(("prediction_drift", "medium", variance, base_variance, _minus(variance, base_variance)))
        sharpe, base_sharpe = current.sharpe_ratio, base("sharpe_ratio")
        if sharpe is not None and sharpe < THRESHOLDS["sharpe_ratio_low"]:
            found.append(("overfitting", "medium", sharpe, base_sharpe, _minus(base_sharpe, sharpe)))
        drawdown, base_drawdown = current.max_drawdown, base("max_drawdown")
        if drawdown is not None and drawdown > THRESHOLDS["max_drawdown_high"]:
            found.append(("concept_drift", "high", drawdown, base_drawdown, _minus(drawdown, base_drawdown)))
        missing, outliers = current.missing_data_ratio, current.outlier_ratio
        if (missing is not None and missing > 0.1) or (outliers is not None and outliers > 0.05):
            coverage, base_coverage = current.data_coverage, base("data_coverage")
            found.append(("data_quality_issue", "medium", coverage, base_coverage, _minus(base_coverage, coverage)))
        if not found:
            return []
        causes = self._trend_causes(current.model_name)
        stamp = int(time.time())
        return [
            PerformanceAlert(
                alert_id=f"{current.model_name}_{kind}_{current.measurement_date.isoformat()}_{stamp}",
                model_name=current.model_name,
                degradation_type=kind,
                severity=severity,
                current_performance=_finite(now),
                baseline_performance=_finite(then),
                performance_drop=_finite(drop),
                detection_date=current.measurement_date,
                affected_period="recent",
                root_cause_analysis=_root_cause(current.model_name, kind, causes),
                recommended_actions=_actions(kind, severity),
            )
            for kind, severity, now, then, drop in found
        ]

    def _trend_causes(self, model_name: str) -> Tuple[List[str], float]:
        """The legacy trend check over the last 7 days (in date order; legacy fitted the
        newest-first list, so a falling accuracy looked like a rising one)."""
        accuracies = [
            row.accuracy
            for row in self._store.find(
                ModelPerformance,
                Eq("model_name", model_name),
                Range("measurement_date", ge=since(7)),
                order_by=[asc("measurement_date")],
            )
            if row.accuracy is not None
        ]
        causes: List[str] = []
        confidence = 0.0
        if len(accuracies) >= 3:
            mean, slope = mean_and_slope(list(enumerate(map(float, accuracies))))
            if slope < -0.01:
                causes.append("성능 지속적 하락 추세")
                confidence += 0.3
            if sum((a - mean) ** 2 for a in accuracies) / len(accuracies) > 0.01:
                causes.append("성능 변동성 증가")
                confidence += 0.2
        return causes, confidence

    def establish_baseline(self, model_name: str, model_type: Any) -> Optional[ModelBaseline]:
        """Store the mean of a model's metrics over the last 30 days as its baseline,
        when there are at least 5 measurements; the means are computed by the database
        (missing values are skipped). Returns the baseline, or ``None`` (legacy: nothing).
        """
        where: List[Filter] = [Eq("model_name", model_name), Range("measurement_date", ge=since(30))]
        result = self._store.aggregate(
            ModelPerformance, Agg("count"), *(Agg("avg", name) for name in METRICS), where=where
        )[0]
        if int(result["count"]) < MIN_BASELINE_POINTS:
            log.warning("not enough measurements for a baseline of %s: %s", model_name, result["count"])
            return None
        day = today()
        metrics: Dict[str, Any] = {
            "model_name": model_name,
            "model_type": enum_value(model_type),
            "measurement_date": day.isoformat(),
        }
        metrics.update((name, _finite(result[f"avg_{name}"])) for name in METRICS)
        baseline = ModelBaseline(
            model_name=model_name,
            model_type=enum_value(model_type),
            baseline_metrics=metrics,
            established_date=day,
            last_updated=day,
        )
        self._store.put(baseline)
        return baseline

    def get_model_performance_summary(self, model_name: str, days: int = 30) -> Dict[str, Any]:
        """A model's accuracy statistics over the last ``days`` days: counts and means by
        the database, standard deviation, trend and best/worst day over the streamed
        rows in date order. ``{}`` when there are none."""
        where: List[Filter] = [Eq("model_name", model_name), Range("measurement_date", ge=since(days))]
        result = self._store.aggregate(
            ModelPerformance, Agg("count"), Agg("avg", "accuracy"), Agg("avg", "sharpe_ratio"), where=where
        )[0]
        count = int(result["count"])
        if not count:
            return {}
        points: List[Tuple[float, float]] = []
        best: Optional[Tuple[float, dt.date]] = None
        worst: Optional[Tuple[float, dt.date]] = None
        latest: Optional[ModelPerformance] = None
        for page in self._store.pages(ModelPerformance, *where, order_by=[asc("measurement_date")]):
            for row in page:
                latest = row
                if row.accuracy is None:
                    continue
                points.append((float(len(points)), row.accuracy))
                if best is None or row.accuracy >= best[0]:
                    best = (row.accuracy, row.measurement_date)
                if worst is None or row.accuracy <= worst[0]:
                    worst = (row.accuracy, row.measurement_date)
        mean, slope = mean_and_slope(points)
        std = math.sqrt(sum((y - mean) ** 2 for _, y in points) / len(points)) if points else 0.0
        return {
            "model_name": model_name,
            "period_days": days,
            "measurement_count": count,
            "latest_performance": metrics_dict(latest) if latest else None,
            "average_accuracy": result["avg_accuracy"],
            "accuracy_std": std,
            "accuracy_trend": "improving" if slope > 0.001 else "declining" if slope < -0.001 else "stable",
            "average_sharpe_ratio": result["avg_sharpe_ratio"],
            "best_performance_date": best[1].isoformat() if best else None,
            "worst_performance_date": worst[1].isoformat() if worst else None,
        }


def _minus(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else a - b


def _finite(value: Any) -> Optional[float]:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _root_cause(model_name: str, kind: str, trend: Tuple[List[str], float]) -> Dict[str, Any]:
    causes, confidence = list(trend[0]), trend[1]
    extra, weight = _CAUSES.get(kind, ([], 0.0))
    causes.extend(extra)
    return {
        "model_name": model_name,
        "degradation_type": kind,
        "analysis_date": dt.datetime.now().isoformat(),
        "potential_causes": causes,
        "confidence": confidence + weight,
    }


def _actions(kind: str, severity: str) -> List[str]:
    actions = list(_ACTIONS.get(kind, []))
    if severity in ("high", "critical"):
        actions.insert(0, "즉시 모델 사용 중단 검토")
        actions.append("수동 개입 필요")
    return actions
