"""The persistence methods of SystemAlertManager (``data/system_alerts.db``).

The rows are :class:`~storekit.records.SystemAlert` and
:class:`~storekit.records.AlertStatistics`, the records ``storekit migrate`` writes.
Saving an alert writes it and increments its local day's counters in one transaction,
the counters atomically (:meth:`storekit.Store.increment`). The alert queue, the
five-minute in-memory deduplication, the metric rules and Telegram stay in the
application. See ``docs/modules/system_alert_manager.rst`` for what changed.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Dict, List, Optional

import attrs

from ..errors import UsageError
from ..query import Agg, Eq, Filter, Range
from ..records import AlertStatistics, SystemAlert
from ..records._ids import new_id
from ._base import DomainStore
from ._monitoring import aware, local_day, local_now, plain

__all__ = ["SystemAlertManager", "new_alert_id"]

_LEVELS = ("critical", "error", "warning", "info")
_COUNTERS = (
    "total_alerts",
    "critical_alerts",
    "error_alerts",
    "warning_alerts",
    "info_alerts",
    "sent_alerts",
    "acknowledged_alerts",
    "resolved_alerts",
)


def new_alert_id(category: str, component: str, at: Optional[float] = None) -> str:
    """``{category}_{component}_{unix_seconds}_{unique}``: the legacy id with a suffix
    unique in the process and, by its random bits, across processes, so two alerts of
    one category and component in the same second no longer overwrite each other."""
    seconds = int(time.time() if at is None else at)
    return f"{plain(category)}_{component}_{seconds}_{new_id():x}"


class SystemAlertManager(DomainStore):
    """The persistence methods of SystemAlertManager."""

    # -- writes ---------------------------------------------------------------------------

    def create_alert(
        self,
        level: Any,
        category: Any,
        title: str,
        message: str,
        component: str,
        metrics: Optional[Dict[str, Any]] = None,
        urgent: bool = False,
        actionable: bool = False,
    ) -> SystemAlert:
        """Build and save one alert now (the legacy ``create_alert`` followed by what its
        background thread persisted); ``level``/``category`` are the legacy enums or their
        values. ``urgent`` is forced on for critical alerts, as in the legacy module.
        Deduplication and sending stay in the application. Returns the saved record."""
        level, category = plain(level), plain(category)
        now = local_now()
        alert = SystemAlert(
            alert_id=new_alert_id(category, component, now.timestamp()),
            timestamp=now,
            level=level,
            category=category,
            title=title,
            message=message,
            component=component,
            metrics=metrics,
            urgent=bool(urgent or level == "critical"),
            actionable=actionable,
        )
        self.save_alert(alert)
        return alert

    def save_alert(self, alert: SystemAlert) -> str:
        """Store a new alert and count it in its local day's statistics (the legacy
        ``_save_alert`` and ``_update_statistics``), in one transaction; return its id.

        :raises storekit.IntegrityError: an alert with this id exists (it is never
            overwritten); nothing is written.
        """
        if not isinstance(alert, SystemAlert):  # not an AttributeError from deep inside (issue 7)
            raise TypeError(f"save_alert takes a storekit.records.SystemAlert, not {type(alert).__name__}")
        stats = AlertStatistics(
            date=local_day(alert.timestamp),
            total_alerts=1,
            sent_alerts=int(alert.sent),
            acknowledged_alerts=int(alert.acknowledged),
            resolved_alerts=int(alert.resolved),
            **{f"{level}_alerts": int(alert.level == level) for level in _LEVELS},
        )
        with self._store.transaction():
            self._store.append([alert])
            self._store.increment(stats, *_COUNTERS)
        return alert.alert_id

    def _flag(self, alert_id: str, name: str) -> bool:
        with self._store.transaction():
            alert = self._store.get(SystemAlert, alert_id)
            if alert is None:
                raise UsageError(f"no system alert {alert_id!r}")
            if getattr(alert, name):
                return False
            self._store.put(attrs.evolve(alert, **{name: True}))  # type: ignore[misc]
            counter = f"{name}_alerts"
            self._store.increment(AlertStatistics(date=local_day(alert.timestamp), **{counter: 1}), counter)
        return True

    def mark_sent(self, alert_id: str) -> bool:
        """Record that the alert was sent (the legacy table kept ``sent`` at 0): set the
        flag and count it in the alert's day once; ``False`` if it was already set.

        :raises storekit.UsageError: no alert has this id.
        """
        return self._flag(alert_id, "sent")

    def acknowledge(self, alert_id: str) -> bool:
        """Set ``acknowledged`` and count it once (see :meth:`mark_sent`)."""
        return self._flag(alert_id, "acknowledged")

    def resolve(self, alert_id: str) -> bool:
        """Set ``resolved`` and count it once (see :meth:`mark_sent`)."""
        return self._flag(alert_id, "resolved")

    # -- reads ----------------------------------------------------------------------------

    def get_alert(self, alert_id: str) -> Optional[SystemAlert]:
        """The alert with this id, or ``None``."""
        return self._store.get(SystemAlert, alert_id)

    def get_recent_alerts(
        self,
        limit: int = 100,
        level: Any = None,
        category: Any = None,
        since: Optional[dt.datetime] = None,
    ) -> List[SystemAlert]:
        """The newest ``limit`` alerts, optionally of one level and category, at or after
        ``since`` (naive is local time)."""
        where: List[Filter] = []
        if level is not None:
            where.append(Eq("level", plain(level)))
        if category is not None:
            where.append(Eq("category", plain(category)))
        if since is not None:
            where.append(Range("timestamp", ge=aware(since)))
        return list(self._store.find(SystemAlert, *where, order_by=["-timestamp"], limit=limit))

    def get_alert_statistics(self, days: int = 7) -> Dict[str, Any]:
        """The daily counters of the last ``days`` local days, summed by the database:
        ``period_days`` and ``total_alerts``, ``critical_alerts``, ``error_alerts``,
        ``warning_alerts``, ``info_alerts``, ``sent_alerts``, ``acknowledged_alerts``,
        ``resolved_alerts``, plus ``daily``: the per-day rows, newest first."""
        cutoff = local_now().date() - dt.timedelta(days=days)
        where = [Range("date", ge=cutoff)]
        row = self._store.aggregate(AlertStatistics, *[Agg("sum", c) for c in _COUNTERS], where=where)[0]
        out: Dict[str, Any] = {"period_days": days}
        out.update({c: row[f"sum_{c}"] or 0 for c in _COUNTERS})
        out["daily"] = [
            {"date": r.date.isoformat(), **{c: getattr(r, c) for c in _COUNTERS}}
            for r in self._store.find(AlertStatistics, *where, order_by=["-date"])
        ]
        return out
