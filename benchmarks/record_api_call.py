"""Issue 6, item 5: sustained API-call recording through write-behind, on PostgreSQL and
SQLite, against the raw limit and against the legacy tracker's pattern, in one run.

Every case writes the same N ``ApiCall`` rows (deterministic, built before timing) into a
fresh table, and is timed from the first call until every row is durable:

* ``write-behind``: ``store.write_behind().submit(record)`` per pre-built record (the
  queue's default settings), then ``flush()``.
* ``record_api_call``: ``store.api_call_tracker.record_api_call(...)`` per call with
  the same values (the record is built inside the call, as the application's calls do),
  then the store's queue is flushed; on PostgreSQL also through a store opened with a
  SQLite fallback (``fallback store``), as the application runs it.
* Raw limits, on an identical table (storekit's DDL, made by storekit in its own schema or
  file): PostgreSQL ``COPY ... FROM STDIN`` of the rows (the COPY text built in the timed
  part from driver-ready tuples) and psycopg2 ``execute_values`` (page 1000) in one
  transaction; SQLite ``executemany`` in one ``BEGIN IMMEDIATE`` transaction, tuples
  already in SQLite's storage format, the plugin's pragmas, and the same tuples as
  multi-row ``INSERT`` statements as large as storekit's largest (``MAX_PARAMETERS``
  values: 2,520 rows; ``executemany`` of the flattened groups, the rest row by row) in
  one transaction: about what storekit sends (it sends the rest in power-of-two
  statements), and far cheaper than one
  statement per row once ``api_calls`` has a row trigger (schema version 4's rollup):
  SQLite opens a statement journal for every statement.
* Legacy: ``APICallTracker``'s pattern, a new ``threading.Thread`` per call running
  ``sqlite3.connect`` + ``INSERT`` + ``commit`` on ``api_tracking.db`` (legacy DDL). It is
  run on min(N, 2000) calls and its time scaled to N (it manages a few hundred calls a
  second); writes it lost (``database is locked``) are counted in the JSON meta.

``ratio = baseline time / storekit time``: against a raw limit the goal is 0.5, against
the legacy pattern 1.0. The caller's latency per call (``perf_counter_ns`` around each
call) is in the meta: p50, p99 and max in microseconds, with issue 6's goal p99 <= 50 us.

Run: ``python -m benchmarks --only record_api_call`` (``nox -s bench`` runs all).
"""

from __future__ import annotations

import array
import datetime as dt
import io
import itertools
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Sequence, Tuple

import sqlalchemy as sa

from ._common import Result, pg_base_url
from .upsert import SQLITE_PRAGMAS, Unavailable, _pg_connect, pg_store_url, pg_unreachable_reason

NAME = "record_api_call"
RAW_GOAL = 0.5
LEGACY_GOAL = 1.0
LATENCY_GOAL_US = 50.0
LEGACY_MAX_CALLS = 2000

ENDPOINTS = [f"/uapi/domestic-stock/v1/{p}" for p in ("quotations/inquire-price", "trading/order-cash", "balance")]


def _calls(n: int) -> List[Any]:
    from storekit.records import ApiCall

    rng = random.Random(6)
    start = dt.datetime(2026, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    out = []
    for i in range(n):
        ok = rng.random() > 0.03
        out.append(
            ApiCall(
                id=1_000_000_000 + i,
                timestamp=start + dt.timedelta(milliseconds=37 * i),
                endpoint=ENDPOINTS[i % len(ENDPOINTS)],
                method="GET" if i % 4 else "POST",
                response_time=round(rng.uniform(5, 400), 3),
                request_size=rng.randrange(100, 2000),
                response_size=rng.randrange(200, 20000),
                status_code=200 if ok else 500,
                success=ok,
                error_message=None if ok else "HTTP 500",
            )
        )
    return out


def _columns() -> Tuple[str, ...]:
    from storekit.records import ApiCall, spec_of

    return spec_of(ApiCall).field_names


def _tuples(calls: Sequence[Any]) -> List[Tuple[Any, ...]]:
    cols = _columns()
    return [tuple(getattr(c, name) for name in cols) for c in calls]


def _sqlite_tuples(calls: Sequence[Any]) -> List[Tuple[Any, ...]]:
    out = []
    for t in _tuples(calls):
        row = list(t)
        row[1] = row[1].astimezone(dt.timezone.utc).isoformat("T", "microseconds")
        out.append(tuple(row))
    return out


def _copy_text(rows: Sequence[Tuple[Any, ...]]) -> io.StringIO:
    def field(v: Any) -> str:
        if v is None:
            return "\\N"
        if v is True:
            return "t"
        if v is False:
            return "f"
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, dt.datetime):
            return v.isoformat()
        return str(v)

    return io.StringIO("".join("\t".join(map(field, r)) + "\n" for r in rows))


