"""Issue 3, item 5: ``storekit migrate`` killed with SIGKILL at random points and run again
completes with nothing missing and nothing duplicated, on both backends.

A ``full`` legacy directory whose ``api_tracking.db`` holds 30,000 calls (several
batches) is migrated by ``storekit migrate --json`` in a subprocess that is SIGKILLed
after seeded random delays (one very early, the others spread over the run, so that
some land in the middle of ``api_calls``), then run to completion. After every kill the
store holds whole batches only (records == ledger rows marked migrated, quarantine ==
ledger rows marked quarantined); at the end the store matches a clean single run into a
fresh store of the same backend, the ledger holds one row per source row, and the final
report adds up.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from storekit.legacy.generate import generate_legacy_dir, write_api_calls
from storekit.migrate._bulk import RANGE_STATUS, ledger_counts
from storekit.query import Eq
from storekit.records import LegacyRow, QuarantinedRow, all_record_types, spec_of
from storekit.store import open_store

API_ROWS = 30_000
SEED = 20_261_126
KILLS = 4
RUN_TIMEOUT = 120.0

Counts = Dict[str, int]


@pytest.fixture(scope="module")
def legacy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("legacy_kill") / "data"
    generate_legacy_dir(root, "full", seed=11)
    (root / "api_tracking.db").unlink()  # the same file, with enough calls for several batches
    write_api_calls(root / "api_tracking.db", API_ROWS, seed=11)
    return root


def _source_counts(root: Path) -> Dict[Tuple[str, str], int]:
    out: Dict[Tuple[str, str], int] = {}
    for p in sorted(root.rglob("*.db")):
        if p.stat().st_size == 0:
            continue
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            for (name,) in conn.execute(sql).fetchall():
                (n,) = conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()
                out[(p.relative_to(root).as_posix(), name)] = n
        finally:
            conn.close()
    return out


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["STOREKIT_STRICT_PLUGINS"] = "1"
    env.pop("DATABASE_URL", None)
    return env


def _command(root: Path, url: str) -> List[str]:
    code = "import sys; from storekit.cli import main; sys.argv[0] = 'storekit'; main()"
    return [sys.executable, "-c", code, "migrate", str(root), "--to", url, "--json"]


def _run_to_end(root: Path, url: str) -> Tuple[Dict[str, Any], float]:
    start = time.perf_counter()
    done = subprocess.run(_command(root, url), env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    took = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    report: Dict[str, Any] = json.loads(done.stdout)
    return report, took


def _run_and_kill(root: Path, url: str, delay: float) -> bool:
    """Start a run, SIGKILL it after ``delay`` seconds; False when it finished first."""
    proc = subprocess.Popen(
        _command(root, url), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        return True
    finally:
        if proc.stderr is not None:
            err = proc.stderr.read()
            proc.stderr.close()
    assert proc.returncode == 0, err
    return False


def _run_and_kill_inside_api_calls(root: Path, url: str) -> bool:
    """Start a run and SIGKILL it as soon as part, not all, of api_calls is migrated
    (watched through the ledger from another connection); False when it finished first."""
    proc = subprocess.Popen(_command(root, url), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with open_store(url) as store:
            while proc.poll() is None:
                if 0 < sum(ledger_counts(store, "api_tracking.db", "api_calls").values()) < API_ROWS:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=30)
                    return True
                time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 0
    return False


def _store_counts(url: str) -> Counts:
    with open_store(url) as store:
        return {spec_of(t).table: store.count(t) for t in all_record_types()}


def _check_whole_batches(url: str) -> Counts:
    """Records and quarantine match the ledger exactly; the legacy rows the ledger accounts
    for per (file, table) (a ``migrated_range`` row for as many rows as it says)."""
    per_table: Counts = {}
    with open_store(url) as store:
        ledgered: Counts = {}
        for row in store.find(LegacyRow):
            name = f"{row.file}:{row.table}"
            rows = int(row.record_key["rows"]) if row.status == RANGE_STATUS else 1
            per_table[name] = per_table.get(name, 0) + rows
            if row.status != "quarantined":
                ledgered[str(row.record_table)] = ledgered.get(str(row.record_table), 0) + rows
        for t in all_record_types():
            spec = spec_of(t)
            if t in (LegacyRow, QuarantinedRow):
                continue
            assert store.count(t) == ledgered.get(spec.table, 0), (
                f"{spec.table}: records without ledger rows (or the reverse)"
            )
        assert store.count(QuarantinedRow) == store.count(LegacyRow, Eq("status", "quarantined"))
    return per_table


def _drop_schema(url: str) -> None:
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    schema = parsed.query["schema"]
    engine = sa.create_engine(sa.engine.make_url(url.split("?")[0]).set(drivername="postgresql+psycopg2"))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tuple[str, str]]:
    """(URL of a store for the clean run, URL of the store that is killed), both fresh."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clean.db'}", f"sqlite:///{tmp_path / 'killed.db'}"
        return
    base = str(request.getfixturevalue("pg_url"))
    suffix = uuid.uuid4().hex[:6]
    pair = (f"{base}_kc{suffix}", f"{base}_kk{suffix}")
    try:
        yield pair
    finally:
        for url in pair:
            _drop_schema(url)


