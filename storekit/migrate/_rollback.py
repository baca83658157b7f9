"""``rollback``: the store back into legacy-format SQLite files, losing nothing.

Every legacy file of :data:`storekit.legacy.LEGACY_FILES` is written under the output
directory at its legacy path, with the legacy DDL and indexes
(:func:`storekit.legacy.create_legacy_file`, widest layout), holding:

* the records that came from the file's tables, under their original legacy ``id`` (or
  ``rowid``, for tables without one): kept in the record where the record is keyed by
  ``id``, else taken from the ledger (:class:`~storekit.records.LegacyRow`);
* the records written since: records keyed by ``id`` keep it (client-generated ids never
  collide with legacy ones); the others get ids after the table's largest legacy id.
  A record type fed by several legacy tables goes to the table its discriminator names,
  else (``feedback_data``) to the first table its declaration lists;
* the quarantined rows, restored exactly, and the columns the mapping did not know
  (added back with ``ALTER TABLE``).

Values are written in the format the legacy code writes for each column
(:func:`storekit.migrate._convert.writer_for`). The store is only read. Files are
written under temporary names and renamed at the end, so a failure leaves no half file;
existing files are overwritten only with ``force=True``.

Records keyed by ``id`` are read a page at a time (constant memory). For the other
tables the ledger's map from record key to legacy id is held in memory while the table
is written: one entry per legacy row of that table.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import attrs

from ..errors import OutputExistsError
from ..legacy import LEGACY_FILES, MAIN_DB, LegacyTable, create_legacy_file
from ..query import Agg, Eq, Filter, Range
from ..records import LegacyRow, QuarantinedRow, RecordSpec, spec_of
from ..store import Store
from ._bulk import RANGE_STATUS
from ._convert import DEFAULT_ZONE, Writer, writer_for, zone
from ._mapping import TableMapping, mapping_for
from ._run import untag_value
from ._store_rows import StoreRows
from ._verify import _typed_key

__all__ = ["RollbackReport", "TableRollback", "rollback"]

BATCH_ROWS = 5_000
_TMP_SUFFIX = ".storekit-rollback"

Progress = Callable[[str, "TableRollback"], None]
"""Called with ``'start'``, ``'batch'`` and ``'end'`` and the table's report so far."""


@attrs.define
class TableRollback:
    """What :func:`rollback` wrote into one legacy table."""

    file: str
    table: str
    total: int = 0
    """Rows to write (records and quarantined rows), known when the table starts."""
    from_legacy: int = 0
    written_since: int = 0
    restored: int = 0
    extra_columns: Tuple[str, ...] = ()
    conflicts: List[str] = attrs.Factory(list)
    """Quarantined rows that could not be restored because a record took their unique key."""

    @property
    def rows(self) -> int:
        return self.from_legacy + self.written_since + self.restored

    def as_dict(self) -> Dict[str, Any]:
        return {
            "file": self.file,
            "table": self.table,
            "rows": self.rows,
            "from_legacy": self.from_legacy,
            "written_since": self.written_since,
            "restored_from_quarantine": self.restored,
            "extra_columns": list(self.extra_columns),
            "conflicts": list(self.conflicts),
        }


@attrs.define
class RollbackReport:
    """The result of :func:`rollback`."""

    out_dir: str
    files: List[str] = attrs.Factory(list)
    tables: List[TableRollback] = attrs.Factory(list)

    @property
    def conflicts(self) -> List[str]:
        return [c for t in self.tables for c in t.conflicts]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "out_dir": self.out_dir,
            "files": list(self.files),
            "rows": sum(t.rows for t in self.tables),
            "tables": [t.as_dict() for t in self.tables],
            "conflicts": self.conflicts,
        }


class _Writer:
    """How one legacy table's rows are built from record field tuples."""

    def __init__(self, mapping: TableMapping, layout: LegacyTable, tz: dt.tzinfo) -> None:
        spec = spec_of(mapping.record_type)
        fields = {name: i for i, name in enumerate(spec.field_names)}
        sqlalchemy = mapping.file == MAIN_DB
        self.spec: RecordSpec = spec
        self.mapping = mapping
        self.has_id = "id" in layout.column_names
        self.id_column = "id" if self.has_id else "rowid"
        self.by_id = ("id", "id") in {(c.column, c.field) for c in mapping.columns} and spec.key == ("id",)
        self.parts: List[Tuple[str, Callable[[Sequence[Any]], Any]]] = []
        for cm in mapping.columns:
            if cm.column == "id" and self.by_id:
                continue  # written as the row id
            if cm.split is not None:
                self.parts.append((cm.column, _split_writer(fields[cm.split[0]], fields[cm.split[1]])))
            else:
                notnull = layout.column(cm.column).notnull
                write = writer_for(cm.conversion, tz, sqlalchemy=sqlalchemy, notnull=notnull)
                pos = fields[cm.field]
                self.parts.append((cm.column, _field_writer(pos, write)))
        self.columns = (self.id_column, *(c for c, _ in self.parts))
        self.id_pos = fields.get("id")

    def row(self, legacy_id: int, values: Sequence[Any]) -> Tuple[Any, ...]:
        return (legacy_id, *(part(values) for _, part in self.parts))


