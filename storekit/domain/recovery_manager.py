"""The persistence methods of RecoveryManager and ErrorRecoverySystem (``data/error_recovery.db``)."""

from __future__ import annotations

from ._base import DomainStore


class RecoveryManager(DomainStore):
    """The persistence methods of RecoveryManager and ErrorRecoverySystem (``data/error_recovery.db``)."""
