"""The persistence methods of AccuracyAnalyzer (read-only)."""

from __future__ import annotations

from ._base import DomainStore


class AccuracyAnalyzer(DomainStore):
    """The persistence methods of AccuracyAnalyzer (read-only)."""
