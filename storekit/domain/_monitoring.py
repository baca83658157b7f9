"""Small helpers shared by the monitoring domain stores (API calls, notifications, system
alerts, error recovery): the legacy modules' local clock and enum arguments."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

__all__ = ["aware", "local_day", "local_now", "percent", "plain"]


def local_now() -> dt.datetime:
    """Now, aware, in the process's local zone (the legacy modules' ``datetime.now()``)."""
    return dt.datetime.now().astimezone()


def aware(value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """``value`` made timezone-aware: a naive datetime is local time (as the legacy
    ``datetime.now()`` values are), an aware one is kept."""
    if not isinstance(value, dt.datetime) or value.tzinfo is not None:
        return value  # None, aware, or not a datetime: left for record validation to name
    return value.astimezone()


def local_day(value: dt.datetime) -> dt.date:
    """The local calendar day of ``value`` (the legacy ``strftime('%Y-%m-%d')`` of a local time)."""
    return value.astimezone().date() if value.tzinfo is not None else value.date()


def plain(value: Any) -> Any:
    """An enum member's ``value`` (AlertLevel.INFO -> 'info'); anything else as it is."""
    return getattr(value, "value", value)


def percent(part: float, whole: float) -> float:
    """``part`` as a percentage of ``whole`` (0.0 when ``whole`` is 0)."""
    return part / whole * 100.0 if whole else 0.0
