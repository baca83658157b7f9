"""Tables derived from record declarations."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import sqlalchemy as sa

from ..records import RecordSpec, spec_of
from ._facts import SQLFacts
from ._rollup import ensure_rollup

__all__ = ["SCHEMA_VERSION", "build_metadata", "index_name", "meta_table", "stored_key"]

SCHEMA_VERSION = 4
"""The schema version this library writes; recorded in ``storekit_meta``.

Each version is an Alembic revision in ``storekit/schema/versions`` (``storekit schema
upgrade`` runs them): 1, the first schema; 2, an index on every foreign key; 3, covering
indexes for ``api_calls`` and, on PostgreSQL, ``api_calls`` and ``daily_strategy_returns``
range-partitioned by month; 4, ``storekit_api_calls_rollup``, the per-minute rollup of
``api_calls`` kept by triggers (:mod:`storekit.sql._rollup`)."""


def meta_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "storekit_meta",
        metadata,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def stored_key(spec: RecordSpec, facts: SQLFacts) -> Tuple[str, ...]:
    """The primary key of ``spec``'s table: the record key, plus the partition field where
    the table is partitioned and the key lacks it (PostgreSQL requires the partition key
    in every primary key and unique constraint). The backend keeps the record key unique
    itself on such tables (``docs/how-to/operations.rst``, "Partitioned tables")."""
    if facts.partitions and spec.partition_by and spec.partition_by not in spec.key:
        return (*spec.key, spec.partition_by)
    return spec.key


def _table(spec: RecordSpec, facts: SQLFacts, metadata: sa.MetaData) -> sa.Table:
    key = stored_key(spec, facts)
    extra = key[len(spec.key) :]
    columns = [
        sa.Column(f.name, facts.column_type(f.kind), nullable=f.nullable, primary_key=f.name in key)
        for f in spec.fields
    ]
    constraints: List[sa.schema.SchemaItem] = [
        sa.UniqueConstraint(*u, *[e for e in extra if e not in u], name=f"uq_{spec.table}_{'_'.join(u)}")
        for u in spec.unique
    ]
    for ref in spec.references:
        constraints.append(
            sa.ForeignKeyConstraint(
                list(ref.fields),
                [f"{ref.target}.{c}" for c in ref.target_fields],
                name=f"fk_{spec.table}_{'_'.join(ref.fields)}",
            )
        )
    table = sa.Table(spec.table, metadata, *columns, *constraints, **facts.table_options(spec))
    for index in _indexes(spec):
        facts.index(index_name(spec.table, index), table, index, spec.include_of(index))
    return table


def index_name(table: str, columns: Sequence[str]) -> str:
    """The name of the index of ``table`` on ``columns``."""
    return f"ix_{table}_{'_'.join(columns)}"


def _indexes(spec: RecordSpec) -> List[Tuple[str, ...]]:
    """The declared indexes, and one per foreign key that no key, unique constraint or
    index starts with (schema version 2): neither database indexes the referencing side,
    so deleting a parent row would scan the whole child table."""
    indexes = [tuple(i) for i in spec.indexes]
    leading = [tuple(spec.key), *map(tuple, spec.unique), *indexes]
    for ref in spec.references:
        fields = tuple(ref.fields)
        if not any(cols[: len(fields)] == fields for cols in leading):
            indexes.append(fields)
            leading.append(fields)
    return indexes


def build_metadata(record_types: Sequence[type], facts: SQLFacts) -> Dict[type, sa.Table]:
    """One table per record type, all in one ``MetaData`` (references resolve within it)."""
    metadata = sa.MetaData()
    meta = meta_table(metadata)
    tables = {t: _table(spec_of(t), facts, metadata) for t in record_types}

    @sa.event.listens_for(metadata, "after_create")
    def _rollup(target: sa.MetaData, connection: sa.engine.Connection, **kw: Any) -> None:
        # schema version 4: the rollup comes with api_calls, created with it or by
        # `storekit schema upgrade` from version 3 (which ends with a create_all of every
        # table, whose event lists only the tables it created); not in an older store,
        # which open_store refuses next (and whose role may not create tables)
        version = None
        if sa.inspect(connection).has_table(meta.name):
            version = connection.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar_one_or_none()
        if version is None or int(version) >= 4:
            ensure_rollup(connection, facts)

    return tables
