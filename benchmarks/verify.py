"""Issue 4, item 1: ``storekit verify`` of an N-row legacy ``api_tracking.db`` against
PostgreSQL (goal: at least 100,000 rows per second).

The file is written by :func:`storekit.legacy.generate.write_api_calls` and migrated into
a fresh PostgreSQL schema with :func:`storekit.migrate.migrate` (neither is timed). Then,
in the same process and on the same data:

* baseline: a plain ``sqlite3`` read of every legacy row in rowid order, then a
  ``psycopg2`` server-side-cursor ``SELECT`` of the same rows from the store's
  ``api_calls`` table in id order (the bare I/O any content check needs);
* storekit: :func:`storekit.migrate.verify` of the directory (read both sides, convert
  every legacy value, compare every field, check the quarantine).

The ratio is baseline time / verify time; rows/s is printed against the 100k goal.

Run with the runner (``python -m benchmarks --only verify --rows 1000000``) or alone
(``python -m benchmarks.verify [--rows N] [--repeat K]``, default 1,000,000 rows).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from ._common import Result, loud, pg_base_url, print_table, timed
from .upsert import Unavailable, pg_store_url, pg_unreachable_reason

NAME = "verify_api_calls"
GOAL_ROWS_PER_S = 100_000
"""verify may take at most twice the bare reads of both sides."""
SEED = 1


def _baseline(api_db: Path, schema: str) -> Callable[[], None]:
    import psycopg2

    def read() -> None:
        conn = sqlite3.connect(f"{api_db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            for _ in conn.execute("SELECT rowid, * FROM api_calls ORDER BY rowid"):
                pass
        finally:
            conn.close()
        pg = psycopg2.connect(pg_base_url())
        try:
            with pg, pg.cursor() as cur:
                cur.execute(f'SET search_path TO "{schema}"')
            with pg, pg.cursor(name="bench_verify") as cur:
                cur.itersize = 5000
                cur.execute("SELECT * FROM api_calls ORDER BY id")
                for _ in cur:
                    pass
        finally:
            pg.close()

    return read


def _drop_schema(schema: str) -> None:
    import psycopg2

    conn = psycopg2.connect(pg_base_url())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        conn.close()


def run(rows: int, repeats: int, meta: Optional[Dict[str, Any]] = None) -> List[Result]:
    """Measure and return the result; :class:`Unavailable` when PostgreSQL cannot be reached."""
    from storekit.legacy.generate import write_api_calls
    from storekit.migrate import migrate, verify
    from storekit.store import open_store

    reason = pg_unreachable_reason(pg_base_url())
    if reason:
        raise Unavailable(reason)
    meta = meta if meta is not None else {}
    work = Path(tempfile.mkdtemp(prefix="sk_bench_verify_"))
    schema = f"sk_bench_verify_{uuid.uuid4().hex[:8]}"
    try:
        legacy_dir = work / "data"
        print(f"writing a {rows:,}-row legacy api_tracking.db and migrating it (not timed) ...", flush=True)
        api_db = write_api_calls(legacy_dir / "api_tracking.db", rows, seed=SEED)
        with open_store(pg_store_url(pg_base_url(), schema)) as store:
            t0 = time.perf_counter()
            migrated = migrate(legacy_dir, store)
            print(f"migrated {migrated.migrated:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
            # The timed part should see the heap of a fresh `storekit verify` process, not the
            # objects the untimed migration left behind (they make every full collection of
            # the cyclic garbage collector longer): move them out of its way.
            gc.collect()
            gc.freeze()
            baseline = _baseline(api_db, schema)
            raw: List[float] = []
            ours: List[float] = []
            raw_cpu: List[float] = []
            ours_cpu: List[float] = []
            reports: List[Any] = []
            for _ in range(repeats):
                wall, cpu = timed(baseline)
                raw.append(wall)
                raw_cpu.append(cpu)
                wall, cpu = timed(lambda: reports.append(verify(legacy_dir, store)))
                ours.append(wall)
                ours_cpu.append(cpu)
            if not all(r.ok and r.rows == rows for r in reports):
                raise SystemExit(f"{NAME}: verify did not account for every row; the measurement is void")
        result = Result(NAME, "postgresql", "verify vs sqlite3 read + psycopg2 SELECT", rows, raw, ours, goal=None)
        result.raw_cpu_runs, result.storekit_cpu_runs = raw_cpu, ours_cpu
        rate = rows / result.storekit_s
        meta[NAME] = {
            "rows_per_s": rate,
            "goal_rows_per_s": GOAL_ROWS_PER_S,
            "meets_rows_per_s_goal": rate >= GOAL_ROWS_PER_S,
        }
        line = f"{NAME}: storekit verify {rate:,.0f} rows/s on PostgreSQL (goal >= {GOAL_ROWS_PER_S:,})"
        print(line if rate >= GOAL_ROWS_PER_S else line + " -- BELOW THE GOAL", flush=True)
        return [result]
    finally:
        gc.unfreeze()
        shutil.rmtree(work, ignore_errors=True)
        _drop_schema(schema)


def _bench(ctx: Any) -> List[Result]:
    return run(ctx.rows, ctx.repeats, ctx.meta)


BENCHMARKS = {NAME: _bench}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verify", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="api_calls rows (default 1000000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (default 1)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")
    try:
        results = run(args.rows, args.repeat)
    except Unavailable as exc:
        loud(f"SKIPPED {NAME}: {exc}")
        return 1 if os.environ.get("CI", "").lower() in ("1", "true", "yes", "on") else 0
    print()
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
