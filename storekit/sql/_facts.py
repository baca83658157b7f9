"""What a SQL dialect plugin tells the generic SQL backend about its database."""

from __future__ import annotations

from typing import Any, Callable, FrozenSet, List, Mapping, Sequence, Tuple, Type, Union

import sqlalchemy as sa

from ..errors import BackendError, BackendUnavailableError, IntegrityError
from ..records import Kind, RecordSpec

__all__ = ["SQLFacts"]


class SQLFacts:
    """Database and driver facts, the only part a SQL backend plugin writes.

    Subclass it, override what differs, and pass an instance to
    :class:`storekit.sql.SQLBackend`. Identifiers reaching these methods come only
    from record declarations; values are always bound, never formatted into SQL.
    """

    name: str = "sql"
    """The backend name used in messages and :class:`storekit.BackendInfo`."""
    capabilities: FrozenSet[str] = frozenset()
    """The :class:`storekit.Capability` names this database supports."""
    options: FrozenSet[str] = frozenset()
    """The ``open_store(options=...)`` keys this backend accepts; others are an error."""

    def column_type(self, kind: Kind) -> sa.types.TypeEngine[Any]:
        """The SQLAlchemy column type storing a field of ``kind``."""
        raise NotImplementedError

    def create_engine(self, url: sa.engine.URL, options: Mapping[str, Any]) -> sa.engine.Engine:
        """Make the one engine (and pool) the backend uses."""
        raise NotImplementedError

    def prepare(self, connection: sa.engine.Connection) -> None:
        """Run before the tables are created (for example ``CREATE SCHEMA``)."""

    # -- indexes, partitions and maintenance (schema version 3) --------------------------

    def index(self, name: str, table: sa.Table, fields: Sequence[str], include: Sequence[str]) -> sa.Index:
        """The index ``name`` of ``table`` on ``fields`` that also stores ``include``
        (a covering index, :class:`storekit.records.Index`). Here one composite index on
        ``fields`` then ``include``, for databases without ``INCLUDE``.

        .. versionadded:: 0.1
        """
        return sa.Index(name, *[table.c[c] for c in (*fields, *include)])

    partitions: bool = False
    """Whether tables whose record declares ``partition_by`` are range-partitioned here.
    If so, :meth:`table_options` declares the partitioning, :meth:`ensure_partitions`
    creates partitions before writes and :meth:`drop_partitions` drops them for deletes.

    .. versionadded:: 0.1
    """

    def table_options(self, spec: RecordSpec) -> Mapping[str, Any]:
        """Dialect keyword arguments of ``spec``'s ``sa.Table`` (partitioning)."""
        return {}

    def ensure_partitions(self, connection: sa.engine.Connection, table: sa.Table, column: str, values: Any) -> None:
        """Make sure partitions of ``table`` hold every value of ``column`` in ``values``
        (driver-ready), before they are written. Only called when :attr:`partitions`."""

    def maintain_partitions(
        self, connection: sa.engine.Connection, table: sa.Table, column: str, ahead: int = 12
    ) -> List[str]:
        """Create the partitions of the coming ``ahead`` months, and any others writes
        could not create; return their names. Run by ``storekit schema upgrade``."""
        return []

    def drop_partitions(self, connection: sa.engine.Connection, table: sa.Table, column: str, before: Any) -> int:
        """Drop the partitions of ``table`` whose every possible ``column`` value is
        below ``before``; return how many rows they held. Only called when :attr:`partitions`."""
        return 0

    def analyze(self, connection: sa.engine.Connection, tables: Sequence[sa.Table]) -> None:
        """Refresh the planner statistics of ``tables`` after a bulk load (``ANALYZE``);
        ``connection`` is in autocommit mode, outside any transaction."""
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {connection.dialect.identifier_preparer.format_table(table)}")

    def api_call_rollup_ddl(self, connection: sa.engine.Connection) -> Sequence[str]:
        """The statements creating the per-minute rollup of ``api_calls`` (schema version
        4, :mod:`storekit.sql._rollup`): the ``storekit_api_calls_rollup`` table, the triggers that
        keep it exact on every write, and an ``INSERT`` of the rows ``api_calls`` holds.
        Empty here: a dialect without it answers the api statistics from ``api_calls``.

        .. versionadded:: 0.1
        """
        return ()

    write_chunk: int = 5000
    """Rows the backend converts and hands to :meth:`upsert_rows` or :meth:`insert_rows`
    at a time, unless :meth:`rows_per_write` says fewer."""

    def rows_per_write(self, connection: sa.engine.Connection, table: sa.Table) -> int:
        """How many rows of ``table`` one call of :meth:`upsert_rows` or
        :meth:`insert_rows` gets at most (the last call of a write may get fewer):
        :attr:`write_chunk` here. A dialect whose statements hold a bounded number of
        rows says that number, so that each full call is one statement.

        .. versionadded:: 0.1
        """
        return self.write_chunk

    def upsert_rows(
        self,
        connection: sa.engine.Connection,
        table: sa.Table,
        key: Sequence[str],
        rows: List[Tuple[Any, ...]],
    ) -> None:
        """Insert-or-replace ``rows`` (driver-ready tuples in column order) by ``key``.
        Keys are distinct within ``rows``."""
        raise NotImplementedError

    @staticmethod
    def on_conflict(connection: sa.engine.Connection, table: sa.Table, key: Sequence[str]) -> str:
        """The ``ON CONFLICT (key) DO UPDATE SET ...`` clause (``DO NOTHING`` when every
        column is in the key) shared by PostgreSQL and SQLite upserts."""
        quote = connection.dialect.identifier_preparer.quote
        updates = [c.name for c in table.c if c.name not in key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in updates)
            if updates
            else "DO NOTHING"
        )
        return f"ON CONFLICT ({', '.join(map(quote, key))}) {action}"

    def increment_row(
        self,
        connection: sa.engine.Connection,
        table: sa.Table,
        key: Sequence[str],
        fields: Sequence[str],
        replace: Sequence[str],
        row: Tuple[Any, ...],
    ) -> Tuple[Any, ...]:
        """Insert ``row`` (driver-ready, in column order), or add its ``fields`` to the
        stored row of its ``key`` and set the ``replace`` columns, in one statement:
        ``INSERT ... ON CONFLICT (key) DO UPDATE SET f = COALESCE(t.f, 0) + excluded.f, r = excluded.r``,
        which PostgreSQL and SQLite (3.35+) both run atomically. Returns the stored values
        of ``fields`` (``RETURNING``), which the backend checks for int64 overflow.

        .. versionadded:: 0.1
        """
        prep = connection.dialect.identifier_preparer
        quote = prep.quote
        name = prep.format_table(table)
        sets = [f"{quote(f)} = COALESCE({name}.{quote(f)}, 0) + excluded.{quote(f)}" for f in fields]
        sets += [f"{quote(r)} = excluded.{quote(r)}" for r in replace]
        cols = ", ".join(quote(c.name) for c in table.c)
        marks = ", ".join([self.paramstyle_mark] * len(table.c))
        result = connection.exec_driver_sql(
            f"INSERT INTO {name} ({cols}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE SET {', '.join(sets)} "
            f"RETURNING {', '.join(map(quote, fields))}",
            row,
        )
        return tuple(result.one())

    def insert_rows(self, connection: sa.engine.Connection, table: sa.Table, rows: List[Tuple[Any, ...]]) -> None:
        """Plain insert of driver-ready tuples; a duplicate key must raise."""
        cols = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in table.c)
        marks = ", ".join([self.paramstyle_mark] * len(table.c))
        name = connection.dialect.identifier_preparer.format_table(table)
        connection.exec_driver_sql(f"INSERT INTO {name} ({cols}) VALUES ({marks})", rows)

    bulk_converters: Mapping[Kind, Union[Callable[[Any], Any], Mapping[Any, Any], None]] = {}
    """Per kind, a faster replacement for the column type's bind processor on the bulk
    write path: a function of the value, or a mapping looked up by the value (a ``dict``
    subclass with ``__missing__`` memoises), or ``None`` (the driver binds the validated
    value as it is). Each must give exactly what the type's bind processor gives; kinds
    not listed use the type.

    .. versionchanged:: 0.1
       A mapping is accepted.
    """

    upsert_rows_in_order: bool = False
    """Whether :meth:`upsert_rows` applies rows one after the other, so that of two rows
    with the same key the later one is stored (SQLite's ``executemany``). If not, the
    backend keeps only the last record of each key before calling it (one PostgreSQL
    statement may not update the same row twice).

    .. versionadded:: 0.1
    """

    paramstyle_mark: str = "?"
    """The driver's positional parameter marker (``?`` for sqlite3, ``%s`` for psycopg2)."""

    def int_sum_expr(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The SQL for the exact SUM of an int64 column; :meth:`int_sum` converts its result."""
        return sa.func.sum(column)

    def int_sum(self, value: Any) -> Any:
        """Convert the result of :meth:`int_sum_expr` to ``int`` (or ``None``)."""
        return None if value is None else int(value)

    def error_class(self, exc: sa.exc.DBAPIError) -> Type[BackendError]:
        """Which storekit error a driver error becomes."""
        if isinstance(exc, sa.exc.IntegrityError):
            return IntegrityError
        if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
            return BackendUnavailableError
        return BackendError

    def describe_url(self, url: sa.engine.URL) -> str:
        """The URL for messages and reprs, password hidden."""
        return url.render_as_string(hide_password=True)
