"""``verify``: every legacy row is in the store with equal content, or in quarantine.

Each legacy table is read in rowid order, a batch at a time; for each batch the store's
records and quarantined rows of that range are read, and every row is checked:

* quarantined: the :class:`~storekit.records.QuarantinedRow` holds exactly the legacy
  values (every column, tagged) and a reason;
* otherwise the record it became exists and every mapped field equals the legacy value
  after the documented conversion (:mod:`storekit.migrate._mapping`), floats bit for bit;
  columns the mapping does not know equal what the ledger kept for them.

Records are found by their ``id`` where the record keeps the legacy ``id``; otherwise
through the ledger (:class:`~storekit.records.LegacyRow`), which names each legacy row's
record key. Memory is one batch, whatever the table size.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import attrs

from ..legacy import MAIN_DB
from ..query import Eq, Filter, In, Range
from ..records import Kind, LegacyRow, QuarantinedRow, RecordSpec, spec_of
from ..store import Store
from ._convert import DEFAULT_ZONE, Converter, Quarantine, converter_for, real, text, writer_for, zone
from ._legacy_read import has_table, legacy_batches, open_legacy, unknown_tables
from ._mapping import TableMapping, mapping_for, migration_order
from ._run import tag_value
from ._store_rows import StoreRows

__all__ = ["Finding", "TableVerification", "VerifyReport", "verify"]


Progress = Callable[[str, "TableVerification"], None]
"""Called with ``'start'``, ``'batch'`` and ``'end'`` and the table's report so far."""


@attrs.frozen
class Finding:
    """One legacy row not accounted for. ``column`` is ``None`` when the whole row is
    missing; ``expected`` and ``found`` are short text forms of the two values."""

    file: str
    table: str
    legacy_id: int
    column: Optional[str]
    problem: str
    expected: Optional[str] = None
    found: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        return attrs.asdict(self)


@attrs.define
class TableVerification:
    """What :func:`verify` found for one legacy table."""

    file: str
    table: str
    source_rows: int = 0
    checked: int = 0
    matched: int = 0
    quarantined: int = 0
    findings: List[Finding] = attrs.Factory(list)
    seconds: float = 0.0

    @property
    def unaccounted(self) -> int:
        """Legacy rows with at least one finding."""
        return len({f.legacy_id for f in self.findings})

    def as_dict(self) -> Dict[str, Any]:
        return {
            "file": self.file,
            "table": self.table,
            "source_rows": self.source_rows,
            "matched": self.matched,
            "quarantined": self.quarantined,
            "unaccounted": self.unaccounted,
            "findings": [f.as_dict() for f in self.findings],
        }


@attrs.define
class VerifyReport:
    """The result of :func:`verify`; :attr:`ok` is true when every row is accounted for."""

    tables: List[TableVerification] = attrs.Factory(list)
    absent_files: List[str] = attrs.Factory(list)
    unknown_tables: List[str] = attrs.Factory(list)
    """``file:table`` of legacy tables no mapping knows: their rows are not in the store."""

    @property
    def findings(self) -> List[Finding]:
        return [f for t in self.tables for f in t.findings]

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)

    @property
    def ok(self) -> bool:
        return not self.unknown_tables and all(not t.findings for t in self.tables)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "matched": sum(t.matched for t in self.tables),
            "quarantined": sum(t.quarantined for t in self.tables),
            "unaccounted": sum(t.unaccounted for t in self.tables),
            "tables": [t.as_dict() for t in self.tables],
            "absent_files": list(self.absent_files),
            "unknown_tables": list(self.unknown_tables),
        }


# -- reading the legacy side -------------------------------------------------------------------


