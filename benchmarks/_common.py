"""Timing, environment and reporting helpers shared by the benchmarks."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import attrs

from . import GOAL

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def pg_base_url() -> str:
    return os.environ.get("STOREKIT_TEST_PG_URL", DEFAULT_PG_URL)


def timed(fn: Callable[[], Any]) -> Tuple[float, float]:
    """Wall-clock and this process's CPU seconds of ``fn()``, after a full collection so
    that garbage left by the set-up is not charged to it. The collector stays on while
    timing (callers pay it). Wall time is what is reported; CPU time (client side only
    for PostgreSQL) goes to the JSON, to tell overhead from a busy machine."""
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


@attrs.define
class Result:
    """One benchmark case: raw driver against storekit, median of the runs."""

    benchmark: str
    backend: str
    case: str
    rows: int
    raw_runs: List[float]
    storekit_runs: List[float]
    raw_cpu_runs: List[float] = attrs.field(factory=list)
    storekit_cpu_runs: List[float] = attrs.field(factory=list)
    goal: Optional[float] = GOAL
    """The ratio this case must reach (issue 2's 0.8 unless the case's issue sets another;
    ``None`` where no issue sets one: the ratio is reported only)."""

    @property
    def raw_s(self) -> float:
        return statistics.median(self.raw_runs)

    @property
    def storekit_s(self) -> float:
        return statistics.median(self.storekit_runs)

    @property
    def ratio(self) -> float:
        """raw time / storekit time: 1.0 is parity, the goal is >= ``goal``."""
        return self.raw_s / self.storekit_s

    def as_json(self) -> Dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "backend": self.backend,
            "case": self.case,
            "rows": self.rows,
            "raw_s": self.raw_s,
            "storekit_s": self.storekit_s,
            "raw_rows_per_s": self.rows / self.raw_s,
            "storekit_rows_per_s": self.rows / self.storekit_s,
            "ratio": self.ratio,
            "goal": self.goal,
            "meets_goal": None if self.goal is None else self.ratio >= self.goal,
            "raw_runs_s": self.raw_runs,
            "storekit_runs_s": self.storekit_runs,
            "raw_cpu_runs_s": self.raw_cpu_runs,
            "storekit_cpu_runs_s": self.storekit_cpu_runs,
            "raw_cpu_s": statistics.median(self.raw_cpu_runs) if self.raw_cpu_runs else None,
            "storekit_cpu_s": statistics.median(self.storekit_cpu_runs) if self.storekit_cpu_runs else None,
        }


def print_table(results: Sequence[Result], out: Any = None) -> None:
    out = out or sys.stdout
    head = (
        "benchmark",
        "backend",
        "case",
        "rows",
        "raw s",
        "storekit s",
        "raw rows/s",
        "storekit rows/s",
        "ratio",
        "goal",
    )
    lines = [head]
    for r in results:
        lines.append(
            (
                r.benchmark,
                r.backend,
                r.case,
                str(r.rows),
                f"{r.raw_s:.3f}",
                f"{r.storekit_s:.3f}",
                f"{r.rows / r.raw_s:,.0f}",
                f"{r.rows / r.storekit_s:,.0f}",
                f"{r.ratio:.2f}",
                "-" if r.goal is None else f"ok (>= {r.goal})" if r.ratio >= r.goal else f"BELOW {r.goal}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    numeric = {3, 4, 5, 6, 7, 8}
    for n, line in enumerate(lines):
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))]
        print("  ".join(cells).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)
    print("ratio = baseline time / storekit time (median of the runs); >= goal meets the case's goal", file=out)


def environment(extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    import sqlite3

    import sqlalchemy

    env: Dict[str, Any] = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "ci": in_ci(),
    }
    try:
        import psycopg2

        env["psycopg2"] = psycopg2.__version__.split()[0]
    except ImportError:
        env["psycopg2"] = None
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    env["git_commit"] = git("rev-parse", "HEAD") or None
    # the working tree is shared: say whether storekit's code differed from that commit
    env["storekit_tree_dirty"] = bool(git("status", "--porcelain", "--", "storekit", "plugins"))
    env.update(extra or {})
    return env


def write_json(path: str, results: Sequence[Result], meta: Dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "results": [r.as_json() for r in results]}, f, indent=2, ensure_ascii=False)
        f.write("\n")


def loud(message: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n!! {message}\n{bar}\n", file=sys.stderr, flush=True)
