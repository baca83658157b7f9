"""The legacy layout, declared once: LEGACY.md's DDL verbatim, per file, with the write
format of every column whose declared type does not already say it (see
:func:`storekit.legacy._model.table` for the formats implied by a type)."""

from __future__ import annotations

from typing import Final, Tuple

from ._model import LegacyFile, LegacyTable, table

LEARNING_DB: Final = "learning/learning_data.db"
NOTIFICATION_DB: Final = "notification_history.db"
ALERTS_DB: Final = "system_alerts.db"
RECOVERY_DB: Final = "error_recovery.db"
API_DB: Final = "api_tracking.db"
PERFORMANCE_DB: Final = "performance_tracking.db"
ACCURACY_DB: Final = "accuracy_tracking.db"
STRATEGY_DB: Final = "strategy_performance.db"
MODEL_DB: Final = "model_performance.db"
FEEDBACK_DB: Final = "feedback.db"
MAIN_DB: Final = "db/stock_data.db"

TRADE_HISTORY_PREDICTION_COLUMNS: Final[Tuple[str, ...]] = (
    "entry_price", "target_price", "stop_loss_price", "expected_return",
    "predicted_probability", "predicted_class", "model_name",
)
"""The seven ``trade_history`` columns added in 3f63b64 (F-DATA-002)."""


def _learning() -> Tuple[LegacyTable, ...]:
    f = LEARNING_DB
    return (
        table(f, """
CREATE TABLE screening_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stock_code TEXT NOT NULL,
  stock_name TEXT NOT NULL,
  sector TEXT,
  screening_date TEXT NOT NULL,
  overall_score REAL,
  fundamental_score REAL,
  technical_score REAL,
  passed BOOLEAN,
  roe REAL,
  per REAL,
  pbr REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (stock_code, screening_date)
)""", "DataSynchronizer.sync_screening_results (INSERT OR REPLACE)",
            formats={"screening_date": "yyyymmdd"},
            notes={"sector": "'' when the screener gave none", "per": "may be inf (the screener's default PER)"}),
        table(f, """
CREATE TABLE selection_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stock_code TEXT NOT NULL,
  stock_name TEXT NOT NULL,
  selection_date TEXT NOT NULL,
  final_score REAL,
  predicted_direction TEXT,
  confidence REAL,
  reason TEXT,
  entry_price REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (stock_code, selection_date)
)""", "DataSynchronizer.sync_selection_results (INSERT OR REPLACE)",
            formats={"selection_date": "yyyymmdd"},
            notes={"predicted_direction": "defaults to 'unknown'"}),
        table(f, """
CREATE TABLE performance_tracking (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stock_code TEXT NOT NULL,
  tracking_date TEXT NOT NULL,
  entry_price REAL NOT NULL,
  current_price REAL NOT NULL,
  price_change_pct REAL NOT NULL,
  days_tracked INTEGER NOT NULL,
  max_gain REAL DEFAULT 0,
  max_loss REAL DEFAULT 0,
  is_active BOOLEAN DEFAULT 1,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (stock_code, tracking_date)
)""", "DataSynchronizer.update_performance_tracking (INSERT OR REPLACE)",
            formats={"tracking_date": "yyyymmdd"},
            notes={"current_price": "a random dummy: entry_price * (1 +/- 10 %)", "price_change_pct": "percent"}),
        table(f, """
CREATE TABLE learning_metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  date TEXT NOT NULL,
  metric_type TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  value REAL NOT NULL,
  metadata TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "DataSynchronizer.calculate_learning_metrics (INSERT OR REPLACE without a key: appends)",
            formats={"date": "yyyymmdd", "value": ("real", "text"), "metadata": "json_ascii"},
            notes={"value": "TEXT for best_sector / worst_sector", "metadata": "never written (NULL)"}),
    )


def _notification() -> Tuple[LegacyTable, ...]:
    f = NOTIFICATION_DB
    return (
        table(f, """
CREATE TABLE notification_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id TEXT NOT NULL,
  alert_type TEXT NOT NULL,
  level TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT,
  channel TEXT NOT NULL,
  recipient TEXT,
  status TEXT NOT NULL,
  error_message TEXT,
  trace_id TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  sent_at TIMESTAMP,
  response_data TEXT
)""", "NotificationHistoryDB.save (INSERT)",
            formats={"created_at": "sqlite_adapter", "sent_at": "sqlite_adapter", "response_data": "json_ascii"},
            notes={"created_at": "a local datetime bound directly (space separator)",
                   "trace_id": "'' outside a trace context", "message": "truncated to 500 characters"},
            indexes=[
                "CREATE INDEX idx_alert_id ON notification_history(alert_id)",
                "CREATE INDEX idx_created_at ON notification_history(created_at)",
                "CREATE INDEX idx_status ON notification_history(status)",
                "CREATE INDEX idx_trace_id ON notification_history(trace_id)",
            ]),
        table(f, """
CREATE TABLE notification_stats (
  date TEXT PRIMARY KEY,
  total_count INTEGER DEFAULT 0,
  sent_count INTEGER DEFAULT 0,
  failed_count INTEGER DEFAULT 0,
  filtered_count INTEGER DEFAULT 0,
  telegram_count INTEGER DEFAULT 0,
  email_count INTEGER DEFAULT 0,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "NotificationHistoryDB.save (ON CONFLICT(date) DO UPDATE, then UPDATE counters)",
            formats={"date": "iso_date"}),
    )


