"""storekit's SQLite backend: the embedded default and the fallback.

Registered through the ``storekit`` entry point like any third-party plugin. Facts:
WAL journal, a 30 s busy timeout, foreign keys on, ``BEGIN IMMEDIATE`` for
transactions that may write (so concurrent writers wait for the lock instead of
failing) and plain ``BEGIN`` for reads, parent directories created, one engine per
database file per process.
"""

from __future__ import annotations

import functools
import itertools
import os
import sqlite3
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Type

import sqlalchemy as sa

from storekit import BackendInfo, Capability, hookimpl
from storekit.errors import AggregateOverflowError, BackendError
from storekit.records import Kind
from storekit.sql import Float64, ISODate, JSONText, SQLBackend, SQLFacts, UTCTimestampText
from storekit.sql.types import DATE_TEXT, utc_text

__all__ = ["SQLiteFacts", "open_sqlite"]

BUSY_TIMEOUT_SECONDS = 30.0

_TYPES: Dict[Kind, sa.types.TypeEngine[Any]] = {
    Kind.TEXT: sa.Text(),
    Kind.INT: sa.BigInteger(),
    Kind.FLOAT: Float64(),
    Kind.BOOL: sa.Boolean(create_constraint=False),
    Kind.DATE: ISODate(),
    Kind.TIMESTAMP: UTCTimestampText(),
    Kind.JSON: JSONText(),
    Kind.UUID: sa.Uuid(),
}


