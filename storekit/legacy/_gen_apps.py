"""Generator writers for the operational files: learning_data.db (DataSynchronizer),
notification_history.db, system_alerts.db, error_recovery.db and api_tracking.db.

Each writer fills an empty legacy file the way its legacy module did (LEGACY.md section 4):
the same statements (INSERT, INSERT OR REPLACE, ON CONFLICT upserts, counter UPDATEs), in
an order that leaves the same id churn. ``CURRENT_TIMESTAMP`` defaults are bound as the
UTC text they would have produced at the simulated time, so a seed always gives the same file.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from typing import Any, Dict, Iterator, List, Tuple

from ..records.learning import METRIC_NAMES as _METRIC_NAMES
from ._gen_common import Gen, Stock, dumps_ascii, dumps_utf8, insert, upsert

# --- learning/learning_data.db ---------------------------------------------------------

_SCREENING_COLUMNS = (
    "stock_code", "stock_name", "sector", "screening_date", "overall_score", "fundamental_score",
    "technical_score", "passed", "roe", "per", "pbr", "created_at",
)


def _screening_row(g: Gen, day: dt.date, stock: Stock, synced: dt.datetime) -> Tuple[Any, ...]:
    code, name, sector, _ = stock
    overall = g.uniform(25, 92, 1)
    per = math.inf if g.chance(0.15) else g.uniform(2.5, 60, 2)  # the screener's default PER
    return (
        code, name, sector if g.chance(0.85) else "", g.yyyymmdd(day), overall,
        g.uniform(20, 95, 1), g.uniform(20, 95, 1), overall >= 60,
        g.uniform(-8, 28, 2) if g.chance(0.9) else None, per,
        g.uniform(0.2, 6, 2) if g.chance(0.9) else None, g.utc_sql(synced),
    )


def write_learning(conn: sqlite3.Connection, g: Gen, sparse: bool) -> None:
    """Daily 18:30 syncs of the screening files; each sync re-reads the last 30 days of files,
    so rows are re-inserted by INSERT OR REPLACE and their ids move (the gaps of a real file)."""
    per_day = min(12, max(4, g.rows // 4))
    days = g.trading_days(max(2, math.ceil(g.rows / per_day)))
    written: List[Tuple[dt.date, Stock]] = []
    for day in days:
        batch = [(day, s) for s in g.stocks(per_day)][: g.rows - len(written)]
        written.extend(batch)
        synced = g.at(day, 18, 30, spread_s=40)
        upsert(conn, "screening_history", _SCREENING_COLUMNS, [_screening_row(g, d, s, synced) for d, s in batch])
    # Today's run re-syncs the files of the last few days again: new ids, refreshed created_at.
    resync = [(d, s) for d, s in written if d >= days[-min(3, len(days))]][: max(2, g.rows // 3)]
    synced = g.at(days[-1], 20, 0, spread_s=60)
    upsert(conn, "screening_history", _SCREENING_COLUMNS, [_screening_row(g, d, s, synced) for d, s in resync])
    if sparse:
        return  # selection_history stays empty: the sync reads a key the real JSON files lack

    selections: List[Tuple[dt.date, Stock, float]] = []
    sel_rows = []
    for day in g.trading_days(max(2, math.ceil(g.rows / 5)), end=days[-1]):
        for stock in g.stocks(5):
            entry = g.price()
            selections.append((day, stock, entry))
            sel_rows.append((
                stock[0], stock[1], g.yyyymmdd(day), g.uniform(40, 95, 1),
                g.rng.choice(("up", "up", "down", "unknown")), g.uniform(0.3, 0.95, 3),
                g.rng.choice(("momentum", "볼린저 밴드 하단 반등", "거래량 급증", "")), entry,
                g.utc_sql(g.at(day, 18, 30, spread_s=30)),
            ))
    upsert(conn, "selection_history", (
        "stock_code", "stock_name", "selection_date", "final_score", "predicted_direction",
        "confidence", "reason", "entry_price", "created_at"), sel_rows[: g.rows])

    today = g.now.date()
    perf_rows = []
    for day, stock, entry in selections[: g.rows]:
        current = entry * (1 + g.rng.uniform(-0.1, 0.1))  # the legacy random dummy price
        pct = (current / entry - 1) * 100
        tracked = (today - day).days
        perf_rows.append((
            stock[0], g.yyyymmdd(day), entry, current, pct, tracked,
            max(0.0, pct, g.uniform(0, 6)), min(0.0, pct, -g.uniform(0, 6)), tracked <= 30,
            g.utc_sql(g.at(days[-1], 18, 31, spread_s=30)),
        ))
    upsert(conn, "performance_tracking", (
        "stock_code", "tracking_date", "entry_price", "current_price", "price_change_pct",
        "days_tracked", "max_gain", "max_loss", "is_active", "updated_at"), perf_rows)

    metric_rows: List[Tuple[Any, ...]] = []
    for run_day in g.trading_days(max(2, math.ceil(g.rows / len(_METRIC_NAMES))), end=days[-1]):
        created = g.utc_sql(g.at(run_day, 18, 32, spread_s=30))
        best, worst = g.rng.sample(("반도체", "2차전지", "바이오", "금융", "인터넷", "자동차"), 2)
        values: Dict[str, Any] = {
            "screening_avg_performance": g.uniform(-3, 5), "screening_win_rate": g.uniform(0.3, 0.7),
            "screening_sample_count": float(g.rng.randint(5, 60)),
            "selection_avg_performance": g.uniform(-4, 6), "selection_win_rate": g.uniform(0.2, 0.8),
            "selection_sample_count": float(g.rng.randint(1, 30)), "avg_max_gain": g.uniform(0, 8),
            "avg_max_loss": g.uniform(-8, 0), "best_sector": best,
            "best_sector_performance": g.uniform(1, 9), "worst_sector": worst,
            "worst_sector_performance": g.uniform(-9, -1),
        }
        metric_rows.extend(
            (g.yyyymmdd(run_day), "performance", name, values[name], None, created) for name in _METRIC_NAMES
        )
    # "INSERT OR REPLACE" without a UNIQUE key: every run appends its 12 rows again.
    upsert(conn, "learning_metrics", ("date", "metric_type", "metric_name", "value", "metadata", "created_at"),
           metric_rows)


# --- notification_history.db ---------------------------------------------------------------

_NOTIFICATIONS = (
    ("trade_executed", "info", "매수 체결", "{name} {qty}주 매수 체결 ({price:,.0f}원)"),
    ("trade_executed", "info", "매도 체결", "{name} {qty}주 매도 체결 ({price:,.0f}원)"),
    ("daily_report", "info", "일일 리포트", "오늘의 선정 종목 {qty}개, 평균 점수 {score:.1f}"),
    ("price_alert", "warning", "손절가 근접", "{name} 현재가 {price:,.0f}원, 손절가까지 {score:.1f}%"),
    ("system_error", "error", "API 오류", "KIS API 호출 실패: EGW00201 초당 거래건수를 초과하였습니다."),
    ("system_error", "critical", "스케줄러 중단", "integrated_scheduler stopped: {qty} jobs pending"),
)


def write_notification(conn: sqlite3.Connection, g: Gen) -> None:
    """NotificationHistoryDB.save: one INSERT per notification, then the per-day counters."""
    start = g.now - dt.timedelta(days=max(2, g.rows // 8))
    at = start
    for _ in range(g.rows):
        at += dt.timedelta(seconds=g.rng.randint(60, 8 * 3600), microseconds=g.rng.randint(1, 999_999))
        alert_type, level, title, template = g.rng.choice(_NOTIFICATIONS)
        _, name, _, _ = g.stock()
        message = template.format(name=name, qty=g.rng.randint(1, 50), price=g.price(), score=g.uniform(0, 9))
        channel = "telegram" if g.chance(0.85) else g.rng.choice(("email", "slack"))
        status = g.rng.choices(("sent", "failed", "filtered"), (0.75, 0.15, 0.1))[0]
        response = None
        if status == "sent" and channel == "telegram":
            response = dumps_ascii({"ok": True, "result": {"message_id": g.rng.randint(1, 99_999),
                                                           "chat": {"title": "한투 퀀트 알림"}}})
        error = g.rng.choice(("429 Too Many Requests", "텔레그램 전송 실패: timeout")) if status == "failed" else None
        sent_at = g.adapter(at + dt.timedelta(milliseconds=g.rng.randint(80, 900))) if status == "sent" else None
        trace = f"{g.rng.getrandbits(64):016x}" if g.chance(0.3) else ""
        insert(conn, "notification_history", (
            "alert_id", "alert_type", "level", "title", "message", "channel", "recipient", "status",
            "error_message", "trace_id", "created_at", "sent_at", "response_data"), [(
                f"alert_{g.rng.getrandbits(32):08x}", alert_type, level, title, message[:500], channel,
                {"telegram": g.rng.choice(("", "123456789")), "email": "ops@example.com"}.get(channel, ""),
                status, error, trace, g.adapter(at), sent_at, response,
            )])
        day, stamp = g.iso_date(at.date()), g.utc_sql(at)
        conn.execute(
            "INSERT INTO notification_stats (date, total_count, updated_at) VALUES (?, 1, ?) "
            "ON CONFLICT(date) DO UPDATE SET total_count = total_count + 1, updated_at = ?", (day, stamp, stamp))
        conn.execute(f"UPDATE notification_stats SET {status}_count = {status}_count + 1 WHERE date = ?", (day,))
        if channel in ("telegram", "email"):
            conn.execute(f"UPDATE notification_stats SET {channel}_count = {channel}_count + 1 WHERE date = ?", (day,))


# --- system_alerts.db ------------------------------------------------------------------

_ALERTS = (
    ("warning", "system", "scheduler", "CPU 경고", "CPU 사용률 {v:.1f}%", "cpu_percent"),
    ("critical", "api", "kis_api", "API 장애", "KIS API 응답 없음 ({v:.0f} ms)", "response_ms"),
    ("error", "trading", "trading_engine", "주문 실패", "주문 거부: 잔고 부족 ({v:.0f}원)", "shortfall"),
    ("info", "performance", "screener", "스크리닝 완료", "{v:.0f}개 종목 통과", "passed"),
    ("warning", "data_quality", "data_sync", "데이터 누락", "시세 누락 {v:.0f}건", "missing"),
    ("error", "security", "token_manager", "토큰 만료", "접근 토큰 재발급 실패 ({v:.0f}회)", "attempts"),
)


def write_alerts(conn: sqlite3.Connection, g: Gen) -> None:
    """SystemAlertManager: INSERT OR REPLACE on alert_id (same category and component in the
    same second overwrite each other), then the per-day statistics row; and alert_settings,
    which the legacy code never wrote, with a few plain settings."""
    at = g.now - dt.timedelta(days=max(2, g.rows // 6))
    spec = g.rng.choice(_ALERTS)
    for i in range(g.rows):
        if i and i == g.rows // 2:  # the same source again within the same second: it overwrites
            at = at.replace(microsecond=min(at.microsecond + 1, 999_999))
        else:
            spec = g.rng.choice(_ALERTS)
            at += dt.timedelta(seconds=g.rng.randint(30, 6 * 3600), microseconds=g.rng.randint(1, 999_999))
        level, category, component, title, template, key = spec
        value = g.uniform(1, 99)
        metrics: Dict[str, Any] = {key: round(value, 1)}
        if g.chance(0.4):
            metrics["종목"] = g.stock()[1]
        upsert(conn, "system_alerts", (
            "alert_id", "timestamp", "level", "category", "title", "message", "component", "metrics",
            "urgent", "actionable", "auto_resolve", "sent", "acknowledged", "resolved", "created_at"), [(
                f"{category}_{component}_{g.unix(at)}", g.local_iso_t(at), level, category, title,
                template.format(v=value), component, dumps_utf8(metrics), level == "critical" or g.chance(0.1),
                g.chance(0.3), False, False, False, False, g.utc_sql(at + dt.timedelta(seconds=1)),
            )])
        day = g.iso_date(at.date())
        exists = conn.execute("SELECT 1 FROM alert_statistics WHERE date = ?", (day,)).fetchone()
        if exists is None:
            conn.execute(f"INSERT INTO alert_statistics (date, total_alerts, {level}_alerts, sent_alerts) "
                         "VALUES (?, 1, 1, 0)", (day,))
        else:
            conn.execute(f"UPDATE alert_statistics SET total_alerts = total_alerts + 1, "
                         f"{level}_alerts = {level}_alerts + 1, sent_alerts = sent_alerts + 0 WHERE date = ?", (day,))
    stamp = g.utc_sql(g.now - dt.timedelta(days=3))
    insert(conn, "alert_settings", ("setting_name", "setting_value", "updated_at"), [
        ("telegram_enabled", "true", stamp), ("cpu_threshold", "80", stamp),
        ("quiet_hours", '{"start": "22:00", "end": "07:00"}', stamp), ("default_channel", "텔레그램", stamp),
    ])


# --- error_recovery.db -----------------------------------------------------------------

_DEFAULT_RULES = (
    ("api_timeout_recovery", "timeout|연결 시간 초과", "medium", ["reset_connection", "restart_service"], 3, 300),
    ("memory_error_recovery", "memory|메모리", "high", ["clear_cache", "restart_process"], 2, 600),
    ("database_error_recovery", "database|DB", "high", ["reset_connection", "failover"], 2, 300),
    ("system_overload_recovery", "cpu|memory|disk", "critical", ["scale_up", "clear_cache"], 1, 900),
)
_ERRORS = (
    ("api_timeout", "kis_api", "connection timeout to KIS (read timeout=10)", "TimeoutError", "reset_connection"),
    ("api_rate_limit", "kis_api", "EGW00201 초당 거래건수를 초과하였습니다.", None, "reset_connection"),
    ("database_error", "data_sync", "database is locked", "sqlite3.OperationalError", "failover"),
    ("memory_error", "lstm_predictor", "MemoryError: unable to allocate 512 MiB", "MemoryError", "clear_cache"),
    ("network_error", "telegram", "Connection refused", "ConnectionRefusedError", "reset_connection"),
    ("file_error", "watchlist", "No such file or directory: 'data/watchlist/watchlist.json'",
     "FileNotFoundError", "restart_service"),
    ("system_cpu_high", "system_monitor", "CPU 사용률 93.1%", None, "scale_up"),
    ("unknown", "scheduler", "warning: slow response", None, "restart_service"),
)


def write_recovery(conn: sqlite3.Connection, g: Gen) -> None:
    """RecoveryManager re-adds its 4 default rules at every start (new ids each time);
    report_error writes HIGH/CRITICAL events twice, before and after the recovery attempt."""
    starts = [g.now - dt.timedelta(days=d, hours=g.rng.randint(0, 9)) for d in (6, 3, 0)]
    for n, started in enumerate(starts):
        rules: List[Tuple[Any, ...]] = [
            (name, pattern, sev, dumps_ascii(actions), attempts, cooldown, None, True, g.utc_sql(started))
            for name, pattern, sev, actions, attempts, cooldown in _DEFAULT_RULES]
        if n == 1:  # one rule added by hand, with conditions; not re-added at later starts
            rules.append(("network_error_recovery", "network|네트워크|connection refused", "medium",
                          dumps_ascii(["reset_connection"]), 5, 120,
                          dumps_ascii({"components": ["kis_api", "telegram"], "business_hours_only": True}),
                          False, g.utc_sql(started)))
        upsert(conn, "recovery_rules", (
            "name", "error_pattern", "severity_threshold", "recovery_actions", "max_attempts",
            "cooldown_seconds", "conditions", "enabled", "created_at"), rules)

    columns = ("timestamp", "error_type", "severity", "component", "message", "stack_trace", "system_metrics",
               "affected_users", "recovery_attempted", "recovery_action", "recovery_success", "recovery_time",
               "created_at")
    at = g.now - dt.timedelta(days=max(2, g.rows // 6))
    written = 0
    while written < g.rows:
        at += dt.timedelta(seconds=g.rng.randint(60, 5 * 3600), microseconds=g.rng.randint(1, 999_999))
        error_type, component, message, exc, action = g.rng.choice(_ERRORS)
        severity = g.rng.choice(("low", "medium", "high", "high", "critical"))
        trace = None
        if exc is not None:
            trace = (f'Traceback (most recent call last):\n  File "core/{component}.py", line '
                     f"{g.rng.randint(40, 900)}, in run\n    raise {exc}\n{exc}: {message}\n")
        metrics = dumps_ascii({"cpu_percent": g.uniform(0, 100, 1), "memory_percent": g.uniform(1, 90, 1),
                               "disk_percent": g.uniform(10, 95, 1), "process_count": g.rng.randint(60, 400),
                               "timestamp": g.local_iso_t(at - dt.timedelta(microseconds=12))})
        users = g.rng.choice((0, 0, 0, 1, 3))
        first = (g.local_iso_t(at), error_type, severity, component, message, trace, metrics, users,
                 False, None, False, None, g.utc_sql(at))
        upsert(conn, "error_events", columns, [first])
        written += 1
        if severity in ("high", "critical"):  # the same event again, after the recovery attempt
            took = g.rng.randint(1, 5) + g.rng.random() / 1000
            second = (*first[:8], True, action, g.chance(0.7), took,
                      g.utc_sql(at + dt.timedelta(seconds=took)))
            upsert(conn, "error_events", columns, [second])
            written += 1


# --- api_tracking.db -------------------------------------------------------------------

_ENDPOINTS = (
    ("/uapi/domestic-stock/v1/quotations/inquire-price", "GET", 90.0, 512, 2048),
    ("/uapi/domestic-stock/v1/quotations/inquire-daily-price", "GET", 140.0, 640, 16384),
    ("/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn", "GET", 110.0, 512, 4096),
    ("/uapi/domestic-stock/v1/trading/order-cash", "POST", 260.0, 256, 128),
    ("/uapi/domestic-stock/v1/trading/inquire-balance", "GET", 210.0, 384, 8192),
    ("/oauth2/tokenP", "POST", 320.0, 192, 512),
)
_API_ERRORS = (
    (500, "EGW00201"), (500, "EGW00201 초당 거래건수를 초과하였습니다."), (401, "EGW00123 기간이 만료된 token 입니다."),
    (503, "Service Unavailable"), (504, "read timeout"),
)
API_COLUMNS: Tuple[str, ...] = (
    "timestamp", "endpoint", "method", "response_time", "request_size", "response_size", "status_code",
    "success", "error_message", "user_agent", "ip_address", "session_id",
)


def api_call_rows(g: Gen, n: int, start: dt.datetime) -> Iterator[Tuple[Any, ...]]:
    """``n`` api_calls rows from local time ``start`` on (spread over about six hours), as
    record_api_call wrote them. Kept lean for millions of rows: ``random()`` for every
    choice, and a timestamp's seconds formatted once per second."""
    random = g.rng.random
    gap_us = 2 * max(1, int(6 * 3600 * 1_000_000 / max(n, 1)))
    endpoints, errors = _ENDPOINTS, _API_ERRORS
    base = start.replace(microsecond=0)
    offset_us, second, prefix = start.microsecond, -1, ""
    for _ in range(n):
        offset_us += int(random() * gap_us) + 1
        if offset_us // 1_000_000 != second:
            second = offset_us // 1_000_000
            prefix = (base + dt.timedelta(seconds=second)).isoformat()
        micro = offset_us % 1_000_000
        stamp = f"{prefix}.{micro:06d}" if micro else prefix  # isoformat() drops a zero fraction
        endpoint, method, typical_ms, req, resp = endpoints[int(random() * len(endpoints))]
        status, error, success = 200, None, True
        if random() < 0.05:
            status, error = errors[int(random() * len(errors))]
            success = False
        extra: Tuple[Any, ...] = (None, None, None)
        if random() < 0.02:  # the optional client details are rarely passed
            extra = ("python-requests/2.31.0", "127.0.0.1", f"sess-{int(random() * 2**32):08x}")
        yield (stamp, endpoint, method, typical_ms * (0.4 + random() * 1.8), req + int(random() * 64),
               resp + int(random() * 512), status, success, error, *extra)


def write_api(conn: sqlite3.Connection, g: Gen) -> None:
    insert(conn, "api_calls", API_COLUMNS, list(api_call_rows(g, g.rows, g.at(g.now.date(), 9, 0))))