def _alerts() -> Tuple[LegacyTable, ...]:
    f = ALERTS_DB
    return (
        table(f, """
CREATE TABLE system_alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id TEXT NOT NULL UNIQUE,
  timestamp TEXT NOT NULL,
  level TEXT NOT NULL,
  category TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  component TEXT NOT NULL,
  metrics TEXT,
  urgent INTEGER DEFAULT 0,
  actionable INTEGER DEFAULT 0,
  auto_resolve INTEGER DEFAULT 0,
  sent INTEGER DEFAULT 0,
  acknowledged INTEGER DEFAULT 0,
  resolved INTEGER DEFAULT 0,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "SystemAlertManager._save_alert (INSERT OR REPLACE on alert_id)",
            formats={"timestamp": "local_iso_T", "metrics": "json_utf8", "urgent": "bool01",
                     "actionable": "bool01", "auto_resolve": "bool01", "sent": "bool01",
                     "acknowledged": "bool01", "resolved": "bool01"},
            notes={"alert_id": "{category}_{component}_{unix_seconds}", "sent": "always 0"}),
        table(f, """
CREATE TABLE alert_settings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  setting_name TEXT NOT NULL UNIQUE,
  setting_value TEXT NOT NULL,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "SystemAlertManager (created, never written)", written=False),
        table(f, """
CREATE TABLE alert_statistics (
  date TEXT PRIMARY KEY,
  total_alerts INTEGER DEFAULT 0,
  critical_alerts INTEGER DEFAULT 0,
  error_alerts INTEGER DEFAULT 0,
  warning_alerts INTEGER DEFAULT 0,
  info_alerts INTEGER DEFAULT 0,
  sent_alerts INTEGER DEFAULT 0,
  acknowledged_alerts INTEGER DEFAULT 0,
  resolved_alerts INTEGER DEFAULT 0
)""", "SystemAlertManager._update_statistics (INSERT, then UPDATE counters)",
            formats={"date": "iso_date"}),
    )


