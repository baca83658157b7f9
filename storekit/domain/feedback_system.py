"""The persistence methods of FeedbackSystem (``data/feedback.db``).

The rows are :class:`~storekit.records.Feedback` and
:class:`~storekit.records.ModelPerformanceHistory`, the records ``storekit migrate``
writes from ``feedback.db`` and from the main database's ``feedback_data``. See
``docs/modules/feedback_system.rst`` for what changed from the legacy module.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import attrs

from ..query import Agg, Eq, Filter, In, Range, asc, desc
from ..records import Feedback, ModelPerformanceHistory, PerformanceTracking
from ._base import DomainStore
from ._unified_db_values import as_date, as_float, as_int, as_json, attr, chunks, number, ratio, since, today
from .unified_db import confusion, feedback_dict, outcome, refreshed

__all__ = ["FeedbackSystem", "PatternPrediction", "PredictionResult"]

log = logging.getLogger("storekit.domain.feedback_system")

SUCCESS_THRESHOLD = 0.05
"""A 7-day return above this (5 %, as a fraction) makes a prediction a success."""

RETRAIN_CRITERIA: Mapping[str, Union[int, float]] = {
    "min_feedback_count": 100,
    "accuracy_drop_threshold": 0.1,
    "days_since_last_train": 30,
}
"""The legacy retraining criteria, returned by :meth:`FeedbackSystem.check_retrain_needed`."""

BASELINE_ACCURACY = 0.7

ReturnSource = Union[
    Mapping[Tuple[str, Any], Optional[float]],
    Callable[[str, Any], Optional[float]],
]


@attrs.define
class PatternPrediction:
    """One model's prediction for one stock (the application's ``PatternPrediction``)."""

    stock_code: str
    prediction_date: Any
    success_probability: float
    predicted_class: int
    confidence_score: float = 0.0
    feature_importance: Dict[str, float] = attrs.field(factory=dict)
    model_name: str = ""
    model_version: str = ""


@attrs.define
class PredictionResult:
    """The ensemble prediction for one stock (the application's ``PredictionResult``).

    ``factor_scores`` is optional, as the legacy code reads it with ``hasattr``.
    """

    stock_code: str
    stock_name: str
    prediction_date: Any
    ensemble_probability: float
    ensemble_prediction: int
    ensemble_confidence: float = 0.0
    model_predictions: Dict[str, Any] = attrs.field(factory=dict)
    recommendation: str = "HOLD"
    risk_level: str = "MEDIUM"
    sector: str = ""
    current_price: float = 0.0
    target_score: float = 0.0
    factor_scores: Optional[Dict[str, Any]] = None


def _recent_dict(fb: Feedback) -> Dict[str, Any]:
    """:func:`feedback_dict` plus the outcome's errors and date, ``factor_scores`` never
    ``None`` (what the legacy ``get_recent_feedback`` returned, ``prediction_id`` added)."""
    return {
        **feedback_dict(fb),
        "absolute_error": fb.absolute_error,
        "feedback_date": fb.feedback_date.isoformat() if fb.feedback_date else None,
        "factor_scores": fb.factor_scores if fb.factor_scores is not None else {},
    }


class FeedbackSystem(DomainStore):
    """The persistence methods of FeedbackSystem (``data/feedback.db``)."""

    def record_predictions(self, predictions: Sequence[Any]) -> bool:
        """Record each prediction: one ``ensemble`` row per stock and one row per
        individual model of ``model_predictions``, all in one transaction.

        Every row is validated first (``prediction_id`` is
        ``{stock_code}_{YYYY-MM-DD}_{model_name}``); a bad one raises
        :class:`~storekit.errors.RecordValidationError` and nothing is written. A
        prediction recorded again keeps its observed outcome. Returns ``True`` when at
        least one prediction was recorded.
        """
        fresh: Dict[str, Feedback] = {}
        for prediction in predictions:
            for record in _feedback_rows(prediction):
                fresh[record.prediction_id] = record
        if not fresh:
            return False
        with self._store.transaction():
            rows: List[Feedback] = []
            for ids in chunks(fresh):
                stored = {fb.prediction_id: fb for fb in self._store.find(Feedback, In("prediction_id", ids))}
                rows.extend(refreshed(stored[i], fresh[i]) if i in stored else fresh[i] for i in ids)
            self._store.put_many(rows)
        log.info("recorded %d feedback rows for %d predictions", len(fresh), len(predictions))
        return True

    def update_feedback_from_performance(
        self, start_date: Optional[Any] = None, returns: Optional[ReturnSource] = None
    ) -> bool:
        """Set the outcome of pending predictions from their 7-day returns.

        Pending means unprocessed and, with ``start_date``, predicted on or after it,
        else predicted at least 7 days ago. ``returns`` gives a prediction's 7-day
        return as a fraction, from ``(stock_code, prediction_date)``: a mapping or a
        callable. By default it is the AccuracyTracker's ``return_7d`` (a percent, so
        divided by 100) of :class:`~storekit.records.PerformanceTracking` rows with
        ``source='accuracy'``. A prediction without a return stays pending; none is
        invented. Returns ``True`` when nothing was pending or some were updated.
        """
        where: List[Any] = [Eq("is_processed", False)]
        if start_date is not None:
            where.append(Range("prediction_date", ge=as_date(start_date, "Feedback", "prediction_date")))
        else:
            where.append(Range("prediction_date", le=since(7)))
        lookup = self._return_lookup(returns)
        pending = updated = 0
        for page in self._store.pages(Feedback, *where, order_by=["prediction_date", "stock_code"], size=500):
            pending += len(page)
            found = lookup([(fb.stock_code, fb.prediction_date) for fb in page])
            rows = []
            for fb in page:
                value = found.get((fb.stock_code, fb.prediction_date))
                if value is None:
                    continue
                rows.append(outcome(fb, value, 1 if value > SUCCESS_THRESHOLD else 0))
            if rows:
                updated += self._store.put_many(rows)
        log.info("feedback updated from performance: %d of %d pending", updated, pending)
        return pending == 0 or updated > 0

    def _return_lookup(
        self, returns: Optional[ReturnSource]
    ) -> Callable[[List[Tuple[str, dt.date]]], Dict[Tuple[str, dt.date], float]]:
        """A function from (stock_code, prediction_date) pairs to the returns known for them."""
        if returns is None:
            return self._tracked_returns
        source = returns

        def one(code: str, day: dt.date) -> Optional[float]:
            if callable(source):
                return number(source(code, day), "Feedback", "actual_return_7d")  # type: ignore[no-any-return]
            value = source.get((code, day))
            if value is None:
                value = source.get((code, day.isoformat()))
            return number(value, "Feedback", "actual_return_7d")  # type: ignore[no-any-return]

        def given(pairs: List[Tuple[str, dt.date]]) -> Dict[Tuple[str, dt.date], float]:
            out = {}
            for pair in pairs:
                value = one(*pair)
                if value is not None:
                    out[pair] = value
            return out

        return given

    def _tracked_returns(self, pairs: List[Tuple[str, dt.date]]) -> Dict[Tuple[str, dt.date], float]:
        """The AccuracyTracker's 7-day returns (percent) of ``pairs`` as fractions, in one query."""
        wanted = set(pairs)
        rows = self._store.find(
            PerformanceTracking,
            Eq("source", "accuracy"),
            In("stock_code", sorted({code for code, _ in wanted})),
            In("tracking_date", sorted({day for _, day in wanted})),
        )
        return {
            (r.stock_code, r.tracking_date): r.return_7d / 100.0
            for r in rows
            if r.return_7d is not None and (r.stock_code, r.tracking_date) in wanted
        }

    def evaluate_model_performance(self, model_name: str = "ensemble", days_back: int = 30) -> Dict[str, Any]:
        """Evaluate a model on its processed predictions of the last ``days_back`` days
        and append the result to ``model_performance_history``.

        Counts come from the database (grouped by predicted and actual class); the AUC
        is the exact rank statistic (equal to ``sklearn.metrics.roc_auc_score``, no
        sklearn needed), streamed in probability order; it is 0.5 when only one class
        occurs. Returns ``{}`` when there is nothing to evaluate.
        """
        where = (Eq("model_name", model_name), Eq("is_processed", True), Range("prediction_date", ge=since(days_back)))
        cells = confusion(self._store, *where)
        total = sum(cells.values())
        labelled = {k: n for k, n in cells.items() if k[1] is not None}
        processed = sum(labelled.values())
        if not total or not processed:
            log.warning("nothing to evaluate for %s", model_name)
            return {}
        correct = sum(n for (p, a), n in labelled.items() if p == a)
        tp = sum(n for (p, a), n in labelled.items() if a == 1 and p == 1)
        fp = sum(n for (p, a), n in labelled.items() if a == 0 and p == 1)
        fn = sum(n for (p, a), n in labelled.items() if a == 1 and p == 0)
        tn = sum(n for (p, a), n in labelled.items() if a == 0 and p != 1)
        precision = ratio(tp, tp + fp)
        recall = ratio(tp, tp + fn)
        f1 = ratio(2 * precision * recall, precision + recall)
        mae = self._store.aggregate(Feedback, Agg("avg", "absolute_error"), where=where)[0]["avg_absolute_error"]
        performance: Dict[str, Any] = {
            "model_name": model_name,
            "evaluation_date": today().isoformat(),
            "evaluation_period_days": days_back,
            "total_predictions": total,
            "processed_predictions": processed,
            "accuracy": correct / processed,
            "precision": float(precision),
            "recall": float(recall),
            "f1_score": float(f1),
            "auc_score": self._auc(where),
            "mean_absolute_error": float(mae) if mae is not None else 0.0,
            "true_positive_rate": float(recall),
            "false_positive_rate": ratio(fp, fp + tn),
        }
        self._store.append(
            [
                ModelPerformanceHistory(
                    model_name=model_name,
                    evaluation_date=today(),
                    accuracy=performance["accuracy"],
                    precision_score=performance["precision"],
                    recall_score=performance["recall"],
                    f1_score=performance["f1_score"],
                    auc_score=performance["auc_score"],
                    feedback_count=processed,
                )
            ]
        )
        return performance

    def _auc(self, where: Tuple[Any, ...]) -> float:
        """Mann-Whitney AUC with ties averaged, in one pass over rows ordered by probability."""
        positives = negatives = 0
        rank_sum = 0.0
        seen = 0
        group_value: Optional[float] = None
        group_pos = group_size = 0

        def close_group() -> None:
            nonlocal rank_sum
            if group_size:
                mean_rank = seen - group_size + (group_size + 1) / 2.0
                rank_sum += group_pos * mean_rank

        for page in self._store.pages(Feedback, *where, order_by=[asc("predicted_probability")], size=2000):
            for fb in page:
                if fb.actual_class is None:
                    continue
                if fb.predicted_probability != group_value:
                    close_group()
                    group_value, group_pos, group_size = fb.predicted_probability, 0, 0
                seen += 1
                group_size += 1
                if fb.actual_class == 1:
                    positives += 1
                    group_pos += 1
                else:
                    negatives += 1
        close_group()
        if not positives or not negatives:
            return 0.5
        return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)

    def check_retrain_needed(self) -> Dict[str, Any]:
        """Whether the ensemble should be retrained (the legacy criteria; it evaluates,
        and so appends to ``model_performance_history``)."""
        recent = self.evaluate_model_performance("ensemble", 30)
        if not recent:
            return {"retrain_needed": False, "reason": "insufficient_data"}
        reasons = []
        if recent["processed_predictions"] < RETRAIN_CRITERIA["min_feedback_count"]:
            reasons.append(f"insufficient_feedback_count: {recent['processed_predictions']}")
        drop = BASELINE_ACCURACY - recent["accuracy"]
        if drop > RETRAIN_CRITERIA["accuracy_drop_threshold"]:
            reasons.append(f"accuracy_drop: {drop:.3f}")
        reasons.append("time_based_retrain")  # legacy: "temporarily always true"
        return {
            "retrain_needed": bool(reasons),
            "reasons": reasons,
            "current_performance": recent,
            "retrain_criteria": dict(RETRAIN_CRITERIA),
        }

    def get_feedback_summary(self, days_back: int = 30) -> Dict[str, Any]:
        """Counts and mean errors of the last ``days_back`` days, overall and per model,
        computed by the database."""
        window = Range("prediction_date", ge=since(days_back))
        groups = self._store.aggregate(
            Feedback, Agg("count"), where=[window], group_by=["is_processed", "actual_class", "predicted_class"]
        )
        total = sum(int(g["count"]) for g in groups)
        processed = sum(int(g["count"]) for g in groups if g["is_processed"])
        actual_successes = sum(int(g["count"]) for g in groups if g["actual_class"] == 1)
        predicted_successes = sum(int(g["count"]) for g in groups if g["predicted_class"] == 1)
        done: List[Filter] = [window, Eq("is_processed", True)]
        avg_error = self._store.aggregate(Feedback, Agg("avg", "absolute_error"), where=done)[0]["avg_absolute_error"]
        per_model = self._store.aggregate(
            Feedback, Agg("count"), Agg("avg", "absolute_error"), where=done, group_by=["model_name"]
        )
        return {
            "period_days": days_back,
            "total_feedback": total,
            "processed_feedback": processed,
            "processing_rate": ratio(processed, total),
            "average_error": avg_error if avg_error else 0.0,
            "actual_success_rate": ratio(actual_successes, processed),
            "predicted_success_rate": ratio(predicted_successes, total),
            "model_performance": {
                g["model_name"]: {"count": int(g["count"]), "avg_error": g["avg_absolute_error"] or 0.0}
                for g in per_model
            },
        }

    def get_recent_feedback(self, days: int = 7) -> List[Dict[str, Any]]:
        """The 100 newest predictions of the last ``days`` days, with ``prediction_id``
        (which the legacy query left out), dates as ``'YYYY-MM-DD'`` and
        ``factor_scores`` as a dict (``{}`` when absent)."""
        rows = self._store.find(
            Feedback, Range("prediction_date", ge=since(days)), order_by=[desc("prediction_date")], limit=100
        )
        return [_recent_dict(fb) for fb in rows]

    def get_stats(self) -> Dict[str, Any]:
        """``total_count``, ``processed_count``, ``accuracy`` (of processed predictions)
        and ``recent_count`` (predictions of the last 30 days)."""
        total = self._store.count(Feedback)
        cells = confusion(self._store, Eq("is_processed", True))
        processed = sum(cells.values())
        correct = sum(n for (p, a), n in cells.items() if a is not None and p == a)
        accuracy = correct / processed if processed else 0.0
        return {
            "total_count": total,
            "processed_count": processed,
            "accuracy": accuracy if accuracy else 0.0,
            "recent_count": self._store.count(Feedback, Range("prediction_date", ge=since(30))),
        }