# -- comparing -----------------------------------------------------------------------------------


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        value = bytes(value)
    shown = repr(value)
    return shown if len(shown) <= 120 else shown[:117] + "..."


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type, floats bit for bit (``-0.0`` is not ``0.0``)."""
    if type(a) is not type(b):
        return _number(a) and _number(b) and same(float(a), float(b))
    if type(a) is float:
        if a != a:
            return bool(b != b)
        return bool(a == b) and (a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b))
    if type(a) is dt.datetime and a.tzinfo is not None and b.tzinfo is not None:
        # the same instant: Python's == never equates a local time in a gap or fold of its
        # zone (PEP 495) with a time of another zone, though both name one instant
        return bool(a.astimezone(dt.timezone.utc) == b.astimezone(dt.timezone.utc))
    return bool(a == b)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Check:
    """One table's comparison plan: for each mapped column, its position in the legacy row,
    its conversion and its position in the record's field tuple."""

    def __init__(
        self,
        mapping: TableMapping,
        columns: Sequence[str],
        tz: dt.tzinfo,
        types: Optional[Dict[str, str]] = None,
    ) -> None:
        self.mapping = mapping
        self.spec: RecordSpec = spec_of(mapping.record_type)
        fields = {name: i for i, name in enumerate(self.spec.field_names)}
        position = {c: i for i, c in enumerate(columns)}
        self.columns = tuple(columns)
        self.fills: List[Tuple[str, Optional[int], int, Converter]] = []
        self.splits: List[Tuple[str, int, int, int]] = []
        for cm in mapping.columns:
            pos = position.get(cm.column)
            if cm.split is not None:
                if pos is not None:
                    self.splits.append((cm.column, pos, fields[cm.split[0]], fields[cm.split[1]]))
            else:
                self.fills.append((cm.column, pos, fields[cm.field], converter_for(cm.conversion, tz)))
        self.constants = [(fields[name], value) for name, value in mapping.constants]
        known = set(mapping.known_columns)
        self.extra = tuple((c, i) for i, c in enumerate(columns) if c not in known)
        self.by_id = ("id", "id") in {(c.column, c.field) for c in mapping.columns} and self.spec.key == ("id",)
        self.quick = _compile_quick(mapping, position, fields, tz, dict(types or {}))
        self.id_pos = position.get("id")
        self.id_field = fields.get("id")

    def compare(self, values: Sequence[Any], found: Sequence[Any]) -> Iterator[Tuple[str, str, str, str]]:
        """(column, problem, expected, found) for every field that differs."""
        for column, pos, field_pos, convert in self.fills:
            raw = None if pos is None else values[pos]
            try:
                expected = convert(raw)
            except Quarantine as exc:
                yield (
                    column,
                    f"cannot be converted ({exc.reason}) but a record holds it",
                    _short(raw),
                    _short(found[field_pos]),
                )
                continue
            actual = found[field_pos]
            if not (expected is actual or same(expected, actual)):
                yield column, "changed", _short(expected), _short(actual)
        for column, pos, num_pos, text_pos in self.splits:
            raw = values[pos]
            try:
                expected_pair = (None, text(raw)) if isinstance(raw, str) else (real(raw), None)
            except Quarantine as exc:
                yield column, f"cannot be converted ({exc.reason}) but a record holds it", _short(raw), ""
                continue
            actual_pair = (found[num_pos], found[text_pos])
            if not all(e is a or same(e, a) for e, a in zip(expected_pair, actual_pair)):
                shown = expected_pair[0] if expected_pair[1] is None else expected_pair[1]
                got = actual_pair[0] if actual_pair[1] is None else actual_pair[1]
                yield column, "changed", _short(shown), _short(got)
        for field_pos, value in self.constants:
            if found[field_pos] != value:
                yield self.spec.field_names[field_pos], "changed", _short(value), _short(found[field_pos])


_IDENTITY_FORMATS = ("real", "int", "text", "bool01")

_INLINE_WRITERS: Dict[Tuple[str, bool], str] = {
    ("local_iso_T", False): "{0}.astimezone(_tz).replace(tzinfo=None).isoformat()",
    ("sqlite_adapter", False): "{0}.astimezone(_tz).replace(tzinfo=None).isoformat(' ')",
    ("sqlite_adapter", True): "{0}.astimezone(_tz).replace(tzinfo=None).isoformat(' ', 'microseconds')",
}
"""What :func:`writer_for` computes for the local timestamp formats (a test holds them equal)."""


