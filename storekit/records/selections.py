"""The unified ``daily_selections`` record: the main DB's phase-2 selections and
``accuracy_tracking.db``'s selections (two legacy tables of the same name)."""

from __future__ import annotations

import datetime as dt
from typing import Iterator, Optional, Tuple

import attrs

from ._declare import LegacySource, Record, field, record, stock_code
from ._ids import derived_id, new_id, utc_now
from .learning import ACCURACY_DB
from .main import MAIN_DB, STOCK


def _accuracy_id(selection_date: dt.date, code: str) -> int:
    return derived_id("accuracy_tracker", selection_date.isoformat(), code)


def _default_id(row: DailySelection) -> int:
    date, code = row.selection_date, row.stock_code
    if row.source == "accuracy_tracker" and isinstance(date, dt.date) and code:
        return _accuracy_id(date, code)
    return new_id()


@record(
    table="daily_selections",
    key=("id",),
    legacy=[
        LegacySource(MAIN_DB, "daily_selections", discriminator=("source", "phase2")),
        LegacySource(ACCURACY_DB, "daily_selections", discriminator=("source", "accuracy_tracker")),
    ],
    indexes=[("selection_date",), ("signal",)],
    unique=[("source", "selection_date", "stock_code")],
    references=[STOCK],
)
class DailySelection(Record):
    """A stock selected on one day, from either legacy ``daily_selections``.

    ``phase2`` rows are the main DB's ``DailySelection`` model (the phase-2 workflow;
    referenced by ``trade_history.daily_selection_id``): they keep their main-DB ``id``
    (> 0) and use ``stock_id`` to ``result_date``. ``accuracy_tracker`` rows come from
    AccuracyTracker.record_daily_selection: they use ``stock_code`` to ``created_at``,
    and their ``id`` is derived from (selection_date, stock_code), a negative number
    that never collides with a phase-2 id (see :meth:`from_accuracy_tracker`).
    """

    source: str = field(choices=("phase2", "accuracy_tracker"))
    selection_date: dt.date
    stock_code: Optional[str] = field(default=None, check=stock_code)
    id: int = field(
        default=attrs.Factory(_default_id, takes_self=True),
        doc="phase2: the main-DB id; accuracy_tracker: derived from selection_date and stock_code",
    )
    # main DB (phase 2)
    stock_id: Optional[int] = None
    total_score: Optional[float] = None
    technical_score: Optional[float] = None
    volume_score: Optional[float] = None
    momentum_score: Optional[float] = None
    risk_score: Optional[float] = None
    rsi: Optional[float] = None
    macd: Optional[float] = None
    bb_position: Optional[float] = None
    target_price: Optional[float] = None
    stop_loss: Optional[float] = None
    position_size: Optional[float] = None
    signal: Optional[str] = None
    signal_strength: Optional[float] = None
    actual_return: Optional[float] = None
    result_date: Optional[dt.date] = None
    # accuracy_tracking.db
    stock_name: Optional[str] = None
    sector: Optional[str] = None
    selection_price: Optional[float] = None
    selection_reason: Optional[str] = None
    confidence_score: Optional[float] = None
    created_at: Optional[dt.datetime] = None

    _PHASE2_ONLY = (
        "stock_id", "total_score", "technical_score", "volume_score", "momentum_score",
        "risk_score", "rsi", "macd", "bb_position", "target_price", "stop_loss",
        "position_size", "signal", "signal_strength", "actual_return", "result_date",
    )
    _ACCURACY_ONLY = (
        "stock_code", "stock_name", "sector", "selection_price", "selection_reason",
        "confidence_score", "created_at",
    )

    @classmethod
    def from_accuracy_tracker(
        cls,
        selection_date: dt.date,
        stock_code: str,
        stock_name: Optional[str] = None,
        sector: Optional[str] = None,
        selection_price: Optional[float] = None,
        selection_reason: Optional[str] = None,
        confidence_score: Optional[float] = None,
        created_at: Optional[dt.datetime] = None,
    ) -> DailySelection:
        """An ``accuracy_tracker`` row with its derived id; ``created_at`` defaults to now."""
        return cls(
            source="accuracy_tracker",
            selection_date=selection_date,
            stock_code=stock_code,
            id=_accuracy_id(selection_date, stock_code),
            stock_name=stock_name,
            sector=sector,
            selection_price=selection_price,
            selection_reason=selection_reason,
            confidence_score=confidence_score,
            created_at=created_at if created_at is not None else utc_now(),
        )

    def __validate__(self) -> Iterator[Tuple[str, str]]:
        other = self._ACCURACY_ONLY if self.source == "phase2" else self._PHASE2_ONLY
        for name in other:
            if getattr(self, name) is not None:
                yield name, f"is not a field of {self.source!r} daily selections"
        if self.source == "phase2":
            if self.id <= 0:
                yield "id", "phase2 rows keep their positive main-DB id"
            if self.stock_id is None:
                yield "stock_id", "phase2 rows need a stock_id"
            if self.total_score is None:
                yield "total_score", "phase2 rows need a total_score"
        elif self.stock_code is None:
            yield "stock_code", "accuracy_tracker rows need a stock_code"
        elif self.id != _accuracy_id(self.selection_date, self.stock_code):
            yield "id", (
                "accuracy_tracker rows must use the id derived from selection_date and "
                "stock_code (use DailySelection.from_accuracy_tracker)"
            )
