"""Issue 7, item 7: ``api_calls`` range-partitioned by month on PostgreSQL against the
same table unpartitioned, both made by storekit from the same declaration (the
unpartitioned one by a backend whose facts say ``partitions = False``), with the same rows.

Set-up (not timed): N calls over twelve months of 2025 (six endpoints, 5 % failures of
three kinds, response times 1-500 ms) made by ``generate_series`` straight into the
unpartitioned table, copied with ``INSERT ... SELECT`` into the partitioned one (its
monthly partitions created by storekit's own ``ensure_partitions``), indexes built after
the load, then ``VACUUM ANALYZE`` (storekit's ``analyze``).

Timed (raw = unpartitioned, storekit = partitioned; ratio > 1: partitioned is faster):

* ``get_api_statistics``: every endpoint over the 24 hours before the last call, the
  application's call (median of ``--repeat`` runs).
* ``get_api_statistics_30d``: every endpoint over the last 30 days.
* ``cleanup_old``: ``store.api_call_tracker.cleanup_old`` with the cutoff a month later
  each run (run ``i`` removes month ``i``: about N/12 rows); DELETE on one side, one
  partition dropped on the other.
* ``vacuum_analyze_after_cleanup``: storekit's ``analyze`` (``VACUUM ANALYZE``) right
  after each cleanup: the deleted rows' second cost, which autovacuum pays later (dead
  rows removed from the table and every index); a dropped partition leaves none.

Run: ``python -m benchmarks --only partitions --rows 10000000 --repeat 3`` (the runner's
default of 100,000 rows is a smoke test; 10M is issue 7's size).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any, Callable, Dict, List, Tuple

import attrs
import sqlalchemy as sa

from ._common import Result, in_ci, loud, pg_base_url, timed
from .upsert import Unavailable, pg_store_url, pg_unreachable_reason

NAME = "partitions"
UTC = dt.timezone.utc
START = dt.datetime(2025, 1, 1, tzinfo=UTC)
END = dt.datetime(2026, 1, 1, tzinfo=UTC)

_GENERATE = """
INSERT INTO api_calls (id, "timestamp", endpoint, method, response_time, request_size, response_size,
                       status_code, success, error_message, user_agent, ip_address, session_id)
SELECT g,
       :start + (g - 1) * (:span / :n),
       (ARRAY['/oauth2/tokenP', '/quotations/inquire-price', '/quotations/inquire-daily-price',
              '/quotations/inquire-asking-price', '/trading/inquire-balance', '/trading/order-cash'])[1 + g % 6],
       CASE WHEN g % 6 = 5 THEN 'POST' ELSE 'GET' END,
       1 + 499 * random(),
       (100 + 900 * random())::bigint,
       (500 + 20000 * random())::bigint,
       CASE WHEN g % 20 = 0 THEN 500 ELSE 200 END,
       g % 20 <> 0,
       CASE WHEN g % 20 = 0 THEN (ARRAY['timeout', 'HTTP 500', 'rate limit'])[1 + g % 3] END,
       NULL, NULL, NULL
FROM generate_series(1, :n) AS g
"""


def _same(a: Any, b: Any) -> bool:
    """Equal statistics, floats up to summation order (parallel workers sum in any order)."""
    if a is None or b is None:
        return a is b
    for name in attrs.fields_dict(type(a)):
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float) and not math.isclose(x, y, rel_tol=1e-9):
            return False
        if not isinstance(x, float) and x != y:
            return False
    return True


def _months(start: dt.datetime, count: int) -> List[dt.datetime]:
    out = []
    year, month = start.year, start.month
    for _ in range(count):
        out.append(dt.datetime(year, month, 1, tzinfo=UTC))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _rebuild_indexes(conn: sa.engine.Connection, load: Callable[[], None]) -> None:
    """Run ``load`` with api_calls' secondary indexes dropped, then build them again."""
    defs = [
        r[0]
        for r in conn.execute(
            sa.text(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = to_regclass('api_calls') "
                "AND NOT indisprimary"
            )
        )
    ]
    names = [d.split(" INDEX ", 1)[1].split(" ON ", 1)[0] for d in defs]
    for name in names:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    load()
    for ddl in defs:  # a partitioned table's index is defined "ON ONLY" the parent: build all
        conn.exec_driver_sql(ddl.replace(" ON ONLY ", " ON ", 1))


def _open(url: str, partitioned: bool) -> Any:
    from storekit_postgresql import PostgreSQLFacts

    from storekit import Store
    from storekit.records import all_record_types
    from storekit.sql import SQLBackend

    facts = PostgreSQLFacts(schema=str(sa.engine.make_url(url).query["schema"]))
    facts.partitions = partitioned
    backend = SQLBackend(url, facts)
    backend.ensure_schema(all_record_types())
    return Store(backend, url=url)


