"""The persistence methods of PerformanceTracker (``data/performance_tracking.db``)."""

from __future__ import annotations

from ._base import DomainStore


class PerformanceTracker(DomainStore):
    """The persistence methods of PerformanceTracker (``data/performance_tracking.db``)."""
