"""The persistence methods of APICallTracker (``data/api_tracking.db``)."""

from __future__ import annotations

from ._base import DomainStore


class ApiCallTracker(DomainStore):
    """The persistence methods of APICallTracker (``data/api_tracking.db``)."""
