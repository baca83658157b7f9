"""Issue 2, benchmark 1: upsert N ScreeningHistory records by natural key.

storekit (``Store.put_many``) against the raw driver doing the same upsert into an
identical table, on an empty table (insert path) and again with the same keys and new
values (update path):

* PostgreSQL: psycopg2 ``execute_values(cur, "INSERT ... VALUES %s ON CONFLICT
  (stock_code, screening_date) DO UPDATE SET ...", rows, page_size=1000)`` in one
  transaction, in a schema of its own; storekit into a store opened with
  ``?schema=<its own schema>``.
* SQLite: sqlite3 ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` in one
  ``BEGIN IMMEDIATE`` transaction, on a WAL file with the plugin's pragmas; storekit
  into a store on another file.

Records and raw tuples are built before timing from the same data (building records
is the caller's cost, not the upsert's). The raw tuples are already in the database's
storage format (on SQLite: date and UTC timestamp text, booleans as 1/0), so the goal is
held against a raw side that converts nothing. On SQLite an extra baseline, without a
goal, shows what a sqlite3 user pays to get there: the same ``executemany`` with the
tuples made inside the timing from the Python values with the standard library
(``date.isoformat``, ``astimezone(utc).isoformat``, ``int(bool)``; the
``raw, converting inline`` lines). Each repetition uses fresh tables; within a
repetition the order of raw and storekit alternates, and PostgreSQL is checkpointed
before every timed step (when the role may) so that one side's WAL is not flushed on
the other's clock. After every repetition both tables must hold the same rows.
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import tempfile
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import sqlalchemy as sa

from . import GOAL, _data
from ._common import Result, pg_base_url, timed

TABLE = "screening_history"
PG_PAGE_SIZE = 1000

_COLS = ", ".join(_data.COLUMNS)
_KEY = ", ".join(_data.KEY)

PG_DDL = [
    f"""CREATE TABLE {TABLE} (
        stock_code TEXT COLLATE "C" NOT NULL,
        stock_name TEXT COLLATE "C" NOT NULL,
        sector TEXT COLLATE "C",
        screening_date DATE NOT NULL,
        overall_score DOUBLE PRECISION,
        fundamental_score DOUBLE PRECISION,
        technical_score DOUBLE PRECISION,
        passed BOOLEAN,
        roe DOUBLE PRECISION,
        per DOUBLE PRECISION,
        pbr DOUBLE PRECISION,
        created_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (stock_code, screening_date)
    )""",
    f"CREATE INDEX ix_{TABLE}_screening_date ON {TABLE} (screening_date)",
]
PG_UPSERT = f"INSERT INTO {TABLE} ({_COLS}) VALUES %s ON CONFLICT ({_KEY}) DO UPDATE SET " + ", ".join(
    f"{c} = EXCLUDED.{c}" for c in _data.UPDATES
)

SQLITE_DDL = [
    f"""CREATE TABLE {TABLE} (
        stock_code TEXT NOT NULL,
        stock_name TEXT NOT NULL,
        sector TEXT,
        screening_date VARCHAR(10) NOT NULL,
        overall_score FLOAT64_BLOB,
        fundamental_score FLOAT64_BLOB,
        technical_score FLOAT64_BLOB,
        passed BOOLEAN,
        roe FLOAT64_BLOB,
        per FLOAT64_BLOB,
        pbr FLOAT64_BLOB,
        created_at VARCHAR(32),
        PRIMARY KEY (stock_code, screening_date)
    )""",
    f"CREATE INDEX ix_{TABLE}_screening_date ON {TABLE} (screening_date)",
]
SQLITE_UPSERT = (
    f"INSERT INTO {TABLE} ({_COLS}) VALUES ({', '.join('?' * len(_data.COLUMNS))}) "
    f"ON CONFLICT ({_KEY}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _data.UPDATES)
)
SQLITE_PRAGMAS = [  # what plugins/storekit_sqlite sets on every connection
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
]


Sides = Dict[str, Callable[[int], None]]
Pair = Tuple[Sides, Callable[[], None], Callable[[], None]]
"""Each side's upsert (by data version), the check that both tables agree, the cleanup."""


