"""Records of ``data/model_performance.db`` (ModelPerformanceMonitor)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, field, record
from ._ids import utc_now

MODEL_DB = "model_performance.db"
MODEL_TYPES = (
    "stock_screener", "price_predictor", "momentum_strategy", "risk_assessor",
    "portfolio_optimizer",
)


@record(
    table="model_performance",
    key=("model_name", "measurement_date"),
    legacy=[LegacySource(MODEL_DB, "model_performance")],
)
class ModelPerformance(Record):
    """A model's metrics on one day (ModelPerformanceMonitor.record_model_performance).

    Ratios are 0-1 floats.
    """

    model_name: str
    model_type: str = field(choices=MODEL_TYPES)
    measurement_date: dt.date
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
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="performance_alerts",
    key=("alert_id",),
    legacy=[LegacySource(MODEL_DB, "performance_alerts")],
)
class PerformanceAlert(Record):
    """A detected model degradation (ModelPerformanceMonitor.record_model_performance)."""

    alert_id: str = field(doc="{model}_{degradation_type}_{YYYY-MM-DD}_{unix_seconds}")
    model_name: str
    degradation_type: str = field(
        choices=(
            "accuracy_drop", "prediction_drift", "overfitting", "concept_drift",
            "data_quality_issue",
        )
    )
    severity: str = field(choices=("low", "medium", "high", "critical"))
    current_performance: Optional[float] = None
    baseline_performance: Optional[float] = None
    performance_drop: Optional[float] = None
    detection_date: dt.date
    affected_period: Optional[str] = None
    root_cause_analysis: Json = None
    recommended_actions: Json = field(default=None, doc="list of (Korean) strings")
    resolved: bool = False
    resolved_date: Optional[dt.date] = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="model_baselines",
    key=("model_name",),
    legacy=[LegacySource(MODEL_DB, "model_baselines")],
)
class ModelBaseline(Record):
    """A model's baseline metrics (ModelPerformanceMonitor.establish_baseline)."""

    model_name: str
    model_type: str = field(choices=MODEL_TYPES)
    baseline_metrics: Json = field(doc="mean ModelPerformanceMetrics.to_dict()")
    established_date: dt.date
    last_updated: dt.date