def _recovery() -> Tuple[LegacyTable, ...]:
    f = RECOVERY_DB
    return (
        table(f, """
CREATE TABLE error_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp TEXT NOT NULL,
  error_type TEXT NOT NULL,
  severity TEXT NOT NULL,
  component TEXT NOT NULL,
  message TEXT NOT NULL,
  stack_trace TEXT,
  system_metrics TEXT,
  affected_users INTEGER,
  recovery_attempted INTEGER,
  recovery_action TEXT,
  recovery_success INTEGER,
  recovery_time REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "ErrorRecoverySystem.report_error (INSERT OR REPLACE without a key: HIGH/CRITICAL twice)",
            formats={"timestamp": "local_iso_T", "system_metrics": "json_ascii",
                     "recovery_attempted": "bool01", "recovery_success": "bool01"},
            notes={"recovery_time": "seconds"}),
        table(f, """
CREATE TABLE recovery_rules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  error_pattern TEXT NOT NULL,
  severity_threshold TEXT NOT NULL,
  recovery_actions TEXT NOT NULL,
  max_attempts INTEGER DEFAULT 3,
  cooldown_seconds INTEGER DEFAULT 300,
  conditions TEXT,
  enabled INTEGER DEFAULT 1,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "RecoveryManager.add_recovery_rule (INSERT OR REPLACE on name, 4 defaults at every start)",
            formats={"recovery_actions": "json_ascii", "conditions": "json_ascii", "enabled": "bool01"}),
    )


def _api() -> Tuple[LegacyTable, ...]:
    return (
        table(API_DB, """
CREATE TABLE api_calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  method TEXT NOT NULL,
  response_time REAL NOT NULL,
  request_size INTEGER,
  response_size INTEGER,
  status_code INTEGER,
  success INTEGER,
  error_message TEXT,
  user_agent TEXT,
  ip_address TEXT,
  session_id TEXT
)""", "APICallTracker.record_api_call (INSERT from a thread per call)",
            formats={"timestamp": "local_iso_T", "success": "bool01"},
            notes={"response_time": "milliseconds", "request_size": "bytes", "response_size": "bytes"},
            indexes=[
                "CREATE INDEX idx_timestamp ON api_calls(timestamp)",
                "CREATE INDEX idx_endpoint ON api_calls(endpoint)",
                "CREATE INDEX idx_success ON api_calls(success)",
            ]),
    )