class Unavailable(Exception):
    """The backend cannot be reached: the benchmark is skipped (loudly)."""


class Dataset:
    """Two versions (same keys, different values) as records and as raw tuples."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._data = [_data.rows(rows, variant=0), _data.rows(rows, variant=1)]
        self.records = [_data.records(d) for d in self._data]
        self._pg: Optional[List[List[Tuple[Any, ...]]]] = None
        self._sqlite: Optional[List[List[Tuple[Any, ...]]]] = None

    @property
    def pg(self) -> List[List[Tuple[Any, ...]]]:
        if self._pg is None:
            self._pg = [_data.pg_tuples(d) for d in self._data]
        return self._pg

    @property
    def values(self) -> List[List[Dict[str, Any]]]:
        """The field values of the two versions (what the raw tuples are made from)."""
        return self._data

    @property
    def sqlite(self) -> List[List[Tuple[Any, ...]]]:
        if self._sqlite is None:
            self._sqlite = [_data.sqlite_tuples(d) for d in self._data]
        return self._sqlite


Times = Dict[str, Dict[str, List[Tuple[float, float]]]]

INLINE = "raw, converting inline"
"""The extra SQLite baseline: raw tuples made inside the timing (no goal)."""


def _run_pairs(repeats: int, fresh: Callable[[int], Pair], before_each: Callable[[], None]) -> Times:
    """For each repetition: fresh tables, then insert (version 0) and update (version 1)
    on each side, the order of the sides reversed every other repetition; ``check``
    compares the tables."""
    times: Times = {"insert": {}, "update": {}}
    for rep in range(repeats):
        sides, check, cleanup = fresh(rep)
        order = list(sides) if rep % 2 == 0 else list(reversed(sides))
        try:
            for case, version in (("insert", 0), ("update", 1)):
                for side in order:
                    before_each()
                    times[case].setdefault(side, []).append(timed(functools.partial(sides[side], version)))
            check()
        finally:
            cleanup()
    return times


WARM_UP_ROWS = 2000


def _warm_up(pair: Callable[..., Any]) -> None:
    """An untimed small insert and update on each side (imports, caches, pools), checked."""
    sides, check, cleanup = pair("warmup", Dataset(WARM_UP_ROWS))
    try:
        for version in (0, 1):
            for side in sides.values():
                side(version)
        check()
    finally:
        cleanup()


def _results(backend: str, rows: int, times: Times) -> List[Result]:
    out = []
    for case, t in times.items():
        for baseline in [side for side in t if side != "storekit"]:
            out.append(
                Result(
                    "upsert",
                    backend,
                    case if baseline == "raw" else f"{case} vs {baseline}",
                    rows,
                    [wall for wall, _ in t[baseline]],
                    [wall for wall, _ in t["storekit"]],
                    [cpu for _, cpu in t[baseline]],
                    [cpu for _, cpu in t["storekit"]],
                    goal=GOAL if baseline == "raw" else None,
                )
            )
    return out


# -- PostgreSQL ------------------------------------------------------------------------


def _pg_connect_args(url: str, **extra: Any) -> Tuple[Any, Dict[str, Any]]:
    """psycopg2.connect arguments for a URL, as SQLAlchemy (and so storekit) derives them."""
    u = sa.engine.make_url(url).set(drivername="postgresql+psycopg2").difference_update_query(["schema"])
    cargs, cparams = sa.create_engine(u).dialect.create_connect_args(u)
    params = dict(cparams, **extra)
    return cargs, params


def _pg_connect(url: str, schema: Optional[str] = None) -> Any:
    import psycopg2

    options = "-c timezone=UTC" + (f" -c search_path={schema}" if schema else "")
    cargs, cparams = _pg_connect_args(url, connect_timeout=5, options=options, application_name="storekit-bench")
    return psycopg2.connect(*cargs, **cparams)


def pg_unreachable_reason(url: str) -> str:
    try:
        _pg_connect(url).close()
        return ""
    except Exception as exc:  # any failure means: cannot run the PostgreSQL benchmark
        shown = sa.engine.make_url(url).render_as_string(hide_password=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {shown} is unreachable: {first}"


def pg_store_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def _pg_table_shape(cur: Any, schema: str) -> List[Tuple[Any, ...]]:
    cur.execute(
        "SELECT ordinal_position, column_name, data_type, collation_name, is_nullable"
        " FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position",
        (schema, TABLE),
    )
    shape = list(cur.fetchall())
    cur.execute(
        "SELECT indexname, replace(indexdef, %s, '') FROM pg_indexes"
        " WHERE schemaname = %s AND tablename = %s ORDER BY indexdef LIKE '%%UNIQUE%%', indexname",
        (f"{schema}.", schema, TABLE),
    )
    # the primary key's index is named after the table by both; compare definitions only
    shape += [("index", d.replace(n, "<name>")) for n, d in cur.fetchall()]
    return shape


class PostgreSQLUpsert:
    def __init__(self, data: Dataset, repeats: int, url: Optional[str] = None) -> None:
        self.data = data
        self.repeats = repeats
        self.url = url or pg_base_url()
        self.tag = f"skbench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.schemas: List[str] = []
        self.admin: Any = None
        self.can_checkpoint = True
        self.server_version = ""

    def _schema(self, name: str) -> str:
        schema = f"{self.tag}_{name}"
        self.schemas.append(schema)
        return schema

    def _drop(self, schema: str) -> None:
        with self.admin.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if schema in self.schemas:
            self.schemas.remove(schema)

    def _checkpoint(self) -> None:
        if not self.can_checkpoint:
            return
        try:
            with self.admin.cursor() as cur:
                cur.execute("CHECKPOINT")
        except Exception:  # needs superuser or pg_checkpoint: then run without
            self.can_checkpoint = False

    def _raw_side(self, schema: str, data: Dataset) -> Tuple[Any, Callable[[int], None]]:
        from psycopg2.extras import execute_values

        with self.admin.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{schema}"')
            cur.execute(f'SET search_path = "{schema}"')
            for stmt in PG_DDL:
                cur.execute(stmt)
            cur.execute(f"ALTER TABLE {TABLE} SET (autovacuum_enabled = false)")
            cur.execute("RESET search_path")
        conn = _pg_connect(self.url, schema)
        rows = data.pg

        def upsert(version: int) -> None:
            with conn.cursor() as cur:
                execute_values(cur, PG_UPSERT, rows[version], page_size=PG_PAGE_SIZE)
            conn.commit()

        return conn, upsert

    def _storekit_side(self, schema: str, data: Dataset) -> Tuple[Any, Callable[[int], None]]:
        from storekit import open_store
        from storekit.records.learning import ScreeningHistory

        store = open_store(pg_store_url(self.url, schema), record_types=[ScreeningHistory])
        with self.admin.cursor() as cur:
            cur.execute(f'ALTER TABLE "{schema}".{TABLE} SET (autovacuum_enabled = false)')
        records = data.records

        def upsert(version: int) -> None:
            store.put_many(records[version])

        return store, upsert

    def _pair(self, name: str, data: Dataset) -> Pair:
        raw_schema, sk_schema = self._schema(f"{name}_raw"), self._schema(f"{name}_sk")
        raw_conn, raw_upsert = self._raw_side(raw_schema, data)
        store, sk_upsert = self._storekit_side(sk_schema, data)

        def check() -> None:
            with self.admin.cursor() as cur:
                if _pg_table_shape(cur, raw_schema) != _pg_table_shape(cur, sk_schema):
                    raise AssertionError("the raw and storekit tables differ in shape")
                for a, b in ((raw_schema, sk_schema), (sk_schema, raw_schema)):
                    cur.execute(
                        f'SELECT count(*) FROM (SELECT * FROM "{a}".{TABLE} EXCEPT ALL SELECT * FROM "{b}".{TABLE}) d'
                    )
                    (diff,) = cur.fetchone()
                    if diff:
                        raise AssertionError(f"{diff} rows of {a} are not in {b}")
                cur.execute(f'SELECT count(*) FROM "{sk_schema}".{TABLE}')
                if cur.fetchone()[0] != data.rows:
                    raise AssertionError("storekit's table does not hold every row")

        def cleanup() -> None:
            raw_conn.close()
            store.close()
            self._drop(raw_schema)
            self._drop(sk_schema)

        return {"raw": raw_upsert, "storekit": sk_upsert}, check, cleanup

    def run(self) -> List[Result]:
        reason = pg_unreachable_reason(self.url)
        if reason:
            raise Unavailable(reason)
        self.admin = _pg_connect(self.url)
        self.admin.autocommit = True
        try:
            self.server_version = self.admin.server_version
            _warm_up(self._pair)
            times = _run_pairs(self.repeats, lambda rep: self._pair(f"r{rep}", self.data), self._checkpoint)
            return _results("postgresql", self.data.rows, times)
        finally:
            for schema in list(self.schemas):
                self._drop(schema)
            self.admin.close()


# -- SQLite ----------------------------------------------------------------------------


def _sqlite_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


def _sqlite_shape(conn: sqlite3.Connection, schema: str) -> List[Tuple[Any, ...]]:
    shape = [tuple(r) for r in conn.execute(f"PRAGMA {schema}.table_info({TABLE})")]
    for _, name, unique, origin, _partial in conn.execute(f"PRAGMA {schema}.index_list({TABLE})"):
        cols = [r[2] for r in conn.execute(f"PRAGMA {schema}.index_info('{name}')")]
        shape.append(("index", unique, origin, tuple(cols)))
    return sorted(shape, key=repr)


class SQLiteUpsert:
    def __init__(self, data: Dataset, repeats: int) -> None:
        self.data = data
        self.repeats = repeats
        self.tmp = ""

    def _pair(self, name: str, data: Dataset) -> Pair:
        from storekit import open_store
        from storekit.records.learning import ScreeningHistory

        raw_path = os.path.join(self.tmp, f"{name}-raw.db")
        inline_path = os.path.join(self.tmp, f"{name}-inline.db")
        sk_path = os.path.join(self.tmp, f"{name}-storekit.db")
        conn, inline_conn = _sqlite_connect(raw_path), _sqlite_connect(inline_path)
        for stmt in SQLITE_DDL:
            conn.execute(stmt)
            inline_conn.execute(stmt)
        store = open_store(f"sqlite:///{sk_path}", record_types=[ScreeningHistory])
        rows, records, values = data.sqlite, data.records, data.values

        def upsert(connection: sqlite3.Connection, version_rows: List[Tuple[Any, ...]]) -> None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(SQLITE_UPSERT, version_rows)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

        def raw(version: int) -> None:
            upsert(conn, rows[version])

        def inline(version: int) -> None:
            upsert(inline_conn, _data.sqlite_tuples(values[version]))

        def storekit(version: int) -> None:
            store.put_many(records[version])

        def check() -> None:
            for baseline in (conn, inline_conn):
                baseline.execute("ATTACH DATABASE ? AS sk", (sk_path,))
                try:
                    if _sqlite_shape(baseline, "main") != _sqlite_shape(baseline, "sk"):
                        raise AssertionError("the raw and storekit tables differ in shape")
                    cols = ", ".join(f"{c}, typeof({c})" for c in _data.COLUMNS)
                    for a, b in (("main", "sk"), ("sk", "main")):
                        except_ = f"SELECT {cols} FROM {a}.{TABLE} EXCEPT SELECT {cols} FROM {b}.{TABLE}"
                        (diff,) = baseline.execute(f"SELECT count(*) FROM ({except_})").fetchone()
                        if diff:
                            raise AssertionError(f"{diff} rows of {a} are not in {b}")
                    (count,) = baseline.execute(f"SELECT count(*) FROM sk.{TABLE}").fetchone()
                    if count != data.rows:
                        raise AssertionError("storekit's table does not hold every row")
                finally:
                    baseline.execute("DETACH DATABASE sk")

        def cleanup() -> None:
            conn.close()
            inline_conn.close()
            store.close()
            for path in (raw_path, inline_path, sk_path):
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)

        return {"raw": raw, "storekit": storekit, INLINE: inline}, check, cleanup

    def run(self) -> List[Result]:
        self.tmp = tempfile.mkdtemp(prefix="storekit-bench-")
        try:
            _warm_up(self._pair)
            times = _run_pairs(self.repeats, lambda rep: self._pair(f"r{rep}", self.data), lambda: None)
            return _results("sqlite", self.data.rows, times)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
