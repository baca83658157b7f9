"""Records of ``data/performance_tracking.db`` (PerformanceTracker)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, Reference, field, record
from ._ids import utc_now

PERFORMANCE_DB = "performance_tracking.db"
PREDICTION = Reference(("prediction_id",), "backtest_predictions", ("prediction_id",))


@record(
    table="backtest_predictions",
    key=("prediction_id",),
    legacy=[LegacySource(PERFORMANCE_DB, "backtest_predictions")],
)
class BacktestPrediction(Record):
    """A strategy's predicted portfolio (PerformanceTracker.record_backtest_prediction)."""

    prediction_id: str = field(doc="free text from the caller")
    strategy_name: str
    prediction_date: dt.date
    target_stocks: Json = field(doc="list of stock codes")
    predicted_returns: Json = field(doc="{stock_code: return}")
    predicted_weights: Json = field(doc="{stock_code: weight}")
    expected_return: Optional[float] = None
    expected_volatility: Optional[float] = None
    expected_sharpe_ratio: Optional[float] = None
    expected_max_drawdown: Optional[float] = None
    model_confidence: Optional[float] = None
    feature_importance: Json = None
    market_conditions: Json = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="actual_performance",
    key=("performance_id",),
    legacy=[LegacySource(PERFORMANCE_DB, "actual_performance")],
    references=[PREDICTION],
)
class ActualPerformance(Record):
    """How a predicted portfolio actually did (PerformanceTracker.record_actual_performance)."""

    performance_id: str = field(doc="free text from the caller")
    prediction_id: str
    execution_date: dt.date
    completion_date: dt.date
    executed_stocks: Json = field(doc="list of stock codes")
    actual_returns: Json = field(doc="{stock_code: return}")
    actual_weights: Json = field(doc="{stock_code: weight}")
    actual_return: Optional[float] = None
    actual_volatility: Optional[float] = None
    actual_sharpe_ratio: Optional[float] = None
    actual_max_drawdown: Optional[float] = None
    execution_costs: Optional[float] = None
    slippage: Optional[float] = None
    market_impact: Optional[float] = None
    status: str = field(choices=("predicted", "executed", "completed", "cancelled", "error"))
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="performance_comparisons",
    key=("comparison_id",),
    legacy=[LegacySource(PERFORMANCE_DB, "performance_comparisons")],
    references=[PREDICTION],
)
class PerformanceComparison(Record):
    """Prediction versus outcome (PerformanceTracker.perform_comparison_analysis)."""

    comparison_id: str = field(doc="comp_{prediction_id}_{unix_seconds}")
    prediction_id: str
    comparison_date: dt.date
    return_difference: Optional[float] = None
    volatility_difference: Optional[float] = None
    sharpe_difference: Optional[float] = None
    prediction_accuracy: Optional[float] = None
    direction_accuracy: Optional[float] = None
    magnitude_accuracy: Optional[float] = None
    mean_absolute_error: Optional[float] = None
    root_mean_square_error: Optional[float] = None
    correlation: Optional[float] = None
    analysis_summary: Json = None
    improvement_suggestions: Json = field(default=None, doc="list of (Korean) strings")
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="daily_tracking",
    key=("prediction_id", "tracking_date"),
    legacy=[LegacySource(PERFORMANCE_DB, "daily_tracking")],
    references=[PREDICTION],
)
class DailyTracking(Record):
    """A prediction's value on one day (created by PerformanceTracker, never written)."""

    prediction_id: str
    tracking_date: dt.date
    predicted_value: Optional[float] = None
    actual_value: Optional[float] = None
    difference: Optional[float] = None
    error_percentage: Optional[float] = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)
