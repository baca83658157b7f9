"""Issue 3, items 6 and 8: ``storekit migrate`` of an N-row legacy ``api_tracking.db``.

The file is written by :func:`storekit.legacy.generate.write_api_calls` (not timed). Then
``storekit migrate DIR --to URL --json`` runs in a subprocess into (a) a fresh SQLite file
and (b) a fresh PostgreSQL schema; for each run the wall time and the PEAK RSS of that
subprocess are measured (its ``VmHWM``, polled from ``/proc/<pid>/status``). When the
``pgloader`` binary is on PATH it loads the same file into another schema of the same
server and the ratio pgloader time / storekit time is reported (issue 3's goal: >= 1.5);
otherwise a loud notice says the comparison was skipped.

Issue 3's memory limit: peak RSS at most 150 MB for 1M rows.

A third line, ``floor``, times the server's part alone: the COPY text of the storekit run
sent again into a fresh storekit schema, the secondary indexes built, ``VACUUM ANALYZE``
(:func:`benchmarks.migrate_floor.floor_runs`). No client reading or converting the legacy
file can beat it, so pgloader's time over it bounds the ratio reachable on this machine
with this schema.

Run with the runner (``python -m benchmarks --only migrate_api_calls --rows 1000000``) or
alone (``python -m benchmarks.migrate [--rows N] [--repeat K]``, default 1,000,000 rows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import attrs
import sqlalchemy as sa

from ._common import Result, loud, pg_base_url
from .upsert import Unavailable, pg_store_url, pg_unreachable_reason

NAME = "migrate_api_calls"
RSS_LIMIT_MB = 150.0
PGLOADER_GOAL = 1.5
PGLOADER_MISSING = "pgloader COMPARISON SKIPPED: the pgloader binary is not on PATH (Debian package pgloader)"
FLOOR = "floor"
"""The tool name of the server-side floor (:func:`benchmarks.migrate_floor.floor_runs`)."""
SEED = 1


@attrs.define
class Run:
    """One subprocess: wall seconds, peak RSS in MiB, exit status."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


@attrs.define
class Measured:
    """One tool into one backend, all repetitions."""

    tool: str
    backend: str
    rows: int
    runs: List[Run]

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)

    def as_json(self) -> Dict[str, Any]:
        return {
            "tool": self.tool,
            "backend": self.backend,
            "rows": self.rows,
            "seconds": self.seconds,
            "rows_per_s": self.rows / self.seconds,
            "peak_rss_mb": None if self.tool == FLOOR else self.peak_rss_mb,
            "rss_limit_mb": RSS_LIMIT_MB if self.tool == "storekit" else None,
            "runs_s": [r.seconds for r in self.runs],
            "runs_peak_rss_mb": None if self.tool == FLOOR else [r.peak_rss_mb for r in self.runs],
        }


