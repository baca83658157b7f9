"""The persistence methods of AccuracyTracker (``data/accuracy_tracking.db``)."""

from __future__ import annotations

from ._base import DomainStore


class AccuracyTracker(DomainStore):
    """The persistence methods of AccuracyTracker (``data/accuracy_tracking.db``)."""