def _feedback_rows(prediction: Any) -> List[Feedback]:
    code = attr(prediction, "stock_code")
    day = as_date(attr(prediction, "prediction_date"), "Feedback", "prediction_date")
    raw_scores = attr(prediction, "factor_scores")
    scores = as_json(raw_scores, "Feedback", "factor_scores") if raw_scores else None
    rows = [
        Feedback(
            prediction_id=f"{code}_{day.isoformat()}_ensemble",
            stock_code=code,
            prediction_date=day,
            predicted_probability=as_float(attr(prediction, "ensemble_probability")),
            predicted_class=as_int(attr(prediction, "ensemble_prediction")),
            model_name="ensemble",
            factor_scores=scores,
        )
    ]
    for model_name, model_pred in (attr(prediction, "model_predictions") or {}).items():
        rows.append(
            Feedback(
                prediction_id=f"{code}_{day.isoformat()}_{model_name}",
                stock_code=attr(model_pred, "stock_code", code),
                prediction_date=as_date(attr(model_pred, "prediction_date", day), "Feedback", "prediction_date"),
                predicted_probability=as_float(attr(model_pred, "success_probability")),
                predicted_class=as_int(attr(model_pred, "predicted_class")),
                model_name=model_name,
                factor_scores=scores,
            )
        )
    return rows
