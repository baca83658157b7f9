"""Issue 2, benchmark 1 counted in instructions: the SQLite upsert under callgrind.

On a shared 2-core virtual machine the wall time of the same 100,000-row ``executemany``
varies by a quarter from run to run, more than the differences the SQLite upsert goal
(0.8 of the raw driver) turns on. Instruction counts do not: valgrind's callgrind counts
the instructions a process executes in user space, the same for the same binary, input
and environment whatever else the machine is doing (SQLite's own developers measure
their speed this way). This benchmark gives that second, repeatable reading of
``upsert_sqlite``: the same data, statement, pragmas and raw baseline
(:mod:`benchmarks.upsert`), the instructions per row of each side, and their ratio.

Each side runs in a child process under ``valgrind --tool=callgrind`` three times, with
``PYTHONHASHSEED=0``: building the data and opening the database only, then also the
insert (version 0 of the rows into the empty table), then also the update (version 1, same
keys). The differences are the insert's and the update's instructions. What this leaves
out: time in the kernel (the write system calls of SQLite's journals) and the cost of
cache misses, which the wall-time benchmark keeps. Rows are capped at 20,000 (callgrind
runs some 50 times slower than the machine). Keep them near that: a call's fixed cost
weighs on small sizes (at 300 rows storekit's insert counted 53,198 instructions a row,
against 29,189 at 20,000).

Run with ``python -m benchmarks --only instructions`` (skipped with a notice when
valgrind is not installed) or alone: ``python -m benchmarks.instructions [--rows N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ._common import Result, loud

NAME = "instructions"
MAX_ROWS = 20_000
PHASES = ("open", "insert", "update")
"""What a child does: each phase also does the ones before it."""
SIDES = ("raw", "storekit")


def _child(side: str, rows: int, phase: str) -> None:
    """Build the data, open the database and run the phases up to ``phase``."""
    from . import _data
    from .upsert import SQLITE_DDL, SQLITE_UPSERT, _sqlite_connect

    values = [_data.rows(rows, variant=0), _data.rows(rows, variant=1)]
    work = Path(tempfile.mkdtemp(prefix="sk_bench_instructions_"))
    try:
        steps = PHASES.index(phase)
        if side == "raw":
            tuples = [_data.sqlite_tuples(v) for v in values]
            conn = _sqlite_connect(str(work / "raw.db"))
            for statement in SQLITE_DDL:
                conn.execute(statement)
            for version in range(steps):
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(SQLITE_UPSERT, tuples[version])
                conn.execute("COMMIT")
            conn.close()
        else:
            from storekit import open_store
            from storekit.records.learning import ScreeningHistory

            records = [_data.records(v) for v in values]
            with open_store(f"sqlite:///{work / 'storekit.db'}", record_types=[ScreeningHistory]) as store:
                for version in range(steps):
                    store.put_many(records[version])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _count(valgrind: str, side: str, rows: int, phase: str, work: Path) -> int:
    """The instructions of one child process, as callgrind reports them."""
    out = work / f"callgrind.{side}.{phase}"
    cmd = [
        valgrind,
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "benchmarks.instructions",
        "--child",
        side,
        "--rows",
        str(rows),
        "--phase",
        phase,
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{side} {phase} under callgrind failed: {done.stderr.strip()[-2000:]}")
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind reported no count for {side} {phase}: {done.stderr.strip()[-500:]}")
    return int(found.group(1))


def measure(rows: int) -> Dict[str, Dict[str, float]]:
    """Instructions per row ``{side: {"insert": n, "update": n}}``."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise FileNotFoundError("valgrind")
    work = Path(tempfile.mkdtemp(prefix="sk_bench_callgrind_"))
    try:
        per_row: Dict[str, Dict[str, float]] = {}
        for side in SIDES:
            totals = {phase: _count(valgrind, side, rows, phase, work) for phase in PHASES}
            per_row[side] = {
                "insert": (totals["insert"] - totals["open"]) / rows,
                "update": (totals["update"] - totals["insert"]) / rows,
            }
        return per_row
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_counts(per_row: Dict[str, Dict[str, float]], rows: int, out: Any = None) -> None:
    out = out or sys.stdout
    print(f"\ninstructions per row (callgrind, {rows:,} rows, user space only)", file=out)
    print(f"{'case':8}  {'raw':>10}  {'storekit':>10}  {'ratio':>6}", file=out)
    for case in ("insert", "update"):
        raw, ours = per_row["raw"][case], per_row["storekit"][case]
        print(f"{case:8}  {raw:10,.0f}  {ours:10,.0f}  {raw / ours:6.2f}", file=out)
    print("ratio = raw instructions / storekit instructions (above 1: storekit executes fewer)", file=out)


def report(rows: int) -> Optional[Dict[str, Dict[str, float]]]:
    """:func:`measure` and print the counts; ``None`` (with a notice) without valgrind."""
    try:
        per_row = measure(rows)
    except FileNotFoundError:
        loud("INSTRUCTION COUNTS SKIPPED: valgrind is not on PATH (Debian package valgrind)")
        return None
    print_counts(per_row, rows)
    return per_row


def _instructions_upsert_sqlite(ctx: Any) -> List[Result]:
    rows = min(ctx.rows, MAX_ROWS)
    per_row = report(rows)
    if per_row is not None:
        ctx.meta[NAME] = {"rows": rows, "instructions_per_row": per_row}
    return []


BENCHMARKS = {"instructions_upsert_sqlite": _instructions_upsert_sqlite}
OPT_IN = {"instructions_upsert_sqlite"}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--rows", type=int, default=MAX_ROWS, help=f"rows (default {MAX_ROWS})")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=PHASES, default="update", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    if args.child:
        _child(args.child, args.rows, args.phase)
        return 0
    report(args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
