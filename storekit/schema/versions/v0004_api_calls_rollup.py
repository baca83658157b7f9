"""Schema version 4: ``storekit_api_calls_rollup``, the per-minute rollup of ``api_calls`` that
``get_api_statistics`` and ``generate_traffic_report`` read (``docs/explanation/api-call-rollup.rst``).

One row per endpoint, UTC minute and (``success``, ``error_message``) group: the number
of calls and the sums, minimum and maximum of their response times and sizes, kept
exact by triggers on ``api_calls``.

The upgrade itself changes nothing: ``storekit schema upgrade`` ends by creating what
the store lacks (``SQLBackend.ensure_schema``), and that creates the rollup with the
dialect's DDL (``SQLFacts.api_call_rollup_ddl``: table, triggers, and the groups of the
calls stored so far), as it does for a new store. The downgrade drops the triggers,
their functions (PostgreSQL) and the table. Stores without ``api_calls`` are skipped.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NAME = "storekit_api_calls_rollup"
TRIGGERS = {
    "sqlite": tuple(f"{_NAME}_{event}" for event in ("insert", "delete", "update")),
    "postgresql": tuple(f"{_NAME}_{event}" for event in ("insert", "delete", "update", "truncate")),
}
FUNCTIONS = tuple(f"{_NAME}_{step}" for step in ("add", "subtract", "change", "clear"))


def upgrade() -> None:
    """Nothing here: see the module's docstring."""


def downgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    tables = sa.inspect(conn).get_table_names()
    if "api_calls" in tables:
        for trigger in TRIGGERS.get(dialect, ()):
            on = " ON api_calls" if dialect == "postgresql" else ""
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}{on}")
    if dialect == "postgresql":
        for function in FUNCTIONS:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_NAME}")