def _performance() -> Tuple[LegacyTable, ...]:
    f = PERFORMANCE_DB
    return (
        table(f, """
CREATE TABLE backtest_predictions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  prediction_id TEXT NOT NULL UNIQUE,
  strategy_name TEXT NOT NULL,
  prediction_date TEXT NOT NULL,
  target_stocks TEXT NOT NULL,
  predicted_returns TEXT NOT NULL,
  predicted_weights TEXT NOT NULL,
  expected_return REAL,
  expected_volatility REAL,
  expected_sharpe_ratio REAL,
  expected_max_drawdown REAL,
  model_confidence REAL,
  feature_importance TEXT,
  market_conditions TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "PerformanceTracker.record_backtest_prediction (INSERT OR REPLACE; skipped below 0.6 confidence)",
            formats={"prediction_date": "iso_date", "target_stocks": "json_ascii",
                     "predicted_returns": "json_ascii", "predicted_weights": "json_ascii",
                     "feature_importance": "json_ascii", "market_conditions": "json_ascii"}),
        table(f, """
CREATE TABLE actual_performance (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  performance_id TEXT NOT NULL UNIQUE,
  prediction_id TEXT NOT NULL,
  execution_date TEXT NOT NULL,
  completion_date TEXT NOT NULL,
  executed_stocks TEXT NOT NULL,
  actual_returns TEXT NOT NULL,
  actual_weights TEXT NOT NULL,
  actual_return REAL,
  actual_volatility REAL,
  actual_sharpe_ratio REAL,
  actual_max_drawdown REAL,
  execution_costs REAL,
  slippage REAL,
  market_impact REAL,
  status TEXT NOT NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (prediction_id) REFERENCES backtest_predictions(prediction_id)
)""", "PerformanceTracker.record_actual_performance (INSERT OR REPLACE)",
            formats={"execution_date": "iso_date", "completion_date": "iso_date",
                     "executed_stocks": "json_ascii", "actual_returns": "json_ascii",
                     "actual_weights": "json_ascii"},
            notes={"prediction_id": "declared FK, not enforced"}),
        table(f, """
CREATE TABLE performance_comparisons (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  comparison_id TEXT NOT NULL UNIQUE,
  prediction_id TEXT NOT NULL,
  comparison_date TEXT NOT NULL,
  return_difference REAL,
  volatility_difference REAL,
  sharpe_difference REAL,
  prediction_accuracy REAL,
  direction_accuracy REAL,
  magnitude_accuracy REAL,
  mean_absolute_error REAL,
  root_mean_square_error REAL,
  correlation REAL,
  analysis_summary TEXT,
  improvement_suggestions TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (prediction_id) REFERENCES backtest_predictions(prediction_id)
)""", "PerformanceTracker.perform_comparison_analysis (INSERT OR REPLACE)",
            formats={"comparison_date": "iso_date", "analysis_summary": "json_utf8",
                     "improvement_suggestions": "json_utf8"},
            notes={"comparison_id": "comp_{prediction_id}_{unix_seconds}"}),
        table(f, """
CREATE TABLE daily_tracking (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  prediction_id TEXT NOT NULL,
  tracking_date TEXT NOT NULL,
  predicted_value REAL,
  actual_value REAL,
  difference REAL,
  error_percentage REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (prediction_id, tracking_date),
  FOREIGN KEY (prediction_id) REFERENCES backtest_predictions(prediction_id)
)""", "PerformanceTracker (created, never written)",
            formats={"tracking_date": "iso_date"}, written=False),
    )


def _accuracy() -> Tuple[LegacyTable, ...]:
    f = ACCURACY_DB
    return (
        table(f, """
CREATE TABLE daily_selections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  selection_date TEXT NOT NULL,
  stock_code TEXT NOT NULL,
  stock_name TEXT,
  sector TEXT,
  selection_price REAL,
  selection_reason TEXT,
  confidence_score REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (selection_date, stock_code)
)""", "AccuracyTracker.record_daily_selection (INSERT OR REPLACE)",
            formats={"selection_date": "iso_date"}),
        table(f, """
CREATE TABLE performance_tracking (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  selection_date TEXT NOT NULL,
  stock_code TEXT NOT NULL,
  price_1d REAL,
  return_1d REAL,
  price_7d REAL,
  return_7d REAL,
  price_30d REAL,
  return_30d REAL,
  last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (selection_date, stock_code)
)""", "AccuracyTracker._update_performance_data (INSERT OR REPLACE)",
            formats={"selection_date": "iso_date"},
            notes={"last_updated": "datetime('now'), UTC", "return_1d": "percent"}),
        table(f, """
CREATE TABLE daily_accuracy (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  analysis_date TEXT NOT NULL UNIQUE,
  target_date TEXT NOT NULL,
  total_predictions INTEGER,
  positive_1d INTEGER,
  positive_rate_1d REAL,
  avg_return_1d REAL,
  positive_7d INTEGER,
  positive_rate_7d REAL,
  avg_return_7d REAL,
  positive_30d INTEGER,
  positive_rate_30d REAL,
  avg_return_30d REAL,
  strong_positive_1d INTEGER,
  strong_positive_rate_1d REAL,
  strong_positive_7d INTEGER,
  strong_positive_rate_7d REAL,
  sector_accuracy TEXT,
  top_performers TEXT,
  worst_performers TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "AccuracyTracker._save_accuracy_result (INSERT OR REPLACE on analysis_date: the last target wins)",
            formats={"analysis_date": "iso_date", "target_date": "iso_date", "sector_accuracy": "json_utf8",
                     "top_performers": "json_utf8", "worst_performers": "json_utf8"}),
    )


