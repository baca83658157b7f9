"""The persistence methods of DataSynchronizer (``data/learning/learning_data.db``)."""

from __future__ import annotations

from ._base import DomainStore


class DataSynchronizer(DomainStore):
    """The persistence methods of DataSynchronizer (``data/learning/learning_data.db``)."""
