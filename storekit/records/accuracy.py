"""The ``daily_accuracy`` record of ``data/accuracy_tracking.db`` (AccuracyTracker).

Its ``daily_selections`` and ``performance_tracking`` tables live in
:class:`~storekit.records.DailySelection` and :class:`~storekit.records.PerformanceTracking`.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, field, record
from ._ids import utc_now
from .learning import ACCURACY_DB


@record(
    table="daily_accuracy",
    key=("analysis_date", "target_date"),
    legacy=[LegacySource(ACCURACY_DB, "daily_accuracy")],
)
class DailyAccuracy(Record):
    """Accuracy of one day's selections (AccuracyTracker._save_accuracy_result).

    The legacy table is UNIQUE on ``analysis_date``, so only the last of the three
    target dates analysed each day survived; storekit keeps every one.
    """

    analysis_date: dt.date
    target_date: dt.date
    total_predictions: Optional[int] = None
    positive_1d: Optional[int] = None
    positive_rate_1d: Optional[float] = field(default=None, doc="percent")
    avg_return_1d: Optional[float] = field(default=None, doc="percent")
    positive_7d: Optional[int] = None
    positive_rate_7d: Optional[float] = field(default=None, doc="percent")
    avg_return_7d: Optional[float] = field(default=None, doc="percent")
    positive_30d: Optional[int] = None
    positive_rate_30d: Optional[float] = field(default=None, doc="percent")
    avg_return_30d: Optional[float] = field(default=None, doc="percent")
    strong_positive_1d: Optional[int] = None
    strong_positive_rate_1d: Optional[float] = field(default=None, doc="percent")
    strong_positive_7d: Optional[int] = None
    strong_positive_rate_7d: Optional[float] = field(default=None, doc="percent")
    sector_accuracy: Json = field(default=None, doc="{sector: percent}")
    top_performers: Json = field(
        default=None, doc="[{stock_code, stock_name, sector, return_7d}], best 5"
    )
    worst_performers: Json = field(
        default=None, doc="[{stock_code, stock_name, sector, return_7d}], worst 5"
    )
    created_at: Optional[dt.datetime] = field(factory=utc_now)
