"""The legacy SQLite layout as data: every file, table, column and index the legacy
application created, and how its code writes each column.

Each table's ``CREATE TABLE`` text is LEGACY.md section 4 / 5.1 verbatim (normalised
there from the files the legacy modules created); columns keep their legacy order.
Indexes are listed in the order the legacy code created them (``sqlite_master`` order,
the reverse of ``PRAGMA index_list`` and of LEGACY.md's listing).

Two layouts vary between installs and are chosen by keyword arguments:

* ``factor_scores_appended``: ``feedback.db``'s ``feedback_data`` as created before
  fa9b2fe, where ``factor_scores`` was added by ``ALTER TABLE ... ADD COLUMN`` and is the
  last column, instead of sitting before ``created_at``.
* ``main_db_layout``: the main database as ``create_all`` left it at the legacy snapshot
  (``"f3f30f6"``: LEGACY.md 5.1 exactly); created from ``"3f63b64"`` on (the default), which
  adds ``trade_history``'s seven prediction columns (where the model declares them, between
  ``daily_selection_id`` and ``status``) and the ``feedback_data`` table; or created at
  f3f30f6 and opened again from 3f63b64 on (``"upgraded"``): ``create_all`` added
  ``feedback_data`` but never alters an existing table, so ``trade_history`` lacks the
  seven columns.

Example::

    from storekit.legacy import legacy_table, create_legacy_file

    t = legacy_table("learning/learning_data.db", "screening_history")
    t.column("screening_date").format        # 'yyyymmdd'
    create_legacy_file(tmp / "data" / "api_tracking.db", "api_tracking.db")
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Dict, Final, Literal, Tuple, Union

from ._ddl import MAIN_DB, TRADE_HISTORY_PREDICTION_COLUMNS, build_files
from ._model import (
    FORMAT_PATTERNS,
    FORMATS,
    Format,
    LegacyColumn,
    LegacyFile,
    LegacyIndex,
    LegacyTable,
    format_problem,
    transaction_script,
)

__all__ = [
    "FORMATS",
    "FORMAT_PATTERNS",
    "LEGACY_FILES",
    "MAIN_DB",
    "MAIN_DB_LAYOUTS",
    "Format",
    "LegacyColumn",
    "LegacyFile",
    "LegacyIndex",
    "LegacyTable",
    "MainDbLayout",
    "create_legacy_file",
    "format_problem",
    "legacy_file",
    "legacy_table",
]

MainDbLayout = Literal["f3f30f6", "3f63b64", "upgraded"]
MAIN_DB_LAYOUTS: Final[Tuple[MainDbLayout, ...]] = ("f3f30f6", "3f63b64", "upgraded")

LEGACY_FILES: Final[Tuple[LegacyFile, ...]] = build_files()
"""The 11 legacy files in migration order, each in its default layout; ``.path`` is
relative to the application's ``data/`` directory."""

_BY_PATH: Final[Dict[str, LegacyFile]] = {f.path: f for f in LEGACY_FILES}


def _variant(file: LegacyFile, factor_scores_appended: bool, main_db_layout: MainDbLayout) -> LegacyFile:
    if main_db_layout not in MAIN_DB_LAYOUTS:
        raise ValueError(f"main_db_layout must be one of {MAIN_DB_LAYOUTS}, not {main_db_layout!r}")
    if file.path == "feedback.db" and factor_scores_appended:
        old = file.table("feedback_data")
        columns = (*(c for c in old.columns if c.name != "factor_scores"), old.column("factor_scores"))
        new = replace(old, columns=columns, added_columns=("factor_scores",))
        return replace(file, tables=tuple(new if t is old else t for t in file.tables))
    if file.path == MAIN_DB and main_db_layout != "3f63b64":
        tables = []
        for t in file.tables:
            if t.name == "trade_history":
                keep = tuple(c for c in t.columns if c.name not in TRADE_HISTORY_PREDICTION_COLUMNS)
                t = replace(t, columns=keep)
            if t.name != "feedback_data" or main_db_layout == "upgraded":
                tables.append(t)
        return replace(file, tables=tuple(tables))
    return file


def legacy_file(
    path: str, *, factor_scores_appended: bool = False, main_db_layout: MainDbLayout = "3f63b64"
) -> LegacyFile:
    """The legacy file at ``path`` (relative to ``data/``, e.g. ``'learning/learning_data.db'``)."""
    try:
        base = _BY_PATH[path]
    except KeyError:
        raise KeyError(f"{path!r} is not a legacy file (known: {', '.join(_BY_PATH)})") from None
    return _variant(base, factor_scores_appended, main_db_layout)


def legacy_table(
    file: str, table: str, *, factor_scores_appended: bool = False, main_db_layout: MainDbLayout = "3f63b64"
) -> LegacyTable:
    """One legacy table, e.g. ``legacy_table('accuracy_tracking.db', 'performance_tracking')``."""
    layout = legacy_file(file, factor_scores_appended=factor_scores_appended, main_db_layout=main_db_layout)
    return layout.table(table)


def create_legacy_file(
    path: Union[str, os.PathLike[str]],
    file: str,
    *,
    factor_scores_appended: bool = False,
    main_db_layout: MainDbLayout = "3f63b64",
) -> LegacyFile:
    """Create an empty legacy ``file`` at ``path`` with exactly the legacy DDL, in the legacy
    creation order, and return its layout. Parent directories are created; an existing
    ``path`` is never overwritten (:class:`FileExistsError`)."""
    layout = legacy_file(file, factor_scores_appended=factor_scores_appended, main_db_layout=main_db_layout)
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} already exists; create_legacy_file never overwrites a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(target))
    try:
        conn.executescript(transaction_script(layout.create_statements))
    finally:
        conn.close()
    return layout

