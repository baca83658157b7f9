"""Records of ``data/error_recovery.db`` (ErrorRecoverySystem / RecoveryManager)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, field, record
from ._ids import new_id, utc_now

RECOVERY_DB = "error_recovery.db"
SEVERITIES = ("low", "medium", "high", "critical")
ERROR_TYPES = (
    "api_timeout", "memory_error", "database_error", "network_error", "file_error",
    "permission_error", "api_rate_limit", "unknown",
    "system_cpu_high", "system_memory_high", "system_disk_full",
)  # fmt: skip
"""The ``error_type`` values of ErrorRecoverySystem: its classifier's (``unknown`` when no
pattern matches) and the system monitor's three."""


@record(
    table="error_events",
    key=("id",),
    legacy=[LegacySource(RECOVERY_DB, "error_events")],
)
class ErrorEvent(Record):
    """One reported error and its recovery attempt (ErrorRecoverySystem.report_error)."""

    id: int = field(factory=new_id)
    timestamp: dt.datetime
    error_type: str = field(choices=ERROR_TYPES)
    severity: str = field(choices=SEVERITIES)
    component: str
    message: str
    stack_trace: Optional[str] = None
    system_metrics: Json = None
    affected_users: Optional[int] = None
    recovery_attempted: Optional[bool] = None
    recovery_action: Optional[str] = None
    recovery_success: Optional[bool] = None
    recovery_time: Optional[float] = field(default=None, doc="seconds")
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="recovery_rules",
    key=("name",),
    legacy=[LegacySource(RECOVERY_DB, "recovery_rules")],
)
class RecoveryRule(Record):
    """One error recovery rule (RecoveryManager.add_recovery_rule)."""

    name: str
    error_pattern: str
    severity_threshold: str = field(choices=SEVERITIES)
    recovery_actions: Json = field(doc="list of RecoveryAction values")
    max_attempts: int = 3
    cooldown_seconds: int = 300
    conditions: Json = None
    enabled: bool = True
    created_at: Optional[dt.datetime] = field(factory=utc_now)
