"""Records of ``data/system_alerts.db`` (SystemAlertManager)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, field, record
from ._ids import utc_now

ALERTS_DB = "system_alerts.db"


@record(
    table="system_alerts",
    key=("alert_id",),
    legacy=[LegacySource(ALERTS_DB, "system_alerts")],
)
class SystemAlert(Record):
    """One system alert (SystemAlertManager._save_alert)."""

    alert_id: str = field(doc="{category}_{component}_{unix_seconds}")
    timestamp: dt.datetime
    level: str = field(choices=("info", "warning", "error", "critical"))
    category: str = field(
        choices=("system", "trading", "api", "performance", "security", "data_quality")
    )
    title: str
    message: str
    component: str
    metrics: Json = None
    urgent: bool = False
    actionable: bool = False
    auto_resolve: bool = False
    sent: bool = False
    acknowledged: bool = False
    resolved: bool = False
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="alert_settings",
    key=("setting_name",),
    legacy=[LegacySource(ALERTS_DB, "alert_settings")],
)
class AlertSetting(Record):
    """One alert setting (created by SystemAlertManager, never written)."""

    setting_name: str
    setting_value: str
    updated_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="alert_statistics",
    key=("date",),
    legacy=[LegacySource(ALERTS_DB, "alert_statistics")],
)
class AlertStatistics(Record):
    """Alert counters of one local day (SystemAlertManager._update_statistics)."""

    date: dt.date
    total_alerts: int = 0
    critical_alerts: int = 0
    error_alerts: int = 0
    warning_alerts: int = 0
    info_alerts: int = 0
    sent_alerts: int = 0
    acknowledged_alerts: int = 0
    resolved_alerts: int = 0
