"""The persistence methods of PerformanceTracker (``data/performance_tracking.db``).

The rows are :class:`storekit.records.BacktestPrediction`,
:class:`storekit.records.ActualPerformance` and
:class:`storekit.records.PerformanceComparison`, the records ``storekit migrate``
writes from ``performance_tracking.db``. The 24-hour delayed comparison thread stays in
the application. See ``docs/modules/performance_tracker.rst``.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Dict, List, Optional, Tuple

import attrs

from .. import records
from ..query import Agg, Eq, In, Range, asc
from ._base import DomainStore
from ._unified_db_values import as_date, as_float, as_json, attr, chunks, enum_value, number, since, today

__all__ = ["MIN_CONFIDENCE", "ActualPerformance", "BacktestPrediction", "PerformanceTracker"]

log = logging.getLogger("storekit.domain.performance_tracker")

MIN_CONFIDENCE = 0.6
"""Predictions with a lower ``model_confidence`` are not recorded (legacy threshold)."""


@attrs.define
class BacktestPrediction:
    """A strategy's predicted portfolio (the application's ``BacktestPrediction``).

    Dates are ``date`` objects or ``'YYYY-MM-DD'`` text.
    """

    prediction_id: str
    strategy_name: str
    prediction_date: Any
    target_stocks: List[str]
    predicted_returns: Dict[str, float]
    predicted_weights: Dict[str, float]
    expected_return: Optional[float] = None
    expected_volatility: Optional[float] = None
    expected_sharpe_ratio: Optional[float] = None
    expected_max_drawdown: Optional[float] = None
    model_confidence: Optional[float] = None
    feature_importance: Dict[str, Any] = attrs.field(factory=dict)
    market_conditions: Dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class ActualPerformance:
    """How a predicted portfolio did (the application's ``ActualPerformance``).

    ``status`` is a ``TrackingStatus`` member or its value (``predicted``,
    ``executed``, ``completed``, ``cancelled``, ``error``).
    """

    performance_id: str
    prediction_id: str
    execution_date: Any
    completion_date: Any
    executed_stocks: List[str]
    actual_returns: Dict[str, float]
    actual_weights: Dict[str, float]
    actual_return: Optional[float] = None
    actual_volatility: Optional[float] = None
    actual_sharpe_ratio: Optional[float] = None
    actual_max_drawdown: Optional[float] = None
    execution_costs: Optional[float] = None
    slippage: Optional[float] = None
    market_impact: Optional[float] = None
    status: Any = "completed"


class PerformanceTracker(DomainStore):
    """The persistence methods of PerformanceTracker (``data/performance_tracking.db``)."""

    def record_backtest_prediction(self, prediction: Any) -> bool:
        """Store a prediction (replacing one with the same ``prediction_id``); one with
        ``model_confidence`` below 0.6 (or none) is skipped and ``False`` returned."""
        confidence = number(attr(prediction, "model_confidence"), "BacktestPrediction", "model_confidence")
        if confidence is None or confidence < MIN_CONFIDENCE:
            log.debug("prediction skipped for low confidence: %s", confidence)
            return False
        name = "BacktestPrediction"
        self._store.put(
            records.BacktestPrediction(
                prediction_id=attr(prediction, "prediction_id"),
                strategy_name=attr(prediction, "strategy_name"),
                prediction_date=as_date(attr(prediction, "prediction_date"), name, "prediction_date"),
                target_stocks=as_json(list(attr(prediction, "target_stocks") or []), name, "target_stocks"),
                predicted_returns=as_json(attr(prediction, "predicted_returns") or {}, name, "predicted_returns"),
                predicted_weights=as_json(attr(prediction, "predicted_weights") or {}, name, "predicted_weights"),
                expected_return=as_float(attr(prediction, "expected_return")),
                expected_volatility=as_float(attr(prediction, "expected_volatility")),
                expected_sharpe_ratio=as_float(attr(prediction, "expected_sharpe_ratio")),
                expected_max_drawdown=as_float(attr(prediction, "expected_max_drawdown")),
                model_confidence=confidence,
                feature_importance=as_json(attr(prediction, "feature_importance"), name, "feature_importance"),
                market_conditions=as_json(attr(prediction, "market_conditions"), name, "market_conditions"),
            )
        )
        return True

    def record_actual_performance(self, performance: Any) -> bool:
        """Store how a prediction did (replacing one with the same ``performance_id``).
        Returns ``True``. The legacy 24-hour delayed comparison is the application's to
        schedule: call :meth:`perform_comparison_analysis` then."""
        name = "ActualPerformance"
        self._store.put(
            records.ActualPerformance(
                performance_id=attr(performance, "performance_id"),
                prediction_id=attr(performance, "prediction_id"),
                execution_date=as_date(attr(performance, "execution_date"), name, "execution_date"),
                completion_date=as_date(attr(performance, "completion_date"), name, "completion_date"),
                executed_stocks=as_json(list(attr(performance, "executed_stocks") or []), name, "executed_stocks"),
                actual_returns=as_json(attr(performance, "actual_returns") or {}, name, "actual_returns"),
                actual_weights=as_json(attr(performance, "actual_weights") or {}, name, "actual_weights"),
                actual_return=as_float(attr(performance, "actual_return")),
                actual_volatility=as_float(attr(performance, "actual_volatility")),
                actual_sharpe_ratio=as_float(attr(performance, "actual_sharpe_ratio")),
                actual_max_drawdown=as_float(attr(performance, "actual_max_drawdown")),
                execution_costs=as_float(attr(performance, "execution_costs")),
                slippage=as_float(attr(performance, "slippage")),
                market_impact=as_float(attr(performance, "market_impact")),
                status=enum_value(attr(performance, "status")),
            )
        )
        return True

    def perform_comparison_analysis(self, prediction_id: str) -> Optional[records.PerformanceComparison]:
        """Compare a prediction with its (first recorded) actual performance, store the
        comparison and return it; ``None`` when either is missing."""
        prediction = self._store.get(records.BacktestPrediction, prediction_id)
        actual = next(
            iter(
                self._store.find(
                    records.ActualPerformance,
                    Eq("prediction_id", prediction_id),
                    order_by=[asc("created_at")],
                    limit=1,
                )
            ),
            None,
        )
        if prediction is None or actual is None:
            log.warning("comparison needs a prediction and its performance: %s", prediction_id)
            return None
        comparison = compare(prediction, actual)
        self._store.put(comparison)
        return comparison

    def get_tracking_summary(self, days: int = 30) -> Dict[str, Any]:
        """Predictions of the last ``days`` days, how many have an actual performance,
        and the mean accuracies of their comparisons: counted by the database, joined
        in steps of at most 500 prediction ids (never a whole table in memory)."""
        window = Range("prediction_date", ge=since(days))
        total = self._store.count(records.BacktestPrediction, window)
        completed = 0
        sums = {"prediction_accuracy": [0.0, 0], "direction_accuracy": [0.0, 0]}
        ids = (p.prediction_id for page in self._store.pages(records.BacktestPrediction, window) for p in page)
        for batch in chunks(ids):
            completed += self._store.count(records.ActualPerformance, In("prediction_id", batch))
            row = self._store.aggregate(
                records.PerformanceComparison,
                *(Agg(fn, name) for name in sums for fn in ("sum", "count")),
                where=[In("prediction_id", batch)],
            )[0]
            for name, acc in sums.items():
                if row[f"count_{name}"]:
                    acc[0] += row[f"sum_{name}"]
                    acc[1] += int(row[f"count_{name}"])
        return {
            "period_days": days,
            "total_predictions": total,
            "completed_tracking": completed,
            "tracking_completion_rate": (completed / total * 100) if total > 0 else 0,
            "avg_prediction_accuracy": (sums["prediction_accuracy"][0] / sums["prediction_accuracy"][1])
            if sums["prediction_accuracy"][1]
            else 0.0,
            "avg_direction_accuracy": (sums["direction_accuracy"][0] / sums["direction_accuracy"][1])
            if sums["direction_accuracy"][1]
            else 0.0,
        }


# -- the comparison (legacy _calculate_comparison_metrics) ------------------------------


def _accuracy(predicted: Optional[float], actual: Optional[float]) -> Optional[float]:
    if predicted is None or actual is None:
        return None
    if predicted == 0:
        return 1.0 if actual == 0 else 0.0
    return max(0.0, 1.0 - abs(predicted - actual) / abs(predicted))


def _pairs(predicted: Any, actual: Any) -> List[Tuple[float, float]]:
    if not isinstance(predicted, dict) or not isinstance(actual, dict):
        return []
    out = []
    for stock, value in predicted.items():
        other = actual.get(stock)
        if isinstance(value, (int, float)) and isinstance(other, (int, float)):
            out.append((float(value), float(other)))
    return out


def _correlation(pairs: List[Tuple[float, float]]) -> Optional[float]:
    """Pearson correlation (``numpy.corrcoef``); ``0.0`` below two pairs as legacy, and
    ``None`` where numpy gives NaN (a constant side), which legacy could not store."""
    n = len(pairs)
    if n < 2:
        return 0.0
    mx = sum(p for p, _ in pairs) / n
    my = sum(a for _, a in pairs) / n
    sxy = sum((p - mx) * (a - my) for p, a in pairs)
    sxx = sum((p - mx) ** 2 for p, _ in pairs)
    syy = sum((a - my) ** 2 for _, a in pairs)
    if not sxx or not syy:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def _minus(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else a - b


def compare(prediction: records.BacktestPrediction, actual: records.ActualPerformance) -> records.PerformanceComparison:
    """The legacy comparison metrics, summary and suggestions of a prediction and its outcome."""
    pairs = _pairs(prediction.predicted_returns, actual.actual_returns)
    prediction_accuracy = _accuracy(prediction.expected_return, actual.actual_return)
    direction = sum(1 for p, a in pairs if (1 if p > 0 else -1) == (1 if a > 0 else -1)) / len(pairs) if pairs else 0.0
    magnitudes = [_accuracy(p, a) for p, a in pairs]
    magnitude = sum(m for m in magnitudes if m is not None) / len(magnitudes) if magnitudes else 0.0
    if pairs:
        mae = sum(abs(p - a) for p, a in pairs) / len(pairs)
        rmse = math.sqrt(sum((p - a) ** 2 for p, a in pairs) / len(pairs))
    else:
        mae = rmse = 0.0
    accuracy_for_rating = prediction_accuracy if prediction_accuracy is not None else 0.0
    return_diff = _minus(actual.actual_return, prediction.expected_return)
    combined = (accuracy_for_rating + direction) / 2
    rating = "Excellent" if combined >= 0.8 else "Good" if combined >= 0.6 else "Fair" if combined >= 0.4 else "Poor"
    insights = []
    if accuracy_for_rating > 0.8:
        insights.append("예측 정확도가 매우 높습니다")
    elif accuracy_for_rating < 0.4:
        insights.append("예측 정확도 개선이 필요합니다")
    if direction > 0.7:
        insights.append("방향 예측이 우수합니다")
    elif direction < 0.5:
        insights.append("방향 예측 정확도가 낮습니다")
    if (actual.execution_costs or 0.0) > 0.5:
        insights.append("실행 비용이 높습니다")
    if (actual.slippage or 0.0) > 0.2:
        insights.append("슬리피지가 큽니다")
    suggestions = []
    if accuracy_for_rating < 0.6:
        suggestions += ["모델 재학습 및 피처 개선 필요", "백테스트 기간 및 조건 재검토"]
    if direction < 0.6:
        suggestions += ["방향성 예측 모델 개선", "시장 환경 변수 추가 고려"]
    if magnitude < 0.5:
        suggestions += ["수익률 크기 예측 정확도 향상", "리스크 모델 개선"]
    return records.PerformanceComparison(
        comparison_id=f"comp_{prediction.prediction_id}_{int(time.time())}",
        prediction_id=prediction.prediction_id,
        comparison_date=today(),
        return_difference=return_diff,
        volatility_difference=_minus(actual.actual_volatility, prediction.expected_volatility),
        sharpe_difference=_minus(actual.actual_sharpe_ratio, prediction.expected_sharpe_ratio),
        prediction_accuracy=prediction_accuracy,
        direction_accuracy=direction,
        magnitude_accuracy=magnitude,
        mean_absolute_error=mae,
        root_mean_square_error=rmse,
        correlation=_correlation(pairs),
        analysis_summary={
            "prediction_date": prediction.prediction_date.isoformat(),
            "strategy_name": prediction.strategy_name,
            "model_confidence": prediction.model_confidence,
            "return_difference_pct": return_diff,
            "prediction_accuracy_pct": accuracy_for_rating * 100,
            "direction_accuracy_pct": direction * 100,
            "execution_costs_pct": actual.execution_costs,
            "slippage_pct": actual.slippage,
            "overall_rating": rating,
            "key_insights": insights,
        },
        improvement_suggestions=suggestions,
    )
