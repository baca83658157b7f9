"""The persistence methods of the main-database helpers of ``core/database/unified_db.py``.

``get_db``/``get_session``/``ensure_tables_exist`` have no counterpart: the store is
the session, and :func:`storekit.open_store` creates the tables. The CRUD helpers keep
their names, parameters and return shapes; see ``docs/modules/unified_db.rst``.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Dict, List, Optional, Tuple

from ..query import Agg, Eq, Range, desc
from ..records import Feedback, ModelPerformanceHistory, ScreeningResult, SelectionResult, utc_now
from ._base import DomainStore
from ._unified_db_values import as_date, as_float, as_int, as_json, evolve, number, since

__all__ = ["UnifiedDb", "feedback_dict"]


def feedback_dict(fb: Feedback) -> Dict[str, Any]:
    """A feedback row as the legacy ``FeedbackData.to_dict()`` gives it (dates as
    ``'YYYY-MM-DD'``; ``factor_scores`` as the JSON value, not text)."""
    return {
        "prediction_id": fb.prediction_id,
        "stock_code": fb.stock_code,
        "prediction_date": fb.prediction_date.isoformat(),
        "predicted_probability": fb.predicted_probability,
        "predicted_class": fb.predicted_class,
        "model_name": fb.model_name,
        "actual_return_7d": fb.actual_return_7d,
        "actual_class": fb.actual_class,
        "prediction_error": fb.prediction_error,
        "is_processed": fb.is_processed,
        "factor_scores": fb.factor_scores,
    }


class UnifiedDb(DomainStore):
    """The persistence methods of the main-database helpers of ``core/database/unified_db.py``.

    Every method raises a typed :class:`~storekit.errors.StorekitError` where the legacy
    helper logged and returned ``False``/``[]``/``{}``: invalid input is a
    :class:`~storekit.errors.RecordValidationError` naming the field, and nothing is written.
    ``False`` is still returned where legacy returns it for "no such row".
    """

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self._accuracy: Dict[Tuple[str, int, dt.date], Tuple[int, Optional[float]]] = {}
        self._accuracy_lock = threading.Lock()

    # -- feedback_data ------------------------------------------------------------------

    def save_feedback(
        self,
        prediction_id: str,
        stock_code: str,
        prediction_date: Any,
        predicted_probability: float,
        predicted_class: int,
        model_name: str,
        factor_scores: Any = None,
    ) -> bool:
        """Save a prediction; an existing one (same ``prediction_id``) gets the new
        probability, class and factor scores and keeps its observed outcome.

        ``prediction_id`` must be ``{stock_code}_{YYYY-MM-DD}_{model_name}``;
        ``factor_scores`` is a JSON value or JSON text. Returns ``True``.
        """
        day = as_date(prediction_date, "Feedback", "prediction_date")
        scores = None if factor_scores is None else as_json(factor_scores, "Feedback", "factor_scores")
        fresh = Feedback(
            prediction_id=prediction_id,
            stock_code=stock_code,
            prediction_date=day,
            predicted_probability=as_float(predicted_probability),
            predicted_class=as_int(predicted_class),
            model_name=model_name,
            factor_scores=scores,
        )
        with self._store.transaction():
            existing = self._store.get(Feedback, prediction_id)
            record = fresh if existing is None else refreshed(existing, fresh)
            self._store.put(record)
        return True

    def update_feedback_result(self, prediction_id: str, actual_return_7d: float, actual_class: int) -> bool:
        """Record a prediction's outcome: ``prediction_error`` is the probability minus
        ``1 if actual_class == 1 else 0``, ``feedback_date`` today, ``is_processed`` true.

        Returns ``False`` when there is no such prediction.
        """
        with self._store.transaction():
            fb = self._store.get(Feedback, prediction_id)
            if fb is None:
                return False
            self._store.put(outcome(fb, actual_return_7d, actual_class))
        return True

    def get_recent_feedback(self, days: int = 30, limit: int = 100) -> List[Dict[str, Any]]:
        """Predictions made in the last ``days`` days, newest first, at most ``limit``,
        as :func:`feedback_dict` (``prediction_id`` included)."""
        rows = self._store.find(
            Feedback,
            Range("prediction_date", ge=since(days)),
            order_by=[desc("prediction_date")],
            limit=limit,
        )
        return [feedback_dict(fb) for fb in rows]

    def get_unprocessed_feedback(self) -> List[Dict[str, Any]]:
        """Every prediction without an outcome yet, as :func:`feedback_dict`."""
        return [
            feedback_dict(fb)
            for page in self._store.pages(Feedback, Eq("is_processed", False), order_by=["prediction_date"])
            for fb in page
        ]

    # -- screening_results / selection_results ----------------------------------------------

    def save_screening_result(
        self,
        screening_date: Any,
        stock_code: str,
        stock_name: str,
        total_score: float,
        fundamental_score: Optional[float] = None,
        technical_score: Optional[float] = None,
        momentum_score: Optional[float] = None,
        passed: bool = False,
        roe: Optional[float] = None,
        per: Optional[float] = None,
        pbr: Optional[float] = None,
        debt_ratio: Optional[float] = None,
    ) -> bool:
        """Save one stock's screening result for a day (replacing that day's earlier one).
        Returns ``True``."""
        self._store.put(
            ScreeningResult(
                screening_date=as_date(screening_date, "ScreeningResult", "screening_date"),
                stock_code=stock_code,
                stock_name=stock_name,
                total_score=as_float(total_score),
                fundamental_score=as_float(fundamental_score),
                technical_score=as_float(technical_score),
                momentum_score=as_float(momentum_score),
                passed=bool(passed),
                roe=as_float(roe),
                per=as_float(per),
                pbr=as_float(pbr),
                debt_ratio=as_float(debt_ratio),
            )
        )
        return True

    def get_screening_results(self, target_date: Any) -> List[Dict[str, Any]]:
        """The screening results of one day (by stock code), as legacy dicts."""
        day = as_date(target_date, "ScreeningResult", "screening_date")
        return [
            {
                "stock_code": r.stock_code,
                "stock_name": r.stock_name,
                "total_score": r.total_score,
                "fundamental_score": r.fundamental_score,
                "technical_score": r.technical_score,
                "momentum_score": r.momentum_score,
                "passed": r.passed,
                "roe": r.roe,
                "per": r.per,
                "pbr": r.pbr,
                "debt_ratio": r.debt_ratio,
            }
            for r in self._store.find(ScreeningResult, Eq("screening_date", day))
        ]

    def save_selection_result(
        self,
        selection_date: Any,
        stock_code: str,
        stock_name: str,
        total_score: float,
        entry_price: float,
        target_price: float,
        stop_loss: float,
        expected_return: float,
        confidence: float,
        signal: str = "buy",
        selection_reason: Optional[str] = None,
        market_condition: Optional[str] = None,
        technical_score: Optional[float] = None,
        volume_score: Optional[float] = None,
        pattern_score: Optional[float] = None,
        risk_score: Optional[float] = None,
    ) -> bool:
        """Save one stock's selection for a day (replacing that day's earlier one; an
        outcome already recorded is kept). Returns ``True``."""
        day = as_date(selection_date, "SelectionResult", "selection_date")
        with self._store.transaction():
            existing = self._store.get(SelectionResult, day, stock_code)
            self._store.put(
                SelectionResult(
                    selection_date=day,
                    stock_code=stock_code,
                    stock_name=stock_name,
                    total_score=as_float(total_score),
                    technical_score=as_float(technical_score),
                    volume_score=as_float(volume_score),
                    pattern_score=as_float(pattern_score),
                    risk_score=as_float(risk_score),
                    entry_price=as_float(entry_price),
                    target_price=as_float(target_price),
                    stop_loss=as_float(stop_loss),
                    expected_return=as_float(expected_return),
                    confidence=as_float(confidence),
                    signal=signal,
                    selection_reason=selection_reason,
                    market_condition=market_condition,
                    actual_return_7d=existing.actual_return_7d if existing else None,
                    is_success=existing.is_success if existing else None,
                    created_at=existing.created_at if existing else utc_now(),
                )
            )
        return True

    def get_selection_results(self, target_date: Any) -> List[Dict[str, Any]]:
        """The selections of one day, highest ``total_score`` first, as legacy dicts."""
        day = as_date(target_date, "SelectionResult", "selection_date")
        return [
            {
                "stock_code": r.stock_code,
                "stock_name": r.stock_name,
                "total_score": r.total_score,
                "entry_price": r.entry_price,
                "target_price": r.target_price,
                "stop_loss": r.stop_loss,
                "expected_return": r.expected_return,
                "confidence": r.confidence,
                "signal": r.signal,
                "selection_reason": r.selection_reason,
                "market_condition": r.market_condition,
            }
            for r in self._store.find(SelectionResult, Eq("selection_date", day), order_by=[desc("total_score")])
        ]

    def update_selection_actual_return(self, selection_date: Any, stock_code: str, actual_return_7d: float) -> bool:
        """Record a selection's 7-day return (``is_success`` is ``return > 0``).
        Returns ``False`` when there is no such selection."""
        day = as_date(selection_date, "SelectionResult", "selection_date")
        value = number(actual_return_7d, "SelectionResult", "actual_return_7d")
        with self._store.transaction():
            row = self._store.get(SelectionResult, day, stock_code)
            if row is None:
                return False
            self._store.put(
                evolve(
                    row,
                    actual_return_7d=value,
                    is_success=None if value is None else value > 0,
                    updated_at=utc_now(),
                )
            )
        return True

    # -- model_performance_history -----------------------------------------------------------

    def save_model_performance(
        self,
        model_name: str,
        evaluation_date: Any,
        accuracy: float,
        precision_score: Optional[float] = None,
        recall_score: Optional[float] = None,
        f1_score: Optional[float] = None,
        auc_score: Optional[float] = None,
        feedback_count: Optional[int] = None,
    ) -> bool:
        """Append one model evaluation. Returns ``True``."""
        self._store.append(
            [
                ModelPerformanceHistory(
                    model_name=model_name,
                    evaluation_date=as_date(evaluation_date, "ModelPerformanceHistory", "evaluation_date"),
                    accuracy=as_float(accuracy),
                    precision_score=as_float(precision_score),
                    recall_score=as_float(recall_score),
                    f1_score=as_float(f1_score),
                    auc_score=as_float(auc_score),
                    feedback_count=as_int(feedback_count),
                )
            ]
        )
        return True

    def get_model_performance_history(self, model_name: str, days: int = 30) -> List[Dict[str, Any]]:
        """A model's evaluations of the last ``days`` days, newest first."""
        rows = self._store.find(
            ModelPerformanceHistory,
            Eq("model_name", model_name),
            Range("evaluation_date", ge=since(days)),
            order_by=[desc("evaluation_date"), desc("created_at")],
        )
        return [
            {
                "model_name": h.model_name,
                "evaluation_date": h.evaluation_date.isoformat(),
                "accuracy": h.accuracy,
                "precision_score": h.precision_score,
                "recall_score": h.recall_score,
                "f1_score": h.f1_score,
                "auc_score": h.auc_score,
                "feedback_count": h.feedback_count,
            }
            for h in rows
        ]

    # -- statistics -------------------------------------------------------------------------

    def get_model_accuracy(self, model_name: str, days: int = 30) -> Optional[float]:
        """The share of a model's processed predictions of the last ``days`` days whose
        class was right, or ``None`` when there are none.

        Computed by the database, and cached per store until the next write through it
        (:attr:`storekit.Store.generation`), so it is never stale after a write made in
        this process.
        """
        key = (model_name, days, since(days))
        generation = self._store.generation
        with self._accuracy_lock:
            hit = self._accuracy.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        total, correct = confusion_totals(
            self._store, Eq("model_name", model_name), Range("prediction_date", ge=key[2]), Eq("is_processed", True)
        )
        value = correct / total if total else None
        with self._accuracy_lock:
            if len(self._accuracy) > 1024:
                self._accuracy.clear()
            self._accuracy[key] = (generation, value)
        return value

    def get_feedback_stats(self, days: int = 30) -> Dict[str, Any]:
        """Counts over the predictions of the last ``days`` days: ``total_predictions``,
        ``processed``, ``correct``, ``accuracy`` (correct / processed, 0 when none) and
        ``pending``."""
        window = Range("prediction_date", ge=since(days))
        total = self._store.count(Feedback, window)
        processed, correct = confusion_totals(self._store, window, Eq("is_processed", True))
        return {
            "total_predictions": total,
            "processed": processed,
            "correct": correct,
            "accuracy": correct / processed if processed > 0 else 0,
            "pending": total - processed,
        }


