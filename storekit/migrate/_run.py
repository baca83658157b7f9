"""``migrate``: stream every legacy table into the store, batch by batch.

Each batch (rows in rowid order) is converted, validated and written with its ledger
and quarantine rows in ONE store transaction, so a run killed at any point leaves
whole batches. A later run skips the rows whose legacy id is at most the largest one
already in the ledger for that table (``already_present``).
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import attrs

from ..errors import RecordValidationError, StorekitError
from ..query import Agg, Eq, In, Range
from ..records import LegacyRow, QuarantinedRow, Record, RecordSpec, all_record_types, spec_of
from ..store import Store
from ._bulk import quarantined
from ._convert import DEFAULT_ZONE, Converter, Quarantine, converter_for, real, text, zone
from ._legacy_read import BATCH_ROWS as _BATCH_ROWS
from ._legacy_read import InvalidText, has_table, legacy_batches, open_legacy, unknown_tables
from ._mapping import TableMapping, mapping_for, migration_order

log = logging.getLogger("storekit.migrate")

__all__ = ["MigrationReport", "TableReport", "migrate", "parse_only", "tag_value", "untag_value"]

BATCH_ROWS = _BATCH_ROWS  # read at call time, so a test may lower it
BULK = True
"""Whether tables that can use it go through the bulk lane (:mod:`storekit.migrate._bulk`);
read at call time, so a test may compare both lanes."""


@attrs.define
class TableReport:
    """What happened to one legacy table."""

    file: str
    table: str
    source_rows: int = 0
    migrated: int = 0
    quarantined: int = 0
    already_present: int = 0
    extra_columns: Tuple[str, ...] = ()
    missing_columns: Tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return self.migrated + self.quarantined + self.already_present

    def as_dict(self) -> Dict[str, Any]:
        return {
            "file": self.file,
            "table": self.table,
            "source_rows": self.source_rows,
            "migrated": self.migrated,
            "quarantined": self.quarantined,
            "already_present": self.already_present,
            "extra_columns": list(self.extra_columns),
            "missing_columns": list(self.missing_columns),
        }


@attrs.define
class MigrationReport:
    """The result of :func:`migrate`."""

    tables: List[TableReport] = attrs.Factory(list)
    absent_files: List[str] = attrs.Factory(list)
    unknown_tables: List[str] = attrs.Factory(list)
    """``file:table`` of tables a legacy file holds that no mapping knows (not migrated)."""
    dry_run: bool = False

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables)

    @property
    def migrated(self) -> int:
        return sum(t.migrated for t in self.tables)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "tables": [t.as_dict() for t in self.tables],
            "absent_files": list(self.absent_files),
            "unknown_tables": list(self.unknown_tables),
            "dry_run": self.dry_run,
            "migrated": self.migrated,
            "quarantined": self.quarantined,
        }


Progress = Callable[[str, TableReport], None]
"""Called with ``'start'``, ``'batch'`` and ``'end'`` and the table's report so far."""


# -- tagged values -----------------------------------------------------------------------


def tag_value(value: Any) -> List[str]:
    """A legacy SQLite value as a JSON-storable tagged value (nothing lost)."""
    if value is None:
        return ["null"]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["real", repr(value)]
    if isinstance(value, InvalidText):
        return ["text_bytes", bytes(value).hex()]
    if isinstance(value, bytes):
        return ["blob", value.hex()]
    s = str(value)
    try:
        s.encode("utf-8")
        ok = "\x00" not in s
    except UnicodeEncodeError:
        ok = False
    return ["text", s] if ok else ["text_hex", s.encode("utf-8", "surrogatepass").hex()]


def untag_value(tagged: Sequence[str]) -> Any:
    """The inverse of :func:`tag_value`."""
    kind = tagged[0]
    if kind == "null":
        return None
    if kind == "int":
        return int(tagged[1])
    if kind == "real":
        return float(tagged[1])
    if kind == "text":
        return tagged[1]
    if kind == "text_hex":
        return bytes.fromhex(tagged[1]).decode("utf-8", "surrogatepass")
    if kind in ("blob", "text_bytes"):
        return bytes.fromhex(tagged[1])
    raise ValueError(f"unknown tag {kind!r}")


