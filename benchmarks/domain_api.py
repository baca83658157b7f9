"""Issue 5, item 8: ``store.api_call_tracker.get_api_statistics`` over N api calls against
the legacy way, on the same data.

Set-up (not timed): :func:`storekit.legacy.generate.write_api_calls` writes an N-row
legacy ``api_tracking.db`` (six KIS endpoints, calls spread over a few hours), and
``storekit migrate`` loads it into a fresh SQLite file and a fresh PostgreSQL schema
(and ends with the backend's ``analyze``: ``ANALYZE`` on SQLite, ``VACUUM ANALYZE`` on
PostgreSQL, so the planner knows the table and index-only scans skip it).

Timed, for every endpoint of the file, over the 24 hours ending at the last call (so
every row is in some endpoint's window, and all N rows are summarised):

* legacy: what APICallTracker does: ``sqlite3.connect`` the legacy file, fetch the
  endpoint's calls of the period (``SELECT * ... WHERE endpoint = ? AND timestamp >= ?
  AND timestamp <= ?``, isoformat bounds as the tracker compares them), and compute the
  statistics in Python (counts, mean, min, max, sorted nearest-rank p95, sizes, error
  types).
* storekit: ``get_api_statistics(endpoint, hours=24, now=...)`` on the store: one
  grouped statement over ``storekit_api_calls_rollup`` (schema version 4: the per-minute
  rollup the triggers of ``api_calls`` keep) for the period's whole minutes and the
  covering index ``(endpoint, timestamp) INCLUDE (...)`` for the partial minutes at its
  ends, and the p95 row read in order from ``(endpoint, response_time, id)``. The rollup
  is filled by the triggers during ``storekit migrate`` (not timed; its cost is in the
  ``migrate_api_calls`` and ``record_api_call`` benchmarks).

Both must give the same statistics (checked after the runs). ratio = legacy time /
storekit time; issue 5's goal is >= 20 on both backends.

Run with the runner: ``python -m benchmarks --only domain_api --rows 1000000 --repeat 3``.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import sqlalchemy as sa

from ._common import Result, in_ci, loud, pg_base_url, timed
from .upsert import Unavailable, pg_store_url, pg_unreachable_reason

NAME = "domain_api"
GOAL = 20.0
SEED = 5
ZONE = "Asia/Seoul"
"""The zone ``storekit migrate`` reads the legacy local timestamps in (its default)."""

Stats = Dict[str, Any]


# -- the legacy way ---------------------------------------------------------------------


def legacy_statistics(path: str, endpoint: str, start: str, end: str) -> Optional[Stats]:
    """APICallTracker.get_api_statistics: fetch the period's calls, compute in Python."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            # no ORDER BY: the cheapest fetch is the fairest baseline
            "SELECT * FROM api_calls WHERE endpoint = ? AND timestamp >= ? AND timestamp <= ?",
            (endpoint, start, end),
        ).fetchall()
    finally:
        conn.close()
    if not rows:
        return None
    # columns: id, timestamp, endpoint, method, response_time, request_size, response_size,
    # status_code, success, error_message, user_agent, ip_address, session_id
    times = [r[4] for r in rows]
    successful = sum(1 for r in rows if r[8])
    total = len(rows)
    request_size = sum(r[5] or 0 for r in rows)
    response_size = sum(r[6] or 0 for r in rows)
    ordered = sorted(times)
    errors = collections.Counter(r[9] for r in rows if not r[8] and r[9])
    return {
        "total_calls": total,
        "successful_calls": successful,
        "failed_calls": total - successful,
        "error_rate": (total - successful) / total * 100,
        "avg_response_time": sum(times) / total,
        "min_response_time": ordered[0],
        "max_response_time": ordered[-1],
        "p95_response_time": ordered[int(0.95 * total)],
        "total_request_size": request_size,
        "total_response_size": response_size,
        "avg_request_size": request_size / total,
        "avg_response_size": response_size / total,
        "error_types": dict(errors),
    }


def _same(legacy: Optional[Stats], got: Any) -> bool:
    if legacy is None or got is None:
        return legacy is None and got is None
    for name, value in legacy.items():
        mine = getattr(got, name)
        if isinstance(value, float) and not math.isclose(mine, value, rel_tol=1e-9, abs_tol=1e-9):
            return False
        if not isinstance(value, float) and mine != value:
            return False
    return True


# -- set-up -----------------------------------------------------------------------------


