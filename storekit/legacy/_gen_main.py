"""Generator writer for the main database (``db/stock_data.db``) as SQLAlchemy sessions
wrote it: ids assigned by SQLite, ``Date`` as ``'YYYY-MM-DD'``, ``DateTime`` as local
``'YYYY-MM-DD HH:MM:SS.ffffff'``, ``Numeric`` through NUMERIC affinity."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from typing import Any, List, Tuple

from ._ddl import TRADE_HISTORY_PREDICTION_COLUMNS
from ._gen_analytics import FEEDBACK_COLUMNS, feedback_rows
from ._gen_common import STOCKS, Gen, dumps_ascii, insert

_TRADE_HISTORY_BASE = (
    "stock_id", "order_id", "order_datetime", "order_type", "side", "filled_datetime", "quantity",
    "filled_quantity", "price", "filled_price", "amount", "commission", "tax", "strategy", "signal_source",
    "daily_selection_id", "status", "error_message",
)


def write_main(conn: sqlite3.Connection, g: Gen, tables: Tuple[str, ...], trade_predictions: bool) -> None:
    """Fill the main DB's ``tables``; ``trade_predictions`` says whether ``trade_history`` has
    the seven 3f63b64 columns."""
    ts = g.sqlalchemy_dt
    stocks = list(STOCKS)
    insert(conn, "stocks", ("code", "name", "market", "sector", "updated_at"), [
        (code, name, market, sector, ts(g.at(g.now.date() - dt.timedelta(days=1), 7, 30, spread_s=60)))
        for code, name, sector, market in stocks])
    ids = range(1, len(stocks) + 1)
    days = g.trading_days(max(2, math.ceil(g.rows / len(stocks))))

    prices, indicators = [], []
    for day in days:
        for stock_id in ids:
            close = g.price()
            prices.append((stock_id, g.iso_date(day), close * (1 + g.uniform(-0.02, 0.02, 3)),
                           close * (1 + g.uniform(0, 0.04, 3)), close * (1 - g.uniform(0, 0.04, 3)), close,
                           g.rng.randint(10_000, 30_000_000)))
            indicators.append((stock_id, g.iso_date(day), g.rng.choice(("rsi", "macd", "bb_position")),
                               g.uniform(-50, 100, 4), dumps_ascii({"period": 14}) if g.chance(0.5) else None))
    insert(conn, "prices", ("stock_id", "date", "open_price", "high_price", "low_price", "close_price", "volume"),
           prices[: g.rows])
    insert(conn, "indicators", ("stock_id", "date", "name", "value", "meta_data"), indicators[: g.rows])

    trades = []
    for _ in range(g.rows):
        at = g.at(g.rng.choice(days), 9, 0, spread_s=6 * 3600)
        price, qty = g.price(), g.rng.randint(1, 200)
        trades.append((g.rng.choice(ids), ts(at), g.rng.choice(("buy", "sell")), price, qty, price * qty,
                       round(price * qty * 0.00015), g.rng.choice(("momentum", "bollinger", None))))
    trades.sort(key=lambda t: t[1])
    insert(conn, "trades", ("stock_id", "datetime", "type", "price", "quantity", "amount", "commission",
                            "strategy"), trades)

    watch = []
    for stock_id in list(ids)[: g.rows]:
        added = g.rng.choice(days)
        removed = g.chance(0.2)
        watch.append((stock_id, g.iso_date(added), g.uniform(40, 90, 1), g.uniform(30, 90, 1), g.uniform(30, 90, 1),
                      g.uniform(30, 90, 1), g.uniform(-5, 25, 2), g.uniform(3, 40, 2), g.uniform(0.3, 5, 2),
                      g.uniform(10, 200, 1), "removed" if removed else "active",
                      g.iso_date(added + dt.timedelta(days=5)) if removed else None,
                      "점수 하락" if removed else None))
    insert(conn, "watchlist_stocks", (
        "stock_id", "added_date", "total_score", "fundamental_score", "technical_score", "momentum_score", "roe",
        "per", "pbr", "debt_ratio", "status", "removed_date", "removal_reason"), watch)

    selections: List[Tuple[Any, ...]] = []
    for day in days:
        for stock_id in g.rng.sample(list(ids), 3):
            old = (g.now.date() - day).days > 7
            scores = [g.uniform(0, 100, 1) for _ in range(4)]
            selections.append((stock_id, g.iso_date(day), g.uniform(40, 95, 1), *scores, g.uniform(10, 90, 2),
                               g.uniform(-500, 500, 2), g.uniform(0, 1, 3), g.price(), g.price(),
                               g.uniform(0.01, 0.1, 4), g.rng.choice(("buy", "hold", "sell")),
                               g.uniform(0, 1, 3), g.uniform(-8, 12, 2) if old else None,
                               g.iso_date(day + dt.timedelta(days=7)) if old else None))
    selections = selections[: g.rows]
    insert(conn, "daily_selections", (
        "stock_id", "selection_date", "total_score", "technical_score", "volume_score", "momentum_score",
        "risk_score", "rsi", "macd", "bb_position", "target_price", "stop_loss", "position_size", "signal",
        "signal_strength", "actual_return", "result_date"), selections)

    history: List[Tuple[Any, ...]] = []
    for n in range(g.rows):
        sel_id = g.rng.randint(1, len(selections))
        stock_id, sel_day = selections[sel_id - 1][:2]
        at = g.at(dt.date.fromisoformat(str(sel_day)), 9, 1, spread_s=3 * 3600)
        status = g.rng.choice(("filled", "filled", "pending", "cancelled", "rejected"))
        price, qty = g.price(), g.rng.randint(1, 100)
        filled = status == "filled"
        row: Tuple[Any, ...] = (
            stock_id, f"{8_000_000 + n:010d}", ts(at), g.rng.choice(("market", "limit")),
            g.rng.choice(("buy", "sell")), ts(at + dt.timedelta(seconds=g.rng.randint(1, 90))) if filled else None,
            qty, qty if filled else 0, price, price if filled else None, price * qty if filled else None,
            round(price * qty * 0.00015) if filled else 0, round(price * qty * 0.0018) if filled else 0,
            "phase2_selection", "daily_selection", sel_id, status,
            "주문가능금액 부족" if status == "rejected" else None)
        if trade_predictions:
            row += (price, price * 1.1, price * 0.95, g.uniform(2, 15, 2), g.uniform(0.3, 0.9, 3),
                    g.rng.randint(0, 1), g.rng.choice(("ensemble", "random_forest")))
        history.append(row)
    columns = _TRADE_HISTORY_BASE + (TRADE_HISTORY_PREDICTION_COLUMNS if trade_predictions else ())
    insert(conn, "trade_history", columns, history)

    logs = []
    for _ in range(g.rows):
        at = g.at(g.rng.choice(days), 9, 0, spread_s=9 * 3600)
        resolved = g.chance(0.3)
        logs.append((ts(at), g.rng.choice(("ERROR", "CRITICAL", "WARNING")), g.rng.choice(("scheduler", "api-server")),
                     "core/api/kis_api.py", "get_current_price", "KIS API 호출 실패", "TimeoutError",
                     'Traceback (most recent call last):\n  File "core/api/kis_api.py", line 88\nTimeoutError\n',
                     dumps_ascii({"stock_code": g.stock()[0], "retry": g.rng.randint(0, 3), "메모": "재시도"}),
                     ts(at + dt.timedelta(hours=2)) if resolved else None, "토큰 재발급" if resolved else None))
    insert(conn, "error_logs", ("timestamp", "level", "service", "module", "function", "message", "error_type",
                                "stack_trace", "context", "resolved", "resolution_note"), logs)

    if "feedback_data" in tables:
        rows = feedback_rows(g, ts)
        insert(conn, "feedback_data", FEEDBACK_COLUMNS, [(*r[:11], int(r[11]), *r[12:]) for r in rows])
