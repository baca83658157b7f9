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
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple, Type

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from storekit import BackendInfo, Capability, hookimpl
from storekit.errors import AggregateOverflowError, BackendError, BackendUnavailableError, ConfigurationError
from storekit.records import Kind, RecordSpec
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
_DRIVER = "postgresql+psycopg2"
"""The one driver this backend speaks: ``postgresql://`` and ``postgres://`` URLs use it."""
_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "copy_min_rows")
"""Options that are storekit's, never libpq's: refused in a URL's query, which libpq would get."""


def _psycopg2_url(url: sa.engine.URL) -> sa.engine.URL:
    """``url`` with psycopg2 as its driver: ``postgres://`` means ``postgresql://``, and
    ``postgresql+psycopg2://`` stays; a URL naming another driver (``postgresql+psycopg://``,
    ``+pg8000``, ``+asyncpg``) is a :exc:`~storekit.ConfigurationError`."""
    backend, _, driver = url.drivername.partition("+")
    if backend not in ("postgresql", "postgres") or driver not in ("", "psycopg2"):
        raise ConfigurationError(
            f"the postgresql backend uses psycopg2, not the driver of {url.drivername}:// URLs: "
            "write postgresql://, postgres:// or postgresql+psycopg2://"
        )
    return url.set(drivername=_DRIVER)


class _Settings(NamedTuple):
    """The checked numeric options (see ``docs/configuration.rst``)."""

    pool_size: int
    max_overflow: int
    pool_timeout: float
    pool_recycle: int
    connect_timeout: int
    copy_min_rows: int