# The per-minute rollup of api_calls (schema version 4; storekit.sql._rollup): row
# triggers. A group is (endpoint, UTC minute, success as 1/0/-1, error_message NULL flag,
# error_message or ''), so that NULLs are equal keys; sizes are summed as 32-bit halves,
# which cannot overflow. A delete, or an update changing a summarised column, subtracts
# the old row's count and marks its group stale (its minimum, maximum and sums are then
# recomputed from the calls when read); a group left with no call is deleted.
_MINUTE = "substr({r}.timestamp, 1, 16) || ':00.000000+00:00'"
_MINUTE_LAST = "substr({r}.timestamp, 1, 16) || ':59.999999+00:00'"
_GROUP = (
    "{r}.endpoint, "
    + _MINUTE
    + ", coalesce({r}.success, -1), {r}.error_message IS NULL, coalesce({r}.error_message, '')"
)
_IS_GROUP = (
    "endpoint = {r}.endpoint AND minute = " + _MINUTE + " AND outcome = coalesce({r}.success, -1) "
    "AND error_null = ({r}.error_message IS NULL) AND error_message = coalesce({r}.error_message, '')"
)
_ROLLUP_COLUMNS = (
    "endpoint, minute, outcome, error_null, error_message, minute_last, calls, sum_response_time, "
    "min_response_time, max_response_time, request_size_hi, request_size_lo, response_size_hi, "
    "response_size_lo, stale"
)
_ADD = (
    "INSERT INTO storekit_api_calls_rollup (" + _ROLLUP_COLUMNS + ") VALUES (" + _GROUP + ", " + _MINUTE_LAST + ", 1, "
    "{r}.response_time, {r}.response_time, {r}.response_time, coalesce({r}.request_size >> 32, 0), "
    "coalesce({r}.request_size & 4294967295, 0), coalesce({r}.response_size >> 32, 0), "
    "coalesce({r}.response_size & 4294967295, 0), 0) "
    "ON CONFLICT (endpoint, minute, outcome, error_null, error_message) DO UPDATE SET calls = calls + 1, "
    "sum_response_time = sum_response_time + excluded.sum_response_time, "
    "min_response_time = min(min_response_time, excluded.min_response_time), "
    "max_response_time = max(max_response_time, excluded.max_response_time), "
    "request_size_hi = request_size_hi + excluded.request_size_hi, "
    "request_size_lo = request_size_lo + excluded.request_size_lo, "
    "response_size_hi = response_size_hi + excluded.response_size_hi, "
    "response_size_lo = response_size_lo + excluded.response_size_lo;"
)
_SUBTRACT = (
    "UPDATE storekit_api_calls_rollup SET calls = calls - 1, stale = 1 WHERE " + _IS_GROUP + "; "
    "DELETE FROM storekit_api_calls_rollup WHERE " + _IS_GROUP + " AND calls <= 0;"
)
_SUMMARISED = ("endpoint", "timestamp", "success", "error_message", "response_time", "request_size", "response_size")
API_CALL_ROLLUP_DDL = (
    "CREATE TABLE storekit_api_calls_rollup (endpoint TEXT NOT NULL, minute VARCHAR(32) NOT NULL, "
    "outcome INTEGER NOT NULL, error_null INTEGER NOT NULL, error_message TEXT NOT NULL, "
    "minute_last VARCHAR(32) NOT NULL, calls BIGINT NOT NULL, sum_response_time FLOAT, "
    "min_response_time FLOAT, max_response_time FLOAT, request_size_hi BIGINT NOT NULL, "
    "request_size_lo BIGINT NOT NULL, response_size_hi BIGINT NOT NULL, response_size_lo BIGINT NOT NULL, "
    "stale INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (endpoint, minute, outcome, error_null, error_message)) WITHOUT ROWID",
    "CREATE INDEX ix_storekit_api_calls_rollup_minute ON storekit_api_calls_rollup (minute)",
    "CREATE TRIGGER storekit_api_calls_rollup_insert AFTER INSERT ON api_calls BEGIN " + _ADD.format(r="NEW") + " END",
    "CREATE TRIGGER storekit_api_calls_rollup_delete AFTER DELETE ON api_calls BEGIN "
    + _SUBTRACT.format(r="OLD")
    + " END",
    f"CREATE TRIGGER storekit_api_calls_rollup_update AFTER UPDATE OF {', '.join(_SUMMARISED)} ON api_calls WHEN "
    + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _SUMMARISED)
    + " BEGIN "
    + _SUBTRACT.format(r="OLD")
    + " "
    + _ADD.format(r="NEW")
    + " END",
    # the calls stored before the rollup existed (schema upgrade from version 3)
    "INSERT INTO storekit_api_calls_rollup (" + _ROLLUP_COLUMNS + ") "
    "SELECT " + _GROUP.format(r="c") + ", " + _MINUTE_LAST.format(r="c") + ", count(*), sum(c.response_time), "
    "min(c.response_time), max(c.response_time), coalesce(sum(c.request_size >> 32), 0), "
    "coalesce(sum(c.request_size & 4294967295), 0), coalesce(sum(c.response_size >> 32), 0), "
    "coalesce(sum(c.response_size & 4294967295), 0), 0 FROM api_calls AS c GROUP BY 1, 2, 3, 4, 5",
)
"""The statements of :meth:`SQLiteFacts.api_call_rollup_ddl`."""


