"""Schema version 2: an index on every foreign key that no key, unique constraint or
index already starts with. Neither PostgreSQL nor SQLite indexes the referencing side of
a foreign key, so deleting a stock or a backtest prediction scanned the child tables.

Tables a store does not have (a store opened with a subset of record types) are skipped.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen here, not derived: a migration must do the same thing whatever later declarations say.
INDEXES = (
    ("ix_indicators_stock_id", "indicators", ("stock_id",)),
    ("ix_watchlist_stocks_stock_id", "watchlist_stocks", ("stock_id",)),
    ("ix_trade_history_stock_id", "trade_history", ("stock_id",)),
    ("ix_trade_history_daily_selection_id", "trade_history", ("daily_selection_id",)),
    ("ix_actual_performance_prediction_id", "actual_performance", ("prediction_id",)),
    ("ix_performance_comparisons_prediction_id", "performance_comparisons", ("prediction_id",)),
    ("ix_daily_selections_stock_id", "daily_selections", ("stock_id",)),
)


def _existing() -> dict[str, set[str]]:
    inspector = sa.inspect(op.get_bind())
    return {t: {i["name"] for i in inspector.get_indexes(t) if i["name"]} for t in inspector.get_table_names()}


def upgrade() -> None:
    existing = _existing()
    for name, table, columns in INDEXES:
        if table in existing and name not in existing[table]:
            op.create_index(name, table, list(columns))


def downgrade() -> None:
    existing = _existing()
    for name, table, _ in INDEXES:
        if name in existing.get(table, set()):
            op.drop_index(name, table_name=table)
