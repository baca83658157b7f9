"""Issue 5, benchmark 8 (second half): ``store.data_synchronizer`` syncing 100 screening
files of 2,000 results each (200,000 rows), against the legacy way.

* baseline (``raw``): what the legacy DataSynchronizer does: one ``sqlite3`` connection to a
  ``learning_data.db`` made with the legacy DDL, ``json.load`` of each file, one
  ``INSERT OR REPLACE`` per result, one commit at the end.
* storekit: ``store.data_synchronizer.sync_files('screening')`` into a fresh SQLite file and
  a fresh PostgreSQL schema: each file validated against the schema, then written with
  ``put_many`` in one transaction together with its ``SyncedFile``.

Two cases per backend: ``first sync`` (every file new) and ``re-sync, unchanged`` (the
same files again: the legacy code parses and writes every row again, storekit finds every
file unchanged and reads none). The files are written before timing; the ratio is
baseline time / storekit time (above 1: storekit is faster). After every repetition both
databases must hold the same 200,000 keys.

``--rows`` does not apply: the size is fixed at 100 x 2,000. Run it with
``python -m benchmarks --only domain_sync`` (``--repeat K``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._common import Result, pg_base_url, timed
from .upsert import Unavailable, _pg_connect, pg_store_url, pg_unreachable_reason

FILES = 100
RESULTS_PER_FILE = 2000
FIRST_DAY = dt.date(2026, 6, 1)
TODAY = FIRST_DAY + dt.timedelta(days=FILES)
DAYS_BACK = FILES + 1
SECTORS = ["반도체", "자동차", "바이오", "금융", "화학", "건설", "IT", "유통"]
ROWS = FILES * RESULTS_PER_FILE

LEGACY_INSERT = """
    INSERT OR REPLACE INTO screening_history
    (stock_code, stock_name, sector, screening_date, overall_score,
     fundamental_score, technical_score, passed, roe, per, pbr)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def write_files(data_dir: Path, files: int, per_file: int, seed: int = 5) -> List[Path]:
    """Screening files as StockScreener writes them (LEGACY.md 7.1), one per day."""
    rng = random.Random(seed)
    universe = [f"{n:06d}" for n in rng.sample(range(1, 999999), per_file)]
    out = []
    watchlist = data_dir / "watchlist"
    watchlist.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        day = FIRST_DAY + dt.timedelta(days=i)
        results = []
        for code in universe:
            per = float("inf") if rng.random() < 0.05 else round(rng.uniform(3, 40), 2)
            results.append(
                {
                    "stock_code": code,
                    "stock_name": f"종목{code}",
                    "sector": rng.choice(SECTORS),
                    "screening_timestamp": f"{day.isoformat()}T01:28:20.5",
                    "overall_passed": rng.random() < 0.3,
                    "overall_score": round(rng.uniform(20, 95), 1),
                    "fundamental": {
                        "passed": True,
                        "score": round(rng.uniform(20, 95), 1),
                        "details": {
                            "roe": {"value": round(rng.uniform(-5, 30), 2), "criteria": 8.0, "score": 11.9},
                            "per": {"value": per},
                            "pbr": {"value": round(rng.uniform(0.3, 5), 2)},
                            "debt_ratio": {"value": round(rng.uniform(0, 200), 1)},
                        },
                    },
                    "technical": {"passed": True, "score": round(rng.uniform(20, 95), 1), "details": {"rsi": {}}},
                    "momentum": {"passed": False, "score": round(rng.uniform(20, 95), 1), "details": {}},
                }
            )
        document = {
            "timestamp": f"{day.isoformat()}T01:28:22.1",
            "version": "1.0.0",
            "total_count": len(results),
            "passed_count": sum(r["overall_passed"] for r in results),
            "results": results,
            "metadata": {"source": "stock_screener", "criteria": {}},
        }
        path = watchlist / f"screening_results_{day:%Y%m%d}_091500.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        out.append(path)
    return out


def _value(result: Dict[str, Any], key: str) -> Any:
    return result.get("fundamental", {}).get("details", {}).get(key, {}).get("value")


def legacy_sync(db_path: str, files: List[Path]) -> int:
    """The legacy DataSynchronizer._sync_screening_results_sqlite, minus its logging."""
    synced = 0
    with sqlite3.connect(db_path) as conn:
        cursor = conn.cursor()
        for path in files:
            date_str = path.name.split("_")[2]
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            for r in data.get("results", []):
                cursor.execute(
                    LEGACY_INSERT,
                    (
                        r["stock_code"],
                        r["stock_name"],
                        r.get("sector", ""),
                        date_str,
                        r.get("overall_score", 0),
                        r.get("fundamental", {}).get("score", 0),
                        r.get("technical", {}).get("score", 0),
                        r.get("overall_passed", False),
                        _value(r, "roe"),
                        _value(r, "per"),
                        _value(r, "pbr"),
                    ),
                )
                synced += 1
        conn.commit()
    return synced