def _split_writer(number: int, text: int) -> Callable[[Sequence[Any]], Any]:
    return lambda r: r[number] if r[text] is None else r[text]


def _field_writer(pos: int, write: Writer) -> Callable[[Sequence[Any]], Any]:
    return lambda r: write(r[pos])


def _insert_sql(table: str, columns: Sequence[str], as_text: Sequence[str] = ()) -> str:
    names = ", ".join(c if c == "rowid" else f'"{c}"' for c in columns)
    # TEXT whose bytes are not UTF-8 was kept as bytes ("text_bytes"): CAST keeps it TEXT
    marks = ", ".join("CAST(? AS TEXT)" if c in as_text else "?" for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks})'


class _Out:
    """One output table: inserts in batches, extra columns added on first sight."""

    def __init__(self, conn: sqlite3.Connection, layout: LegacyTable, report: TableRollback) -> None:
        self.conn = conn
        self.table = layout.name
        self.known = set(layout.column_names) | {"rowid"}
        self.report = report
        self.extra: List[str] = []

    def add_columns(self, names: Sequence[str]) -> None:
        for name in names:
            if name not in self.known:
                # the legacy type is not known to the store; no type keeps every value as bound
                self.conn.execute(f'ALTER TABLE "{self.table}" ADD COLUMN "{name}"')
                self.known.add(name)
                self.extra.append(name)
                self.report.extra_columns = tuple(self.extra)

    def insert(
        self,
        columns: Sequence[str],
        rows: List[Tuple[Any, ...]],
        what: Optional[List[str]] = None,
        as_text: Sequence[str] = (),
    ) -> int:
        """Insert ``rows``; with ``what`` (a label per row) a row whose unique key is taken
        is skipped and listed in the report's conflicts instead of failing."""
        if not rows:
            return 0
        self.add_columns([c for c in columns if c not in self.known])
        sql = _insert_sql(self.table, columns, as_text)
        if what is None:
            self.conn.executemany(sql, rows)
            return len(rows)
        done = 0
        for row, label in zip(rows, what):
            try:
                self.conn.execute(sql, row)
                done += 1
            except sqlite3.IntegrityError as exc:
                self.report.conflicts.append(f"{self.report.file}:{self.table} {label}: {exc}")
        return done


