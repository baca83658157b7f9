"""The persistence methods of SystemAlertManager (``data/system_alerts.db``)."""

from __future__ import annotations

from ._base import DomainStore


class SystemAlertManager(DomainStore):
    """The persistence methods of SystemAlertManager (``data/system_alerts.db``)."""