def _converts_integral_reals(declared: str) -> bool:
    """Whether SQLite stores an integral REAL as an INTEGER in a column of this declared
    type (INTEGER and NUMERIC affinity), so that 1.0 can never be read back from it."""
    upper = declared.upper()
    if "INT" in upper:
        return True
    textual = any(t in upper for t in ("CHAR", "CLOB", "TEXT", "BLOB", "REAL", "FLOA", "DOUB"))
    return bool(upper) and not textual


def _runs(pairs: List[Tuple[int, int]]) -> List[str]:
    """``v[i] == f[j]`` for each pair, as slice comparisons where both positions run on."""
    out: List[str] = []
    k = 0
    while k < len(pairs):
        end = k
        while end + 1 < len(pairs) and pairs[end + 1] == (pairs[end][0] + 1, pairs[end][1] + 1):
            end += 1
        (i, j), (i2, j2) = pairs[k], pairs[end]
        out.append(f"v[{i}] == f[{j}]" if end == k else f"v[{i}:{i2 + 1}] == f[{j}:{j2 + 1}]")
        k = end + 1
    return out


def _compile_quick(
    mapping: TableMapping,
    position: Dict[str, int],
    fields: Dict[str, int],
    tz: dt.tzinfo,
    types: Dict[str, str],
) -> Callable[[Sequence[Any], Sequence[Any]], bool]:
    """``quick(row, found)``: True when every mapped column of the legacy ``row`` (rowid
    first) is exactly what the legacy code would write for the stored field tuple ``found``
    (the rollback writers of :func:`writer_for`). Generated once per table, like the SQL
    backend's writers. False means "look closer": the per-column comparison then decides
    (an equivalent spelling such as JSON with another key order, a ``-0.0``, a real change).
    """
    env: Dict[str, Any] = {"_tz": tz}
    conds: List[str] = []
    same: List[Tuple[int, int]] = []
    guards: List[str] = []
    sqlalchemy = mapping.file == MAIN_DB
    for n, cm in enumerate(mapping.columns):
        pos = position.get(cm.column)
        if cm.split is not None:
            if pos is None:
                continue
            num, txt = fields[cm.split[0]], fields[cm.split[1]]
            conds.append(f"v[{pos + 1}] == (f[{num}] if f[{txt}] is None else f[{txt}]) and f[{num}] != 0")
            continue
        j = fields[cm.field]
        if pos is None:
            conds.append(f"f[{j}] is None")
            continue
        i = pos + 1
        if cm.conversion in _IDENTITY_FORMATS:  # bool01 too: 1 == True, 0 == False
            same.append((i, j))
            if cm.conversion == "real":
                guards.append(f"f[{j}] != 0")  # the sign of a zero is checked closely
            elif cm.conversion == "bool01" and not _converts_integral_reals(types.get(cm.column, "")):
                guards.append(f"type(v[{i}]) is not float")  # bool01 refuses 1.0
            continue
        inline = _INLINE_WRITERS.get((cm.conversion, sqlalchemy))
        if inline is not None:  # the writer's expression, without two calls per value
            text = inline.format(f"f[{j}]")
            conds.append(f"(v[{i}] is None if f[{j}] is None else v[{i}] == {text})")
        else:
            env[f"w{n}"] = writer_for(cm.conversion, tz, sqlalchemy=sqlalchemy)
            conds.append(f"v[{i}] == w{n}(f[{j}])")
        if cm.conversion == "utc_sql":  # whole seconds only: a fraction is a change
            conds.append(f"(f[{j}] is None or f[{j}].microsecond == 0)")
    for n, (name, value) in enumerate(mapping.constants):
        env[f"c{n}"] = value
        conds.append(f"f[{fields[name]}] == c{n}")
    conds = _runs(same) + guards + conds  # slices of equal columns compare in C
    source = "def quick(v, f):\n    return " + (" and ".join(conds) or "True") + "\n"
    exec(compile(source, f"<storekit verify of {mapping.file}:{mapping.table}>", "exec"), env)
    quick: Callable[[Sequence[Any], Sequence[Any]], bool] = env["quick"]
    return quick


