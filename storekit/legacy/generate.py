"""Generate legacy ``data/`` directories that follow LEGACY.md, for tests, benchmarks and
``storekit demo``.

Profiles:

``sparse``
    A realistic install (LEGACY.md section 2): ``learning/learning_data.db`` with only
    ``screening_history`` holding rows (re-synced, so its ids have gaps),
    ``feedback.db`` and ``model_performance.db`` with empty tables (their constructors
    create them), the main DB in its legacy-snapshot (f3f30f6) layout with empty tables,
    and a 0-byte ``performance.db`` (FeedbackSystem's ``sqlite3.connect`` on a file nobody
    creates). The files of modules that never ran are absent.
``full``
    All 11 files, every table with rows (even the tables the legacy code never wrote, in
    their intended formats), written with the statements and value formats of the legacy
    writers: ``'YYYYMMDD'`` dates in learning_data.db, ``'YYYY-MM-DD'`` elsewhere, local
    ``T`` timestamps, UTC ``CURRENT_TIMESTAMP`` text, JSON with and without
    ``ensure_ascii``, 0/1 booleans, ``inf`` PERs, sector names in ``learning_metrics.value``,
    doubled HIGH/CRITICAL ``error_events``, ids with INSERT OR REPLACE gaps.
``hostile``
    ``full`` plus the rows and layouts of :data:`HOSTILE_CASES` (values a migration must
    quarantine or carry over exactly).

Generation is deterministic for a seed: the simulated clock (:data:`DEFAULT_NOW`, local
Asia/Seoul time) replaces the wall clock, and ``CURRENT_TIMESTAMP`` defaults are bound as
the UTC text they would have produced.

Example::

    from storekit.legacy.generate import generate_legacy_dir, write_api_calls

    summary = generate_legacy_dir(tmp_path / "data", "hostile", seed=7, rows=30)
    summary.row_counts["api_tracking.db"]["api_calls"]     # 31
    write_api_calls(tmp_path / "api_tracking.db", 1_000_000, seed=1)
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Final, Literal, Mapping, Optional, Tuple, Union

from ._gen_analytics import write_accuracy, write_feedback, write_model, write_performance, write_strategy
from ._gen_apps import (
    API_COLUMNS,
    api_call_rows,
    write_alerts,
    write_api,
    write_learning,
    write_notification,
    write_recovery,
)
from ._gen_common import DEFAULT_NOW, Gen
from ._gen_hostile import HOSTILE_CASES, HOSTILE_ID_BASE, HostileCase, hostile_case, write_hostile_rows
from ._gen_main import write_main
from .schema import MAIN_DB, LegacyFile, create_legacy_file, legacy_file

__all__ = [
    "DEFAULT_NOW",
    "HOSTILE_CASES",
    "HOSTILE_ID_BASE",
    "PROFILES",
    "HostileCase",
    "LegacyDirSummary",
    "Profile",
    "generate_legacy_dir",
    "hostile_case",
    "write_api_calls",
]

Profile = Literal["sparse", "full", "hostile"]
PROFILES: Final[Tuple[Profile, ...]] = ("sparse", "full", "hostile")

MAX_ROWS: Final = 100_000
"""Upper bound of ``rows`` (generated ids must stay below :data:`HOSTILE_ID_BASE`)."""

_Writer = Callable[[sqlite3.Connection, Gen], None]


@dataclass(frozen=True)
class LegacyDirSummary:
    """What :func:`generate_legacy_dir` wrote."""

    root: Path
    profile: Profile
    seed: int
    row_counts: Mapping[str, Mapping[str, int]]
    """Rows per table per legacy file present (path relative to ``root``)."""
    hostile_cases: Tuple[HostileCase, ...]
    """:data:`HOSTILE_CASES` for the ``hostile`` profile, else empty."""


def _full_writers() -> Dict[str, _Writer]:
    return {
        "learning/learning_data.db": lambda c, g: write_learning(c, g, sparse=False),
        "notification_history.db": write_notification,
        "system_alerts.db": write_alerts,
        "error_recovery.db": write_recovery,
        "api_tracking.db": write_api,
        "performance_tracking.db": write_performance,
        "accuracy_tracking.db": write_accuracy,
        "strategy_performance.db": write_strategy,
        "model_performance.db": write_model,
        "feedback.db": write_feedback,
    }


def _create(root: Path, layout: LegacyFile, writer: _Writer, g: Gen) -> None:
    create_legacy_file(root / layout.path, layout.path)
    _fill(root, layout, writer, g)


def _fill(root: Path, layout: LegacyFile, writer: _Writer, g: Gen) -> None:
    conn = sqlite3.connect(str(root / layout.path))
    try:
        with conn:  # one transaction per file: the legacy per-call commits leave the same rows
            writer(conn, g)
    finally:
        conn.close()


def _main_writer(layout: LegacyFile) -> _Writer:
    tables = layout.table_names
    with_predictions = "model_name" in layout.table("trade_history").column_names
    return lambda c, g: write_main(c, g, tables, with_predictions)


def generate_legacy_dir(
    root: Union[str, os.PathLike[str]],
    profile: Profile,
    seed: int,
    rows: int = 24,
    *,
    now: Optional[dt.datetime] = None,
) -> LegacyDirSummary:
    """Write a legacy ``data/`` directory at ``root`` (the application's ``data/``; created
    if missing; existing legacy files are never overwritten).

    ``rows`` is the row count of every table whose size the legacy code does not fix
    (some tables are smaller: 4 recovery rules per start, one statistics row per day, ...;
    see the returned :attr:`~LegacyDirSummary.row_counts`). ``now`` is the simulated local
    time of the last run (default :data:`DEFAULT_NOW`).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    if not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be between 1 and {MAX_ROWS}, not {rows}")
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    g = Gen(seed, rows, now or DEFAULT_NOW)
    if profile == "sparse":
        _create(base, legacy_file("learning/learning_data.db"), lambda c, gen: write_learning(c, gen, sparse=True), g)
        for path in ("model_performance.db", "feedback.db"):  # constructors ran, writers never did
            create_legacy_file(base / path, path)
        create_legacy_file(base / MAIN_DB, MAIN_DB, main_db_layout="f3f30f6")
        (base / "performance.db").touch(exist_ok=False)
        return _summary(base, profile, seed)

    hostile = profile == "hostile"
    for path, writer in _full_writers().items():
        if path == "feedback.db" and hostile:  # the layout of DBs created before fa9b2fe
            layout = create_legacy_file(base / path, path, factor_scores_appended=True)
            _fill(base, layout, writer, g)
        else:
            _create(base, legacy_file(path), writer, g)
    main = create_legacy_file(base / MAIN_DB, MAIN_DB, main_db_layout="upgraded" if hostile else "3f63b64")
    _fill(base, main, _main_writer(main), g)
    (base / "performance.db").touch(exist_ok=False)
    if hostile:
        write_hostile_rows(base)
    return _summary(base, profile, seed)


