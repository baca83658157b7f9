"""Schema version 1: the first schema, as storekit 0.1 created it from the record
declarations (``metadata.create_all``). Nothing to do: stores are created at the current
version by :func:`storekit.open_store`, and version 1 is where upgrades start.

Revision ID: 0001
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
