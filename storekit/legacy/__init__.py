"""The legacy SQLite files storekit migrates from: their layout as data
(:mod:`storekit.legacy.schema`) and a generator of legacy ``data/`` directories
(:mod:`storekit.legacy.generate`) for tests, benchmarks and ``storekit demo``."""

from __future__ import annotations

from .schema import (
    FORMAT_PATTERNS,
    FORMATS,
    LEGACY_FILES,
    MAIN_DB,
    MAIN_DB_LAYOUTS,
    Format,
    LegacyColumn,
    LegacyFile,
    LegacyIndex,
    LegacyTable,
    MainDbLayout,
    create_legacy_file,
    format_problem,
    legacy_file,
    legacy_table,
)

__all__ = [
    "FORMATS",
    "FORMAT_PATTERNS",
    "LEGACY_FILES",
    "MAIN_DB",
    "MAIN_DB_LAYOUTS",
    "Format",
    "LegacyColumn",
    "LegacyFile",
    "LegacyIndex",
    "LegacyTable",
    "MainDbLayout",
    "create_legacy_file",
    "format_problem",
    "legacy_file",
    "legacy_table",
]