def _load(unpartitioned: Any, partitioned: Any, rows: int) -> None:
    with unpartitioned.backend.transaction(), unpartitioned.backend._connection() as conn:
        params = {"start": START, "span": END - START, "n": rows}
        _rebuild_indexes(conn, lambda: conn.execute(sa.text(_GENERATE), params))
    source = str(sa.engine.make_url(unpartitioned.url).query["schema"])
    backend = partitioned.backend
    with backend.transaction(), backend._connection() as conn:
        backend.facts.ensure_partitions(conn, backend._tables[_api_call()], "timestamp", _months(START, 12))

        def copy() -> None:
            conn.exec_driver_sql(f'INSERT INTO api_calls SELECT * FROM "{source}".api_calls')

        _rebuild_indexes(conn, copy)
    for store in (unpartitioned, partitioned):
        store.backend.analyze([_api_call()])


def _api_call() -> type:
    from storekit.records import ApiCall

    return ApiCall


def _measure(unpartitioned: Any, partitioned: Any, rows: int, repeats: int, meta: Dict[str, Any]) -> List[Result]:
    endpoints = unpartitioned.api_call_tracker.get_endpoint_list()
    last = END - (END - START) / rows
    results = []
    for case, hours in (("get_api_statistics", 24.0), ("get_api_statistics_30d", 24.0 * 30)):

        def stats(store: Any, hours: float = hours) -> List[Any]:
            return [store.api_call_tracker.get_api_statistics(e, hours=hours, now=last) for e in endpoints]

        for a, b in zip(stats(unpartitioned), stats(partitioned)):  # also warms both caches
            if not _same(a, b):
                raise AssertionError(f"{NAME}: partitioned and unpartitioned statistics differ: {a} != {b}")
        runs: Tuple[List[float], List[float]] = ([], [])
        for i in range(repeats):
            order = [(unpartitioned, runs[0]), (partitioned, runs[1])]
            for store, out in order if i % 2 == 0 else order[::-1]:
                out.append(timed(lambda store=store: stats(store))[0])
        results.append(Result(NAME, "postgresql", case, rows, runs[0], runs[1], goal=None))
    deleted: Tuple[List[float], List[float]] = ([], [])
    vacuumed: Tuple[List[float], List[float]] = ([], [])
    counts: Tuple[List[int], List[int]] = ([], [])
    for cutoff in _months(START, repeats + 1)[1:]:
        days = (last - cutoff) / dt.timedelta(days=1)
        for side, store in enumerate((unpartitioned, partitioned)):

            def cleanup(store: Any = store, n: List[int] = counts[side], days: float = days) -> None:
                n.append(store.api_call_tracker.cleanup_old(days=days, now=last))

            deleted[side].append(timed(cleanup)[0])
            # what the deleted rows still cost: VACUUM (autovacuum's work) removes them
            # from the table and every index; a dropped partition left nothing behind
            vacuumed[side].append(timed(lambda store=store: store.backend.analyze([_api_call()]))[0])
    if counts[0] != counts[1]:
        raise AssertionError(f"{NAME}: cleanup_old removed {counts[0]} unpartitioned, {counts[1]} partitioned")
    meta[f"{NAME}_cleanup_rows_per_run"] = counts[1]
    results.append(Result(NAME, "postgresql", "cleanup_old", rows, deleted[0], deleted[1], goal=None))
    results.append(
        Result(NAME, "postgresql", "vacuum_analyze_after_cleanup", rows, vacuumed[0], vacuumed[1], goal=None)
    )
    return results


def run(rows: int, repeats: int, meta: Dict[str, Any]) -> List[Result]:
    reason = pg_unreachable_reason(pg_base_url())
    if reason:
        if in_ci():
            raise Unavailable(reason)
        loud(f"SKIPPED {NAME}: {reason}")
        return []
    tag = uuid.uuid4().hex[:8]
    schemas = {False: f"sk_bench_unpart_{tag}", True: f"sk_bench_part_{tag}"}
    stores = {p: _open(pg_store_url(pg_base_url(), s), p) for p, s in schemas.items()}
    try:
        print(f"  generating {rows:,} api calls, unpartitioned and partitioned (not timed) ...", flush=True)
        _load(stores[False], stores[True], rows)
        return _measure(stores[False], stores[True], rows, min(repeats, 11), meta)
    finally:
        for store in stores.values():
            store.close()
        engine = sa.create_engine(sa.engine.make_url(pg_base_url()).set(drivername="postgresql+psycopg2"))
        with engine.begin() as conn:
            for schema in schemas.values():
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def _partitions(ctx: Any) -> List[Result]:
    return run(ctx.rows, ctx.repeats, ctx.meta)


BENCHMARKS = {"partitions": _partitions}