def _key_text(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


# -- the run -----------------------------------------------------------------------------


def parse_only(only: Optional[Sequence[str]]) -> Optional[List[Tuple[str, Optional[str]]]]:
    """``['FILE[:TABLE]', ...]`` as (file, table or None); ``ValueError`` for unknown names."""
    if not only:
        return None
    known = migration_order()
    out: List[Tuple[str, Optional[str]]] = []
    for item in only:
        file, _, table = item.partition(":")
        if not any(f == file and (not table or t == table) for f, t in known):
            raise ValueError(f"--only {item!r}: not a legacy file or table")
        out.append((file, table or None))
    return out


def _selected(file: str, table: Optional[str], only: Optional[List[Tuple[str, Optional[str]]]]) -> bool:
    return only is None or any(f == file and (t is None or t == table) for f, t in only)


class _Plan:
    """One table's compiled conversion: column positions and converters."""

    def __init__(self, mapping: TableMapping, columns: Sequence[str], tz: dt.tzinfo) -> None:
        self.mapping = mapping
        self.columns = tuple(columns)
        self.spec = spec_of(mapping.record_type)
        position = {c: i for i, c in enumerate(columns)}
        self.fills: List[Tuple[int, str, Converter]] = []
        self.splits: List[Tuple[int, str, str]] = []
        self.missing: List[str] = []
        for cm in mapping.columns:
            if cm.column not in position:
                self.missing.append(cm.column)
                continue
            if cm.split is not None:
                self.splits.append((position[cm.column], cm.split[0], cm.split[1]))
            else:
                self.fills.append((position[cm.column], cm.field, converter_for(cm.conversion, tz)))
        known = set(mapping.known_columns)
        self.extra = tuple(c for c in columns if c not in known)
        self.extra_pos = tuple(position[c] for c in self.extra)
        self.missing_fields = {mapping.column(c).field: None for c in self.missing if mapping.column(c).split is None}
        self.constants = dict(mapping.constants)

    def record(self, row: Sequence[Any]) -> Record:
        kwargs: Dict[str, Any] = dict(self.missing_fields)
        kwargs.update(self.constants)
        name = ""
        try:
            for i, name, convert in self.fills:
                kwargs[name] = convert(row[i])
            for i, name, text_name in self.splits:
                value = row[i]
                if isinstance(value, str):
                    kwargs[name], kwargs[text_name] = None, text(value)
                else:
                    kwargs[name], kwargs[text_name] = real(value), None
        except Quarantine as exc:
            raise Quarantine(f"{self.spec.name}.{name}: {exc.reason}") from None
        result: Record = self.mapping.record_type(**kwargs)
        return result


def _table_types() -> Dict[str, type]:
    return {spec_of(t).table: t for t in all_record_types()}


def _dangling(store: Store, records: List[Tuple[int, Record]]) -> Dict[int, str]:
    """Legacy ids of ``records`` whose references point at nothing in the store, with the reason."""
    if not records:
        return {}
    spec = spec_of(records[0][1])
    out: Dict[int, str] = {}
    types = _table_types()
    for ref in spec.references:
        if len(ref.fields) != 1:
            continue
        field, target_field = ref.fields[0], ref.target_fields[0]
        wanted = {getattr(r, field) for _, r in records} - {None}
        if not wanted:
            continue
        target = types[ref.target]
        found: Set[Any] = set()
        values = sorted(wanted, key=repr)
        for start in range(0, len(values), 1000):
            chunk = values[start : start + 1000]
            hits: Iterator[Any] = store.find(target, In(target_field, chunk))
            found.update(getattr(hit, target_field) for hit in hits)
        for legacy_id, r in records:
            value = getattr(r, field)
            if value is not None and value not in found and legacy_id not in out:
                out[legacy_id] = (
                    f"dangling reference: {spec.name}.{field} = {value!r} has no {ref.target}.{target_field}"
                )
    return out


def _taken(store: Store, spec: RecordSpec, records: List[Tuple[int, Record]]) -> Dict[int, str]:
    """Legacy ids of ``records`` whose key already belongs to a record in the store (another
    legacy row, or a record written outside the migration): never overwritten."""
    keys = [spec.key_of(r) for _, r in records]
    found: Set[Tuple[Any, ...]] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        filters = [In(name, sorted({k[i] for k in chunk}, key=repr)) for i, name in enumerate(spec.key)]
        hits: Iterator[Record] = store.find(spec.cls, *filters)
        found.update(spec.key_of(hit) for hit in hits)
    if not found:
        return {}
    return {
        legacy_id: f"key {_key_repr(spec, key)} is already in the store (another legacy row or an existing record)"
        for (legacy_id, _), key in zip(records, keys)
        if key in found
    }


def _key_repr(spec: RecordSpec, key: Tuple[Any, ...]) -> str:
    return "(" + ", ".join(f"{n}={_key_text(v)}" for n, v in zip(spec.key, key)) + ")"


def _ids_cannot_collide(
    conn: sqlite3.Connection, store: Store, plan: _Plan, info: Sequence[Tuple[Any, ...]], after: int
) -> bool:
    """True when the rows still to migrate cannot hit a key already in the store: the record
    is keyed by the legacy ``id``, that column is the table's rowid alias (unique), and the
    store holds no record in the id range still to come."""
    if plan.spec.key != ("id",) or ("id", "id") not in {(c.column, c.field) for c in plan.mapping.columns}:
        return False
    pk = [(r[1], str(r[2]).upper()) for r in info if r[5]]
    if pk != [("id", "INTEGER")]:
        return False
    hi = conn.execute(f'SELECT MAX(rowid) FROM "{plan.mapping.table}"').fetchone()[0]
    return hi is None or store.count(plan.spec.cls, Range("id", gt=after, le=hi)) == 0


def _ledger_max(store: Store, file: str, table: str) -> Optional[int]:
    rows = store.aggregate(LegacyRow, Agg("max", "legacy_id"), where=[Eq("file", file), Eq("table", table)])
    value = rows[0]["max_legacy_id"] if rows else None
    return None if value is None else int(value)


def _migrate_table(
    conn: sqlite3.Connection,
    store: Store,
    mapping: TableMapping,
    report: TableReport,
    tz: dt.tzinfo,
    dry_run: bool,
    progress: Optional[Progress],
) -> None:
    info = conn.execute(f'PRAGMA table_info("{mapping.table}")').fetchall()
    columns = [r[1] for r in info]
    plan = _Plan(mapping, columns, tz)
    report.extra_columns = plan.extra
    report.missing_columns = tuple(plan.missing)
    report.source_rows = conn.execute(f'SELECT COUNT(*) FROM "{mapping.table}"').fetchone()[0]
    done_max = None if dry_run else _ledger_max(store, mapping.file, mapping.table)
    after = -(2**63)
    if done_max is not None:
        report.already_present = conn.execute(
            f'SELECT COUNT(*) FROM "{mapping.table}" WHERE rowid <= ?', (done_max,)
        ).fetchone()[0]
        after = done_max
    if progress:
        progress("start", report)
    spec = plan.spec
    key_getter = spec.key_of
    check_refs = bool(spec.references) and not dry_run
    check_taken = not dry_run and not _ids_cannot_collide(conn, store, plan, info, after)
    if BULK and not dry_run and not check_taken and not check_refs:
        from ._bulk import bulk_lane, run_lane

        lane = bulk_lane(plan, store, tz, info)
        if lane is not None:
            run_lane(lane, conn, store, after, report, tag_value, progress)
            if progress:
                progress("end", report)
            return
    for rows in legacy_batches(conn, mapping.table, columns, after=after, size=BATCH_ROWS):
        good: List[Tuple[int, Record]] = []
        bad: Dict[int, str] = {}
        by_id: Dict[int, Tuple[Any, ...]] = {}
        seen: Dict[Tuple[Any, ...], int] = {}
        for row in rows:
            legacy_id = row[0]
            values = row[1:]
            by_id[legacy_id] = values
            try:
                rec = plan.record(values)
            except Quarantine as exc:
                bad[legacy_id] = exc.reason
                continue
            except (RecordValidationError, TypeError, ValueError) as exc:
                bad[legacy_id] = str(exc)
                continue
            key = key_getter(rec)
            if key in seen:
                bad[legacy_id] = f"duplicate key {key!r} of legacy row {seen[key]} in the same table"
                continue
            seen[key] = legacy_id
            good.append((legacy_id, rec))
        if check_taken and good:
            taken = _taken(store, spec, good)
            if taken:
                bad.update(taken)
                good = [(i, r) for i, r in good if i not in taken]
        if check_refs:
            dangling = _dangling(store, good)
            if dangling:
                bad.update(dangling)
                good = [(i, r) for i, r in good if i not in dangling]
        report.migrated += len(good)
        report.quarantined += len(bad)
        if not dry_run:
            _write(store, mapping, plan, spec.table, good, bad, by_id, columns)
        if progress:
            progress("batch", report)
    if progress:
        progress("end", report)


def _write(
    store: Store,
    mapping: TableMapping,
    plan: _Plan,
    record_table: str,
    good: List[Tuple[int, Record]],
    bad: Dict[int, str],
    by_id: Dict[int, Tuple[Any, ...]],
    columns: Sequence[str],
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    ledger: List[LegacyRow] = []
    quarantine: List[QuarantinedRow] = []
    file, table = mapping.file, mapping.table
    for legacy_id, rec in good:
        values = by_id[legacy_id]
        extra = {c: tag_value(values[i]) for c, i in zip(plan.extra, plan.extra_pos)} or None
        ledger.append(
            LegacyRow(
                file=file,
                table=table,
                legacy_id=legacy_id,
                record_table=record_table,
                record_key=[_key_text(v) for v in rec.key],
                status="migrated",
                extra=extra,
                migrated_at=now,
            )
        )
    for legacy_id, reason in sorted(bad.items()):
        row = {c: tag_value(v) for c, v in zip(columns, by_id[legacy_id])}
        kept, entry = quarantined(file, table, legacy_id, reason, row, now)
        quarantine.append(kept)
        ledger.append(entry)
    # Everything here is new: keys already in the store were quarantined above, and the
    # ledger holds no row of this batch (it resumes after its largest legacy id). So the
    # batch is appended (COPY straight into the tables on PostgreSQL), all or nothing.
    with store.transaction():
        for part in ([r for _, r in good], ledger, quarantine):
            if part:
                store.append(part)


def migrate(
    legacy_dir: Union[str, Path],
    store: Store,
    *,
    only: Optional[Sequence[str]] = None,
    dry_run: bool = False,
    zone: str = DEFAULT_ZONE,
    progress: Optional[Progress] = None,
) -> MigrationReport:
    """Migrate every legacy table found under ``legacy_dir`` (the application's ``data/``)
    into ``store``; see the module docstring. ``only`` holds ``'FILE[:TABLE]'`` filters."""
    import time

    tz = _zone(zone)
    root = Path(legacy_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"legacy directory {root} does not exist")
    selected = parse_only(only)
    report = MigrationReport(dry_run=dry_run)
    conns: Dict[str, Optional[sqlite3.Connection]] = {}
    try:
        for file, table in migration_order():
            if not _selected(file, table, selected):
                continue
            if file not in conns:
                path = root / file
                if not path.is_file():
                    conns[file] = None
                    report.absent_files.append(file)
                else:
                    opened = conns[file] = open_legacy(path)
                    if _selected(file, None, selected):
                        report.unknown_tables.extend(unknown_tables(opened, file))
            conn = conns[file]
            if conn is None or not has_table(conn, table):
                continue
            t0 = time.perf_counter()
            table_report = TableReport(file, table)
            report.tables.append(table_report)
            _migrate_table(conn, store, mapping_for(file, table), table_report, tz, dry_run, progress)
            table_report.seconds = time.perf_counter() - t0
    finally:
        for c in conns.values():
            if c is not None:
                c.close()
    if not dry_run and any(t.migrated for t in report.tables):
        _analyze(store, [mapping_for(t.file, t.table).record_type for t in report.tables if t.migrated])
    return report


def _analyze(store: Store, record_types: List[type]) -> None:
    """Refresh the planner statistics after the load (a backend's optional ``analyze``):
    without them PostgreSQL plans for the handful of rows it saw before it."""
    analyze = getattr(store.backend, "analyze", None)
    if analyze is None:
        return
    try:
        analyze(list(dict.fromkeys(record_types)))
    except StorekitError as exc:  # the data is in; only the statistics are late
        log.warning("could not refresh the planner statistics after the migration: %s", exc)


def _zone(name: str) -> dt.tzinfo:
    return zone(name)
