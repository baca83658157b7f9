"""storekit's PostgreSQL backend (SQLAlchemy 2 + psycopg2): the primary store.

Facts: JSONB, DATE, TIMESTAMPTZ, DOUBLE PRECISION (never ``real``), BOOLEAN, text
compared in code-point order (``COLLATE "C"``), sessions in UTC, a pool with
pre-ping and a connect timeout, and upserts sent as multi-row ``VALUES`` pages.

storekit's tables live in the ``storekit`` schema, or the one a ``schema`` query
parameter names (``postgresql://.../db?schema=name``), created if missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from storekit import BackendInfo, Capability, hookimpl
from storekit.errors import BackendError, BackendUnavailableError, ConfigurationError
from storekit.records import Kind
from storekit.sql import SQLBackend, SQLFacts, dump_json, load_json, to_utc

__all__ = ["PostgreSQLFacts", "open_postgresql"]

CONNECT_TIMEOUT_SECONDS = 10
DEFAULT_SCHEMA = "storekit"
"""storekit's tables live in this schema unless ``?schema=`` says otherwise, so they can
never collide with the application's own SQLAlchemy tables (``stocks``, ``daily_selections``,
...) in ``public`` when ``DATABASE_URL`` points at the application's database."""
PAGE_SIZE = 1000
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class UTCTimestamp(sa.types.TypeDecorator[dt.datetime]):
    """TIMESTAMPTZ, read back as an aware UTC datetime."""

    impl = pg.TIMESTAMP(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Optional[dt.datetime]:
        return None if value is None else to_utc(value)


class _NegativeZero:
    """psycopg2 writes floats unquoted, and ``-0.0`` in SQL is minus zero-the-numeric,
    which is ``0``; sent quoted and cast, the sign survives."""

    def __conform__(self, protocol: Any) -> _NegativeZero:
        return self

    def getquoted(self) -> bytes:
        return b"'-0'::float8"


_NEGATIVE_ZERO = _NegativeZero()


class Float8(sa.types.UserDefinedType[float]):
    """DOUBLE PRECISION, with ``-0.0`` kept."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "DOUBLE PRECISION"

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: Any) -> Any:
            if value == 0.0 and math.copysign(1.0, value) < 0:
                return _NEGATIVE_ZERO
            return value

        return process


_TYPES: Dict[Kind, sa.types.TypeEngine[Any]] = {
    Kind.TEXT: sa.Text(collation="C"),
    Kind.INT: sa.BigInteger(),
    Kind.FLOAT: Float8(),
    Kind.BOOL: sa.Boolean(create_constraint=False),
    Kind.DATE: sa.Date(),
    Kind.TIMESTAMP: UTCTimestamp(),
    Kind.JSON: pg.JSONB(none_as_null=True),
    Kind.UUID: pg.UUID(as_uuid=True),
}


class PostgreSQLFacts(SQLFacts):
    name = "postgresql"
    capabilities = frozenset(
        {
            Capability.TRANSACTIONS,
            Capability.STREAMING,
            Capability.CONCURRENT_PROCESSES,
            Capability.FOREIGN_KEYS,
            Capability.PERSISTENT,
        }
    )
    paramstyle_mark = "%s"
    options = frozenset(
        {"schema", "pool_size", "max_overflow", "pool_timeout", "pool_recycle", "connect_timeout"}
    )

    def __init__(self, schema: Optional[str] = None) -> None:
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(
                f"schema name {schema!r} must be lower-case letters, digits and _ (at most 63)"
            )
        self.schema = schema

    def column_type(self, kind: Kind) -> sa.types.TypeEngine[Any]:
        return _TYPES[kind]

    def create_engine(self, url: sa.engine.URL, options: Mapping[str, Any]) -> sa.engine.Engine:
        url = url.difference_update_query(["schema"])
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg2")
        session = "-c timezone=UTC"
        if self.schema:
            session += f" -c search_path={self.schema}"
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=int(options.get("pool_size", 5)),
            max_overflow=int(options.get("max_overflow", 10)),
            pool_timeout=float(options.get("pool_timeout", 30)),
            pool_recycle=int(options.get("pool_recycle", 1800)),
            hide_parameters=True,
            json_serializer=dump_json,
            json_deserializer=load_json,
            connect_args={
                "connect_timeout": int(options.get("connect_timeout", CONNECT_TIMEOUT_SECONDS)),
                "options": session,
                "application_name": "storekit",
            },
        )

    def prepare(self, connection: sa.engine.Connection) -> None:
        if self.schema:
            connection.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))

    def _values_sql(self, connection: sa.engine.Connection, table: sa.Table) -> str:
        quote = connection.dialect.identifier_preparer.quote
        cols = ", ".join(quote(c.name) for c in table.c)
        return f"INSERT INTO {quote(table.name)} ({cols}) VALUES %s"

    def upsert_rows(
        self,
        connection: sa.engine.Connection,
        table: sa.Table,
        key: Sequence[str],
        rows: List[Tuple[Any, ...]],
    ) -> None:
        from psycopg2.extras import execute_values

        quote = connection.dialect.identifier_preparer.quote
        updates = [c.name for c in table.c if c.name not in key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in updates)
            if updates
            else "DO NOTHING"
        )
        sql = f"{self._values_sql(connection, table)} ON CONFLICT ({', '.join(map(quote, key))}) {action}"
        with contextlib.closing(connection.connection.cursor()) as cursor:
            execute_values(cursor, sql, rows, page_size=PAGE_SIZE)

    def insert_rows(
        self, connection: sa.engine.Connection, table: sa.Table, rows: List[Tuple[Any, ...]]
    ) -> None:
        from psycopg2.extras import execute_values

        with contextlib.closing(connection.connection.cursor()) as cursor:
            execute_values(cursor, self._values_sql(connection, table), rows, page_size=PAGE_SIZE)

    def error_class(self, exc: sa.exc.DBAPIError) -> Type[BackendError]:
        orig = exc.orig
        if isinstance(exc, sa.exc.OperationalError) and getattr(orig, "pgcode", None) is None:
            return BackendUnavailableError
        return super().error_class(exc)


def open_postgresql(url: str, options: Mapping[str, Any]) -> SQLBackend:
    """Open a PostgreSQL backend for a ``postgresql://`` URL (``?schema=`` optional)."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "the PostgreSQL backend needs psycopg2: pip install 'storekit[postgresql]'"
        ) from None
    schema = options.get("schema") or sa.engine.make_url(url).query.get("schema") or DEFAULT_SCHEMA
    if isinstance(schema, tuple):
        schema = schema[-1]
    return SQLBackend(url, PostgreSQLFacts(schema=schema), options)


@hookimpl
def storekit_register_backends(register: Any) -> None:
    register(
        BackendInfo(
            name="postgresql",
            schemes=("postgresql", "postgres"),
            factory=open_postgresql,
            priority=100,
            capabilities=PostgreSQLFacts.capabilities,
            description="PostgreSQL through SQLAlchemy 2 and psycopg2 (the primary store)",
        )
    )