def _strategy() -> Tuple[LegacyTable, ...]:
    f = STRATEGY_DB
    return (
        table(f, """
CREATE TABLE strategy_performance (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  strategy_name TEXT NOT NULL,
  date TEXT NOT NULL,
  period_start TEXT NOT NULL,
  period_end TEXT NOT NULL,
  total_return REAL,
  annualized_return REAL,
  volatility REAL,
  sharpe_ratio REAL,
  max_drawdown REAL,
  win_rate REAL,
  avg_win REAL,
  avg_loss REAL,
  profit_factor REAL,
  total_trades INTEGER,
  profitable_trades INTEGER,
  losing_trades INTEGER,
  calmar_ratio REAL,
  sortino_ratio REAL,
  market_correlation REAL,
  alpha REAL,
  beta REAL,
  information_ratio REAL,
  monthly_returns TEXT,
  quarterly_returns TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (strategy_name, date, period_start, period_end)
)""", "StrategyReporter._save_strategy_performance (never reached in practice)",
            formats={"date": "iso_date", "period_start": "iso_date", "period_end": "iso_date",
                     "monthly_returns": "json_ascii", "quarterly_returns": "json_ascii"}, written=False),
        table(f, """
CREATE TABLE strategy_comparisons (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  comparison_date TEXT NOT NULL,
  period_days INTEGER,
  strategies TEXT,
  best_performer TEXT,
  worst_performer TEXT,
  performance_spread REAL,
  risk_adjusted_ranking TEXT,
  correlation_matrix TEXT,
  statistical_significance TEXT,
  bull_market_performance TEXT,
  bear_market_performance TEXT,
  sideways_market_performance TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "StrategyReporter._save_strategy_comparison (INSERT; never reached in practice)",
            formats={"comparison_date": "iso_date", "strategies": "json_ascii",
                     "risk_adjusted_ranking": "json_ascii", "correlation_matrix": "json_ascii",
                     "statistical_significance": "json_ascii", "bull_market_performance": "json_ascii",
                     "bear_market_performance": "json_ascii", "sideways_market_performance": "json_ascii"},
            written=False),
        table(f, """
CREATE TABLE market_regimes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  date TEXT NOT NULL UNIQUE,
  regime_type TEXT NOT NULL,
  market_return REAL,
  volatility REAL,
  confidence REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "StrategyReporter (created, never written)", formats={"date": "iso_date"}, written=False),
        table(f, """
CREATE TABLE daily_strategy_returns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  strategy_name TEXT NOT NULL,
  date TEXT NOT NULL,
  daily_return REAL,
  cumulative_return REAL,
  portfolio_value REAL,
  benchmark_return REAL,
  active_return REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (strategy_name, date)
)""", "StrategyReporter.record_daily_strategy_return (INSERT OR REPLACE)",
            formats={"date": "iso_date"}, notes={"daily_return": "percent"}),
    )


