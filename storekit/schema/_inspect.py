"""What a store's schema has, against what this library declares."""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Tuple

import attrs
import sqlalchemy as sa

from ..sql import SCHEMA_VERSION, SQLBackend
from ._connect import sql_backend

__all__ = ["SchemaReport", "inspect_schema", "missing_indexes"]


@attrs.frozen
class SchemaReport:
    """A store's schema against this library's declarations (:func:`inspect_schema`).

    .. versionadded:: 0.1
    """

    version: Optional[int]
    """The recorded schema version (``None``: storekit never wrote this store)."""
    library_version: int
    """The version this library writes (:data:`storekit.sql.SCHEMA_VERSION`)."""
    missing_tables: Tuple[str, ...]
    """Tables of declared record types the store lacks."""
    missing_indexes: Tuple[str, ...]
    """Declared indexes (``table.index``) missing from tables the store has."""

    @property
    def current(self) -> bool:
        """The store is at this library's version and lacks nothing."""
        return self.version == self.library_version and not self.missing_tables and not self.missing_indexes

    def advice(self) -> str:
        """What to run, in one sentence ('' when the store is current)."""
        if self.version is not None and self.version > self.library_version:
            return "upgrade storekit (pip install -U storekit): the store is newer than this library"
        if self.current:
            return ""
        return "run `storekit schema upgrade` as the schema's owner"


def missing_indexes(conn: sa.engine.Connection, backend: SQLBackend) -> List[Tuple[str, sa.Index]]:
    """``(table, index)`` for every declared index missing from a table the store has."""
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    missing = []
    for table in backend._meta.metadata.sorted_tables:
        if table.name not in present or not table.indexes:
            continue
        names = {i["name"] for i in inspector.get_indexes(table.name)}
        missing += [(table.name, i) for i in sorted(table.indexes, key=lambda i: str(i.name)) if i.name not in names]
    return missing


def inspect_schema(url: Optional[str] = None, *, options: Optional[Mapping[str, Any]] = None) -> SchemaReport:
    """Read the schema of the store at ``url`` (resolved as :func:`storekit.open_store`
    does) without changing anything: its recorded version, missing tables and indexes.

    .. versionadded:: 0.1
    """
    with sql_backend(url, options) as backend, backend._connection(write=False) as conn:
        return report(conn, backend)


def report(conn: sa.engine.Connection, backend: SQLBackend) -> SchemaReport:
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    meta = backend._meta
    version: Optional[int] = None
    if meta.name in present:
        value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar_one_or_none()
        version = None if value is None else int(value)
    tables = tuple(sorted(t.name for t in meta.metadata.sorted_tables if t.name not in present))
    indexes = tuple(f"{t}.{i.name}" for t, i in missing_indexes(conn, backend))
    return SchemaReport(version, SCHEMA_VERSION, tables, indexes)
