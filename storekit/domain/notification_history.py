"""The persistence methods of NotificationHistoryDB (``data/notification_history.db``).

The rows are :class:`~storekit.records.NotificationHistory` and
:class:`~storekit.records.NotificationStats`, the records ``storekit migrate`` writes.
Each save writes the history row and increments the day's counters in one transaction,
the counters atomically (:meth:`storekit.Store.increment`). See
``docs/modules/notification_history.rst`` for what changed from the legacy module.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional

import attrs

from ..query import Agg, Eq, Filter, Range
from ..records import NotificationHistory as HistoryRow
from ..records import NotificationStats
from ..records._ids import new_id
from ._base import DomainStore
from ._monitoring import aware, local_day, local_now, percent
from ._unified_db_values import invalid

__all__ = ["MESSAGE_LIMIT", "NotificationHistory", "NotificationHistoryEntry"]

MESSAGE_LIMIT = 500
"""``record_notification`` keeps at most this many characters of a message (as the legacy helper)."""

_COUNTERS = ("total_count", "sent_count", "failed_count", "filtered_count", "telegram_count", "email_count")


@attrs.define
class NotificationHistoryEntry:
    """One notification (the legacy ``NotificationHistoryEntry`` dataclass, same fields).

    ``created_at``/``sent_at`` come back timezone-aware; ``response_data`` is JSON text,
    as the legacy column held it."""

    id: Optional[int] = None
    alert_id: str = ""
    alert_type: str = ""
    level: str = ""
    title: str = ""
    message: Optional[str] = None
    channel: str = "telegram"
    recipient: Optional[str] = ""
    status: str = "sent"
    error_message: Optional[str] = None
    trace_id: Optional[str] = None
    created_at: Optional[dt.datetime] = None
    sent_at: Optional[dt.datetime] = None
    response_data: Optional[str] = None


def _entry(row: HistoryRow) -> NotificationHistoryEntry:
    data = None if row.response_data is None else json.dumps(row.response_data)
    values = attrs.asdict(row, recurse=False)  # type: ignore[arg-type]
    values["response_data"] = data
    return NotificationHistoryEntry(**values)


def _json(value: Any) -> Any:
    """``response_data`` as stored: JSON text is parsed, a dict is kept."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:  # a typed error naming the field, not json's (issue 7)
        raise invalid("NotificationHistory", "response_data", "is not valid JSON text", value) from None


