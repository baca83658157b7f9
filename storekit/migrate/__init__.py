"""``storekit migrate``: the legacy SQLite files into the unified store, typed, lossless,
idempotent and resumable (see ``docs/how-to/migrate.rst``)."""

from __future__ import annotations

from ._convert import DEFAULT_ZONE, Quarantine
from ._mapping import ColumnMap, TableMapping, all_mappings, mapping_for, mapping_rows, migration_order
from ._rollback import RollbackReport, TableRollback, rollback
from ._run import MigrationReport, TableReport, migrate, parse_only, tag_value, untag_value
from ._verify import Finding, TableVerification, VerifyReport, verify

__all__ = [
    "DEFAULT_ZONE",
    "ColumnMap",
    "Finding",
    "MigrationReport",
    "Quarantine",
    "RollbackReport",
    "TableMapping",
    "TableReport",
    "TableRollback",
    "TableVerification",
    "VerifyReport",
    "all_mappings",
    "mapping_for",
    "mapping_rows",
    "migrate",
    "migration_order",
    "parse_only",
    "rollback",
    "tag_value",
    "untag_value",
    "verify",
]