def _key_value(kind: Kind, text_form: str) -> Any:
    """A record key value from its ledger text form (``_key_text`` of the migration)."""
    if kind is Kind.INT:
        return int(text_form)
    if kind is Kind.FLOAT:
        return float(text_form)
    if kind is Kind.DATE:
        return dt.date.fromisoformat(text_form)
    if kind is Kind.TIMESTAMP:
        return dt.datetime.fromisoformat(text_form)
    if kind is Kind.BOOL:
        return text_form == "True"
    if kind is Kind.UUID:
        return uuid.UUID(text_form)
    return text_form


def _typed_key(spec: RecordSpec, record_key: Any) -> Optional[Tuple[Any, ...]]:
    if not isinstance(record_key, list) or len(record_key) != len(spec.key):
        return None
    try:
        return tuple(_key_value(spec.field(n).kind, str(v)) for n, v in zip(spec.key, record_key))
    except (TypeError, ValueError):
        return None


def _records_by_key(
    reader: StoreRows, check: _Check, keys: Sequence[Tuple[Any, ...]]
) -> Dict[Tuple[Any, ...], Tuple[Any, ...]]:
    spec = check.spec
    positions = [spec.field_names.index(n) for n in spec.key]
    out: Dict[Tuple[Any, ...], Tuple[Any, ...]] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        where = [In(name, sorted({k[i] for k in chunk}, key=repr)) for i, name in enumerate(spec.key)]
        for row in reader.all(spec.cls, where):
            out[tuple(row[p] for p in positions)] = row
    return out


def _verify_table(
    conn: sqlite3.Connection,
    reader: StoreRows,
    mapping: TableMapping,
    report: TableVerification,
    tz: dt.tzinfo,
    progress: Optional[Progress],
) -> None:
    info = conn.execute(f'PRAGMA table_info("{mapping.table}")').fetchall()
    columns = [r[1] for r in info]
    check = _Check(mapping, columns, tz, {r[1]: str(r[2]) for r in info})
    report.source_rows = conn.execute(f'SELECT COUNT(*) FROM "{mapping.table}"').fetchone()[0]
    if progress:
        progress("start", report)
    file, table = mapping.file, mapping.table
    spec = check.spec
    constants = [Eq(name, value) for name, value in mapping.constants]
    need_ledger = not check.by_id or bool(check.extra)
    qfields = spec_of(QuarantinedRow).field_names
    q_id, q_row, q_reason = (qfields.index(n) for n in ("legacy_id", "row", "reason"))
    lfields = spec_of(LegacyRow).field_names
    l_id, l_key, l_status, l_extra = (lfields.index(n) for n in ("legacy_id", "record_key", "status", "extra"))

    def finding(legacy_id: int, column: Optional[str], problem: str, exp: Any = None, got: Any = None) -> None:
        report.findings.append(Finding(file, table, legacy_id, column, problem, exp, got))

    quick = check.quick
    by_id = check.by_id and check.id_pos is not None and not check.extra
    id_col = 1 + (check.id_pos or 0)

    def inputs() -> Iterator[Tuple[List[Tuple[Any, ...]], Dict[Any, Any], Dict[Any, Any], Dict[Any, Any]]]:
        """Per legacy batch: its rows, and the quarantine, ledger and records of its range."""
        for batch in legacy_batches(conn, table, columns):
            lo, hi = batch[0][0], batch[-1][0]
            in_range: List[Filter] = [Eq("file", file), Eq("table", table), Range("legacy_id", ge=lo, le=hi)]
            quarantine = {r[q_id]: r for r in reader.all(QuarantinedRow, in_range)}
            ledger = {r[l_id]: r for r in reader.all(LegacyRow, in_range)} if need_ledger else {}
            records: Dict[Any, Tuple[Any, ...]] = {}
            if check.by_id and check.id_pos is not None and check.id_field is not None:
                ids = [row[1 + check.id_pos] for row in batch]
                ints = [i for i in ids if isinstance(i, int)]
                if ints:
                    where: List[Filter] = [*constants, Range("id", ge=min(ints), le=max(ints))]
                    records = {r[check.id_field]: r for r in reader.all(spec.cls, where, order_by=("id",))}
            elif not check.by_id:
                keys = []
                for entry in ledger.values():
                    key = _typed_key(spec, entry[l_key]) if entry[l_status] == "migrated" else None
                    if key is not None:
                        keys.append(key)
                records = _records_by_key(reader, check, keys)
            yield batch, quarantine, ledger, records

    for batch, quarantine, ledger, records in inputs():
        report.checked += len(batch)
        for row in batch:
            legacy_id = row[0]
            if by_id and not quarantine:  # the common case, kept short
                hit = records.get(row[id_col])
                if hit is not None and quick(row, hit):
                    report.matched += 1
                    continue
            values = row[1:]
            q = quarantine.get(legacy_id)
            if q is not None:
                _check_quarantined(q[q_row], q[q_reason], columns, values, legacy_id, finding)
                report.quarantined += 1
                continue
            record: Optional[Tuple[Any, ...]] = None
            if check.by_id:
                record = records.get(values[check.id_pos]) if check.id_pos is not None else None
            else:
                mine = ledger.get(legacy_id)
                key = _typed_key(spec, mine[l_key]) if mine is not None else None
                record = records.get(key) if key is not None else None
            if record is None:
                finding(legacy_id, None, "missing: neither in the store nor in quarantine")
                continue
            problems = [] if quick(row, record) else list(check.compare(values, record))
            if check.extra:
                mine = ledger.get(legacy_id)
                kept = (mine[l_extra] if mine is not None else None) or {}
                for column, pos in check.extra:
                    if kept.get(column) != tag_value(values[pos]):
                        problems.append((column, "extra column not kept in the ledger", _short(values[pos]), ""))
            for column, problem, exp, got in problems:
                finding(legacy_id, column, problem, exp, got)
            if not problems:
                report.matched += 1
        if progress:
            progress("batch", report)
    if progress:
        progress("end", report)


