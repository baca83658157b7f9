"""The persistence methods of NotificationHistoryDB (``data/notification_history.db``)."""

from __future__ import annotations

from ._base import DomainStore


class NotificationHistory(DomainStore):
    """The persistence methods of NotificationHistoryDB (``data/notification_history.db``)."""