def _integer(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(value)


def _seconds(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _option(
    options: Mapping[str, Any],
    name: str,
    default: Any,
    convert: Callable[[Any], Any],
    ok: Callable[[Any], bool],
    what: str,
) -> Any:
    value = options.get(name, default)
    try:
        number = None if isinstance(value, bool) else convert(value)
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or not ok(number):
        raise ConfigurationError(f"postgresql option {name}={value!r} is invalid: it must be {what}")
    return number


def _settings(url: sa.engine.URL, options: Mapping[str, Any]) -> _Settings:
    """The numeric ``options``, each converted and checked (a string such as ``"5"`` is
    accepted); ``connect_timeout`` may also come from the URL (``?connect_timeout=3``),
    and the option wins. A bad value, or a storekit option in the URL's query, is a
    :exc:`~storekit.ConfigurationError` naming the option and the value."""
    in_query = sorted(set(_POOL_OPTIONS) & set(url.query))
    if in_query:
        raise ConfigurationError(
            f"{', '.join(in_query)} in the URL's query: these are options of the postgresql backend, "
            f"not connection parameters; pass open_store(url, options={{{in_query[0]!r}: ...}})"
        )
    timeout: Any = url.query.get("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    if isinstance(timeout, tuple):
        timeout = timeout[-1]
    merged = {"connect_timeout": timeout, **options}
    return _Settings(
        pool_size=_option(merged, "pool_size", 5, _integer, lambda n: n >= 1, "an integer of at least 1"),
        max_overflow=_option(
            merged, "max_overflow", 10, _integer, lambda n: n >= -1, "an integer of at least 0 (or -1: no limit)"
        ),
        pool_timeout=_option(merged, "pool_timeout", 30, _seconds, lambda n: n > 0, "a number of seconds above 0"),
        pool_recycle=_option(
            merged,
            "pool_recycle",
            1800,
            _integer,
            lambda n: n >= 1 or n == -1,
            "a whole number of seconds of at least 1 (or -1: never)",
        ),
        connect_timeout=_option(
            merged,
            "connect_timeout",
            CONNECT_TIMEOUT_SECONDS,
            _integer,
            lambda n: n >= 1,
            "a whole number of seconds of at least 1",
        ),
        copy_min_rows=_option(
            merged, "copy_min_rows", COPY_MIN_ROWS, _integer, lambda n: n >= 1, "an integer of at least 1"
        ),
    )


_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PARTITION_LOCK = 0x73746F72656B6974  # "storekit": serialises partition creation across sessions


def _month(value: Any) -> Tuple[int, int]:
    """The (year, month) of a partition value: a date, or a timestamp taken in UTC."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.timezone.utc)
    return value.year, value.month


def _next(month: Tuple[int, int]) -> Tuple[int, int]:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def _months(values: Sequence[Any]) -> Set[Tuple[int, int]]:
    """The months of ``values``: from the two ends when they are at most a month apart
    (a batch of recent calls), else value by value."""
    if not values:
        return set()
    low, high = _month(min(values)), _month(max(values))
    if high in (low, _next(low)):
        return {low, high}
    return set(map(_month, values))


def partition_name(table: str, month: Tuple[int, int]) -> str:
    """The name of ``table``'s partition of ``month``: ``api_calls_p202601``."""
    return f"{table}_p{month[0]:04d}{month[1]:02d}"


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


# The per-minute rollup of api_calls (schema version 4; storekit.sql._rollup): statement
# triggers over the transition tables, so a statement of any size (a COPY of a million
# calls) costs one grouped INSERT ... ON CONFLICT. A group is (endpoint, UTC minute,
# success as 1/0/-1, error_message NULL flag, error_message or ''), so that NULLs are
# equal keys; the response-time sum is NUMERIC (float8 + raises on overflow, and a write
# must not fail because of the rollup) and sizes are summed as 32-bit halves. A delete,
# or an update changing a summarised column, subtracts the old rows' counts and marks
# their groups stale (recomputed from the calls when read); a group left with no call is
# deleted. Partitions dropped whole (drop_partitions) take their months' groups with them.
_ROLLUP_OFF = "storekit.rollup_off"
"""A transaction-local setting: 'on' while rows are moved between partitions (not new calls)."""
_GROUP_KEY = (
    "SELECT endpoint, date_trunc('minute', \"timestamp\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS minute, "
    "coalesce(success::int, -1) AS outcome, (error_message IS NULL)::int AS error_null, "
    "coalesce(error_message, '') AS error_message, count(*) AS calls"
)
_GROUPED = (
    _GROUP_KEY + ", sum(response_time::numeric) AS s, "
    "min(response_time) AS mn, max(response_time) AS mx, coalesce(sum(request_size >> 32), 0) AS qh, "
    "coalesce(sum(request_size & 4294967295), 0) AS ql, coalesce(sum(response_size >> 32), 0) AS ph, "
    "coalesce(sum(response_size & 4294967295), 0) AS pl FROM {rows} GROUP BY 1, 2, 3, 4, 5"
)
_COUNTED = _GROUP_KEY + " FROM {rows} GROUP BY 1, 2, 3, 4, 5"
"""A subtraction needs the counts only: the groups' other values are recomputed (stale)."""
_ADD = (
    "INSERT INTO storekit_api_calls_rollup AS r (endpoint, minute, outcome, error_null, error_message, "
    "minute_last, calls, sum_response_time, min_response_time, max_response_time, request_size_hi, request_size_lo, "
    "response_size_hi, response_size_lo, stale) "
    "SELECT endpoint, minute, outcome, error_null, error_message, minute + interval '59.999999 seconds', calls, "
    "s, mn, mx, qh, ql, ph, pl, 0 FROM (" + _GROUPED + ") AS g "
    "ON CONFLICT (endpoint, minute, outcome, error_null, error_message) DO UPDATE SET "
    "calls = r.calls + excluded.calls, sum_response_time = r.sum_response_time + excluded.sum_response_time, "
    "min_response_time = least(r.min_response_time, excluded.min_response_time), "
    "max_response_time = greatest(r.max_response_time, excluded.max_response_time), "
    "request_size_hi = r.request_size_hi + excluded.request_size_hi, "
    "request_size_lo = r.request_size_lo + excluded.request_size_lo, "
    "response_size_hi = r.response_size_hi + excluded.response_size_hi, "
    "response_size_lo = r.response_size_lo + excluded.response_size_lo"
)
_SAME_GROUP = (
    "r.endpoint = g.endpoint AND r.minute = g.minute AND r.outcome = g.outcome "
    "AND r.error_null = g.error_null AND r.error_message = g.error_message"
)
_SUBTRACT = (
    # emptied groups first (the row lock then re-checks calls against a concurrent insert)
    "DELETE FROM storekit_api_calls_rollup AS r USING (" + _COUNTED + ") AS g "
    "WHERE " + _SAME_GROUP + " AND r.calls <= g.calls; "
    "UPDATE storekit_api_calls_rollup AS r SET calls = r.calls - g.calls, stale = 1 FROM (" + _COUNTED + ") AS g "
    "WHERE " + _SAME_GROUP
)
_SUMMARISED = 'endpoint, "timestamp", success, error_message, response_time, request_size, response_size'
_CHANGED_OLD = f"(SELECT {_SUMMARISED} FROM removed EXCEPT ALL SELECT {_SUMMARISED} FROM added) AS o"
_CHANGED_NEW = f"(SELECT {_SUMMARISED} FROM added EXCEPT ALL SELECT {_SUMMARISED} FROM removed) AS n"


def _function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $storekit$ "
        f"BEGIN IF current_setting('{_ROLLUP_OFF}', true) = 'on' THEN RETURN NULL; END IF; {body}; RETURN NULL; "
        "END $storekit$"
    )


API_CALL_ROLLUP_DDL = (
    'CREATE TABLE storekit_api_calls_rollup (endpoint TEXT COLLATE "C" NOT NULL, minute TIMESTAMPTZ NOT NULL, '
    'outcome INTEGER NOT NULL, error_null INTEGER NOT NULL, error_message TEXT COLLATE "C" NOT NULL, '
    "minute_last TIMESTAMPTZ NOT NULL, calls BIGINT NOT NULL, sum_response_time NUMERIC, "
    "min_response_time DOUBLE PRECISION, max_response_time DOUBLE PRECISION, request_size_hi BIGINT NOT NULL, "
    "request_size_lo BIGINT NOT NULL, response_size_hi BIGINT NOT NULL, response_size_lo BIGINT NOT NULL, "
    "stale INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (endpoint, minute, outcome, error_null, error_message))",
    "CREATE INDEX ix_storekit_api_calls_rollup_minute ON storekit_api_calls_rollup (minute)",
    _function("storekit_api_calls_rollup_add", _ADD.format(rows="added")),
    _function("storekit_api_calls_rollup_subtract", _SUBTRACT.format(rows="removed")),
    _function(
        "storekit_api_calls_rollup_change",
        _SUBTRACT.format(rows=_CHANGED_OLD) + "; " + _ADD.format(rows=_CHANGED_NEW),
    ),
    _function("storekit_api_calls_rollup_clear", "DELETE FROM storekit_api_calls_rollup"),
    "CREATE TRIGGER storekit_api_calls_rollup_insert AFTER INSERT ON api_calls REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION storekit_api_calls_rollup_add()",
    "CREATE TRIGGER storekit_api_calls_rollup_delete AFTER DELETE ON api_calls REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION storekit_api_calls_rollup_subtract()",
    "CREATE TRIGGER storekit_api_calls_rollup_update AFTER UPDATE ON api_calls REFERENCING OLD TABLE AS removed "
    "NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION storekit_api_calls_rollup_change()",
    "CREATE TRIGGER storekit_api_calls_rollup_truncate AFTER TRUNCATE ON api_calls "
    "FOR EACH STATEMENT EXECUTE FUNCTION storekit_api_calls_rollup_clear()",
    # the calls stored before the rollup existed (schema upgrade from version 3)
    _ADD.format(rows="api_calls"),
)
"""The statements of :meth:`PostgreSQLFacts.api_call_rollup_ddl`."""


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

    partitions = True

    def __init__(self, schema: Optional[str] = None, copy_min_rows: int = COPY_MIN_ROWS) -> None:
        self.copy_min_rows = copy_min_rows
        self._known: Set[str] = set()
        """Partitions seen committed in the catalog (a cache: a miss re-reads the catalog)."""
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(f"schema name {schema!r} must be lower-case letters, digits and _ (at most 63)")
        self.schema = schema

    def column_type(self, kind: Kind) -> sa.types.TypeEngine[Any]:
        return _TYPES[kind]

    def create_engine(self, url: sa.engine.URL, options: Mapping[str, Any]) -> sa.engine.Engine:
        checked = _settings(url, options)
        # connect_args would override a ?connect_timeout= silently: the one value goes there
        url = _psycopg2_url(url).difference_update_query(["schema", "connect_timeout"])
        session = "-c timezone=UTC"
        if self.schema:
            session += f" -c search_path={self.schema}"
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=checked.pool_size,
            max_overflow=checked.max_overflow,
            pool_timeout=checked.pool_timeout,
            pool_recycle=checked.pool_recycle,
            hide_parameters=True,
            json_serializer=dump_json,
            json_deserializer=load_json,
            connect_args={
                "connect_timeout": checked.connect_timeout,
                "options": session,
                "application_name": "storekit",
            },
        )

    def prepare(self, connection: sa.engine.Connection) -> None:
        # Processes opening the same fresh schema at once: IF NOT EXISTS is not safe
        # against a concurrent CREATE (the loser hits a unique violation in the catalog),
        # so schema creation is serialized per schema until the transaction ends.
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"storekit schema {self.schema or ''}"}
        )
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

    # -- covering indexes and partitions ---------------------------------------------------

    def index(self, name: str, table: sa.Table, fields: Sequence[str], include: Sequence[str]) -> sa.Index:
        if not include:
            return sa.Index(name, *[table.c[c] for c in fields])
        # A covering index is read in storekit's order (NULL first ascending, last
        # descending), which PostgreSQL's default NULLS LAST serves in neither direction:
        # it would sort, even on NOT NULL columns.
        return sa.Index(name, *[table.c[c].asc().nulls_first() for c in fields], postgresql_include=list(include))

    def table_options(self, spec: RecordSpec) -> Mapping[str, Any]:
        if not (self.partitions and spec.partition_by):
            return {}
        # field names are identifiers (checked at declaration), quoted as any column
        return {"postgresql_partition_by": f'RANGE ("{spec.partition_by}")'}

    def _partitions_of(self, connection: sa.engine.Connection, table: sa.Table) -> List[str]:
        rows = connection.execute(
            sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:t)"
            ),
            {"t": connection.dialect.identifier_preparer.quote(table.name)},
        )
        return [r[0] for r in rows]

    def ensure_partitions(self, connection: sa.engine.Connection, table: sa.Table, column: str, values: Any) -> None:
        """Monthly partitions (in UTC for timestamps), created when a write needs one, with
        the next month's, and the ``DEFAULT`` partition; created partitions are remembered
        once seen in the catalog. Only the table's owner may create partitions: for any
        other role (``storekit schema grant``) rows of a month without a partition go to
        the default partition, which :meth:`maintain_partitions` empties."""
        wanted = {partition_name(table.name, m): m for m in _months(values)}
        default = f"{table.name}_default"
        if default in self._known and all(name in self._known for name in wanted):
            return
        self._known.update(self._partitions_of(connection, table))
        missing = sorted({m for name, m in wanted.items() if name not in self._known})
        if default in self._known and not missing:
            return
        if not self._may_create(connection, table):
            self._known.update(wanted)  # not ours to create: the rows go to the default partition
            return
        # concurrent CREATE ... IF NOT EXISTS of one name can fail; one session at a time
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PARTITION_LOCK})
        quote = connection.dialect.identifier_preparer.quote
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {quote(default)} PARTITION OF {quote(table.name)} DEFAULT"
        )
        for month in sorted({*missing, *map(_next, missing)}):
            self._create_month(connection, table, column, month, default)
        # not remembered yet: the transaction may still roll back (the next write re-reads)

    def _create_month(
        self, connection: sa.engine.Connection, table: sa.Table, column: str, month: Tuple[int, int], default: str
    ) -> None:
        """Create ``month``'s partition, moving the rows the default partition holds for it."""
        quote = connection.dialect.identifier_preparer.quote
        name = partition_name(table.name, month)
        if connection.scalar(sa.text("SELECT to_regclass(:n) IS NOT NULL"), {"n": quote(name)}):
            return
        timestamp = isinstance(table.c[column].type, UTCTimestamp)
        # the bounds are formatted from ints only: no value reaches the SQL text
        low, high = (f"'{y:04d}-{m:02d}-01{' 00:00:00+00' if timestamp else ''}'" for y, m in (month, _next(month)))
        held = f"{quote(column)} >= {low} AND {quote(column)} < {high}"
        moving = connection.exec_driver_sql(f"SELECT 1 FROM {quote(default)} WHERE {held} LIMIT 1").first()
        stage = quote(f"storekit_move_{table.name}"[:63])
        if moving:  # PostgreSQL refuses a partition for rows the default holds: set them aside
            connection.exec_driver_sql(f"CREATE TEMP TABLE {stage} (LIKE {quote(table.name)}) ON COMMIT DROP")
            connection.exec_driver_sql(
                f"WITH moved AS (DELETE FROM {quote(default)} WHERE {held} RETURNING *) "
                f"INSERT INTO {stage} SELECT * FROM moved"
            )
        connection.exec_driver_sql(
            f"CREATE TABLE {quote(name)} PARTITION OF {quote(table.name)} FOR VALUES FROM ({low}) TO ({high})"
        )
        if moving:  # the same calls again, not new ones: the rollup's trigger skips them
            connection.exec_driver_sql(
                f"SET LOCAL {_ROLLUP_OFF} = 'on'; INSERT INTO {quote(table.name)} SELECT * FROM {stage}; "
                f"SET LOCAL {_ROLLUP_OFF} = 'off'; DROP TABLE {stage}"
            )

    def _may_create(self, connection: sa.engine.Connection, table: sa.Table) -> bool:
        """Whether this role may create and drop ``table``'s partitions (it owns the table)."""
        return bool(
            connection.scalar(
                sa.text("SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass(:t)"),
                {"t": connection.dialect.identifier_preparer.quote(table.name)},
            )
        )

    def maintain_partitions(
        self, connection: sa.engine.Connection, table: sa.Table, column: str, ahead: int = 12
    ) -> List[str]:
        """Create the partitions of this month and the ``ahead`` next ones, and of every
        month the default partition holds rows of (moving them); return the partitions
        created. Run by ``storekit schema upgrade`` as the schema's owner."""
        before = set(self._partitions_of(connection, table))
        today = dt.datetime.now(dt.timezone.utc)
        months: List[Any] = []
        month = (today.year, today.month)
        for _ in range(ahead + 1):
            months.append(dt.date(*month, 1))
            month = _next(month)
        default = f"{table.name}_default"
        quote = connection.dialect.identifier_preparer.quote
        if default in before:
            trunc = f"date_trunc('month', {quote(column)} AT TIME ZONE 'UTC')"
            if not isinstance(table.c[column].type, UTCTimestamp):
                trunc = f"date_trunc('month', {quote(column)})"
            held = connection.exec_driver_sql(f"SELECT DISTINCT {trunc} FROM {quote(default)}")
            months += [r[0].date() for r in held]
        self.ensure_partitions(connection, table, column, months)
        return sorted(set(self._partitions_of(connection, table)) - before)

    def drop_partitions(self, connection: sa.engine.Connection, table: sa.Table, column: str, before: Any) -> int:
        """Drop the monthly partitions that end at or before ``before``; return their rows."""
        if not self._may_create(connection, table):
            return 0  # only the owner may drop a partition; the delete does it row by row
        quote = connection.dialect.identifier_preparer.quote
        prefix = f"{table.name}_p"
        dropped = 0
        rollup = table.name == "api_calls" and bool(
            connection.scalar(sa.text("SELECT to_regclass('storekit_api_calls_rollup') IS NOT NULL"))
        )
        for name in sorted(self._partitions_of(connection, table)):
            suffix = name[len(prefix) :]
            if not (name.startswith(prefix) and len(suffix) == 6 and suffix.isdigit()):
                continue  # not one storekit made: its rows are deleted row by row
            year, month = _next((int(suffix[:4]), int(suffix[4:])))
            end: Any = dt.date(year, month, 1) if year <= dt.MAXYEAR else None
            if end is None:
                continue
            if isinstance(before, dt.datetime):
                end = dt.datetime(end.year, end.month, 1, tzinfo=dt.timezone.utc)
            if end > before:
                continue
            # locked first: no row can arrive between the count and the drop
            connection.exec_driver_sql(f"LOCK TABLE {quote(name)} IN ACCESS EXCLUSIVE MODE")
            dropped += int(connection.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar_one())
            connection.exec_driver_sql(f"DROP TABLE {quote(name)}")
            self._known.discard(name)
            if rollup:  # a DROP fires no trigger: the month's groups go with its calls
                low = dt.datetime(int(suffix[:4]), int(suffix[4:]), 1, tzinfo=dt.timezone.utc)
                connection.execute(
                    sa.text("DELETE FROM storekit_api_calls_rollup WHERE minute >= :low AND minute < :high"),
                    {"low": low, "high": end},
                )
        return dropped

    def analyze(self, connection: sa.engine.Connection, tables: Sequence[sa.Table]) -> None:
        """``VACUUM ANALYZE``: the statistics, and the visibility map that lets index-only
        scans (the covering indexes) skip the table; partitioned tables include their
        partitions."""
        quote = connection.dialect.identifier_preparer.quote
        for table in tables:
            connection.exec_driver_sql(f"VACUUM ANALYZE {quote(table.name)}")

    def api_call_rollup_ddl(self, connection: sa.engine.Connection) -> Sequence[str]:
        return API_CALL_ROLLUP_DDL

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
    """Open a PostgreSQL backend for a ``postgresql://`` or ``postgres://`` URL
    (``?schema=`` optional). The driver and the options are checked before anything
    connects: another driver than psycopg2, or a bad option value, is a
    :exc:`~storekit.ConfigurationError`.

    .. versionchanged:: 0.1
       ``postgres://`` works as ``postgresql://``; other drivers and bad option values
       are refused.
    """
    parsed = sa.engine.make_url(url)
    _psycopg2_url(parsed)  # another driver is refused before anything is imported or connects
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise ConfigurationError("the PostgreSQL backend needs psycopg2: pip install 'storekit[postgresql]'") from None
    checked = _settings(parsed, options)
    schema = options.get("schema") or parsed.query.get("schema") or DEFAULT_SCHEMA
    if isinstance(schema, tuple):
        schema = schema[-1]
    if not isinstance(schema, str):
        raise ConfigurationError(f"postgresql option schema={schema!r} is invalid: it must be a schema name (a str)")
    return SQLBackend(url, PostgreSQLFacts(schema=schema, copy_min_rows=checked.copy_min_rows), options)


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
