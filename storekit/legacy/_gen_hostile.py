"""The hostile profile's extra rows: values a migration must quarantine or carry over
exactly, each listed once in :data:`HOSTILE_CASES` (file, table, legacy id, column, value).

Hostile rows carry fixed ids from :data:`HOSTILE_ID_BASE` up, so the list can name them
whatever ``rows`` and ``seed`` were; under AUTOINCREMENT such ids look exactly like the
end of a long INSERT OR REPLACE history. Their natural keys never collide with the rows
of the full profile (stocks outside the universe, weekend dates, unused strategy names).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Final, List, Literal, Optional, Tuple

HOSTILE_ID_BASE: Final = 900_001
"""The first id of a hostile row; generated full-profile ids stay below it."""

Expect = Literal["quarantine", "preserve"]


@dataclass(frozen=True)
class HostileCase:
    """One hostile value (or layout) in a generated ``hostile`` directory.

    ``expect`` is what storekit's record rules imply for it today: ``quarantine`` (the row
    cannot become a valid record: it must be set aside with its reason, never dropped or
    altered) or ``preserve`` (the row is valid and must arrive with this exact value).
    ``legacy_id`` and ``column`` are ``None`` for a case about the table's layout.
    """

    name: str
    file: str
    table: str
    legacy_id: Optional[int]
    column: Optional[str]
    value: Any
    """The value as SQLite hands it back (``None`` for a layout case)."""
    expect: Expect
    what: str


_I = HOSTILE_ID_BASE
HOSTILE_CASES: Final[Tuple[HostileCase, ...]] = (
    HostileCase("bad_date", "learning/learning_data.db", "screening_history", _I, "screening_date", "abc",
                "quarantine", "a screening date that is not YYYYMMDD"),
    HostileCase("extra_column", "learning/learning_data.db", "screening_history", _I + 1, "debt_ratio", 30.2,
                "preserve", "a column added by hand with ALTER TABLE (debt_ratio REAL): the row migrates and the "
                            "unknown column is reported, not silently dropped"),
    HostileCase("int_stock_code", "learning/learning_data.db", "selection_history", _I, "stock_code", "5930",
                "quarantine", "a stock code bound as the int 5930: TEXT affinity stored '5930', the leading "
                              "zeros are gone"),
    HostileCase("empty_metric_name", "learning/learning_data.db", "learning_metrics", _I, "metric_name", "",
                "quarantine", "an empty metric name (not one of the twelve DataSynchronizer writes)"),
    HostileCase("nul_in_text", "notification_history.db", "notification_history", _I, "message",
                "EGW00201\x00초당 거래건수 초과", "quarantine", "a NUL character inside TEXT (PostgreSQL refuses it)"),
    HostileCase("empty_string", "notification_history.db", "notification_history", _I + 1, "title", "",
                "preserve", "an empty title in a NOT NULL TEXT column"),
    HostileCase("invalid_json", "system_alerts.db", "system_alerts", _I, "metrics", '{"cpu_percent": 85.0',
                "quarantine", "truncated JSON in a JSON column"),
    HostileCase("korean_emoji", "system_alerts.db", "system_alerts", _I + 1, "title", "급등 알림 🚀📈",
                "preserve", "Korean with emoji (astral code points) in TEXT and in raw-UTF-8 JSON"),
    HostileCase("text_in_real", "api_tracking.db", "api_calls", _I, "response_time", "timeout",
                "quarantine", "text in a REAL NOT NULL column (type affinity keeps it as TEXT)"),
    HostileCase("dangling_reference", "performance_tracking.db", "actual_performance", _I, "prediction_id",
                "pred_deleted_20251201", "quarantine",
                "a prediction_id with no backtest_predictions row (the declared FK was never enforced)"),
    HostileCase("negative_zero_json", "performance_tracking.db", "backtest_predictions", _I, "predicted_returns",
                '{"950130": -0.0, "005930": 0.012}', "quarantine",
                "-0.0 inside JSON (json.dumps(-0.0) is '-0.0'); storekit's JSON values exclude -0.0"),
    HostileCase("impossible_date", "accuracy_tracking.db", "daily_selections", _I, "selection_date", "2026-02-30",
                "quarantine", "a well-formed date that does not exist"),
    HostileCase("json_nan", "accuracy_tracking.db", "daily_accuracy", _I, "sector_accuracy", '{"바이오": NaN}',
                "quarantine", "NaN in JSON text (json.dumps of an empty mean), not valid JSON"),
    HostileCase("negative_zero", "strategy_performance.db", "daily_strategy_returns", _I, "daily_return", -0.0,
                "preserve", "-0.0 bound to a REAL column; SQLite stores REAL -0.0 as the integer 0 and hands back "
                            "0.0, so the value to carry over is whatever SQLite returns"),
    HostileCase("subnormal", "model_performance.db", "model_performance", _I, "prediction_variance", 5e-324,
                "preserve", "the smallest subnormal double in a REAL column"),
    HostileCase("factor_scores_last", "feedback.db", "feedback_data", None, "factor_scores", None, "preserve",
                "the pre-fa9b2fe layout: factor_scores added by ALTER TABLE, after updated_at"),
    HostileCase("missing_columns", "db/stock_data.db", "trade_history", None, None, None, "preserve",
                "the 'upgraded' main DB layout: created at f3f30f6, create_all later added feedback_data but "
                "never altered trade_history, which lacks the seven 3f63b64 prediction columns"),
)


def hostile_case(name: str) -> HostileCase:
    """The hostile case called ``name``."""
    for case in HOSTILE_CASES:
        if case.name == name:
            return case
    raise KeyError(f"no hostile case {name!r}")


def _value(name: str) -> Any:
    return hostile_case(name).value


def _rows() -> Dict[Tuple[str, str], Tuple[Tuple[str, ...], Tuple[Tuple[Any, ...], ...]]]:
    """Per (file, table): the inserted columns and rows (ids included)."""
    stamp, at = "2026-01-04 09:30:00", "2026-01-04T18:30:00.250000"
    metrics = '{"종목": "엑세스바이오", "등락률": 29.9, "메모": "🚀"}'
    return {
        ("learning/learning_data.db", "screening_history"): (
            ("id", "stock_code", "stock_name", "sector", "screening_date", "overall_score", "passed", "per",
             "debt_ratio", "created_at"),
            ((_I, "950130", "엑세스바이오", "바이오", _value("bad_date"), 61.5, True, 15.2, None, stamp),
             (_I + 1, "950130", "엑세스바이오", "바이오", "20260104", 58.0, False, float("inf"),
              _value("extra_column"), stamp))),
        ("learning/learning_data.db", "selection_history"): (
            ("id", "stock_code", "stock_name", "selection_date", "final_score", "predicted_direction", "entry_price",
             "created_at"),
            ((_I, 5930, "삼성전자", "20260104", 77.0, "up", 71000.0, stamp),)),
        ("learning/learning_data.db", "learning_metrics"): (
            ("id", "date", "metric_type", "metric_name", "value", "created_at"),
            ((_I, "20260104", "performance", _value("empty_metric_name"), 0.5, stamp),)),
        ("notification_history.db", "notification_history"): (
            ("id", "alert_id", "alert_type", "level", "title", "message", "channel", "recipient", "status",
             "trace_id", "created_at"),
            ((_I, "alert_hostile_1", "system_error", "error", "API 오류", _value("nul_in_text"), "telegram", "",
              "failed", "", "2026-01-04 18:30:00.250000"),
             (_I + 1, "alert_hostile_2", "daily_report", "info", _value("empty_string"), "", "telegram", "", "sent",
              "", "2026-01-04 18:31:00.500000"))),
        ("system_alerts.db", "system_alerts"): (
            ("id", "alert_id", "timestamp", "level", "category", "title", "message", "component", "metrics",
             "urgent", "created_at"),
            ((_I, "data_quality_validator_1767519000", at, "warning", "data_quality", "시세 검증", "검증 실패",
              "validator", _value("invalid_json"), False, stamp),
             (_I + 1, "trading_surge_detector_1767519000", at, "info", "trading", _value("korean_emoji"),
              "엑세스바이오 +29.9% 상한가 🔥", "surge_detector", metrics, False, stamp))),
        ("api_tracking.db", "api_calls"): (
            ("id", "timestamp", "endpoint", "method", "response_time", "status_code", "success", "error_message"),
            ((_I, at, "/uapi/domestic-stock/v1/quotations/inquire-price", "GET", _value("text_in_real"), 504,
              False, "read timeout"),)),
        ("performance_tracking.db", "backtest_predictions"): (
            ("id", "prediction_id", "strategy_name", "prediction_date", "target_stocks", "predicted_returns",
             "predicted_weights", "model_confidence", "created_at"),
            ((_I, "pred_dividend_strategy_20260104", "dividend_strategy", "2026-01-04", '["950130", "005930"]',
              _value("negative_zero_json"), '{"950130": 0.5, "005930": 0.5}', 0.61, stamp),)),
        ("performance_tracking.db", "actual_performance"): (
            ("id", "performance_id", "prediction_id", "execution_date", "completion_date", "executed_stocks",
             "actual_returns", "actual_weights", "status", "created_at"),
            ((_I, "perf_deleted_20251201", _value("dangling_reference"), "2025-12-01", "2025-12-08", '["005930"]',
              '{"005930": 0.01}', '{"005930": 1.0}', "completed", stamp),)),
        ("accuracy_tracking.db", "daily_selections"): (
            ("id", "selection_date", "stock_code", "stock_name", "sector", "selection_price", "created_at"),
            ((_I, _value("impossible_date"), "950130", "엑세스바이오", "바이오", 9800.0, stamp),)),
        ("accuracy_tracking.db", "daily_accuracy"): (
            ("id", "analysis_date", "target_date", "total_predictions", "sector_accuracy", "created_at"),
            ((_I, "2026-01-04", "2026-01-03", 0, _value("json_nan"), stamp),)),
        ("strategy_performance.db", "daily_strategy_returns"): (
            ("id", "strategy_name", "date", "daily_return", "cumulative_return", "benchmark_return", "active_return",
             "created_at"),
            ((_I, "dividend_strategy", "2026-01-04", -0.0, 0.0, 0.0, -0.0, stamp),)),
        ("model_performance.db", "model_performance"): (
            ("id", "model_name", "model_type", "measurement_date", "accuracy", "prediction_variance", "created_at"),
            ((_I, "risk_v0", "risk_assessor", "2026-01-04", 0.5, _value("subnormal"), stamp),)),
    }


def write_hostile_rows(data_dir: Path) -> None:
    """Add the hostile rows to a generated full directory (the layout cases are chosen when
    the files are created)."""
    by_file: Dict[str, List[Tuple[str, Tuple[Tuple[str, ...], Tuple[Tuple[Any, ...], ...]]]]] = {}
    for (file, table), spec in _rows().items():
        by_file.setdefault(file, []).append((table, spec))
    for file, tables in by_file.items():
        conn = sqlite3.connect(str(data_dir / file))
        try:
            with conn:
                if file == "learning/learning_data.db":
                    conn.execute("ALTER TABLE screening_history ADD COLUMN debt_ratio REAL")
                for table, (columns, rows) in tables:
                    marks = ", ".join("?" for _ in columns)
                    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        finally:
            conn.close()
