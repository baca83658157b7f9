"""Typed records for every table the trading application keeps.

Each record type is declared once (see :mod:`storekit.records._declare` for the type
policy); :func:`all_record_types` lists them all.
"""

from __future__ import annotations

from typing import Tuple

from ._declare import (
    FieldSpec,
    Index,
    Json,
    Kind,
    LegacySource,
    Record,
    RecordSpec,
    Reference,
    field,
    record,
    registered_record_types,
    spec_of,
)
from ._ids import derived_id, new_id, utc_now
from .accuracy import DailyAccuracy
from .alerts import AlertSetting, AlertStatistics, SystemAlert
from .api import ApiCall
from .audit import AuditEntry
from .feedback import Feedback, ModelPerformanceHistory
from .learning import LearningMetric, PerformanceTracking, ScreeningHistory, SelectionHistory
from .main import ErrorLog, Indicator, Price, Stock, Trade, TradeHistory, WatchlistStock
from .migration import LegacyRow, QuarantinedRow
from .model import ModelBaseline, ModelPerformance, PerformanceAlert
from .notification import NotificationHistory, NotificationStats
from .performance import ActualPerformance, BacktestPrediction, DailyTracking, PerformanceComparison
from .recovery import ErrorEvent, RecoveryRule
from .results import ScreeningResult, SelectionResult
from .selections import DailySelection
from .strategy import DailyStrategyReturn, MarketRegime, StrategyComparison, StrategyPerformance
from .sync import SyncedFile

__all__ = [
    "ActualPerformance",
    "AlertSetting",
    "AlertStatistics",
    "ApiCall",
    "AuditEntry",
    "BacktestPrediction",
    "DailyAccuracy",
    "DailySelection",
    "DailyStrategyReturn",
    "DailyTracking",
    "ErrorEvent",
    "ErrorLog",
    "Feedback",
    "FieldSpec",
    "Index",
    "Indicator",
    "Json",
    "Kind",
    "LearningMetric",
    "LegacyRow",
    "LegacySource",
    "MarketRegime",
    "ModelBaseline",
    "ModelPerformance",
    "ModelPerformanceHistory",
    "NotificationHistory",
    "NotificationStats",
    "PerformanceAlert",
    "PerformanceComparison",
    "PerformanceTracking",
    "Price",
    "QuarantinedRow",
    "Record",
    "RecordSpec",
    "RecoveryRule",
    "Reference",
    "ScreeningHistory",
    "ScreeningResult",
    "SelectionHistory",
    "SelectionResult",
    "Stock",
    "StrategyComparison",
    "StrategyPerformance",
    "SyncedFile",
    "SystemAlert",
    "Trade",
    "TradeHistory",
    "WatchlistStock",
    "all_record_types",
    "derived_id",
    "field",
    "new_id",
    "record",
    "spec_of",
    "utc_now",
]


def all_record_types() -> Tuple[type, ...]:
    """Every record class storekit declares, in declaration order."""
    return registered_record_types()
