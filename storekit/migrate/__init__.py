"""``storekit migrate``: the legacy SQLite files into the unified store, typed, lossless,
idempotent and resumable (see ``docs/how-to/migrate.rst``)."""

from __future__ import annotations

from ._convert import DEFAULT_ZONE, Quarantine
from ._mapping import ColumnMap, TableMapping, all_mappings, mapping_for, mapping_rows, migration_order
from ._run import MigrationReport, TableReport, migrate, parse_only, tag_value, untag_value

__all__ = [
    "DEFAULT_ZONE",
    "ColumnMap",
    "MigrationReport",
    "Quarantine",
    "TableMapping",
    "TableReport",
    "all_mappings",
    "mapping_for",
    "mapping_rows",
    "migrate",
    "migration_order",
    "parse_only",
    "tag_value",
    "untag_value",
]