class SQLiteFacts(SQLFacts):
    name = "sqlite"
    # Dates and timestamps as the types write them (DATE_TEXT and utc_text are their fast
    # forms). Booleans as the 1/0 ints sqlite3 would store: it binds a bool only after
    # looking for an adapter (about 1 us a value), an int at once.
    bulk_converters = {Kind.BOOL: {False: 0, True: 1}, Kind.DATE: DATE_TEXT, Kind.TIMESTAMP: utc_text}
    upsert_rows_in_order = True  # one executemany: of two rows with the same key, the later is stored
    capabilities = frozenset(
        {
            Capability.TRANSACTIONS,
            Capability.STREAMING,
            Capability.CONCURRENT_PROCESSES,
            Capability.FOREIGN_KEYS,
            Capability.PERSISTENT,
        }
    )

    def column_type(self, kind: Kind) -> sa.types.TypeEngine[Any]:
        return _TYPES[kind]

    def int_sum_expr(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # SQLite's sum() fails with "integer overflow" as soon as a running total leaves
        # int64, even when the total fits (sum of MAX, 1, MIN is 0). The sums of the high
        # and low 32-bit halves cannot overflow (below 2**31 rows); int_sum adds them exactly.
        high = sa.func.sum(column.op(">>")(32))
        low = sa.func.sum(column.op("&")(0xFFFFFFFF))
        return sa.type_coerce(high.op("||")(":").op("||")(low), sa.Text())

    def int_sum(self, value: Any) -> Any:
        if value is None:
            return None
        high, low = str(value).split(":")
        return (int(high) << 32) + int(low)

    def error_class(self, exc: sa.exc.DBAPIError) -> Type[BackendError]:
        if "integer overflow" in str(exc.orig):
            return AggregateOverflowError
        return super().error_class(exc)

    def create_engine(self, url: sa.engine.URL, options: Mapping[str, Any]) -> sa.engine.Engine:
        database = url.database or ""
        in_memory = database in ("", ":memory:")
        if not in_memory:
            parent = os.path.dirname(os.path.abspath(database))
            os.makedirs(parent, exist_ok=True)
        kwargs: Dict[str, Any] = {
            "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            "hide_parameters": True,
        }
        if in_memory:
            kwargs["poolclass"] = sa.pool.StaticPool
        engine = sa.create_engine(url, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: sa.engine.Connection) -> None:
            # Writers take the lock up front, so a concurrent writer waits (busy timeout)
            # instead of failing on a lock upgrade; readers never block anyone in WAL.
            write = connection.get_execution_options().get("storekit_write", True)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def api_call_rollup_ddl(self, connection: sa.engine.Connection) -> Sequence[str]:
        return API_CALL_ROLLUP_DDL

    def rows_per_write(self, connection: sa.engine.Connection, table: sa.Table) -> int:
        # one full call, one statement: as many rows as MAX_PARAMETERS values allow
        return max(1, min(self.write_chunk, _parameter_limit(connection) // len(table.c)))

    def insert_rows(self, connection: sa.engine.Connection, table: sa.Table, rows: List[Tuple[Any, ...]]) -> None:
        quote = connection.dialect.identifier_preparer.quote
        head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in table.c)})"
        _execute_grouped(connection, head, "", len(table.c), self.rows_per_write(connection, table), rows)

    def upsert_rows(
        self,
        connection: sa.engine.Connection,
        table: sa.Table,
        key: Sequence[str],
        rows: List[Tuple[Any, ...]],
    ) -> None:
        # Many rows per statement, as for appends: SQLite applies a statement's rows in
        # order, so of two rows with the same key the later is stored, as with executemany.
        quote = connection.dialect.identifier_preparer.quote
        head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in table.c)})"
        tail = f" {self.on_conflict(connection, table, key)}"
        _execute_grouped(connection, head, tail, len(table.c), self.rows_per_write(connection, table), rows)


MAX_PARAMETERS = 32766
"""Values one multi-row statement binds at most: SQLite's default limit since 3.32 (a
connection that allows fewer gets fewer). It bounds the largest statement, which sqlite3
compiles once per connection and keeps in its statement cache: about 0.2 µs of compiling
and 130 bytes of memory a value, so 7 ms and 4 MiB at this size."""

_SMALLEST_DEFAULT_LIMIT = 999
"""The bound-parameter limit of SQLite before 3.32, the smallest any build has had."""


