"""The persistence methods of StrategyReporter (``data/strategy_performance.db``)."""

from __future__ import annotations

from ._base import DomainStore


class StrategyReporter(DomainStore):
    """The persistence methods of StrategyReporter (``data/strategy_performance.db``)."""
