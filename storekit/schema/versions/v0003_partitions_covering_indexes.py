"""Schema version 3: ``get_api_statistics`` answered from indexes, and the two big
time-series tables range-partitioned by month on PostgreSQL.

* ``ix_api_calls_endpoint_timestamp`` also stores the columns the statistics read
  (PostgreSQL: ``INCLUDE``; SQLite: appended to the indexed columns), and
  ``ix_api_calls_endpoint_response_time_id`` gives the 95th percentile row in order.
* PostgreSQL: ``api_calls`` (by ``timestamp``, primary key ``(id, timestamp)``) and
  ``daily_strategy_returns`` (by ``date``) become partitioned tables with one partition per
  month (UTC), created for every month holding rows, and the next, and a ``DEFAULT``
  partition; the rows are copied into them and the old tables dropped. SQLite tables
  stay as they are.

Tables a store does not have are skipped. Frozen here, not derived from the records.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATS = ("success", "error_message", "response_time", "request_size", "response_size")
V2_INDEXES = {
    "api_calls": [
        ("ix_api_calls_timestamp", ("timestamp",)),
        ("ix_api_calls_endpoint_timestamp", ("endpoint", "timestamp")),
        ("ix_api_calls_success", ("success",)),
    ],
    "daily_strategy_returns": [],
}
# name, columns, included columns (PostgreSQL INCLUDE; appended to the columns on SQLite)
V3_INDEXES = {
    "api_calls": [
        ("ix_api_calls_timestamp", ("timestamp",), ()),
        ("ix_api_calls_endpoint_timestamp", ("endpoint", "timestamp"), STATS),
        ("ix_api_calls_endpoint_response_time_id", ("endpoint", "response_time", "id"), ("timestamp",)),
        ("ix_api_calls_success", ("success",), ()),
    ],
    "daily_strategy_returns": [],
}
PARTITIONED = {
    "api_calls": ("timestamp", ("id", "timestamp")),
    "daily_strategy_returns": ("date", ("strategy_name", "date")),
}
V2_KEYS = {"api_calls": ("id",), "daily_strategy_returns": ("strategy_name", "date")}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables() -> List[str]:
    return sa.inspect(op.get_bind()).get_table_names()


def _sqlite_indexes(
    table: str, drop: Sequence[Tuple[str, Sequence[str]]], create: Sequence[Tuple[str, Sequence[str]]]
) -> None:
    existing = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table)}
    for name, _ in drop:
        if name in existing:
            op.drop_index(name, table_name=table)
    for name, columns in create:
        op.create_index(name, table, list(columns))


def _month_partitions(conn: sa.engine.Connection, table: str, column: str, source: str) -> None:
    """One partition per month holding rows of ``source`` (and the next month)."""
    timestamp = column == "timestamp"
    expr = (
        f"date_trunc('month', {_q(column)} AT TIME ZONE 'UTC')" if timestamp else f"date_trunc('month', {_q(column)})"
    )
    months = {(r[0].year, r[0].month) for r in conn.exec_driver_sql(f"SELECT DISTINCT {expr} FROM {_q(source)}")}
    months |= {(y + 1, 1) if m == 12 else (y, m + 1) for y, m in months}
    for y, m in sorted(months):
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        suffix = " 00:00:00+00" if timestamp else ""
        conn.exec_driver_sql(
            f"CREATE TABLE {_q(f'{table}_p{y:04d}{m:02d}')} PARTITION OF {_q(table)} "
            f"FOR VALUES FROM ('{y:04d}-{m:02d}-01{suffix}') TO ('{ny:04d}-{nm:02d}-01{suffix}')"
        )


def _rebuild(table: str, partitioned: bool) -> None:
    """Copy ``table`` into a new table of the same columns, partitioned or not, with the
    version's key and indexes; drop the old one."""
    conn = op.get_bind()
    old = f"{table}_v{'2' if partitioned else '3'}_old"
    pk = sa.inspect(conn).get_pk_constraint(table).get("name")
    conn.exec_driver_sql(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    if pk:
        conn.exec_driver_sql(f"ALTER TABLE {_q(old)} RENAME CONSTRAINT {_q(pk)} TO {_q(old + '_pkey')}")
    for name, *_ in (V2_INDEXES if partitioned else V3_INDEXES)[table]:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_q(name)}")
    column, key = PARTITIONED[table]
    spec = f" PARTITION BY RANGE ({_q(column)})" if partitioned else ""
    conn.exec_driver_sql(f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){spec}")
    primary: Tuple[str, ...] = key if partitioned else V2_KEYS[table]
    conn.exec_driver_sql(
        f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY ({', '.join(map(_q, primary))})"
    )
    if partitioned:
        conn.exec_driver_sql(f"CREATE TABLE {_q(table + '_default')} PARTITION OF {_q(table)} DEFAULT")
        _month_partitions(conn, table, column, old)
        for name, columns, include in V3_INDEXES[table]:
            if include:  # in storekit's order (NULL first ascending), as the facts declare it
                keys = ", ".join(f"{_q(c)} NULLS FIRST" for c in columns)
                conn.exec_driver_sql(
                    f"CREATE INDEX {_q(name)} ON {_q(table)} ({keys}) INCLUDE ({', '.join(map(_q, include))})"
                )
            else:
                op.create_index(name, table, list(columns))
    else:
        for name, columns in V2_INDEXES[table]:
            op.create_index(name, table, list(columns))
    conn.exec_driver_sql(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
    conn.exec_driver_sql(f"DROP TABLE {_q(old)}")


def upgrade() -> None:
    tables = _tables()
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in PARTITIONED:
        if table not in tables:
            continue
        if postgresql:
            _rebuild(table, partitioned=True)
        elif V3_INDEXES[table]:
            create = [(name, (*columns, *include)) for name, columns, include in V3_INDEXES[table]]
            _sqlite_indexes(table, V2_INDEXES[table], create)


def downgrade() -> None:
    tables = _tables()
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in PARTITIONED:
        if table not in tables:
            continue
        if postgresql:
            _rebuild(table, partitioned=False)
        elif V3_INDEXES[table]:
            drop = [(name, columns) for name, columns, _ in V3_INDEXES[table]]
            _sqlite_indexes(table, drop, V2_INDEXES[table])
