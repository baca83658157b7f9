"""Domain stores: the application's per-module persistence methods, written once.

Each legacy module's storage methods (LEGACY.md section 6) live on one domain store,
reached as an attribute of an open :class:`~storekit.Store` named after the module in
snake_case, for example ``store.api_call_tracker.record_api_call(...)``.
"""

from __future__ import annotations

from typing import Dict, Type

from ._base import DomainStore
from .accuracy_analyzer import AccuracyAnalyzer
from .accuracy_tracker import AccuracyTracker
from .api_call_tracker import ApiCallTracker
from .data_synchronizer import DataSynchronizer
from .enhanced_adaptive_system import EnhancedAdaptiveSystem
from .feedback_system import FeedbackSystem
from .model_performance_monitor import ModelPerformanceMonitor
from .notification_history import NotificationHistory
from .performance_tracker import PerformanceTracker
from .recovery_manager import RecoveryManager
from .strategy_reporter import StrategyReporter
from .system_alert_manager import SystemAlertManager
from .unified_db import UnifiedDb

__all__ = [
    "DOMAIN_STORES",
    "AccuracyAnalyzer",
    "AccuracyTracker",
    "ApiCallTracker",
    "DataSynchronizer",
    "DomainStore",
    "EnhancedAdaptiveSystem",
    "FeedbackSystem",
    "ModelPerformanceMonitor",
    "NotificationHistory",
    "PerformanceTracker",
    "RecoveryManager",
    "StrategyReporter",
    "SystemAlertManager",
    "UnifiedDb",
]

DOMAIN_STORES: Dict[str, Type[DomainStore]] = {
    "data_synchronizer": DataSynchronizer,
    "enhanced_adaptive_system": EnhancedAdaptiveSystem,
    "notification_history": NotificationHistory,
    "system_alert_manager": SystemAlertManager,
    "recovery_manager": RecoveryManager,
    "api_call_tracker": ApiCallTracker,
    "performance_tracker": PerformanceTracker,
    "accuracy_tracker": AccuracyTracker,
    "strategy_reporter": StrategyReporter,
    "model_performance_monitor": ModelPerformanceMonitor,
    "accuracy_analyzer": AccuracyAnalyzer,
    "feedback_system": FeedbackSystem,
    "unified_db": UnifiedDb,
}
"""Attribute name on :class:`~storekit.Store` to domain store class."""