def _percentiles(latencies: array.array[int]) -> Dict[str, float]:
    ordered = sorted(latencies)
    n = len(ordered)
    return {
        "p50_us": ordered[n // 2] / 1000,
        "p99_us": ordered[min(n - 1, int(0.99 * n))] / 1000,
        "max_us": ordered[-1] / 1000,
        "calls": n,
    }


# -- the storekit sides ------------------------------------------------------------------------


def _write_behind(store: Any, calls: Sequence[Any]) -> Tuple[float, array.array[int]]:
    queue = store.write_behind()
    submit = queue.submit
    clock = time.perf_counter_ns
    latencies = array.array("q")
    keep = latencies.append
    start = time.perf_counter()
    for c in calls:
        t = clock()
        submit(c)
        keep(clock() - t)
    queue.flush(timeout=None)
    return time.perf_counter() - start, latencies


def _record_api_call(store: Any, calls: Sequence[Any]) -> Tuple[float, array.array[int]]:
    record = store.api_call_tracker.record_api_call
    args = [
        (
            c.endpoint,
            c.method,
            c.response_time,
            c.request_size,
            c.response_size,
            c.status_code,
            c.success,
            c.error_message,
        )
        for c in calls
    ]
    clock = time.perf_counter_ns
    latencies = array.array("q")
    keep = latencies.append
    start = time.perf_counter()
    for a in args:
        t = clock()
        record(*a)
        keep(clock() - t)
    store.write_behind().flush(timeout=None)
    return time.perf_counter() - start, latencies


def _legacy(directory: str, calls: Sequence[Any]) -> Tuple[float, array.array[int], int]:
    """The legacy tracker's write: a thread per call, each connecting and inserting."""
    from storekit.legacy import legacy_file

    path = os.path.join(directory, "api_tracking.db")
    conn = sqlite3.connect(path)
    for statement in legacy_file("api_tracking.db").table("api_calls").create_statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    sql = (
        "INSERT INTO api_calls (timestamp, endpoint, method, response_time, request_size, response_size, "
        "status_code, success, error_message, user_agent, ip_address, session_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    lost = [0]

    def insert(row: Tuple[Any, ...]) -> None:
        try:
            c = sqlite3.connect(path)
            c.execute(sql, row)
            c.commit()
            c.close()
        except sqlite3.Error:  # the legacy tracker logs and drops it
            lost[0] += 1

    rows = [
        (
            c.timestamp.isoformat(),
            c.endpoint,
            c.method,
            c.response_time,
            c.request_size,
            c.response_size,
            c.status_code,
            int(bool(c.success)),
            c.error_message,
            None,
            None,
            None,
        )
        for c in calls
    ]
    clock = time.perf_counter_ns
    latencies = array.array("q")
    threads = []
    start = time.perf_counter()
    for row in rows:
        t = clock()
        thread = threading.Thread(target=insert, args=(row,), daemon=True)
        thread.start()
        latencies.append(clock() - t)
        threads.append(thread)
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, latencies, lost[0]


# -- one backend ----------------------------------------------------------------------------------


class _Backend:
    """Fresh targets per repetition, and the raw sides of one backend."""

    name = ""

    def store_url(self) -> str:
        raise NotImplementedError

    def raw_cases(self) -> Dict[str, Callable[[List[Any]], float]]:
        raise NotImplementedError

    def cleanup(self) -> None:
        pass


class _PostgreSQL(_Backend):
    name = "postgresql"

    def __init__(self) -> None:
        self.base = pg_base_url()
        self.schemas: List[str] = []
        self.sample: List[Any] = []
        """Records spanning the benchmark's timestamps (set before the raw cases run)."""

    def _schema(self) -> str:
        schema = f"bench_api_{uuid.uuid4().hex[:10]}"
        self.schemas.append(schema)
        return schema

    def store_url(self) -> str:
        return pg_store_url(self.base, self._schema())

    def _raw_table(self) -> str:
        from storekit import Eq, open_store
        from storekit.records import ApiCall

        schema = self._schema()
        with open_store(pg_store_url(self.base, schema), fallback=None, record_types=[ApiCall]) as store:
            # api_calls is partitioned by month here: writing (then deleting) the first and
            # the last call makes storekit create the partitions the raw COPY needs
            for c in self.sample:
                store.append([c])
                store.delete(ApiCall, Eq("id", c.id))
        return schema

    def raw_cases(self) -> Dict[str, Callable[[List[Any]], float]]:
        cols = ", ".join(_columns())

        def copy(rows: List[Any]) -> float:
            conn = _pg_connect(self.base, self._raw_table())
            try:
                start = time.perf_counter()
                with conn, conn.cursor() as cur:
                    cur.copy_expert(f"COPY api_calls ({cols}) FROM STDIN", _copy_text(rows), size=1 << 20)
                return time.perf_counter() - start
            finally:
                conn.close()

        def execute_values(rows: List[Any]) -> float:
            from psycopg2.extras import execute_values as ev

            conn = _pg_connect(self.base, self._raw_table())
            try:
                start = time.perf_counter()
                with conn, conn.cursor() as cur:
                    ev(cur, f"INSERT INTO api_calls ({cols}) VALUES %s", rows, page_size=1000)
                return time.perf_counter() - start
            finally:
                conn.close()

        return {"COPY": copy, "execute_values, one transaction": execute_values}

    def cleanup(self) -> None:
        engine = sa.create_engine(
            sa.engine.make_url(self.base).set(drivername="postgresql+psycopg2").difference_update_query(["schema"])
        )
        with engine.begin() as conn:
            for schema in self.schemas:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


class _SQLite(_Backend):
    name = "sqlite"

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="bench-api-")

    def _file(self) -> str:
        return os.path.join(self.dir, f"{uuid.uuid4().hex[:8]}.db")

    def store_url(self) -> str:
        return f"sqlite:///{self._file()}"

    def raw_cases(self) -> Dict[str, Callable[[List[Any]], float]]:
        import storekit_sqlite

        from storekit import open_store
        from storekit.records import ApiCall

        # the multi-row raw limit: statements as large as storekit's largest
        per = storekit_sqlite.MAX_PARAMETERS // len(_columns())
        one = "(" + ", ".join("?" for _ in _columns()) + ")"
        head = f"INSERT INTO api_calls ({', '.join(_columns())}) VALUES "
        sql, group_sql = head + one, head + ", ".join([one] * per)

        def timed_insert(write: Callable[[sqlite3.Connection], object]) -> float:
            path = self._file()
            open_store(f"sqlite:///{path}", fallback=None, record_types=[ApiCall]).close()
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                for pragma in SQLITE_PRAGMAS:
                    conn.execute(pragma)
                start = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                write(conn)
                conn.execute("COMMIT")
                return time.perf_counter() - start
            finally:
                conn.close()

        def executemany(rows: List[Any]) -> float:
            return timed_insert(lambda conn: conn.executemany(sql, rows))

        def multi_row(rows: List[Any]) -> float:
            def write(conn: sqlite3.Connection) -> None:
                whole = len(rows) - len(rows) % per
                flat = itertools.chain.from_iterable
                conn.executemany(group_sql, [tuple(flat(rows[i : i + per])) for i in range(0, whole, per)])
                conn.executemany(sql, rows[whole:])

            return timed_insert(write)

        return {
            "executemany, one transaction": executemany,
            f"{per}-row INSERTs, one transaction": multi_row,
        }

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _run(backend: _Backend, rows: int, repeats: int, meta: Dict[str, Any]) -> List[Result]:
    from storekit import open_store

    calls = _calls(rows)
    if isinstance(backend, _PostgreSQL):
        backend.sample = [calls[0], calls[-1]]
    raw_rows = _tuples(calls) if backend.name == "postgresql" else _sqlite_tuples(calls)
    raw = backend.raw_cases()
    raw_times: Dict[str, List[float]] = {case: [] for case in raw}
    sides: Dict[str, Callable[[Any, Sequence[Any]], Tuple[float, array.array[int]]]] = {
        "write-behind": _write_behind,
        "record_api_call": _record_api_call,
    }
    if backend.name == "postgresql":  # as the application runs it: with a SQLite fallback behind
        sides["record_api_call, fallback store"] = _record_api_call
    times: Dict[str, List[float]] = {side: [] for side in sides}
    latency: Dict[str, List[Dict[str, float]]] = {side: [] for side in sides}
    legacy_times: List[float] = []
    legacy_latency: List[Dict[str, float]] = []
    legacy_lost: List[int] = []
    legacy_n = min(rows, LEGACY_MAX_CALLS)
    scratch: List[str] = []
    try:
        for fn in raw.values():  # warm-up (imports, pools), untimed
            fn(raw_rows[:1000])
        for _ in range(repeats):
            for case, fn in raw.items():
                raw_times[case].append(fn(raw_rows))
            for side, fn_side in sides.items():
                fallback = None
                if "fallback" in side:
                    scratch.append(tempfile.mkdtemp(prefix="bench-fb-"))
                    fallback = f"sqlite:///{os.path.join(scratch[-1], 'fallback.db')}"
                with open_store(backend.store_url(), fallback=fallback) as store:
                    elapsed, lat = fn_side(store, calls)
                    assert store.count(type(calls[0])) == rows, f"{side}: not every call was written"
                times[side].append(elapsed)
                latency[side].append(_percentiles(lat))
            directory = tempfile.mkdtemp(prefix="bench-legacy-")
            try:
                elapsed, lat, lost = _legacy(directory, calls[:legacy_n])
            finally:
                shutil.rmtree(directory, ignore_errors=True)
            legacy_times.append(elapsed * rows / legacy_n)
            legacy_latency.append(_percentiles(lat))
            legacy_lost.append(lost)
    finally:
        backend.cleanup()
        for directory in scratch:
            shutil.rmtree(directory, ignore_errors=True)
    results = []
    for side in sides:
        for case, runs in raw_times.items():
            results.append(Result(NAME, backend.name, f"{side} vs {case}", rows, runs, times[side], goal=RAW_GOAL))
        results.append(
            Result(
                NAME,
                backend.name,
                f"{side} vs legacy thread per call",
                rows,
                legacy_times,
                times[side],
                goal=LEGACY_GOAL,
            )
        )
    meta[f"{NAME}_{backend.name}"] = {
        "caller_latency_us": {
            side: {k: statistics.median(run[k] for run in runs) for k in ("p50_us", "p99_us", "max_us")}
            for side, runs in {**latency, "legacy thread per call": legacy_latency}.items()
        },
        "latency_goal_p99_us": LATENCY_GOAL_US,
        "legacy_calls_per_run": legacy_n,
        "legacy_lost_writes_per_run": legacy_lost,
        "calls_per_s": {side: rows / statistics.median(runs) for side, runs in times.items()},
    }
    print(
        f"  {backend.name} legacy thread per call: {sum(legacy_lost)} of {legacy_n * len(legacy_lost)} calls lost "
        "(sqlite3 errors such as 'database is locked')",
        flush=True,
    )
    for side, stats in meta[f"{NAME}_{backend.name}"]["caller_latency_us"].items():
        verdict = "ok" if stats["p99_us"] <= LATENCY_GOAL_US else f"ABOVE {LATENCY_GOAL_US:g}"
        print(
            f"  {backend.name} {side}: caller latency p50 {stats['p50_us']:.1f} us, p99 {stats['p99_us']:.1f} us "
            f"({verdict if side != 'legacy thread per call' else 'baseline'}), max {stats['max_us']:.0f} us",
            flush=True,
        )
    return results


def _postgresql(ctx: Any) -> List[Result]:
    reason = pg_unreachable_reason(pg_base_url())
    if reason:
        raise Unavailable(reason)
    return _run(_PostgreSQL(), ctx.rows, ctx.repeats, ctx.meta)


def _sqlite(ctx: Any) -> List[Result]:
    return _run(_SQLite(), ctx.rows, ctx.repeats, ctx.meta)


BENCHMARKS: Dict[str, Callable[[Any], List[Result]]] = {
    "record_api_call_postgresql": _postgresql,
    "record_api_call_sqlite": _sqlite,
}
