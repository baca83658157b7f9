"""The persistence methods of ModelPerformanceMonitor (``data/model_performance.db``)."""

from __future__ import annotations

from ._base import DomainStore


class ModelPerformanceMonitor(DomainStore):
    """The persistence methods of ModelPerformanceMonitor (``data/model_performance.db``)."""