def _chunks(rows: Iterator[Tuple[Any, ...]], size: int) -> Iterator[List[Tuple[Any, ...]]]:
    chunk: List[Tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sources(spec: RecordSpec, mapping: TableMapping) -> Tuple[bool, List[Tuple[str, str]]]:
    """Whether this table is where new records of its type go, and the other legacy tables
    whose records share the type without a discriminator telling them apart."""
    constants = dict(mapping.constants)
    same = [s for s in spec.legacy if s.discriminator is None or dict([s.discriminator]) == constants]
    primary = (same[0].file, same[0].table) == (mapping.file, mapping.table)
    others = [(s.file, s.table) for s in same if (s.file, s.table) != (mapping.file, mapping.table)]
    return primary, others


def _ledger(reader: StoreRows, spec: RecordSpec, file: str, table: str) -> Dict[Tuple[Any, ...], Tuple[int, Any]]:
    """{record key: (legacy id, extra)} of the migrated rows of one legacy table."""
    names = spec_of(LegacyRow).field_names
    i_id, i_key, i_status, i_extra = (names.index(n) for n in ("legacy_id", "record_key", "status", "extra"))
    out: Dict[Tuple[Any, ...], Tuple[int, Any]] = {}
    for row in reader.rows(LegacyRow, [Eq("file", file), Eq("table", table)]):
        if row[i_status] != "migrated":
            continue
        key = _typed_key(spec, row[i_key])
        if key is not None:
            out[key] = (row[i_id], row[i_extra])
    return out


def _ledger_page(
    reader: StoreRows, file: str, table: str, in_range: List[Filter], hi: int
) -> Tuple[Dict[int, Any], List[Tuple[int, int]]]:
    """The ledger of a page of records keyed by their legacy id: {legacy id: extra} of the
    rows listed one by one, and the (first, last) legacy ids of the migrated ranges that
    reach into the page (a range row is keyed by its last id: the one just past the page
    may begin inside it)."""
    names = spec_of(LegacyRow).field_names
    i_id, i_key, i_status, i_extra = (names.index(n) for n in ("legacy_id", "record_key", "status", "extra"))
    rows = reader.all(LegacyRow, in_range)
    after: List[Filter] = [Eq("file", file), Eq("table", table), Eq("status", RANGE_STATUS), Range("legacy_id", gt=hi)]
    rows += list(reader.rows(LegacyRow, after, order_by=("legacy_id",), limit=1, stream=False))
    ledger: Dict[int, Any] = {}
    ranges: List[Tuple[int, int]] = []
    for r in rows:
        if r[i_status] != RANGE_STATUS:
            ledger[r[i_id]] = r[i_extra]
        elif isinstance(r[i_key], dict):
            ranges.append((int(r[i_key]["from"]), int(r[i_key]["to"])))
    return ledger, ranges


def _max_legacy_id(store: Store, file: str, table: str) -> int:
    rows = store.aggregate(LegacyRow, Agg("max", "legacy_id"), where=[Eq("file", file), Eq("table", table)])
    value = rows[0]["max_legacy_id"] if rows else None
    return 0 if value is None else int(value)


def _extras(extra: Any) -> Dict[str, Any]:
    return {c: untag_value(v) for c, v in extra.items()} if isinstance(extra, dict) else {}


def _text_bytes(tagged: Any) -> List[str]:
    """Columns of a ``{column: tagged value}`` dict that hold TEXT kept as bytes."""
    if not isinstance(tagged, dict):
        return []
    return [c for c, v in tagged.items() if isinstance(v, list) and v and v[0] == "text_bytes"]


def _write_records(
    reader: StoreRows, store: Store, w: _Writer, out: _Out, report: TableRollback, progress: Optional[Progress]
) -> None:
    spec, mapping = w.spec, w.mapping
    file, table = mapping.file, mapping.table
    constants: List[Filter] = [Eq(name, value) for name, value in mapping.constants]
    primary, others = _sources(spec, mapping)
    if w.by_id and not others:
        assert w.id_pos is not None
        last: Optional[int] = None
        while True:
            where: List[Filter] = [*constants] + ([Range("id", gt=last)] if last is not None else [])
            page = list(reader.rows(spec.cls, where, order_by=("id",), limit=BATCH_ROWS, stream=False))
            if not page:
                return
            last = page[-1][w.id_pos]
            ids = [r[w.id_pos] for r in page]
            in_range: List[Filter] = [
                Eq("file", file),
                Eq("table", table),
                Range("legacy_id", ge=min(ids), le=max(ids)),
            ]
            ledger, ranges = _ledger_page(reader, file, table, in_range, max(ids))
            from_page: List[Tuple[int, Tuple[Any, ...], Any]] = []
            for r in page:
                found = ledger.get(r[w.id_pos], _NEW)
                if found is _NEW and any(lo <= r[w.id_pos] <= hi for lo, hi in ranges):
                    found = None  # a migrated range: from the legacy table, no extra columns
                from_page.append((r[w.id_pos], r, found))
            _emit(out, w, from_page, report)
            if progress:
                progress("batch", report)
    own = _ledger(reader, spec, file, table)
    elsewhere: Set[Tuple[Any, ...]] = set()
    for other_file, other_table in others:
        elsewhere.update(_ledger(reader, spec, other_file, other_table))
    next_id: Optional[int] = None
    key_pos = [spec.field_names.index(k) for k in spec.key]
    for chunk in _chunks(reader.rows(spec.cls, constants), BATCH_ROWS):
        items: List[Tuple[int, Tuple[Any, ...], Any]] = []
        for values in chunk:
            key = tuple(values[p] for p in key_pos)
            found = own.get(key)
            if found is not None:
                items.append((found[0], values, found[1]))
            elif w.by_id and key not in elsewhere and primary:
                items.append((values[w.id_pos], values, _NEW))  # type: ignore[index]
            elif key not in elsewhere and primary:
                if next_id is None:
                    next_id = _max_legacy_id(store, file, table) + 1
                items.append((next_id, values, _NEW))
                next_id += 1
        _emit(out, w, items, report)
        if progress:
            progress("batch", report)


_NEW: Any = object()
"""Marks a record with no ledger entry: written since the migration."""


def _emit(out: _Out, w: _Writer, items: List[Tuple[int, Tuple[Any, ...], Any]], report: TableRollback) -> None:
    plain: List[Tuple[Any, ...]] = []
    for legacy_id, values, extra in items:
        row = w.row(legacy_id, values)
        if extra is _NEW:
            report.written_since += 1
        else:
            report.from_legacy += 1
        extras = _extras(extra) if extra is not _NEW else {}
        if extras:
            out.insert((*w.columns, *extras), [(*row, *extras.values())], as_text=_text_bytes(extra))
        else:
            plain.append(row)
    out.insert(w.columns, plain)


def _restore_quarantined(reader: StoreRows, w: _Writer, out: _Out, report: TableRollback) -> None:
    names = spec_of(QuarantinedRow).field_names
    i_id, i_row = names.index("legacy_id"), names.index("row")
    where = [Eq("file", w.mapping.file), Eq("table", w.mapping.table)]
    for chunk in _chunks(reader.rows(QuarantinedRow, where, order_by=("legacy_id",)), BATCH_ROWS):
        for q in chunk:
            kept = q[i_row] if isinstance(q[i_row], dict) else {}
            values = {c: untag_value(v) for c, v in kept.items()}
            if not w.has_id:
                values.pop("rowid", None)
                values = {"rowid": q[i_id], **values}
            label = [f"quarantined legacy id {q[i_id]}"]
            report.restored += out.insert(tuple(values), [tuple(values.values())], label, _text_bytes(kept))


def _count(store: Store, w: _Writer) -> int:
    constants = [Eq(name, value) for name, value in w.mapping.constants]
    quarantined = store.count(QuarantinedRow, Eq("file", w.mapping.file), Eq("table", w.mapping.table))
    return store.count(w.spec.cls, *constants) + quarantined


def rollback(
    store: Store,
    out_dir: Union[str, os.PathLike[str]],
    *,
    force: bool = False,
    zone_name: str = DEFAULT_ZONE,
    progress: Optional[Progress] = None,
    generic: bool = False,
) -> RollbackReport:
    """Write the legacy files under ``out_dir`` from ``store`` (see the module docstring).

    Raises :class:`~storekit.errors.OutputExistsError`, before writing anything, when a
    legacy file already exists under ``out_dir`` and ``force`` is false. ``generic=True``
    reads the store only through :meth:`storekit.Store.find`.
    """
    tz = zone(zone_name)
    root = Path(out_dir)
    targets = [(f, root / f.path) for f in LEGACY_FILES]
    existing = [str(p) for _, p in targets if p.exists() or Path(str(p) + _TMP_SUFFIX).exists()]
    if existing and not force:
        raise OutputExistsError(existing)
    reader = StoreRows(store, generic=generic)
    report = RollbackReport(out_dir=str(root))
    written: List[Tuple[Path, Path]] = []
    try:
        for layout, target in targets:
            tmp = Path(str(target) + _TMP_SUFFIX)
            if tmp.exists():
                tmp.unlink()
            written.append((tmp, target))
            create_legacy_file(tmp, layout.path)
            conn = sqlite3.connect(str(tmp))
            try:
                with conn:
                    for table in layout.tables:
                        _rollback_table(conn, reader, store, layout.path, table, tz, report, progress)
            finally:
                conn.close()
        for tmp, target in written:
            os.replace(tmp, target)
            report.files.append(str(target.relative_to(root).as_posix()))
    except BaseException:
        for tmp, _ in written:
            if tmp.exists():
                tmp.unlink()
        raise
    return report


def _rollback_table(
    conn: sqlite3.Connection,
    reader: StoreRows,
    store: Store,
    file: str,
    layout: LegacyTable,
    tz: dt.tzinfo,
    report: RollbackReport,
    progress: Optional[Progress],
) -> None:
    mapping = mapping_for(file, layout.name)
    w = _Writer(mapping, layout, tz)
    table_report = TableRollback(file, layout.name)
    report.tables.append(table_report)
    if progress:
        table_report.total = _count(store, w)
        progress("start", table_report)
    out = _Out(conn, layout, table_report)
    _write_records(reader, store, w, out, table_report, progress)
    _restore_quarantined(reader, w, out, table_report)
    if progress:
        progress("end", table_report)
