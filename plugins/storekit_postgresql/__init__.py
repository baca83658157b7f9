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
import io
import math
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from storekit import BackendInfo, Capability, hookimpl
from storekit.errors import AggregateOverflowError, BackendError, BackendUnavailableError, ConfigurationError
from storekit.records import Kind
from storekit.sql import SQLBackend, SQLFacts, dump_json, load_json, to_utc

__all__ = ["PostgreSQLFacts", "open_postgresql"]

CONNECT_TIMEOUT_SECONDS = 10
DEFAULT_SCHEMA = "storekit"
"""storekit's tables live in this schema unless ``?schema=`` says otherwise, so they can
never collide with the application's own SQLAlchemy tables (``stocks``, ``daily_selections``,
...) in ``public`` when ``DATABASE_URL`` points at the application's database."""
PAGE_SIZE = 1000
COPY_MIN_ROWS = 100
"""Appends of at least this many rows are copied straight into the table with COPY, and
upserts through COPY and a staging table; fewer are sent as one ``VALUES`` page (one
round trip instead of three). The ``copy_min_rows``
option changes it (tests set 1 to put every value through COPY)."""
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


_COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BOOL = {True: "t", False: "f", None: _COPY_NULL}


def _copy_text(values: Sequence[Any]) -> List[str]:
    """str values (or None) as COPY text fields; escaped only if the column needs it."""
    has_null = None in values
    present = [v for v in values if v is not None] if has_null else values
    joined = "".join(present)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        return [_COPY_NULL if v is None else v.translate(_COPY_ESCAPES) for v in values]
    return [_COPY_NULL if v is None else v for v in values] if has_null else list(values)


def _copy_data(table: sa.Table, rows: List[Tuple[Any, ...]]) -> io.StringIO:
    """``rows`` in COPY's text format."""
    fields = [_copy_field(c.type, values) for c, values in zip(table.c, zip(*rows))]
    return io.StringIO("\n".join(map("\t".join, zip(*fields))) + "\n")


def _copy_field(column_type: Any, values: Sequence[Any]) -> List[str]:
    """One column of driver-ready values (what the writer made) as COPY text fields."""
    if isinstance(column_type, Float8):  # repr: the shortest round-trip text; 'inf' is accepted
        if None in values or _NEGATIVE_ZERO in values:
            return [_COPY_NULL if v is None else "-0" if v is _NEGATIVE_ZERO else repr(v) for v in values]
        return list(map(float.__repr__, values))
    if isinstance(column_type, sa.Boolean):
        return list(map(_COPY_BOOL.__getitem__, values))
    if isinstance(column_type, (sa.Date, UTCTimestamp)):  # ISO 8601 (with the UTC offset)
        if None in values:
            return [_COPY_NULL if v is None else v.isoformat() for v in values]
        return [v.isoformat() for v in values]
    if isinstance(column_type, sa.Integer):
        return [_COPY_NULL if v is None else str(v) for v in values]
    if isinstance(column_type, sa.Text):
        return _copy_text(values)
    return _copy_text([None if v is None else str(v) for v in values])  # JSONB text, UUID


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
    # psycopg2 adapts True/False itself; Boolean's bind processor only re-checks them.
    bulk_converters = {Kind.BOOL: None}
    options = frozenset(
        {"schema", "pool_size", "max_overflow", "pool_timeout", "pool_recycle", "connect_timeout", "copy_min_rows"}
    )

    def __init__(self, schema: Optional[str] = None, copy_min_rows: int = COPY_MIN_ROWS) -> None:
        self.copy_min_rows = copy_min_rows
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(f"schema name {schema!r} must be lower-case letters, digits and _ (at most 63)")
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
        # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema
        # exists, which an application role granted only DML lacks (storekit schema grant)
        if self.schema and not connection.dialect.has_schema(connection, self.schema):
            connection.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
        elif self.schema and not connection.scalar(
            sa.text("SELECT has_schema_privilege(:s, 'USAGE')"), {"s": self.schema}
        ):
            raise ConfigurationError(
                f"role {connection.scalar(sa.text('SELECT current_user'))!r} may not use schema {self.schema!r}: "
                "its owner grants access with `storekit schema grant ROLE`"
            )

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
        quote = connection.dialect.identifier_preparer.quote
        conflict = self.on_conflict(connection, table, key)
        if len(rows) < self.copy_min_rows:
            from psycopg2.extras import execute_values

            with contextlib.closing(connection.connection.cursor()) as cursor:
                sql = f"{self._values_sql(connection, table)} {conflict}"
                execute_values(cursor, sql, rows, page_size=PAGE_SIZE)
            return
        # COPY the rows into a staging table, then upsert from it in one statement: no
        # parsing of huge VALUES lists (server) and no per-row mogrify (client). The
        # staging table is dropped at commit, so nothing outlives the transaction.
        target = quote(table.name)
        stage = quote(f"storekit_stage_{table.name}"[:63])
        cols = ", ".join(quote(c.name) for c in table.c)
        with contextlib.closing(connection.connection.cursor()) as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target}) ON COMMIT DROP")
            cursor.copy_expert(f"COPY {stage} ({cols}) FROM STDIN", _copy_data(table, rows), size=1 << 20)
            cursor.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage} {conflict}; TRUNCATE {stage}")

    def insert_rows(self, connection: sa.engine.Connection, table: sa.Table, rows: List[Tuple[Any, ...]]) -> None:
        with contextlib.closing(connection.connection.cursor()) as cursor:
            if len(rows) < self.copy_min_rows:
                from psycopg2.extras import execute_values

                execute_values(cursor, self._values_sql(connection, table), rows, page_size=PAGE_SIZE)
                return
            # rows that must be new: COPY straight into the table (a duplicate key fails the
            # COPY, and the caller's transaction rolls the whole call back)
            quote = connection.dialect.identifier_preparer.quote
            cols = ", ".join(quote(c.name) for c in table.c)
            cursor.copy_expert(f"COPY {quote(table.name)} ({cols}) FROM STDIN", _copy_data(table, rows), size=1 << 20)

    def error_class(self, exc: sa.exc.DBAPIError) -> Type[BackendError]:
        orig = exc.orig
        if isinstance(exc, sa.exc.OperationalError) and getattr(orig, "pgcode", None) is None:
            return BackendUnavailableError
        if getattr(orig, "pgcode", None) == "22003":  # numeric_value_out_of_range: an increment
            return AggregateOverflowError
        return super().error_class(exc)


def open_postgresql(url: str, options: Mapping[str, Any]) -> SQLBackend:
    """Open a PostgreSQL backend for a ``postgresql://`` URL (``?schema=`` optional)."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise ConfigurationError("the PostgreSQL backend needs psycopg2: pip install 'storekit[postgresql]'") from None
    schema = options.get("schema") or sa.engine.make_url(url).query.get("schema") or DEFAULT_SCHEMA
    if isinstance(schema, tuple):
        schema = schema[-1]
    copy_min_rows = int(options.get("copy_min_rows", COPY_MIN_ROWS))
    return SQLBackend(url, PostgreSQLFacts(schema=schema, copy_min_rows=copy_min_rows), options)


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
