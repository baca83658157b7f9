"""Schema versions: what a store records, and the Alembic revisions between them.

The version lives in one place, the ``schema_version`` row of ``storekit_meta``, which
:func:`storekit.open_store` checks without importing Alembic. Each version ``N`` is the
Alembic revision ``"000N"`` in ``storekit/schema/versions``; :func:`upgrade` runs the
revisions after the recorded version with Alembic's operations, in one transaction, and
records each version it reaches. Alembic's own ``alembic_version`` table is not used: a
second record of the version could disagree with the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

import attrs
import sqlalchemy as sa

from ..errors import SchemaVersionError, UsageError
from ..records import all_record_types
from ..sql import SCHEMA_VERSION, SQLBackend
from ._connect import sql_backend
from ._inspect import missing_indexes

__all__ = ["SchemaChange", "downgrade", "upgrade"]


@attrs.frozen
class SchemaChange:
    """What :func:`upgrade` or :func:`downgrade` did.

    .. versionadded:: 0.1
    """

    before: Optional[int]
    """The recorded version before (``None``: storekit had never written this store)."""
    after: int
    """The recorded version now."""
    revisions: Tuple[str, ...] = ()
    """The Alembic revisions run, in order (``"0002"``; ``"0002-"`` when downgraded)."""
    created_indexes: Tuple[str, ...] = ()
    """Declared indexes that were missing and were created (not counting migrations)."""

    @property
    def changed(self) -> bool:
        """Whether anything was done (a migration run, an index or the version created)."""
        return self.before != self.after or bool(self.revisions or self.created_indexes)


def revision_of(version: int) -> str:
    """The Alembic revision id of schema ``version``."""
    return f"{version:04d}"


def newer_than_library(where: str, version: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"{where} has storekit schema version {version}, newer than this library's "
        f"{SCHEMA_VERSION}: upgrade storekit (pip install -U storekit) to a release that "
        f"knows version {version}; do not write to it with this one"
    )


def upgrade(url: Optional[str] = None, *, options: Optional[Mapping[str, Any]] = None) -> SchemaChange:
    """Bring the store at ``url`` (resolved as :func:`storekit.open_store` does) to this
    library's schema version, :data:`storekit.sql.SCHEMA_VERSION`: run the migrations
    after its recorded version, create missing tables and declared indexes, in one
    transaction. Run it as the schema's owner. A store storekit never wrote is created;
    a current one is left alone (idempotent).

    Raises :class:`~storekit.SchemaVersionError` if the store's version is newer than the
    library's.

    .. versionadded:: 0.1
    """
    with sql_backend(url, options) as backend, backend.transaction(), backend._connection() as conn:
        backend.facts.prepare(conn)
        before = _locked_version(backend, conn)
        revisions: List[str] = []
        if before is not None:
            if before > SCHEMA_VERSION:
                raise newer_than_library(backend._described, before)
            revisions = _run(conn, backend, before, SCHEMA_VERSION)
        backend.ensure_schema(all_record_types())  # new tables; records the version if absent
        _ensure_fallback_tables(conn)
        created = _create_missing_indexes(conn, backend)
        _maintain_partitions(conn, backend)
        return SchemaChange(before, SCHEMA_VERSION, tuple(revisions), tuple(created))


def downgrade(version: int, url: Optional[str] = None, *, options: Optional[Mapping[str, Any]] = None) -> SchemaChange:
    """Take the store at ``url`` back to schema ``version`` (to run an older storekit
    release on it), by the downgrades of the revisions after ``version``, in one
    transaction. Data in what a later version added is lost.

    .. versionadded:: 0.1
    """
    if not 1 <= version <= SCHEMA_VERSION:
        raise UsageError(f"no schema version {version}: this library knows 1 to {SCHEMA_VERSION}")
    with sql_backend(url, options) as backend, backend.transaction(), backend._connection() as conn:
        before = _locked_version(backend, conn)
        if before is None:
            raise SchemaVersionError(f"{backend._described} has no storekit schema to downgrade")
        if before > SCHEMA_VERSION:
            raise newer_than_library(backend._described, before)
        revisions = _run(conn, backend, before, version)
        return SchemaChange(before, min(before, version), tuple(revisions))


def _locked_version(backend: SQLBackend, conn: sa.engine.Connection) -> Optional[int]:
    """The recorded version, its row locked until the end of the transaction (PostgreSQL;
    SQLite's write transaction already excludes other writers)."""
    if not sa.inspect(conn).has_table(backend._meta.name):
        return None
    meta = backend._meta
    stmt = sa.select(meta.c.value).where(meta.c.key == "schema_version").with_for_update()
    value = conn.execute(stmt).scalar_one_or_none()
    return None if value is None else int(value)


def _run(conn: sa.engine.Connection, backend: SQLBackend, current: int, target: int) -> List[str]:
    """Run the revisions from ``current`` to ``target`` (either direction), recording
    each version reached."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    if current == target:
        return []
    script = ScriptDirectory(str(Path(__file__).parent))
    upper, lower = (target, current) if target > current else (current, target)
    steps = list(script.iterate_revisions(revision_of(upper), revision_of(lower)))  # upper first
    steps = [s for s in steps if s.revision != revision_of(lower)]
    done: List[str] = []
    with Operations.context(MigrationContext.configure(connection=conn)):
        for step in reversed(steps) if target > current else steps:
            if target > current:
                step.module.upgrade()
                reached = int(step.revision)
                done.append(step.revision)
            else:
                step.module.downgrade()
                reached = int(step.revision) - 1
                done.append(f"{step.revision}-")
            meta = backend._meta
            conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value=str(reached)))
    return done


def _create_missing_indexes(conn: sa.engine.Connection, backend: SQLBackend) -> List[str]:
    created = []
    for table, index in missing_indexes(conn, backend):
        index.create(conn)
        created.append(index.name or f"index on {table}")
    return created


def _maintain_partitions(conn: sa.engine.Connection, backend: SQLBackend) -> None:
    """Partitioned tables (PostgreSQL): the partitions of this month and the next twelve,
    and of any month whose rows a role that may not create partitions wrote into the
    default partition (``docs/how-to/operations.rst``, "Partitioned tables")."""
    for record_type, column in backend._partitioned.items():
        backend.facts.maintain_partitions(conn, backend._tables[record_type], column)


def _ensure_fallback_tables(conn: sa.engine.Connection) -> None:
    """The table the fallback keeps on its primary (``storekit_outbox_applied``): created
    here by the owner, so that an application role with only DML can use a fallback."""
    from ..fallback._outbox import ensure_primary_tables

    ensure_primary_tables(conn)
