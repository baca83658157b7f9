"""Records of ``data/learning/learning_data.db`` (DataSynchronizer), plus the unified
performance tracking record that also holds ``accuracy_tracking.db``'s table."""

from __future__ import annotations

import datetime as dt
from typing import Iterator, Optional, Tuple

from ._declare import Json, LegacySource, Record, field, record, stock_code
from ._ids import new_id, utc_now

LEARNING_DB = "learning/learning_data.db"
ACCURACY_DB = "accuracy_tracking.db"

METRIC_TYPES = ("performance",)
"""The ``metric_type`` values DataSynchronizer writes (the only one)."""
METRIC_NAMES = (
    "screening_avg_performance", "screening_win_rate", "screening_sample_count",
    "selection_avg_performance", "selection_win_rate", "selection_sample_count",
    "avg_max_gain", "avg_max_loss",
    "best_sector", "best_sector_performance", "worst_sector", "worst_sector_performance",
)  # fmt: skip
"""The ``metric_name`` values DataSynchronizer writes; ``best_sector`` and
``worst_sector`` hold sector names (``value_text``)."""


@record(
    table="screening_history",
    key=("stock_code", "screening_date"),
    legacy=[LegacySource(LEARNING_DB, "screening_history")],
    indexes=[("screening_date",)],
)
class ScreeningHistory(Record):
    """One stock's screening result for one day (DataSynchronizer.sync_screening_results)."""

    stock_code: str = field(check=stock_code)
    stock_name: str
    sector: Optional[str] = None
    screening_date: dt.date
    overall_score: Optional[float] = None
    fundamental_score: Optional[float] = None
    technical_score: Optional[float] = None
    passed: Optional[bool] = None
    roe: Optional[float] = None
    per: Optional[float] = field(default=None, doc="may be +inf (the screener's default PER)")
    pbr: Optional[float] = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="selection_history",
    key=("stock_code", "selection_date"),
    legacy=[LegacySource(LEARNING_DB, "selection_history")],
    indexes=[("selection_date",)],
)
class SelectionHistory(Record):
    """One stock selected on one day (DataSynchronizer.sync_selection_results)."""

    stock_code: str = field(check=stock_code)
    stock_name: str
    selection_date: dt.date
    final_score: Optional[float] = None
    predicted_direction: Optional[str] = None
    confidence: Optional[float] = None
    reason: Optional[str] = None
    entry_price: Optional[float] = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="performance_tracking",
    key=("source", "stock_code", "tracking_date"),
    legacy=[
        LegacySource(LEARNING_DB, "performance_tracking", discriminator=("source", "learning")),
        LegacySource(ACCURACY_DB, "performance_tracking", discriminator=("source", "accuracy")),
    ],
    indexes=[("tracking_date",)],
)
class PerformanceTracking(Record):
    """Price performance of a selected stock, from either legacy ``performance_tracking``.

    ``source`` says which: ``learning`` rows (DataSynchronizer) use ``entry_price`` to
    ``is_active``; ``accuracy`` rows (AccuracyTracker) use ``price_1d`` to
    ``return_30d``. ``tracking_date`` is the selection date in both (the learning
    table calls it ``tracking_date``, the accuracy table ``selection_date``), and
    ``updated_at`` is the learning ``updated_at`` or the accuracy ``last_updated``.
    A price that is not known stays ``None``: storekit never invents one.
    """

    source: str = field(choices=("learning", "accuracy"))
    stock_code: str = field(check=stock_code)
    tracking_date: dt.date
    # learning_data.db
    entry_price: Optional[float] = None
    current_price: Optional[float] = None
    price_change_pct: Optional[float] = field(default=None, doc="percent")
    days_tracked: Optional[int] = None
    max_gain: Optional[float] = field(default=None, doc="percent")
    max_loss: Optional[float] = field(default=None, doc="percent")
    is_active: Optional[bool] = None
    # accuracy_tracking.db
    price_1d: Optional[float] = None
    return_1d: Optional[float] = field(default=None, doc="percent")
    price_7d: Optional[float] = None
    return_7d: Optional[float] = field(default=None, doc="percent")
    price_30d: Optional[float] = None
    return_30d: Optional[float] = field(default=None, doc="percent")
    updated_at: Optional[dt.datetime] = field(factory=utc_now)

    _LEARNING_ONLY = (
        "entry_price", "current_price", "price_change_pct", "days_tracked",
        "max_gain", "max_loss", "is_active",
    )
    _ACCURACY_ONLY = ("price_1d", "return_1d", "price_7d", "return_7d", "price_30d", "return_30d")

    def __validate__(self) -> Iterator[Tuple[str, str]]:
        other = self._ACCURACY_ONLY if self.source == "learning" else self._LEARNING_ONLY
        for name in other:
            if getattr(self, name) is not None:
                yield name, f"is not a field of {self.source!r} performance tracking rows"
        if self.source == "learning" and self.entry_price is None:
            yield "entry_price", "learning rows need an entry price"


@record(
    table="learning_metrics",
    key=("id",),
    legacy=[LegacySource(LEARNING_DB, "learning_metrics")],
    indexes=[("date", "metric_name")],
)
class LearningMetric(Record):
    """One learning metric of one run. The legacy table has no natural key, so each row
    keeps a client-generated ``id`` (migrated rows keep their legacy ``id``).

    The legacy ``value REAL NOT NULL`` column also holds text (the sector names of
    ``best_sector``/``worst_sector``), so a metric has either a number in ``value`` or
    text in ``value_text``, exactly one of them.
    """

    id: int = field(factory=new_id)
    date: dt.date
    metric_type: str = field(choices=METRIC_TYPES)
    metric_name: str = field(choices=METRIC_NAMES)
    value: Optional[float] = None
    value_text: Optional[str] = field(default=None, doc="text values (sector names)")
    metadata: Json = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)

    def __validate__(self) -> Iterator[Tuple[str, str]]:
        if (self.value is None) == (self.value_text is None):
            yield "value", "exactly one of value and value_text must be set"
