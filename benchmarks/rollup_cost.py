"""What the api call rollup's triggers (schema version 4) cost writes: the same SQL on
storekit's ``api_calls`` with and without them.

For each backend and each of ``--repeat`` runs, two fresh stores made by storekit (a
SQLite file; a PostgreSQL schema with the month's partition made up front), one with
its triggers dropped (the version 3 write path), alternating which goes first:

* ``insert``: one ``INSERT INTO api_calls ... SELECT`` of N generated calls (six
  endpoints, 50 calls a second, 5 % failures with three error messages), in one
  transaction: one statement, as a ``COPY`` of ``storekit migrate`` is on PostgreSQL
  (one grouped aggregate for the statement); on SQLite the row trigger fires N times.
* ``delete``: one ``DELETE`` of those N calls (PostgreSQL: row by row, not a dropped
  partition).

Not timed: the store's creation, the partition. raw = without the triggers, storekit =
with them; ratio = raw / storekit (below 1: what the rollup costs). No goal.

Run: ``python -m benchmarks --only rollup_cost --rows 1000000 --repeat 3``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from typing import Any, Callable, Dict, List, Tuple

import sqlalchemy as sa

from ._common import Result, in_ci, loud, pg_base_url, timed
from .upsert import Unavailable, pg_store_url, pg_unreachable_reason

NAME = "rollup_cost"
TRIGGERS = ("insert", "delete", "update")

_SQLITE_INSERT = (
    "INSERT INTO api_calls (id, timestamp, endpoint, method, response_time, request_size, response_size, "
    "status_code, success, error_message) "
    "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) "
    "SELECT i, strftime('%Y-%m-%dT%H:%M:%S', '2026-01-05 03:30:00', '+' || (i / 50) || ' seconds') "
    "|| '.000000+00:00', '/e' || (i % 6), 'GET', (i % 997) * 0.7, i % 100, i % 5000, 200, (i % 20) <> 0, "
    "CASE WHEN i % 20 = 0 THEN 'err' || (i % 3) END FROM g"
)
_PG_INSERT = (
    "INSERT INTO api_calls (id, timestamp, endpoint, method, response_time, request_size, response_size, "
    "status_code, success, error_message) "
    "SELECT i, timestamptz '2026-01-05 03:30:00+00' + (i / 50) * interval '1 second', "
    "'/e' || (i %% 6), 'GET', (i %% 997) * 0.7, i %% 100, i %% 5000, 200, (i %% 20) <> 0, "
    "CASE WHEN i %% 20 = 0 THEN 'err' || (i %% 3) END FROM generate_series(1, {n}) AS i"
)
_PG_MONTH = (
    "CREATE TABLE IF NOT EXISTS api_calls_p202601 PARTITION OF api_calls "
    "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00')"
)

Runs = Dict[Tuple[str, bool], List[Tuple[float, float]]]


def _sqlite_run(work: str, rows: int, with_rollup: bool, runs: Runs) -> None:
    from storekit import open_store

    path = os.path.join(work, f"{uuid.uuid4().hex}.db")
    open_store(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # the plugin's pragmas
        if not with_rollup:
            for event in TRIGGERS:
                conn.execute(f"DROP TRIGGER storekit_api_calls_rollup_{event}")

        def step(sql: str) -> Callable[[], None]:
            def run() -> None:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(sql)
                conn.execute("COMMIT")

            return run

        runs[("insert", with_rollup)].append(timed(step(_SQLITE_INSERT.format(n=rows))))
        runs[("delete", with_rollup)].append(timed(step("DELETE FROM api_calls WHERE timestamp < '2027'")))
    finally:
        conn.close()
        os.remove(path)


def _pg_run(rows: int, with_rollup: bool, runs: Runs) -> None:
    from storekit import open_store

    schema = f"sk_bench_rollup_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    open_store(pg_store_url(pg_base_url(), schema)).close()
    url = sa.engine.make_url(pg_base_url()).set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(url, connect_args={"options": f"-c search_path={schema} -c timezone=UTC"})
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(_PG_MONTH)
            if not with_rollup:
                for event in (*TRIGGERS, "truncate"):
                    conn.exec_driver_sql(f"DROP TRIGGER storekit_api_calls_rollup_{event} ON api_calls")

        def step(sql: str) -> Callable[[], None]:
            def run() -> None:
                with engine.begin() as conn:
                    conn.exec_driver_sql(sql)

            return run

        runs[("insert", with_rollup)].append(timed(step(_PG_INSERT.format(n=rows))))
        runs[("delete", with_rollup)].append(timed(step("DELETE FROM api_calls WHERE timestamp < '2026-02-01'")))
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def _results(backend: str, rows: int, runs: Runs) -> List[Result]:
    out = []
    for case in ("insert", "delete"):
        raw, mine = runs[(case, False)], runs[(case, True)]
        out.append(
            Result(
                NAME,
                backend,
                f"{case} of {rows:,} calls, without vs with the rollup triggers",
                rows,
                [w for w, _ in raw],
                [w for w, _ in mine],
                [c for _, c in raw],
                [c for _, c in mine],
                goal=None,
            )
        )
    return out


def run(rows: int, repeats: int, meta: Dict[str, Any]) -> List[Result]:
    results: List[Result] = []
    work = tempfile.mkdtemp(prefix="sk-rollup-cost-")
    try:
        runs: Runs = {(c, w): [] for c in ("insert", "delete") for w in (False, True)}
        for i in range(repeats):
            for with_rollup in (True, False) if i % 2 == 0 else (False, True):
                _sqlite_run(work, rows, with_rollup, runs)
        results += _results("sqlite", rows, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    reason = pg_unreachable_reason(pg_base_url())
    if reason and in_ci():
        raise Unavailable(reason)
    if reason:
        loud(f"SKIPPED {NAME} on PostgreSQL: {reason}")
        return results
    runs = {(c, w): [] for c in ("insert", "delete") for w in (False, True)}
    for i in range(repeats):
        for with_rollup in (True, False) if i % 2 == 0 else (False, True):
            _pg_run(rows, with_rollup, runs)
    return results + _results("postgresql", rows, runs)


def _rollup_cost(ctx: Any) -> List[Result]:
    return run(ctx.rows, ctx.repeats, ctx.meta)


BENCHMARKS = {"rollup_cost": _rollup_cost}
