"""The main database's phase-1 and phase-2 result tables (``screening_results``,
``selection_results``), written by ``core/database/unified_db.py`` from 3f63b64 on.

The legacy snapshot's main database does not have them yet, so no legacy file maps to
them; the unified store keeps them for the ``unified_db`` helpers
(:class:`storekit.domain.UnifiedDb`). The legacy models have no unique key (each save
added a row); here a stock has one result per day, so saving again replaces it.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Record, field, record, stock_code
from ._ids import utc_now


@record(
    table="screening_results",
    key=("screening_date", "stock_code"),
    indexes=[("stock_code",)],
)
class ScreeningResult(Record):
    """One stock's phase-1 screening result for one day (``unified_db.save_screening_result``)."""

    screening_date: dt.date
    stock_code: str = field(check=stock_code)
    stock_name: Optional[str] = None
    total_score: Optional[float] = None
    fundamental_score: Optional[float] = None
    technical_score: Optional[float] = None
    momentum_score: Optional[float] = None
    passed: bool = False
    roe: Optional[float] = None
    per: Optional[float] = field(default=None, doc="may be +inf (the screener's default PER)")
    pbr: Optional[float] = None
    debt_ratio: Optional[float] = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="selection_results",
    key=("selection_date", "stock_code"),
    indexes=[("stock_code",)],
)
class SelectionResult(Record):
    """One stock's phase-2 selection for one day (``unified_db.save_selection_result``)."""

    selection_date: dt.date
    stock_code: str = field(check=stock_code)
    stock_name: Optional[str] = None
    total_score: Optional[float] = None
    technical_score: Optional[float] = None
    volume_score: Optional[float] = None
    pattern_score: Optional[float] = None
    risk_score: Optional[float] = None
    entry_price: Optional[float] = None
    target_price: Optional[float] = None
    stop_loss: Optional[float] = None
    expected_return: Optional[float] = field(default=None, doc="percent")
    confidence: Optional[float] = None
    signal: Optional[str] = field(default=None, doc="buy, sell or hold")
    selection_reason: Optional[str] = None
    market_condition: Optional[str] = None
    actual_return_7d: Optional[float] = field(default=None, doc="set 7 days later")
    is_success: Optional[bool] = field(default=None, doc="actual_return_7d > 0")
    created_at: Optional[dt.datetime] = field(factory=utc_now)
    updated_at: Optional[dt.datetime] = field(factory=utc_now)
