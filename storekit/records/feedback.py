"""Records of ``data/feedback.db`` (FeedbackSystem); the main DB's ``feedback_data``
table (from 3f63b64) holds the same rows."""

from __future__ import annotations

import datetime as dt
from typing import Iterator, Optional, Tuple

from ._declare import Json, LegacySource, Record, field, record, stock_code
from ._ids import new_id, utc_now
from .main import MAIN_DB

FEEDBACK_DB = "feedback.db"


@record(
    table="feedback_data",
    key=("prediction_id",),
    legacy=[LegacySource(FEEDBACK_DB, "feedback_data"), LegacySource(MAIN_DB, "feedback_data")],
    indexes=[("model_name",), ("prediction_date",), ("stock_code",)],
)
class Feedback(Record):
    """One model prediction and its observed outcome (FeedbackSystem.record_predictions,
    update_feedback_from_performance)."""

    prediction_id: str = field(doc="{stock_code}_{YYYY-MM-DD}_{model_name}")
    stock_code: str = field(check=stock_code)
    prediction_date: dt.date
    predicted_probability: float
    predicted_class: int
    model_name: str = field(
        choices=("ensemble", "random_forest", "gradient_boosting", "logistic_regression")
    )
    actual_return_7d: Optional[float] = None
    actual_class: Optional[int] = None
    prediction_error: Optional[float] = None
    absolute_error: Optional[float] = None
    feedback_date: Optional[dt.date] = None
    is_processed: bool = False
    factor_scores: Json = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)
    updated_at: Optional[dt.datetime] = field(factory=utc_now)

    def __validate__(self) -> Iterator[Tuple[str, str]]:
        expected = f"{self.stock_code}_{self.prediction_date.isoformat()}_{self.model_name}"
        if self.prediction_id != expected:
            yield "prediction_id", f"must be {expected!r} (stock_code_prediction_date_model_name)"


@record(
    table="model_performance_history",
    key=("id",),
    legacy=[LegacySource(FEEDBACK_DB, "model_performance_history")],
)
class ModelPerformanceHistory(Record):
    """One evaluation of a model against feedback (FeedbackSystem.evaluate_model_performance)."""

    id: int = field(factory=new_id)
    model_name: str
    evaluation_date: dt.date
    accuracy: Optional[float] = None
    precision_score: Optional[float] = None
    recall_score: Optional[float] = None
    f1_score: Optional[float] = None
    auc_score: Optional[float] = None
    feedback_count: Optional[int] = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)