def test_sigkill_at_random_points_then_resume(legacy_dir: Path, urls: Tuple[str, str]) -> None:
    clean_url, url = urls
    source = _source_counts(legacy_dir)
    source_total = sum(n for (file, _), n in source.items() if file != "performance.db")

    clean_report, clean_seconds = _run_to_end(legacy_dir, clean_url)
    clean_counts = _store_counts(clean_url)
    with open_store(clean_url) as store:
        assert sum(sum(ledger_counts(store, f, t).values()) for f, t in source if f != "performance.db") == source_total

    rng = random.Random(SEED)
    # one very early (while Python starts or the store is opened), the others spread over
    # what is left of the run (each run resumes, so it gets shorter)
    delays = [rng.uniform(0.05, 0.5)] + [rng.uniform(0.25, 0.85) * clean_seconds for _ in range(KILLS - 1)]
    api_done: List[int] = []
    # The second kill waits for api_calls to be part-way migrated, so at least one kill
    # lands inside a table's batches whatever the machine's speed.
    plan: List[Optional[float]] = [delays[0], None, *delays[1:]]
    for delay in plan:
        killed = (
            _run_and_kill_inside_api_calls(legacy_dir, url) if delay is None else _run_and_kill(legacy_dir, url, delay)
        )
        per_table = _check_whole_batches(url)
        for name, n in per_table.items():
            file, table = name.split(":", 1)
            assert n <= source[(file, table)], name
        api_done.append(per_table.get("api_tracking.db:api_calls", 0))
        if not killed:
            break
    assert any(0 < n < API_ROWS for n in api_done), f"no kill landed inside api_calls: {api_done} after {delays}"

    final, _ = _run_to_end(legacy_dir, url)
    for t in final["tables"]:
        assert t["source_rows"] == source[(t["file"], t["table"])], t
        assert t["migrated"] + t["quarantined"] + t["already_present"] == t["source_rows"], t
    assert {(t["file"], t["table"]) for t in final["tables"]} == {k for k in source if k[0] != "performance.db"}

    per_table = _check_whole_batches(url)
    assert per_table == {f"{t['file']}:{t['table']}": t["source_rows"] for t in clean_report["tables"]}
    assert _store_counts(url) == clean_counts
    with open_store(url) as store:
        accounted = sum(sum(ledger_counts(store, f, t).values()) for f, t in source if f != "performance.db")
        assert accounted == source_total
        quarantined = [(r.file, r.table, r.legacy_id) for r in store.find(QuarantinedRow)]
        assert len(quarantined) == len(set(quarantined)) == clean_report["quarantined"]

    again, _ = _run_to_end(legacy_dir, url)  # and a further run adds nothing
    assert again["migrated"] == again["quarantined"] == 0
    assert all(t["already_present"] == t["source_rows"] for t in again["tables"])
    assert _store_counts(url) == clean_counts
