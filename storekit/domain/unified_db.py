"""The persistence methods of the main-database helpers of ``core/database/unified_db.py``."""

from __future__ import annotations

from ._base import DomainStore


class UnifiedDb(DomainStore):
    """The persistence methods of the main-database helpers of ``core/database/unified_db.py``."""
