"""The persistence methods of EnhancedAdaptiveSystem (reads ``learning_data.db``)."""

from __future__ import annotations

from ._base import DomainStore


class EnhancedAdaptiveSystem(DomainStore):
    """The persistence methods of EnhancedAdaptiveSystem (reads ``learning_data.db``)."""