def _model() -> Tuple[LegacyTable, ...]:
    f = MODEL_DB
    return (
        table(f, """
CREATE TABLE model_performance (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model_name TEXT NOT NULL,
  model_type TEXT NOT NULL,
  measurement_date TEXT NOT NULL,
  accuracy REAL,
  precision REAL,
  recall REAL,
  f1_score REAL,
  prediction_accuracy REAL,
  directional_accuracy REAL,
  profit_factor REAL,
  sharpe_ratio REAL,
  max_drawdown REAL,
  prediction_variance REAL,
  feature_importance_stability REAL,
  data_coverage REAL,
  missing_data_ratio REAL,
  outlier_ratio REAL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (model_name, measurement_date)
)""", "ModelPerformanceMonitor.record_model_performance (INSERT OR REPLACE)",
            formats={"measurement_date": "iso_date"}),
        table(f, """
CREATE TABLE performance_alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id TEXT NOT NULL UNIQUE,
  model_name TEXT NOT NULL,
  degradation_type TEXT NOT NULL,
  severity TEXT NOT NULL,
  current_performance REAL,
  baseline_performance REAL,
  performance_drop REAL,
  detection_date TEXT NOT NULL,
  affected_period TEXT,
  root_cause_analysis TEXT,
  recommended_actions TEXT,
  resolved INTEGER DEFAULT 0,
  resolved_date TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "ModelPerformanceMonitor._save_degradation_alert (INSERT OR REPLACE)",
            formats={"detection_date": "iso_date", "root_cause_analysis": "json_utf8",
                     "recommended_actions": "json_utf8", "resolved": "bool01", "resolved_date": "iso_date"},
            notes={"alert_id": "{model}_{degradation_type}_{YYYY-MM-DD}_{unix_seconds}",
                   "resolved_date": "never set"}),
        table(f, """
CREATE TABLE model_baselines (
  model_name TEXT PRIMARY KEY,
  model_type TEXT NOT NULL,
  baseline_metrics TEXT NOT NULL,
  established_date TEXT NOT NULL,
  last_updated TEXT NOT NULL
)""", "ModelPerformanceMonitor.establish_baseline (INSERT OR REPLACE)",
            formats={"baseline_metrics": "json_utf8", "established_date": "iso_date", "last_updated": "iso_date"}),
    )


def _feedback() -> Tuple[LegacyTable, ...]:
    f = FEEDBACK_DB
    return (
        table(f, """
CREATE TABLE feedback_data (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  prediction_id TEXT NOT NULL UNIQUE,
  stock_code TEXT NOT NULL,
  prediction_date TEXT NOT NULL,
  predicted_probability REAL NOT NULL,
  predicted_class INTEGER NOT NULL,
  model_name TEXT NOT NULL,
  actual_return_7d REAL,
  actual_class INTEGER,
  prediction_error REAL,
  absolute_error REAL,
  feedback_date TEXT,
  is_processed BOOLEAN DEFAULT FALSE,
  factor_scores TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "FeedbackSystem.record_predictions / update_feedback_from_performance",
            formats={"prediction_date": "iso_date", "feedback_date": "iso_date", "factor_scores": "json_utf8"},
            notes={"prediction_id": "{stock_code}_{YYYY-MM-DD}_{model_name}"},
            indexes=[
                "CREATE INDEX idx_prediction_id ON feedback_data(prediction_id)",
                "CREATE INDEX idx_stock_code ON feedback_data(stock_code)",
                "CREATE INDEX idx_prediction_date ON feedback_data(prediction_date)",
                "CREATE INDEX idx_model_name ON feedback_data(model_name)",
            ]),
        table(f, """
CREATE TABLE model_performance_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model_name TEXT NOT NULL,
  evaluation_date TEXT NOT NULL,
  accuracy REAL,
  precision_score REAL,
  recall_score REAL,
  f1_score REAL,
  auc_score REAL,
  feedback_count INTEGER,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)""", "FeedbackSystem.evaluate_model_performance (INSERT)",
            formats={"evaluation_date": "iso_date"}),
    )


def _main() -> Tuple[LegacyTable, ...]:
    """SQLAlchemy ``create_all`` on SQLite: ``Date`` is ``'YYYY-MM-DD'``, ``DateTime`` is
    ``'YYYY-MM-DD HH:MM:SS.ffffff'`` from ``datetime.now`` (local)."""
    f = MAIN_DB
    w = "core/database/models.py through SQLAlchemy sessions"
    return (
        table(f, """
CREATE TABLE stocks (
  id INTEGER NOT NULL,
  code VARCHAR(20) NOT NULL,
  name VARCHAR(100) NOT NULL,
  market VARCHAR(20) NOT NULL,
  sector VARCHAR(50),
  updated_at DATETIME,
  PRIMARY KEY (id),
  UNIQUE (code)
)""", w),
        table(f, """
CREATE TABLE error_logs (
  id INTEGER NOT NULL,
  timestamp DATETIME NOT NULL,
  level VARCHAR(20) NOT NULL,
  service VARCHAR(50) NOT NULL,
  module VARCHAR(100),
  function VARCHAR(100),
  message TEXT NOT NULL,
  error_type VARCHAR(100),
  stack_trace TEXT,
  context TEXT,
  resolved DATETIME,
  resolution_note TEXT,
  PRIMARY KEY (id)
)""", w, formats={"context": "json_ascii"},
            indexes=[
                "CREATE INDEX ix_error_logs_timestamp ON error_logs (timestamp)",
                "CREATE INDEX ix_error_logs_level ON error_logs (level)",
                "CREATE INDEX ix_error_logs_service ON error_logs (service)",
            ]),
        table(f, """
CREATE TABLE prices (
  id INTEGER NOT NULL,
  stock_id INTEGER NOT NULL,
  date DATE NOT NULL,
  open_price NUMERIC(10, 2) NOT NULL,
  high_price NUMERIC(10, 2) NOT NULL,
  low_price NUMERIC(10, 2) NOT NULL,
  close_price NUMERIC(10, 2) NOT NULL,
  volume INTEGER NOT NULL,
  PRIMARY KEY (id),
  FOREIGN KEY(stock_id) REFERENCES stocks (id)
)""", w),
        table(f, """
CREATE TABLE indicators (
  id INTEGER NOT NULL,
  stock_id INTEGER NOT NULL,
  date DATE NOT NULL,
  name VARCHAR(50) NOT NULL,
  value NUMERIC(10, 4) NOT NULL,
  meta_data TEXT,
  PRIMARY KEY (id),
  FOREIGN KEY(stock_id) REFERENCES stocks (id)
)""", w, formats={"meta_data": "json_ascii"}),
        table(f, """
CREATE TABLE trades (
  id INTEGER NOT NULL,
  stock_id INTEGER NOT NULL,
  datetime DATETIME NOT NULL,
  type VARCHAR(10) NOT NULL,
  price FLOAT NOT NULL,
  quantity INTEGER NOT NULL,
  amount FLOAT NOT NULL,
  commission FLOAT NOT NULL,
  strategy VARCHAR(50),
  PRIMARY KEY (id),
  FOREIGN KEY(stock_id) REFERENCES stocks (id)
)""", w, indexes=[
            "CREATE INDEX ix_trades_datetime ON trades (datetime)",
            "CREATE INDEX ix_trades_stock_datetime ON trades (stock_id, datetime)",
        ]),
        table(f, """
CREATE TABLE watchlist_stocks (
  id INTEGER NOT NULL,
  stock_id INTEGER NOT NULL,
  added_date DATE NOT NULL,
  total_score FLOAT NOT NULL,
  fundamental_score FLOAT,
  technical_score FLOAT,
  momentum_score FLOAT,
  roe FLOAT,
  per FLOAT,
  pbr FLOAT,
  debt_ratio FLOAT,
  status VARCHAR(20),
  removed_date DATE,
  removal_reason VARCHAR(200),
  PRIMARY KEY (id),
  FOREIGN KEY(stock_id) REFERENCES stocks (id)
)""", w, indexes=[
            "CREATE INDEX ix_watchlist_added_date ON watchlist_stocks (added_date)",
            "CREATE INDEX ix_watchlist_status ON watchlist_stocks (status)",
        ]),
        table(f, """
CREATE TABLE daily_selections (
  id INTEGER NOT NULL,
  stock_id INTEGER NOT NULL,
  selection_date DATE NOT NULL,
  total_score FLOAT NOT NULL,
  technical_score FLOAT,
  volume_score FLOAT,
  momentum_score FLOAT,
  risk_score FLOAT,
  rsi FLOAT,
  macd FLOAT,
  bb_position FLOAT,
  target_price FLOAT,
  stop_loss FLOAT,
  position_size FLOAT,
  signal VARCHAR(20),
  signal_strength FLOAT,
  actual_return FLOAT,
  result_date DATE,
  PRIMARY KEY (id),
  FOREIGN KEY(stock_id) REFERENCES stocks (id)
)""", w, indexes=[
            "CREATE INDEX ix_daily_selection_date ON daily_selections (selection_date)",
            "CREATE INDEX ix_daily_selection_signal ON daily_selections (signal)",
        ]),
        # LEGACY.md 5.1's trade_history plus the 3f63b64 columns where the model declares them.
        table(f, """
CREATE TABLE trade_history (
  id INTEGER NOT NULL,
  stock_id INTEGER NOT NULL,
  order_id VARCHAR(50),
  order_datetime DATETIME NOT NULL,
  order_type VARCHAR(20) NOT NULL,
  side VARCHAR(10) NOT NULL,
  filled_datetime DATETIME,
  quantity INTEGER NOT NULL,
  filled_quantity INTEGER,
  price FLOAT,
  filled_price FLOAT,
  amount FLOAT,
  commission FLOAT,
  tax FLOAT,
  strategy VARCHAR(50),
  signal_source VARCHAR(50),
  daily_selection_id INTEGER,
  entry_price FLOAT,
  target_price FLOAT,
  stop_loss_price FLOAT,
  expected_return FLOAT,
  predicted_probability FLOAT,
  predicted_class INTEGER,
  model_name VARCHAR(50),
  status VARCHAR(20),
  error_message TEXT,
  PRIMARY KEY (id),
  FOREIGN KEY(stock_id) REFERENCES stocks (id),
  UNIQUE (order_id),
  FOREIGN KEY(daily_selection_id) REFERENCES daily_selections (id)
)""", w, indexes=[
            "CREATE INDEX ix_trade_history_order_datetime ON trade_history (order_datetime)",
            "CREATE INDEX ix_trade_history_status ON trade_history (status)",
            "CREATE INDEX ix_trade_history_strategy ON trade_history (strategy)",
        ]),
        # Not in LEGACY.md: what create_all emits for the FeedbackData model (3f63b64 on).
        table(f, """
CREATE TABLE feedback_data (
  id INTEGER NOT NULL,
  prediction_id VARCHAR(100) NOT NULL,
  stock_code VARCHAR(20) NOT NULL,
  prediction_date DATE NOT NULL,
  predicted_probability FLOAT NOT NULL,
  predicted_class INTEGER NOT NULL,
  model_name VARCHAR(50) NOT NULL,
  actual_return_7d FLOAT,
  actual_class INTEGER,
  prediction_error FLOAT,
  absolute_error FLOAT,
  feedback_date DATE,
  is_processed INTEGER,
  factor_scores TEXT,
  created_at DATETIME,
  updated_at DATETIME,
  PRIMARY KEY (id),
  UNIQUE (prediction_id)
)""", "core/database/unified_db.py save_feedback / update_feedback_result",
            formats={"is_processed": "bool01", "factor_scores": "json_utf8"},
            indexes=[
                "CREATE INDEX ix_feedback_prediction_id ON feedback_data (prediction_id)",
                "CREATE INDEX ix_feedback_stock_code ON feedback_data (stock_code)",
                "CREATE INDEX ix_feedback_prediction_date ON feedback_data (prediction_date)",
                "CREATE INDEX ix_feedback_model_name ON feedback_data (model_name)",
            ]),
    )


def build_files() -> Tuple[LegacyFile, ...]:
    """The 11 legacy files in migration order (the main DB in its 3f63b64 layout)."""
    return (
        LegacyFile(LEARNING_DB, _learning(), "DataSynchronizer"),
        LegacyFile(NOTIFICATION_DB, _notification(), "NotificationHistoryDB"),
        LegacyFile(ALERTS_DB, _alerts(), "SystemAlertManager"),
        LegacyFile(RECOVERY_DB, _recovery(), "ErrorRecoverySystem / RecoveryManager"),
        LegacyFile(API_DB, _api(), "APICallTracker"),
        LegacyFile(PERFORMANCE_DB, _performance(), "PerformanceTracker"),
        LegacyFile(ACCURACY_DB, _accuracy(), "AccuracyTracker"),
        LegacyFile(STRATEGY_DB, _strategy(), "StrategyReporter"),
        LegacyFile(MODEL_DB, _model(), "ModelPerformanceMonitor"),
        LegacyFile(FEEDBACK_DB, _feedback(), "FeedbackSystem", indexes_last=True),
        LegacyFile(MAIN_DB, _main(), "SQLAlchemy models (core/database/models.py)"),
    )