def refreshed(existing: Feedback, fresh: Feedback) -> Feedback:
    """``existing`` with ``fresh``'s prediction (probability, class, factor scores); its
    outcome and ``created_at`` are kept."""
    return evolve(
        existing,
        predicted_probability=fresh.predicted_probability,
        predicted_class=fresh.predicted_class,
        factor_scores=fresh.factor_scores,
        updated_at=utc_now(),
    )


def outcome(fb: Feedback, actual_return_7d: Any, actual_class: Any) -> Feedback:
    """``fb`` with its observed outcome (``update_feedback_result``)."""
    cls = as_int(actual_class)
    error = fb.predicted_probability - (1 if cls == 1 else 0)
    return evolve(
        fb,
        actual_return_7d=as_float(actual_return_7d),
        actual_class=cls,
        prediction_error=error,
        absolute_error=abs(error),
        feedback_date=dt.date.today(),
        is_processed=True,
        updated_at=utc_now(),
    )


def confusion(store: Any, *where: Any) -> Dict[Tuple[Any, Any], int]:
    """Row counts of ``Feedback`` matching ``where`` per (predicted_class, actual_class),
    counted by the database."""
    rows = store.aggregate(Feedback, Agg("count"), where=where, group_by=["predicted_class", "actual_class"])
    return {(r["predicted_class"], r["actual_class"]): int(r["count"]) for r in rows}


def confusion_totals(store: Any, *where: Any) -> Tuple[int, int]:
    """(rows, rows whose predicted class equals the actual class) of ``Feedback`` matching ``where``."""
    cells = confusion(store, *where)
    return sum(cells.values()), sum(n for (p, a), n in cells.items() if a is not None and p == a)