def _legacy_db(path: Path) -> str:
    from storekit.legacy.schema import create_legacy_file

    create_legacy_file(path, "learning/learning_data.db")
    return str(path)


Side = Callable[[], int]


def _sides(store: Any, db: str, data_dir: Path, files: List[Path]) -> Dict[str, Side]:
    def storekit_side() -> int:
        report = store.data_synchronizer.sync_files("screening", DAYS_BACK, data_dir=data_dir, today=TODAY)
        if report.failed:
            raise AssertionError(str(report.failed[0].error))
        return int(report.rows)

    return {"raw": lambda: legacy_sync(db, files), "storekit": storekit_side}


def _run(
    backend: str,
    repeats: int,
    data_dir: Path,
    files: List[Path],
    work: Path,
    open_store_url: Callable[[str], Tuple[str, Callable[[], None]]],
) -> List[Result]:
    from storekit import open_store
    from storekit.records import ScreeningHistory, SyncedFile

    times: Dict[str, Dict[str, List[Tuple[float, float]]]] = {
        "first sync": {"raw": [], "storekit": []},
        "re-sync, unchanged": {"raw": [], "storekit": []},
    }
    for rep in range(repeats + 1):  # the first repetition warms up, untimed
        db = _legacy_db(work / f"{backend}-{rep}" / "learning" / "learning_data.db")
        url, drop = open_store_url(f"r{rep}")
        store = open_store(url, record_types=[ScreeningHistory, SyncedFile])
        try:
            sides = _sides(store, db, data_dir, files)
            order = ["raw", "storekit"] if rep % 2 == 0 else ["storekit", "raw"]
            for case in times:
                for side in order:
                    wall, cpu = timed(sides[side])
                    if rep:
                        times[case][side].append((wall, cpu))
            with sqlite3.connect(db) as conn:
                (legacy_rows,) = conn.execute("SELECT count(*) FROM screening_history").fetchone()
            if legacy_rows != ROWS or store.count(ScreeningHistory) != ROWS:
                raise AssertionError(
                    f"expected {ROWS} rows on both sides, got {legacy_rows} and {store.count(ScreeningHistory)}"
                )
        finally:
            store.close()
            drop()
    return [
        Result(
            "domain_sync",
            backend,
            case,
            ROWS,
            [w for w, _ in t["raw"]],
            [w for w, _ in t["storekit"]],
            [c for _, c in t["raw"]],
            [c for _, c in t["storekit"]],
            goal=None,  # issue 5 asks for the rows per second, without a goal
        )
        for case, t in times.items()
    ]


class _Files:
    """The input files, written once per process (not timed)."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="storekit-bench-sync-"))
        print(f"writing {FILES} screening files of {RESULTS_PER_FILE:,} results (not timed) ...", flush=True)
        self.files = write_files(self.tmp / "data", FILES, RESULTS_PER_FILE)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


_files: Optional[_Files] = None


def _inputs() -> _Files:
    global _files
    if _files is None:
        _files = _Files()
        import atexit

        atexit.register(_files.close)
    return _files


def _meta(ctx: Any) -> None:
    ctx.meta["domain_sync"] = {"files": FILES, "results_per_file": RESULTS_PER_FILE, "rows": ROWS}


def bench_sqlite(ctx: Any) -> List[Result]:
    _meta(ctx)
    inputs = _inputs()
    work = Path(tempfile.mkdtemp(prefix="storekit-bench-sync-db-"))

    def store_url(name: str) -> Tuple[str, Callable[[], None]]:
        path = work / f"store-{name}.db"
        return f"sqlite:///{path}", lambda: None

    try:
        return _run("sqlite", ctx.repeats, inputs.tmp / "data", inputs.files, work, store_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_postgresql(ctx: Any) -> List[Result]:
    base = pg_base_url()
    reason = pg_unreachable_reason(base)
    if reason:
        raise Unavailable(reason)
    _meta(ctx)
    inputs = _inputs()
    work = Path(tempfile.mkdtemp(prefix="storekit-bench-sync-db-"))
    tag = f"skbench_sync_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def store_url(name: str) -> Tuple[str, Callable[[], None]]:
        schema = f"{tag}_{name}"

        def drop() -> None:
            admin = _pg_connect(base)
            admin.autocommit = True
            try:
                with admin.cursor() as cur:
                    cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                admin.close()

        return pg_store_url(base, schema), drop

    try:
        return _run("postgresql", ctx.repeats, inputs.tmp / "data", inputs.files, work, store_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)


BENCHMARKS = {
    "domain_sync_sqlite": bench_sqlite,
    "domain_sync_postgresql": bench_postgresql,
}