def _period(path: str) -> Tuple[List[str], str, str, dt.datetime]:
    """The endpoints, the legacy isoformat bounds of the 24 h ending at the last call,
    and that end as an aware datetime."""
    conn = sqlite3.connect(path)
    try:
        endpoints = [r[0] for r in conn.execute("SELECT DISTINCT endpoint FROM api_calls ORDER BY endpoint")]
        last = conn.execute("SELECT max(timestamp) FROM api_calls").fetchone()[0]
    finally:
        conn.close()
    from zoneinfo import ZoneInfo

    end = dt.datetime.fromisoformat(last) + dt.timedelta(seconds=1)
    start = end - dt.timedelta(hours=24)
    return endpoints, start.isoformat(), end.isoformat(), end.replace(tzinfo=ZoneInfo(ZONE))


def _migrate(legacy_dir: Path, url: str) -> None:
    code = "import sys; from storekit.cli import main; sys.argv[0] = 'storekit'; main()"
    cmd = [sys.executable, "-c", code, "migrate", str(legacy_dir), "--to", url, "--json"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        raise RuntimeError(f"storekit migrate failed ({run.returncode}): {run.stderr[-2000:]}")


def _measure(backend: str, url: str, legacy_path: str, rows: int, repeats: int, meta: Dict[str, Any]) -> Result:
    from storekit import open_store

    endpoints, start, end, now = _period(legacy_path)
    with open_store(url) as store:
        tracker = store.api_call_tracker

        def legacy_all() -> List[Optional[Stats]]:
            return [legacy_statistics(legacy_path, e, start, end) for e in endpoints]

        def storekit_all() -> List[Any]:
            return [tracker.get_api_statistics(e, hours=24, now=now) for e in endpoints]

        raw: List[float] = []
        mine: List[float] = []
        raw_cpu: List[float] = []
        mine_cpu: List[float] = []
        steps: List[Tuple[List[float], List[float], Callable[[], Any]]] = [
            (raw, raw_cpu, legacy_all),
            (mine, mine_cpu, storekit_all),
        ]
        storekit_all()  # warm both caches once (the legacy file's pages, the store's)
        legacy_all()
        for i in range(repeats):
            for runs, cpu, fn in steps if i % 2 == 0 else steps[::-1]:
                wall, used = timed(fn)
                runs.append(wall)
                cpu.append(used)
        expected, got = legacy_all(), storekit_all()
        if not all(_same(e, g) for e, g in zip(expected, got)):
            raise AssertionError(f"{backend}: storekit statistics differ from the legacy computation")
        meta[f"{NAME}_{backend}_endpoints"] = len(endpoints)
        meta[f"{NAME}_{backend}_calls_summarised"] = sum(s["total_calls"] for s in expected if s)
    return Result(NAME, backend, "get_api_statistics", rows, raw, mine, raw_cpu, mine_cpu, goal=GOAL)


def run(
    rows: int, repeats: int, meta: Dict[str, Any], backends: Tuple[str, ...] = ("sqlite", "postgresql")
) -> List[Result]:
    from storekit.legacy.generate import write_api_calls

    work = Path(tempfile.mkdtemp(prefix="sk-domain-api-"))
    results: List[Result] = []
    try:
        legacy_dir = work / "legacy"
        print(f"  writing a {rows:,}-row legacy api_tracking.db (not timed) ...", flush=True)
        legacy_path = str(write_api_calls(legacy_dir / "api_tracking.db", rows, SEED))
        if "sqlite" in backends:
            url = f"sqlite:///{work / 'store.db'}"
            print("  storekit migrate into SQLite (not timed) ...", flush=True)
            _migrate(legacy_dir, url)
            results.append(_measure("sqlite", url, legacy_path, rows, repeats, meta))
        if "postgresql" in backends:
            reason = pg_unreachable_reason(pg_base_url())
            if reason and (in_ci() or not results):
                raise Unavailable(reason)
            if reason:  # keep the SQLite result; say loudly what is missing
                loud(f"SKIPPED {NAME} on PostgreSQL: {reason}")
                return results
            schema = f"sk_bench_api_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            url = pg_store_url(pg_base_url(), schema)
            try:
                print("  storekit migrate into PostgreSQL (not timed) ...", flush=True)
                _migrate(legacy_dir, url)  # which ends with VACUUM ANALYZE (storekit's analyze)
                results.append(_measure("postgresql", url, legacy_path, rows, repeats, meta))
            finally:
                engine = sa.create_engine(sa.engine.make_url(pg_base_url()).set(drivername="postgresql+psycopg2"))
                with engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _domain_api(ctx: Any) -> List[Result]:
    return run(ctx.rows, ctx.repeats, ctx.meta)


BENCHMARKS = {"domain_api": _domain_api}