class NotificationHistory(DomainStore):
    """The persistence methods of NotificationHistoryDB and its ``record_notification`` helper."""

    # -- writes ---------------------------------------------------------------------------

    def save(self, entry: NotificationHistoryEntry) -> int:
        """Store ``entry`` and count it in its local day's ``notification_stats``; return its id.

        ``created_at`` defaults to now (a naive datetime is local time), ``sent_at`` is now
        when ``status`` is ``'sent'``, ``trace_id`` defaults to ``''`` and ``recipient`` to
        ``''``, as in the legacy module. The row and the counters are written in one
        transaction; the counters never lose an update to a concurrent save.

        :raises storekit.RecordValidationError: a bad value (for example an unknown
            ``status``); nothing is written.
        """
        created = aware(entry.created_at) or local_now()
        row = HistoryRow(
            id=new_id(),
            alert_id=entry.alert_id,
            alert_type=entry.alert_type,
            level=entry.level,
            title=entry.title,
            message=entry.message,
            channel=entry.channel,
            recipient=entry.recipient if entry.recipient is not None else "",
            status=entry.status,
            error_message=entry.error_message,
            trace_id=entry.trace_id or "",
            created_at=created,
            sent_at=local_now() if entry.status == "sent" else aware(entry.sent_at),
            response_data=_json(entry.response_data),
        )
        counts = {
            "total_count": 1,
            "sent_count": int(row.status == "sent"),
            "failed_count": int(row.status == "failed"),
            "filtered_count": int(row.status == "filtered"),
            "telegram_count": int(row.channel == "telegram"),
            "email_count": int(row.channel == "email"),
        }
        stats = NotificationStats(date=local_day(created), updated_at=local_now(), **counts)
        with self._store.transaction():
            self._store.append([row])
            self._store.increment(stats, *_COUNTERS, replace=["updated_at"])
        return row.id

    def record_notification(
        self,
        alert_id: str,
        alert_type: str,
        level: str,
        title: str,
        message: Optional[str],
        channel: str,
        status: str,
        recipient: str = "",
        error_message: Optional[str] = None,
        response_data: Optional[Dict[str, Any]] = None,
    ) -> int:
        """Save one notification (the legacy module-level helper): ``message`` is cut to
        :data:`MESSAGE_LIMIT` characters. Returns the id."""
        return self.save(
            NotificationHistoryEntry(
                alert_id=alert_id,
                alert_type=alert_type,
                level=level,
                title=title,
                message=message[:MESSAGE_LIMIT] if isinstance(message, str) else message,  # validation names others
                channel=channel,
                recipient=recipient,
                status=status,
                error_message=error_message,
                response_data=response_data,  # type: ignore[arg-type]  # a dict is stored as JSON
            )
        )

    def cleanup_old(self, days: int = 90) -> int:
        """Delete the history rows created more than ``days`` days ago (compared as
        timestamps); return how many. The daily counters are kept."""
        cutoff = local_now() - dt.timedelta(days=days)
        return self._store.delete(HistoryRow, Range("created_at", lt=cutoff))

    # -- reads ----------------------------------------------------------------------------

    def get_by_id(self, history_id: int) -> Optional[NotificationHistoryEntry]:
        """The entry with this id, or ``None``."""
        row = self._store.get(HistoryRow, history_id)
        return None if row is None else _entry(row)

    def _list(self, *where: Filter, limit: Optional[int] = None) -> List[NotificationHistoryEntry]:
        rows = self._store.find(HistoryRow, *where, order_by=["-created_at", "-id"], limit=limit)
        return [_entry(r) for r in rows]

    def get_by_alert_id(self, alert_id: str) -> List[NotificationHistoryEntry]:
        """Every entry of one alert, newest first."""
        return self._list(Eq("alert_id", alert_id))

    def get_by_trace_id(self, trace_id: str) -> List[NotificationHistoryEntry]:
        """Every entry of one trace, newest first."""
        return self._list(Eq("trace_id", trace_id))

    def get_recent(
        self,
        limit: int = 100,
        status: Optional[str] = None,
        channel: Optional[str] = None,
        since: Optional[dt.datetime] = None,
    ) -> List[NotificationHistoryEntry]:
        """The newest ``limit`` entries, optionally of one ``status`` and ``channel`` and
        created at or after ``since`` (a timestamp comparison; naive is local time)."""
        where: List[Filter] = []
        if status is not None:
            where.append(Eq("status", status))
        if channel is not None:
            where.append(Eq("channel", channel))
        if since is not None:
            where.append(Range("created_at", ge=aware(since)))
        return self._list(*where, limit=limit)

    def get_failed(self, limit: int = 50) -> List[NotificationHistoryEntry]:
        """The newest ``limit`` failed entries."""
        return self._list(Eq("status", "failed"), limit=limit)

    def get_stats(self, start_date: Optional[str] = None, end_date: Optional[str] = None) -> List[Dict[str, Any]]:
        """The daily counters between ``start_date`` and ``end_date`` (``'YYYY-MM-DD'``,
        both included, either open), newest day first, as dicts of the legacy columns
        (``date`` and ``updated_at`` as ISO text)."""
        bounds: Dict[str, dt.date] = {}
        if start_date:
            bounds["ge"] = dt.date.fromisoformat(start_date)
        if end_date:
            bounds["le"] = dt.date.fromisoformat(end_date)
        where = [Range("date", **bounds)] if bounds else []
        out = []
        for row in self._store.find(NotificationStats, *where, order_by=["-date"]):
            values = attrs.asdict(row, recurse=False)  # type: ignore[arg-type]
            values["date"] = row.date.isoformat()
            values["updated_at"] = None if row.updated_at is None else row.updated_at.isoformat()
            out.append(values)
        return out

    def get_stats_summary(self, days: int = 7) -> Dict[str, Any]:
        """The counters of the last ``days`` local days summed, computed by the database:
        ``period_days, total, sent, failed, filtered, telegram, email, success_rate``
        (``sent / total`` in percent, 0.0 without notifications)."""
        cutoff = local_now().date() - dt.timedelta(days=days)
        aggs = [Agg("sum", name) for name in _COUNTERS]
        row = self._store.aggregate(NotificationStats, *aggs, where=[Range("date", ge=cutoff)])[0]
        total, sent, failed, filtered, telegram, email = (row[f"sum_{name}"] or 0 for name in _COUNTERS)
        return {
            "period_days": days,
            "total": total,
            "sent": sent,
            "failed": failed,
            "filtered": filtered,
            "telegram": telegram,
            "email": email,
            "success_rate": percent(sent, total),
        }