def _check_quarantined(
    kept: Any,
    reason: Any,
    columns: Sequence[str],
    values: Sequence[Any],
    legacy_id: int,
    finding: Callable[..., None],
) -> None:
    kept = kept if isinstance(kept, dict) else {}
    for column, value in zip(columns, values):
        tagged = tag_value(value)
        if kept.get(column) != tagged:
            finding(legacy_id, column, "quarantined row differs", _short(value), _short(kept.get(column)))
    if not reason:
        finding(legacy_id, None, "quarantined without a reason")


def verify(
    legacy_dir: Union[str, Path],
    store: Store,
    *,
    zone_name: str = DEFAULT_ZONE,
    progress: Optional[Progress] = None,
    generic: bool = False,
) -> VerifyReport:
    """Check every row of the legacy files under ``legacy_dir`` against ``store`` (see the
    module docstring). Legacy files are opened read-only. ``generic=True`` reads the store
    only through :meth:`storekit.Store.find` (the result is the same, only slower)."""
    import time

    tz = zone(zone_name)
    root = Path(legacy_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"legacy directory {root} does not exist")
    reader = StoreRows(store, generic=generic)
    report = VerifyReport()
    conns: Dict[str, Optional[sqlite3.Connection]] = {}
    try:
        for file, table in migration_order():
            if file not in conns:
                path = root / file
                if not path.is_file():
                    conns[file] = None
                    report.absent_files.append(file)
                else:
                    opened = conns[file] = open_legacy(path)
                    report.unknown_tables.extend(unknown_tables(opened, file))
            conn = conns[file]
            if conn is None or not has_table(conn, table):
                continue
            t0 = time.perf_counter()
            table_report = TableVerification(file, table)
            report.tables.append(table_report)
            _verify_table(conn, reader, mapping_for(file, table), table_report, tz, progress)
            table_report.seconds = time.perf_counter() - t0
    finally:
        for c in conns.values():
            if c is not None:
                c.close()
    return report