@functools.cache
def _build_allows(values: int) -> int:
    """Without ``Connection.getlimit`` (Python before 3.11): ``values`` if this SQLite
    build compiles a statement of that many values, else 999. Tried once per process and
    size on a throwaway in-memory connection (a connection's limit starts at its build's,
    and only 3.11's ``setlimit`` lowers it)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(f"SELECT ?{values}", (None,) * values).fetchall()
    except sqlite3.OperationalError:  # too many SQL variables
        return _SMALLEST_DEFAULT_LIMIT
    finally:
        probe.close()
    return values


def _parameter_limit(connection: sa.engine.Connection) -> int:
    """How many values one statement on ``connection`` binds at most: :data:`MAX_PARAMETERS`,
    or the connection's limit if lower."""
    getlimit = getattr(connection.connection.dbapi_connection, "getlimit", None)
    if getlimit is None:
        return _build_allows(MAX_PARAMETERS)
    return min(MAX_PARAMETERS, int(getlimit(getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", 9))))


def _statement_sizes(most: int) -> List[int]:
    """The rows per statement of a write: ``most``, then every power of two below it,
    largest first (2,730, 2,048, 1,024, ..., 2, 1)."""
    return [most] + [1 << k for k in range((most - 1).bit_length() - 1, -1, -1)]


def _execute_grouped(
    connection: sa.engine.Connection, head: str, tail: str, width: int, most: int, rows: List[Any]
) -> None:
    """``head VALUES (?, ...), (?, ...), ... tail`` over ``rows``: many rows per statement.

    The rows go in statements of ``most`` rows (:meth:`SQLiteFacts.rows_per_write`: as
    many as :data:`MAX_PARAMETERS` allows), and what is left in at most one statement of
    each power of two below that, largest first (the binary digits of the number left:
    2,480 rows are 2,048 + 256 + 128 + 32 + 16). Only these few sizes exist, so each is
    compiled once per connection and found in sqlite3's statement cache afterwards, and
    no row of a large write goes through a single-row statement of its own.

    Why many rows a statement: one statement of N rows does what N single-row statements
    of an ``executemany`` do with fewer instructions a row, in one call into SQLite that
    runs without the GIL (sqlite3 releases it around each step), so the application's
    threads run meanwhile instead of taking turns row by row. Where a table has a row
    trigger (``api_calls``' rollup), a single-row statement costs far more again: SQLite
    opens a statement journal for each.

    Why as many as possible: inside a transaction SQLite keeps a statement journal for a
    statement that may write several rows, so that the statement alone can be undone. It
    copies every page the statement changes into it, once per statement, to a temporary
    file past 64 KiB. Rows whose keys are spread over an index change a different page
    each; a larger statement copies each such page once for more rows. For the upsert
    benchmark's 100,000 rows, 500-row statements wrote 143,204 times to that file,
    2,730-row statements 47,502 times (``docs/explanation/decisions.rst``)."""
    one = "(" + ", ".join("?" * width) + ")"
    done = 0
    flat = itertools.chain.from_iterable
    for per in _statement_sizes(most):
        whole = (len(rows) - done) // per * per
        if not whole:
            continue
        if per == 1:
            connection.exec_driver_sql(f"{head} VALUES {one}{tail}", rows[done:])
        else:
            groups = [tuple(flat(rows[i : i + per])) for i in range(done, done + whole, per)]
            connection.exec_driver_sql(f"{head} VALUES {', '.join([one] * per)}{tail}", groups)
        done += whole


def open_sqlite(url: str, options: Mapping[str, Any]) -> SQLBackend:
    """Open a SQLite backend for a ``sqlite:///path`` URL.

    A relative path is made absolute against the current directory now, so that stores
    opened on one file by relative and absolute URLs share one engine, and connections
    the pool opens after a ``chdir`` still open this file."""
    parsed = sa.engine.make_url(url)
    database = parsed.database or ""
    if database not in ("", ":memory:") and not database.startswith("file:") and "uri" not in parsed.query:
        url = parsed.set(database=os.path.abspath(database)).render_as_string(hide_password=False)
    return SQLBackend(url, SQLiteFacts(), options)


@hookimpl
def storekit_register_backends(register: Any) -> None:
    register(
        BackendInfo(
            name="sqlite",
            schemes=("sqlite",),
            factory=open_sqlite,
            priority=10,
            capabilities=SQLiteFacts.capabilities,
            description="Embedded SQLite file (the default store and the fallback)",
        )
    )
