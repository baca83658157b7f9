"""Records of ``data/notification_history.db`` (NotificationHistoryDB)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, field, record
from ._ids import new_id, utc_now

NOTIFICATION_DB = "notification_history.db"


@record(
    table="notification_history",
    key=("id",),
    legacy=[LegacySource(NOTIFICATION_DB, "notification_history")],
    indexes=[("trace_id",), ("status",), ("created_at",), ("alert_id",)],
)
class NotificationHistory(Record):
    """One notification sent, failed or filtered (NotificationHistoryDB.save)."""

    id: int = field(factory=new_id)
    alert_id: str
    alert_type: str
    level: str
    title: str
    message: Optional[str] = field(default=None, doc="truncated to 500 characters by the writer")
    channel: str = field(doc="telegram, email, ...")
    recipient: Optional[str] = None
    status: str = field(choices=("sent", "failed", "filtered"))
    error_message: Optional[str] = None
    trace_id: Optional[str] = field(default=None, doc="'' outside a trace context")
    created_at: Optional[dt.datetime] = field(factory=utc_now)
    sent_at: Optional[dt.datetime] = None
    response_data: Json = None


@record(
    table="notification_stats",
    key=("date",),
    legacy=[LegacySource(NOTIFICATION_DB, "notification_stats")],
)
class NotificationStats(Record):
    """Notification counters of one local day (NotificationHistoryDB.save)."""

    date: dt.date
    total_count: int = 0
    sent_count: int = 0
    failed_count: int = 0
    filtered_count: int = 0
    telegram_count: int = 0
    email_count: int = 0
    updated_at: Optional[dt.datetime] = field(factory=utc_now)
