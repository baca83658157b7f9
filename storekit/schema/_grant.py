"""Least privilege on PostgreSQL: the schema belongs to its owner, the application's
role gets exactly the data privileges it needs."""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Tuple

import attrs
import sqlalchemy as sa

from ..errors import ConfigurationError
from ._connect import sql_backend

__all__ = ["DML", "Grant", "grant"]

DML = "SELECT, INSERT, UPDATE, DELETE"
"""What the application's role may do on storekit's data tables."""

_SEQUENCES = sa.text(
    "SELECT DISTINCT s.relname FROM pg_class s"
    " JOIN pg_namespace n ON n.oid = s.relnamespace"
    " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " WHERE s.relkind = 'S' AND n.nspname = :schema AND t.relname = ANY(:tables)"
    " ORDER BY 1"
)
_STOREKIT_TABLES = sa.text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') ORDER BY 1"
)
_ROLE = sa.text(
    "SELECT r.rolsuper, r.oid = n.nspowner AS owns_schema FROM pg_roles r"
    " CROSS JOIN pg_namespace n WHERE r.rolname = :role AND n.nspname = :schema"
)
_HAS_TEMP = sa.text("SELECT has_database_privilege(:role, current_database(), 'TEMPORARY')")


@attrs.frozen
class Grant:
    """What :func:`grant` granted.

    .. versionadded:: 0.1
    """

    role: str
    schema: str
    tables: Tuple[str, ...]
    """Tables the role may now read and write (``SELECT, INSERT, UPDATE, DELETE``)."""
    read_only: Tuple[str, ...]
    """Tables the role may only read (``storekit_meta``: the schema version)."""
    sequences: Tuple[str, ...]
    """Sequences of those tables (``USAGE, SELECT``)."""
    statements: Tuple[str, ...]
    """The SQL run, in order, in one transaction."""


def grant(role: str, url: Optional[str] = None, *, options: Optional[Mapping[str, Any]] = None) -> Grant:
    """Give the PostgreSQL role ``role`` exactly what the application needs on the store
    at ``url`` (resolved as :func:`storekit.open_store` does), in one transaction:
    ``USAGE`` on storekit's schema (not ``CREATE``), ``SELECT, INSERT, UPDATE, DELETE`` on
    each of storekit's tables (``SELECT`` only on ``storekit_meta``), ``USAGE, SELECT`` on
    their sequences, and ``TEMPORARY`` on the database if the role lacks it (large upserts
    stage rows in a temporary table). Whatever else the role held on those tables is
    revoked first, so the result is exact. Run it as the schema's owner, after
    :func:`storekit.schema.upgrade` (tables a later version adds need a new grant).

    Raises :class:`~storekit.ConfigurationError` for a store that is not PostgreSQL, a
    role that does not exist, owns the schema or is a superuser, or a schema storekit has
    not created yet.

    .. versionadded:: 0.1
    """
    with sql_backend(url, options) as backend, backend._connection() as conn:
        if conn.dialect.name != "postgresql":
            raise ConfigurationError(
                f"{backend.name} has no roles to grant to: file permissions are its access control"
            )
        quote = conn.dialect.identifier_preparer.quote_identifier
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one_or_none()
        declared = {t.name for t in backend._meta.metadata.sorted_tables}
        present = [
            name
            for name in conn.execute(_STOREKIT_TABLES, {"schema": schema}).scalars()
            if name in declared or name.startswith("storekit_")
        ]
        if schema is None or backend._meta.name not in present:
            raise ConfigurationError(
                f"{backend._described} has no storekit schema yet: run `storekit schema upgrade` first"
            )
        found = conn.execute(_ROLE, {"role": role, "schema": schema}).one_or_none()
        if found is None:
            raise ConfigurationError(f"no role {role!r} on {backend._described}: create it first (CREATE ROLE)")
        if found.rolsuper or found.owns_schema:
            why = "is a superuser" if found.rolsuper else f"owns schema {schema!r}"
            raise ConfigurationError(
                f"role {role!r} {why}: grant to the application's own role, which should own nothing"
            )
        tables = [t for t in present if t != backend._meta.name]
        sequences = list(conn.execute(_SEQUENCES, {"schema": schema, "tables": present}).scalars())
        r, s = quote(role), quote(schema)
        qualified = [f"{s}.{quote(t)}" for t in present]
        statements: List[str] = [
            f"REVOKE ALL ON SCHEMA {s} FROM {r}",
            f"GRANT USAGE ON SCHEMA {s} TO {r}",
            f"REVOKE ALL ON TABLE {', '.join(qualified)} FROM {r}",
            f"GRANT SELECT ON TABLE {s}.{quote(backend._meta.name)} TO {r}",
        ]
        if tables:
            statements.append(f"GRANT {DML} ON TABLE {', '.join(f'{s}.{quote(t)}' for t in tables)} TO {r}")
        if sequences:
            names = ", ".join(f"{s}.{quote(q)}" for q in sequences)
            statements.append(f"REVOKE ALL ON SEQUENCE {names} FROM {r}")
            statements.append(f"GRANT USAGE, SELECT ON SEQUENCE {names} TO {r}")
        if not conn.execute(_HAS_TEMP, {"role": role}).scalar_one():
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            statements.append(f"GRANT TEMPORARY ON DATABASE {quote(database)} TO {r}")
        for statement in statements:
            conn.exec_driver_sql(statement)
        return Grant(role, schema, tuple(tables), (backend._meta.name,), tuple(sequences), tuple(statements))
