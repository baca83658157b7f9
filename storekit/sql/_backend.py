"""The generic SQLAlchemy Core backend, written once for every SQL database."""

from __future__ import annotations

import contextlib
import keyword
import logging
import threading
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa

from .. import _plan
from ..codec import Codec
from ..errors import AggregateOverflowError, BackendError, ConfigurationError, IntegrityError, SchemaVersionError
from ..query import Aggregate, Eq, Filter, In, Order, Query, Range
from ..records import Kind, all_record_types, spec_of
from ..records._declare import INT64_MAX, INT64_MIN
from ._engines import acquire_engine, release_engine
from ._facts import SQLFacts
from ._schema import SCHEMA_VERSION, build_metadata, stored_key

__all__ = ["SQLBackend"]

log = logging.getLogger("storekit.sql")

_STREAM_CHUNK = 1000


def _bound(column: sa.ColumnElement[Any], value: Any) -> Any:
    """``value`` as a parameter of ``column``'s type: SQLAlchemy refuses ``<``/``>`` with a
    bare ``True``/``False`` operand, so ranges and keyset pages on booleans need it typed."""
    return sa.literal(value, column.type)


class SQLBackend:
    """A :class:`storekit.Backend` on any SQLAlchemy engine, given the database's facts."""

    def __init__(self, url: str, facts: SQLFacts, options: Optional[Mapping[str, Any]] = None) -> None:
        self.facts = facts
        self.name = facts.name
        self.capabilities = facts.capabilities
        self.url = sa.engine.make_url(url)
        self._described = facts.describe_url(self.url)
        opts = dict(options or {})
        unknown = sorted(set(opts) - set(facts.options))
        if unknown:
            raise ConfigurationError(
                f"{facts.name} does not take option(s) {', '.join(unknown)} "
                f"(it takes: {', '.join(sorted(facts.options)) or 'none'})"
            )
        self.engine = acquire_engine(self.url, opts, lambda: facts.create_engine(self.url, opts))
        self._closed = False
        self._tables = build_metadata(all_record_types(), facts)
        self._meta = next(iter(self._tables.values())).metadata.tables["storekit_meta"]
        self._codec = Codec()
        self._local = threading.local()
        self._writers: Dict[type, Callable[[Sequence[Any]], List[Tuple[Any, ...]]]] = {}
        # record type -> its partition field, for tables this database partitions
        self._partitioned: Dict[type, str] = {
            t: str(spec_of(t).partition_by) for t in self._tables if facts.partitions and spec_of(t).partition_by
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self._described}>"

    # -- connections and transactions ---------------------------------------------------

    @contextlib.contextmanager
    def _connection(self, write: bool = True, what: str = "") -> Iterator[sa.engine.Connection]:
        """The thread's transaction connection, or a new transaction of its own.

        ``write=False`` marks a read-only use (the ``storekit_write`` execution option),
        which lets a dialect begin a lighter transaction (SQLite: no write lock).
        ``what`` (a record type's name) goes into the message of a driver error."""
        active: Optional[sa.engine.Connection] = getattr(self._local, "connection", None)
        if active is not None:
            with self._errors(what):
                yield active
            return
        with self._errors(what), self.engine.connect() as conn:
            conn.execution_options(storekit_write=write)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "connection", None) is not None:
            yield  # nested: part of the enclosing transaction
            return
        with self._errors(), self.engine.connect() as conn, conn.begin():
            self._local.connection = conn
            try:
                yield
            finally:
                self._local.connection = None

    @contextlib.contextmanager
    def _errors(self, what: str = "") -> Iterator[None]:
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            try:
                yield
            except dbapi_error as raw:  # raised by a driver fast path, outside SQLAlchemy
                raise sa.exc.DBAPIError.instance(None, None, raw, dbapi_error) from raw
        except sa.exc.DBAPIError as exc:
            cls = self.facts.error_class(exc)
            first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None)  # psycopg2's DETAIL
            if detail:  # which key or reference, e.g. "Key (id)=(1) already exists."
                first = f"{first}: {detail.strip()}"
            where = f"{self.name} ({self._described}): {what + ': ' if what else ''}"
            raise cls(f"{where}{first}", backend=self.name, orig=exc) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise BackendError(f"{self.name} ({self._described}): {exc}", backend=self.name, orig=exc) from exc

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            release_engine(self.engine)

    # -- schema -------------------------------------------------------------------------

    def ensure_schema(self, record_types: Sequence[type]) -> None:
        tables = [self._meta] + [self._tables[t] for t in record_types]
        with self._connection() as conn:
            self.facts.prepare(conn)
            self._refuse_foreign_tables(conn)
            metadata = self._meta.metadata
            metadata.create_all(conn, tables=tables, checkfirst=True)
            row = conn.execute(
                sa.select(self._meta.c.value).where(self._meta.c.key == "schema_version")
            ).scalar_one_or_none()
            if row is None:
                conn.execute(sa.insert(self._meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row) != SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self._described} has storekit schema version {row}, this library writes "
                    f"{SCHEMA_VERSION}: "
                    + (
                        "upgrade storekit (pip install -U storekit)"
                        if int(row) > SCHEMA_VERSION
                        else "run `storekit schema upgrade`"
                    ),
                    backend=self.name,
                )
            for record_type in record_types:  # a partitioned table's default partition
                self._partition(conn, record_type, [], always=True)

    def _refuse_foreign_tables(self, conn: sa.engine.Connection) -> None:
        """A database (or PostgreSQL schema) without ``storekit_meta`` that already holds
        tables of storekit's names is someone else's, such as the application's legacy
        main database: taking it over would skip those tables (``create_all`` checks names,
        not columns) and fail on their rows later, so refuse before changing anything."""
        existing = set(sa.inspect(conn).get_table_names())
        if self._meta.name in existing:
            return
        taken = sorted(existing.intersection(t.name for t in self._meta.metadata.tables.values()))
        if taken:
            shown = ", ".join(taken[:6]) + (f" and {len(taken) - 6} more" if len(taken) > 6 else "")
            raise ConfigurationError(
                f"{self._described} is not a storekit store: it holds tables storekit did not create "
                f"({shown}) and no storekit_meta. Point storekit at a new file, database or schema "
                "(PostgreSQL: ?schema=NAME); to bring legacy files in, run `storekit migrate`"
            )

    def schema_version(self) -> Optional[int]:
        """The recorded schema version, or ``None`` for a store storekit never wrote."""
        with self._connection(write=False) as conn:
            if not sa.inspect(conn).has_table("storekit_meta"):
                return None
            value = conn.execute(
                sa.select(self._meta.c.value).where(self._meta.c.key == "schema_version")
            ).scalar_one_or_none()
            return None if value is None else int(value)

    # -- writes -------------------------------------------------------------------------

    def _writer(self, record_type: type) -> Callable[[Sequence[Any]], List[Tuple[Any, ...]]]:
        """Records of ``record_type`` -> driver-ready tuples in column order, as one
        generated list comprehension per record type (like attrs' and dataclasses'
        ``__init__``): attribute reads inline, a converter called (or a mapping looked
        up) only where a column needs one (``facts.bulk_converters``, else the type's
        bind processor)."""
        writer = self._writers.get(record_type)
        if writer is None:
            table = self._tables[record_type]
            spec = spec_of(record_type)
            dialect = self.engine.dialect
            fast = self.facts.bulk_converters
            namespace: Dict[str, Any] = {}
            values: List[str] = []
            for i, c in enumerate(table.c):
                if not c.name.isidentifier() or keyword.iskeyword(c.name):  # field names always are
                    raise TypeError(f"{spec.name}.{c.name} is not an identifier")
                f = spec.field(c.name)
                proc = fast[f.kind] if f.kind in fast else c.type.bind_processor(dialect)
                if proc is None:
                    values.append(f"r.{c.name}")
                    continue
                namespace[f"_p{i}"] = proc
                apply = "_p{i}[{v}]" if isinstance(proc, Mapping) else "_p{i}({v})"
                if f.nullable:
                    values.append(f"(None if (v{i} := r.{c.name}) is None else {apply.format(i=i, v=f'v{i}')})")
                else:
                    values.append(apply.format(i=i, v=f"r.{c.name}"))
            source = f"def write(records):\n    return [({', '.join(values)},) for r in records]\n"
            exec(compile(source, f"<storekit writer for {spec.name}>", "exec"), namespace)
            writer = self._writers[record_type] = namespace["write"]
        return writer

    def _checked(self, record_type: type, records: Iterable[Any]) -> List[Any]:
        items = list(records)
        for rec in items:
            if type(rec) is not record_type:
                raise TypeError(f"expected {record_type.__name__} records, got {type(rec).__name__}")
        return items

    def upsert(self, record_type: type, records: Iterable[Any]) -> int:
        items = self._checked(record_type, records)
        count = len(items)
        spec = spec_of(record_type)
        table = self._tables[record_type]
        key = stored_key(spec, self.facts)
        if key != spec.key or not self.facts.upsert_rows_in_order:  # a later record with the same key wins
            keys = list(map(spec.key_getter, items))
            if len(set(keys)) != len(keys):
                items = list(dict(zip(keys, items)).values())
        write = self._writer(record_type)
        written = list(map(spec.key_getter, items)) if key != spec.key else []
        with self._connection(what=f"writing {spec.name} records") as conn:
            per = self.facts.rows_per_write(conn, table)
            for start in range(0, len(items), per):
                # converted a chunk at a time: the driver binds rows still in the CPU's cache
                chunk = write(items[start : start + per])
                chunk_keys = written[start : start + per]
                self._partition(conn, record_type, chunk)
                if key != spec.key:  # the record key may be stored under another partition value
                    conn.execute(sa.delete(table).where(self._key_in(table, spec.key, chunk_keys)))
                self.facts.upsert_rows(conn, table, key, chunk)
        return count

    def append(self, record_type: type, records: Iterable[Any]) -> int:
        items = self._checked(record_type, records)
        write = self._writer(record_type)
        table = self._tables[record_type]
        spec = spec_of(record_type)
        partitioned = record_type in self._partitioned
        unchecked = partitioned and stored_key(spec, self.facts) != spec.key
        keys = list(map(spec.key_getter, items)) if unchecked else []
        if unchecked and len(set(keys)) != len(keys):
            raise IntegrityError(f"{spec.name}: the same key twice in one append", backend=self.name)
        with self._connection(what=f"appending {spec.name} records") as conn:
            per = self.facts.rows_per_write(conn, table)
            for start in range(0, len(items), per):
                chunk = write(items[start : start + per])
                self._partition(conn, record_type, chunk)
                if unchecked:  # the primary key holds the partition field too: check the record key
                    chunk_keys = keys[start : start + per]
                    stmt = sa.select(sa.literal(1)).select_from(table).where(self._key_in(table, spec.key, chunk_keys))
                    taken = conn.execute(stmt.limit(1)).first()
                    if taken is not None:
                        raise IntegrityError(
                            f"{self.name} ({self._described}): duplicate key: a {spec.name} of this key exists",
                            backend=self.name,
                        )
                self.facts.insert_rows(conn, table, chunk)
        return len(items)

    def _partition(
        self, conn: sa.engine.Connection, record_type: type, rows: Sequence[Tuple[Any, ...]], always: bool = False
    ) -> None:
        """Create the partitions ``rows`` (driver-ready) go to, if missing."""
        column = self._partitioned.get(record_type)
        if column is not None and (rows or always):
            table = self._tables[record_type]
            position = list(table.c.keys()).index(column)
            self.facts.ensure_partitions(conn, table, column, [r[position] for r in rows])

    @staticmethod
    def _key_in(table: sa.Table, key: Sequence[str], values: Sequence[Any]) -> Any:
        """``key IN values`` (values as :attr:`RecordSpec.key_getter` gives them)."""
        if len(key) == 1:
            return table.c[key[0]].in_(values)
        return sa.tuple_(*[table.c[k] for k in key]).in_(values)

    def increment(self, record_type: type, record: Any, fields: Sequence[str], replace: Sequence[str] = ()) -> None:
        _plan.check_increment(record_type, record, fields, replace)
        row = self._writer(record_type)([record])[0]
        table = self._tables[record_type]
        spec = spec_of(record_type)
        key = stored_key(spec, self.facts)
        with self._connection() as conn:
            if key != spec.key:  # keep the stored partition value of the key, as any other field
                part = str(spec.partition_by)
                where = [table.c[k] == v for k, v in zip(spec.key, spec.key_of(record))]
                found = conn.execute(sa.select(table.c[part]).where(*where).with_for_update()).first()
                if found is not None:
                    position = list(table.c.keys()).index(part)
                    row = (*row[:position], found[0], *row[position + 1 :])
            self._partition(conn, record_type, [row])
            stored = self.facts.increment_row(conn, table, key, fields, replace, row)
            for name, value in zip(fields, stored):
                # SQLite turns an int64 overflow of + into a float; raising here rolls back
                if spec.field(name).kind is Kind.INT and not (
                    isinstance(value, int) and INT64_MIN <= value <= INT64_MAX
                ):
                    raise AggregateOverflowError(
                        f"increment of {spec.name}.{name} does not fit in 64 bits", backend=self.name
                    )

    def delete(self, record_type: type, where: Sequence[Filter]) -> int:
        _plan.check_filters(record_type, where)
        table = self._tables[record_type]
        operands = _plan.operands(record_type, where)
        with self._connection() as conn:
            dropped = 0
            before = self._droppable_below(record_type, operands)
            if before is not None:  # retention: whole partitions below the cutoff go at once
                dropped = self.facts.drop_partitions(conn, table, self._partitioned[record_type], before)
            result = conn.execute(sa.delete(table).where(*self._where(table, operands)))
            return dropped + int(result.rowcount)

    def _droppable_below(self, record_type: type, where: Sequence[Filter]) -> Optional[Any]:
        """For a delete whose only filters are upper bounds (``lt``/``le``) on a partitioned
        table's partition field: the value below which whole partitions may be dropped."""
        column = self._partitioned.get(record_type)
        if column is None or not where:
            return None
        bounds = []
        for flt in where:
            if not (isinstance(flt, Range) and flt.field == column and flt.ge is None and flt.gt is None):
                return None
            # le: a partition ends before its upper bound, so "<= cutoff" covers it when
            # its bound is <= cutoff, as for "< cutoff" (conservative by one value)
            bounds += [b for b in (flt.lt, flt.le) if b is not None]
        return min(bounds) if bounds else None

    def analyze(self, record_types: Sequence[type]) -> None:
        """Refresh the database's planner statistics of ``record_types``' tables (after a
        bulk load: ``storekit migrate`` runs it). An optional backend method
        (``docs/reference/backend-contract.rst``); it changes no result.

        .. versionadded:: 0.1
        """
        if getattr(self._local, "connection", None) is not None:
            raise BackendError("analyze() cannot run inside a transaction", backend=self.name)
        with self._errors(), self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside one
            self.facts.analyze(conn, [self._tables[t] for t in record_types])

    # -- reads --------------------------------------------------------------------------

    def api_call_totals(self, endpoint: Optional[str], start: Any, end: Any) -> Optional[List[Dict[str, Any]]]:
        """The api calls of ``endpoint`` (``None``: all) in ``[start, end]`` grouped by
        ``(endpoint, success, error_message)``, read from the per-minute rollup (schema
        version 4, :func:`storekit.sql._rollup.api_call_totals`); ``None`` when this
        dialect keeps no rollup. An optional backend method
        (``docs/reference/backend-contract.rst``).

        .. versionadded:: 0.1
        """
        from ..records import ApiCall
        from ._rollup import api_call_totals

        with self._connection(write=False) as conn:
            if not self.facts.api_call_rollup_ddl(conn):
                return None
            return api_call_totals(conn, self._tables[ApiCall], endpoint, start, end)

    def get(self, record_type: type, key: Tuple[Any, ...]) -> Optional[Any]:
        spec = spec_of(record_type)
        if len(key) != len(spec.key):
            raise TypeError(f"{spec.name} key is ({', '.join(spec.key)}); got {len(key)} values")
        where = [Eq(name, value) for name, value in zip(spec.key, key)]
        found = list(self.query(Query(record_type, where=where, limit=1)))
        return found[0] if found else None

    def query(self, query: Query[Any]) -> Iterator[Any]:
        _plan.check_query(query)
        table = self._tables[query.record_type]
        order = _plan.full_order(query)
        terms = [self._order_term(table, o) for o in order]
        # With an offset, the skipped rows are sorted as keys only (a "deferred join"):
        # the database sorts small (order, key) entries instead of whole rows, then reads
        # the rows of the page by key. The result is the same.
        keys = [table.c[k] for k in spec_of(query.record_type).key]
        where = self._where(table, _plan.operands(query.record_type, query.where))
        stmt = sa.select(*keys) if query.offset else sa.select(table)
        stmt = stmt.where(*where)
        if query.after is not None:
            stmt = stmt.where(self._after(table, order, _plan.keyset_values(query)))
        stmt = stmt.order_by(*terms)
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        if query.offset:
            page = stmt.offset(query.offset)
            chosen = keys[0].in_(page) if len(keys) == 1 else sa.tuple_(*keys).in_(page)
            # on a partitioned table, the filters again (the page's rows meet them anyway):
            # they let the database look the keys up only in the partitions they can be in
            again = where if query.record_type in self._partitioned else []
            stmt = sa.select(table).where(chosen, *again).order_by(*terms)
        return self._stream(stmt, query.record_type)

    def _stream(self, stmt: sa.Select[Any], record_type: type) -> Iterator[Any]:
        from_row = self._codec.from_row
        with self._connection(write=False) as conn:
            # per statement: Connection.execution_options() would change the (shared, in a
            # transaction) connection for every later statement, which PostgreSQL then
            # sends through a server-side cursor ("DECLARE ... FOR DELETE": syntax error)
            result = conn.execute(stmt, execution_options={"yield_per": _STREAM_CHUNK})
            for row in result.mappings():
                yield from_row(dict(row), record_type)

    def aggregate(self, aggregate: Aggregate) -> List[Dict[str, Any]]:
        _plan.check_aggregate(aggregate)
        spec = spec_of(aggregate.record_type)
        table = self._tables[aggregate.record_type]
        groups = [table.c[name] for name in aggregate.group_by]
        columns: List[Any] = list(groups)
        for agg in aggregate.aggs:
            col = table.c[agg.field] if agg.field else None
            if agg.fn == "count":
                expr: Any = sa.func.count() if col is None else sa.func.count(col)
            elif agg.fn == "avg" and spec.field(agg.field or "").kind is Kind.FLOAT:
                # Not avg(): PostgreSQL's avg(float8) also sums the squares (it shares the
                # variance machinery) and so fails with "overflow" for any |x| > 1.3e154.
                total = sa.type_coerce(sa.func.sum(col), sa.Float())
                expr = total / sa.func.nullif(sa.func.count(col), 0)
            elif agg.fn == "avg":
                expr = sa.type_coerce(sa.func.avg(col), sa.Float())
            elif agg.fn == "sum" and col is not None and spec.field(agg.field or "").kind is Kind.INT:
                expr = self.facts.int_sum_expr(col)
            else:
                expr = getattr(sa.func, agg.fn)(col)
            columns.append(expr.label(agg.label))
        where = _plan.operands(aggregate.record_type, aggregate.where)
        stmt = sa.select(*columns).select_from(table).where(*self._where(table, where))
        if groups:
            stmt = stmt.group_by(*groups).order_by(*[self._order_term(table, Order(g)) for g in aggregate.group_by])
        with self._connection(write=False) as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        for agg in aggregate.aggs:
            if agg.fn == "sum" and spec.field(agg.field or "").kind is Kind.INT:
                for r in rows:
                    value = self.facts.int_sum(r[agg.label])
                    if value is not None and not INT64_MIN <= value <= INT64_MAX:
                        raise AggregateOverflowError(
                            f"sum of {spec.name}.{agg.field} does not fit in 64 bits", backend=self.name
                        )
                    r[agg.label] = value
            elif agg.fn == "avg":
                for r in rows:
                    r[agg.label] = None if r[agg.label] is None else float(r[agg.label])
            elif agg.fn == "count":
                for r in rows:
                    r[agg.label] = int(r[agg.label])
        return rows

    # -- SQL pieces ---------------------------------------------------------------------

    @staticmethod
    def _where(table: sa.Table, where: Sequence[Filter]) -> List[Any]:
        out: List[Any] = []
        for flt in where:
            col = table.c[flt.field]
            if isinstance(flt, Eq):
                out.append(col.is_(None) if flt.value is None else col == flt.value)
            elif isinstance(flt, In):
                values = [v for v in flt.values if v is not None]
                out.append(col.in_(values) if values else sa.false())
            elif isinstance(flt, Range):
                for op, bound in (("__ge__", flt.ge), ("__gt__", flt.gt), ("__le__", flt.le), ("__lt__", flt.lt)):
                    if bound is not None:
                        out.append(getattr(col, op)(_bound(col, bound)))
                if all(b is None for b in (flt.ge, flt.gt, flt.le, flt.lt)):
                    out.append(col.is_not(None))
        return out

    @staticmethod
    def _order_term(table: sa.Table, order: Order) -> Any:
        col = table.c[order.field]
        return col.desc().nulls_last() if order.descending else col.asc().nulls_first()

    @staticmethod
    def _after(table: sa.Table, order: Sequence[Order], values: Sequence[Any]) -> Any:
        """Rows strictly after ``values`` in ``order`` (NULL first ascending, last descending)."""
        alternatives = []
        for i, (term, value) in enumerate(zip(order, values)):
            col = table.c[term.field]
            same = [
                table.c[o.field].is_(None) if v is None else table.c[o.field] == v
                for o, v in zip(order[:i], values[:i])
            ]
            if term.descending:
                later = sa.false() if value is None else sa.or_(col < _bound(col, value), col.is_(None))
            else:
                later = col.is_not(None) if value is None else col > _bound(col, value)
            alternatives.append(sa.and_(*same, later))
        return sa.or_(*alternatives)
