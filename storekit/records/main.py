"""Records of the main SQLAlchemy database (``data/db/stock_data.db``, ``core/database/models.py``).

Every table keeps its integer ``id`` as the key, since other rows reference it; migrated
rows keep their legacy ``id``, new rows get a client-generated one.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, Reference, field, record, stock_code
from ._ids import new_id, utc_now

MAIN_DB = "db/stock_data.db"
STOCK = Reference(("stock_id",), "stocks", ("id",))


@record(
    table="stocks",
    key=("id",),
    legacy=[LegacySource(MAIN_DB, "stocks")],
    unique=[("code",)],
)
class Stock(Record):
    """One listed stock (the ``Stock`` model)."""

    id: int = field(factory=new_id)
    code: str = field(check=stock_code)
    name: str
    market: str
    sector: Optional[str] = None
    updated_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="prices",
    key=("id",),
    legacy=[LegacySource(MAIN_DB, "prices")],
    indexes=[("stock_id", "date")],
    references=[STOCK],
)
class Price(Record):
    """One stock's daily OHLCV bar (the ``Price`` model)."""

    id: int = field(factory=new_id)
    stock_id: int
    date: dt.date
    open_price: float
    high_price: float
    low_price: float
    close_price: float
    volume: int


@record(
    table="indicators",
    key=("id",),
    legacy=[LegacySource(MAIN_DB, "indicators")],
    references=[STOCK],
)
class Indicator(Record):
    """One technical indicator value of one stock and day (the ``Indicator`` model)."""

    id: int = field(factory=new_id)
    stock_id: int
    date: dt.date
    name: str
    value: float
    meta_data: Json = None


@record(
    table="trades",
    key=("id",),
    legacy=[LegacySource(MAIN_DB, "trades")],
    indexes=[("datetime",), ("stock_id", "datetime")],
    references=[STOCK],
)
class Trade(Record):
    """One executed trade (the ``Trade`` model)."""

    id: int = field(factory=new_id)
    stock_id: int
    datetime: dt.datetime
    type: str
    price: float
    quantity: int
    amount: float
    commission: float
    strategy: Optional[str] = None


@record(
    table="watchlist_stocks",
    key=("id",),
    legacy=[LegacySource(MAIN_DB, "watchlist_stocks")],
    indexes=[("added_date",), ("status",)],
    references=[STOCK],
)
class WatchlistStock(Record):
    """One stock on the watchlist (the ``WatchlistStock`` model)."""

    id: int = field(factory=new_id)
    stock_id: int
    added_date: dt.date
    total_score: float
    fundamental_score: Optional[float] = None
    technical_score: Optional[float] = None
    momentum_score: Optional[float] = None
    roe: Optional[float] = None
    per: Optional[float] = None
    pbr: Optional[float] = None
    debt_ratio: Optional[float] = None
    status: Optional[str] = "active"
    removed_date: Optional[dt.date] = None
    removal_reason: Optional[str] = None


@record(
    table="trade_history",
    key=("id",),
    legacy=[LegacySource(MAIN_DB, "trade_history")],
    indexes=[("status",), ("order_datetime",), ("strategy",)],
    unique=[("order_id",)],
    references=[STOCK, Reference(("daily_selection_id",), "daily_selections", ("id",))],
)
class TradeHistory(Record):
    """One order and its fill (the ``TradeHistory`` model)."""

    id: int = field(factory=new_id)
    stock_id: int
    order_id: Optional[str] = None
    order_datetime: dt.datetime
    order_type: str
    side: str
    filled_datetime: Optional[dt.datetime] = None
    quantity: int
    filled_quantity: Optional[int] = 0
    price: Optional[float] = None
    filled_price: Optional[float] = None
    amount: Optional[float] = None
    commission: Optional[float] = 0.0
    tax: Optional[float] = 0.0
    strategy: Optional[str] = None
    signal_source: Optional[str] = None
    daily_selection_id: Optional[int] = None
    status: Optional[str] = "pending"
    error_message: Optional[str] = None
    # F-DATA-002 (3f63b64)
    entry_price: Optional[float] = None
    target_price: Optional[float] = None
    stop_loss_price: Optional[float] = None
    expected_return: Optional[float] = None
    predicted_probability: Optional[float] = None
    predicted_class: Optional[int] = None
    model_name: Optional[str] = None


@record(
    table="error_logs",
    key=("id",),
    legacy=[LegacySource(MAIN_DB, "error_logs")],
    indexes=[("timestamp",), ("level",), ("service",)],
)
class ErrorLog(Record):
    """One logged error (the ``ErrorLog`` model)."""

    id: int = field(factory=new_id)
    timestamp: dt.datetime = field(factory=utc_now)
    level: str
    service: str
    module: Optional[str] = None
    function: Optional[str] = None
    message: str
    error_type: Optional[str] = None
    stack_trace: Optional[str] = None
    context: Json = None
    resolved: Optional[dt.datetime] = field(default=None, doc="when it was resolved")
    resolution_note: Optional[str] = None
