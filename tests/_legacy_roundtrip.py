"""Helpers of the verify / rollback tests: a private store per test module on each backend,
and legacy tables read as the legacy code reads them."""

from __future__ import annotations

import json
import sqlite3
import struct
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import sqlalchemy as sa

from storekit.errors import IntegrityError
from storekit.legacy import LEGACY_FILES, legacy_file
from storekit.records import all_record_types
from storekit.store import Store, open_store


def private_url(storekit_url: str, tmp: Path) -> str:
    """A fresh store URL of the backend of ``storekit_url`` (the session's own store is shared)."""
    if storekit_url.startswith("sqlite"):
        return f"sqlite:///{tmp / f'store-{uuid.uuid4().hex[:8]}.db'}"
    return f"{storekit_url}_{uuid.uuid4().hex[:6]}"


def open_private(storekit_url: str, tmp: Path) -> Iterator[Store]:
    url = private_url(storekit_url, tmp)
    with open_store(url) as store:
        yield store
    if not url.startswith("sqlite"):
        schema = sa.engine.make_url(url).query["schema"]
        engine = sa.create_engine(sa.engine.make_url(url.split("?")[0]).set(drivername="postgresql+psycopg2"))
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def clear(store: Store) -> None:
    """Delete every record of every type (a table another still references waits a pass)."""
    pending = list(reversed(all_record_types()))
    while pending:
        left = []
        for record_type in pending:
            try:
                store.delete(record_type)
            except IntegrityError:
                left.append(record_type)
        assert len(left) < len(pending), left
        pending = left


def execute(store: Store, sql: str, **params: Any) -> None:
    """Raw SQL on the store's database, behind storekit's back."""
    engine = store.backend.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _read_value(fmt: str, value: Any) -> Tuple[str, Any]:
    """A SQLite value as the legacy code reads it: JSON columns parsed (key order and
    spacing are not content), floats bit for bit, everything else with its type."""
    if fmt.startswith("json") and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return ("text", value)
        # JSON 'null' and SQL NULL are one value in the store (a Json field's None): known
        # limitation, documented in docs/how-to/runbook.rst
        return ("NoneType", None) if parsed is None else ("json", parsed)
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    return (type(value).__name__, value)


def read_table(path: Path, file: str, table: str) -> Dict[int, Dict[str, Tuple[str, Any]]]:
    """{rowid: {column: value as read}} of one legacy table."""
    formats = {c.name: c.format for c in legacy_file(file).table(table).columns}
    conn = sqlite3.connect(str(path))
    conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
    try:
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        return {
            row[0]: {c: _read_value(formats.get(c, "text"), v) for c, v in zip(columns, row[1:])}
            for row in conn.execute(f'SELECT rowid, * FROM "{table}"')
        }
    finally:
        conn.close()


def tables_of(path: Path) -> List[str]:
    conn = sqlite3.connect(str(path))
    try:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        return [r[0] for r in conn.execute(sql)]
    finally:
        conn.close()


def differences(original: Path, rolled_back: Path) -> List[Tuple[Any, ...]]:
    """Every difference, as the legacy code reads them, between the legacy tables under
    ``original`` and the same tables under ``rolled_back``. A column the original lacks
    must be NULL in the rolled-back file."""
    out: List[Tuple[Any, ...]] = []
    for layout in LEGACY_FILES:
        src = original / layout.path
        if not src.is_file() or src.stat().st_size == 0:
            continue
        for table in tables_of(src):
            a = read_table(src, layout.path, table)
            b = read_table(rolled_back / layout.path, layout.path, table)
            if set(a) != set(b):
                out.append((layout.path, table, "ids", sorted(set(a) ^ set(b))[:10]))
                continue
            for rowid, row in a.items():
                other = b[rowid]
                for column in set(row) | set(other):
                    mine = row.get(column, ("NoneType", None))
                    theirs = other.get(column, ("NoneType", None))
                    if mine != theirs:
                        out.append((layout.path, table, rowid, column, mine, theirs))
    return out