def _summary(root: Path, profile: Profile, seed: int) -> LegacyDirSummary:
    counts: Dict[str, Dict[str, int]] = {}
    for path in sorted(p.relative_to(root).as_posix() for p in root.rglob("*.db")):
        conn = sqlite3.connect(str(root / path))
        try:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
            counts[path] = {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
        finally:
            conn.close()
    return LegacyDirSummary(root, profile, seed, counts, HOSTILE_CASES if profile == "hostile" else ())


def write_api_calls(
    path: Union[str, os.PathLike[str]], n_rows: int, seed: int, *, chunk: int = 50_000
) -> Path:
    """Write an ``api_tracking.db`` with ``n_rows`` calls fast (for benchmarks): one
    transaction, ``executemany`` in chunks, the legacy indexes built after the rows.

    The file is the one the legacy tracker leaves (same DDL and ``sqlite_master`` order);
    only the write path is faster. Returns the path.
    """
    if n_rows < 0:
        raise ValueError(f"n_rows must not be negative, not {n_rows}")
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} already exists; write_api_calls never overwrites a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    table = legacy_file("api_tracking.db").table("api_calls")
    g = Gen(seed, n_rows)
    start = g.now - dt.timedelta(days=max(1, n_rows // 200_000))
    rows = api_call_rows(g, n_rows, start)
    marks = ", ".join("?" for _ in API_COLUMNS)
    sql = f"INSERT INTO api_calls ({', '.join(API_COLUMNS)}) VALUES ({marks})"
    conn = sqlite3.connect(str(target))
    try:
        conn.execute("PRAGMA journal_mode = MEMORY")  # not persistent: the file is as the tracker left it
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB, so building the indexes stays in memory
        with conn:
            conn.execute(table.ddl)
            while True:
                batch = list(islice(rows, chunk))
                if not batch:
                    break
                conn.executemany(sql, batch)
            for index in table.indexes:
                conn.execute(index.sql)
    finally:
        conn.close()
    return target
