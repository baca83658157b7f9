"""Reading legacy SQLite files: read-only, in rowid order, a batch at a time, TEXT that
is not UTF-8 kept as bytes. Shared by ``migrate`` and ``verify``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterator, List, Sequence, Tuple, Union

from ._mapping import migration_order

BATCH_ROWS = 5_000
"""Legacy rows read (and converted, and written) at a time."""


class InvalidText(bytes):
    """TEXT whose bytes are not valid UTF-8 (kept as bytes, tagged ``text_bytes``)."""


def _safe_text(raw: bytes) -> Union[str, bytes]:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return InvalidText(raw)


def open_legacy(path: Path) -> sqlite3.Connection:
    """``path`` opened read-only and immutable: the legacy files are never modified (no
    journal, no ``-shm``). The application must not write them meanwhile (the runbook
    stops it first)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def has_table(conn: sqlite3.Connection, table: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return row is not None


def unknown_tables(conn: sqlite3.Connection, file: str) -> List[str]:
    """``file:table`` of the tables of ``conn`` that no mapping knows."""
    known = {t for f, t in migration_order() if f == file}
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [f"{file}:{n}" for (n,) in names if n not in known]


def fetch(conn: sqlite3.Connection, sql: str, params: Tuple[Any, ...]) -> List[Tuple[Any, ...]]:
    """``conn.execute(sql, params).fetchall()``, with TEXT that is not UTF-8 read as
    :class:`InvalidText` instead of failing."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc):
            raise
        conn.text_factory = _safe_text
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.text_factory = str


def legacy_batches(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], *, after: int = -(2**63), size: int = BATCH_ROWS
) -> Iterator[List[Tuple[Any, ...]]]:
    """``(rowid, *columns)`` tuples of ``table`` with a rowid above ``after``, in rowid
    order, ``size`` at a time."""
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f'SELECT rowid, {cols} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?'
    while True:
        rows = fetch(conn, sql, (after, size))
        if not rows:
            return
        yield rows
        after = rows[-1][0]