def _vm_hwm_kb(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def measure(cmd: Sequence[str], env: Optional[Dict[str, str]] = None, poll_s: float = 0.02) -> Run:
    """Run ``cmd`` to the end; its wall time and its own peak RSS.

    The peak is the largest ``VmHWM`` of ``/proc/<pid>/status`` polled every ``poll_s``
    (the high-water mark of the child's own address space, reset by ``exec``). Not
    ``ru_maxrss``: Linux carries the forked copy of this (large) parent into the child's
    ``ru_maxrss`` across ``exec``, which would charge the parent's memory to the child."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, stdout=out, stderr=err, text=True)
        peak_kb = 0
        while True:
            hwm = _vm_hwm_kb(proc.pid)
            if hwm is not None:
                peak_kb = max(peak_kb, hwm)
            try:
                returncode = proc.wait(timeout=poll_s)
                break
            except subprocess.TimeoutExpired:
                continue
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Run(seconds, peak_kb / 1024.0, returncode, out.read(), err.read())


def _storekit_cmd(legacy_dir: Path, url: str) -> List[str]:
    code = "import sys; from storekit.cli import main; sys.argv[0] = 'storekit'; main()"
    return [sys.executable, "-c", code, "migrate", str(legacy_dir), "--to", url, "--json"]


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["STOREKIT_STRICT_PLUGINS"] = "1"
    env.pop("DATABASE_URL", None)
    return env


def _check_report(run: Run, rows: int, where: str) -> None:
    if run.returncode != 0:
        raise RuntimeError(f"storekit migrate into {where} failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    report = json.loads(run.stdout)
    api = [t for t in report["tables"] if t["table"] == "api_calls"]
    if not api or api[0]["source_rows"] != rows or api[0]["migrated"] + api[0]["quarantined"] != rows:
        raise RuntimeError(f"storekit migrate into {where}: unexpected report {api}")


def _pg_engine() -> sa.engine.Engine:
    url = sa.engine.make_url(pg_base_url()).set(drivername="postgresql+psycopg2")
    return sa.create_engine(url)


def _drop_schema(schema: str) -> None:
    engine = _pg_engine()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def _pg_count(schema: str, table: str) -> int:
    engine = _pg_engine()
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f'SELECT COUNT(*) FROM "{schema}"."{table}"')).scalar_one())
    finally:
        engine.dispose()


def _sqlite_runs(legacy_dir: Path, rows: int, repeats: int, work: Path) -> Measured:
    runs = []
    for i in range(repeats):
        store = work / f"store_{i}.db"
        run = measure(_storekit_cmd(legacy_dir, f"sqlite:///{store}"), _env())
        _check_report(run, rows, "SQLite")
        runs.append(run)
        for p in work.glob(f"store_{i}.db*"):
            p.unlink()
    return Measured("storekit", "sqlite", rows, runs)


def _pg_runs(legacy_dir: Path, rows: int, repeats: int, keep_copy: Optional[Path] = None) -> Measured:
    """storekit migrate into fresh schemas; with ``keep_copy``, the last run's ``api_calls``
    is saved there as COPY text (for :mod:`benchmarks.migrate_floor`) before its schema is
    dropped."""
    runs = []
    for i in range(repeats):
        schema = f"sk_bench_migrate_{uuid.uuid4().hex[:8]}"
        try:
            run = measure(_storekit_cmd(legacy_dir, pg_store_url(pg_base_url(), schema)), _env())
            _check_report(run, rows, "PostgreSQL")
            runs.append(run)
            if keep_copy is not None and i == repeats - 1:
                from .migrate_floor import Psycopg

                with Psycopg(schema) as conn, conn.cursor() as cur, keep_copy.open("w", encoding="utf-8") as out:
                    cur.copy_expert("COPY (SELECT * FROM api_calls ORDER BY id) TO STDOUT", out)
        finally:
            _drop_schema(schema)
    return Measured("storekit", "postgresql", rows, runs)


def _pgloader_runs(pgloader: str, api_db: Path, rows: int, repeats: int, work: Path) -> Measured:
    """pgloader from the same file into a schema of its own (created before, dropped after)."""
    base = sa.engine.make_url(pg_base_url())
    target = base.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    runs = []
    for i in range(repeats):
        schema = f"sk_bench_pgloader_{uuid.uuid4().hex[:8]}"
        load = work / f"pgloader_{i}.load"
        load.write_text(
            f"LOAD DATABASE\n  FROM sqlite://{api_db.resolve()}\n  INTO {target}\n"
            "  WITH create tables, create indexes, reset sequences\n"
            f"  SET search_path TO '{schema}'\n"
            f'  BEFORE LOAD DO $$ CREATE SCHEMA IF NOT EXISTS "{schema}"; $$;\n',
            encoding="utf-8",
        )
        try:
            run = measure([pgloader, str(load)])
            if run.returncode != 0:
                raise RuntimeError(f"pgloader failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
            loaded = _pg_count(schema, "api_calls")
            if loaded != rows:  # pgloader can drop rows and still exit 0: say so
                loud(f"pgloader loaded {loaded:,} of {rows:,} api_calls rows (exit status 0)")
            runs.append(run)
        finally:
            _drop_schema(schema)
    return Measured("pgloader", "postgresql", rows, runs)


def print_migrate_table(measured: Sequence[Measured], pgloader: Optional[Measured], out: Any = None) -> None:
    out = out or sys.stdout
    head = ("benchmark", "tool", "backend", "rows", "s", "rows/s", "peak RSS MB", "RSS limit", "vs pgloader")
    lines: List[Tuple[str, ...]] = [head]
    for m in [*measured, *([pgloader] if pgloader else [])]:
        if m.tool == "storekit":
            limit = f"ok (<= {RSS_LIMIT_MB:.0f})" if m.peak_rss_mb <= RSS_LIMIT_MB else f"OVER {RSS_LIMIT_MB:.0f}"
        else:
            limit = "-"
        if m.tool == "storekit" and m.backend == "postgresql" and pgloader:
            ratio = pgloader.seconds / m.seconds
            versus = f"{ratio:.2f}x " + ("ok" if ratio >= PGLOADER_GOAL else f"BELOW {PGLOADER_GOAL}")
        elif m.tool == "storekit":
            versus = "skipped (no pgloader)" if pgloader is None and m.backend == "postgresql" else "-"
        elif m.tool == FLOOR:
            versus = f"{pgloader.seconds / m.seconds:.2f}x (any client's best)" if pgloader else "-"
        else:
            versus = "baseline"
        lines.append(
            (
                NAME,
                m.tool,
                m.backend,
                str(m.rows),
                f"{m.seconds:.2f}",
                f"{m.rows / m.seconds:,.0f}",
                "-" if m.tool == FLOOR else f"{m.peak_rss_mb:.1f}",
                limit,
                versus,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    numeric = {3, 4, 5, 6}
    for n, line in enumerate(lines):
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))]
        print("  ".join(cells).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)
    print(
        "s = median wall time of the subprocess (Python start-up included); peak RSS = the subprocess's "
        f"VmHWM (max of the runs); issue 3: <= {RSS_LIMIT_MB:.0f} MB for 1M rows, "
        f">= {PGLOADER_GOAL}x pgloader's speed; {FLOOR} = the server's part alone (storekit's COPY text, "
        "index builds, VACUUM ANALYZE; no reading or conversion; time in the benchmark process)",
        file=out,
    )


def run(rows: int, repeats: int, meta: Optional[Dict[str, Any]] = None) -> List[Result]:
    """Measure; print the table; return the pgloader comparison as runner results (none
    without pgloader). Raises :class:`Unavailable` after the SQLite part when PostgreSQL
    cannot be reached."""
    from storekit.legacy.generate import write_api_calls

    meta = meta if meta is not None else {}
    results: List[Result] = []
    work = Path(tempfile.mkdtemp(prefix="sk_bench_migrate_"))
    try:
        legacy_dir = work / "data"
        print(f"writing a {rows:,}-row legacy api_tracking.db (not timed) ...", flush=True)
        api_db = write_api_calls(legacy_dir / "api_tracking.db", rows, seed=SEED)
        measured = [_sqlite_runs(legacy_dir, rows, repeats, work)]
        reason = pg_unreachable_reason(pg_base_url())
        pgloader: Optional[Measured] = None
        if not reason:
            copy_text = work / "api_calls.copy"
            storekit_pg = _pg_runs(legacy_dir, rows, repeats, keep_copy=copy_text)
            measured.append(storekit_pg)
            from .migrate_floor import floor_runs

            measured.append(floor_runs(copy_text, rows, repeats))
            copy_text.unlink()
            binary = shutil.which("pgloader")
            if binary:
                pgloader = _pgloader_runs(binary, api_db, rows, repeats, work)
                results.append(
                    Result(
                        NAME,
                        "postgresql",
                        "pgloader vs storekit migrate",
                        rows,
                        [r.seconds for r in pgloader.runs],
                        [r.seconds for r in storekit_pg.runs],
                        goal=PGLOADER_GOAL,
                    )
                )
            else:
                loud(PGLOADER_MISSING + "; storekit's own times and peak RSS are still reported")
        print()
        print_migrate_table(measured, pgloader)
        meta[NAME] = {
            "measured": [m.as_json() for m in measured],
            "pgloader": pgloader.as_json() if pgloader else None,
            "pgloader_skipped": None if pgloader else (reason or "pgloader binary not found"),
        }
        if reason:
            raise Unavailable(reason)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.migrate", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="api_calls rows (default 1000000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (default 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements to this JSON file")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")
    meta: Dict[str, Any] = {}
    status = 0
    try:
        run(args.rows, args.repeat, meta)
    except Unavailable as exc:
        loud(f"SKIPPED the PostgreSQL part: {exc}")
        status = 1 if os.environ.get("CI", "").lower() in ("1", "true", "yes", "on") else 0
    if args.json:
        Path(args.json).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
