"""The bulk lane of ``storekit migrate``: append-only tables keyed by their legacy id.

For such a table (the record keyed by ``id``, filled from the legacy ``INTEGER PRIMARY
KEY`` column ``id``; no references, no extra columns, no field checks, every field mapped
or constant) the per-row path's work is split where it is cheapest:

* SQLite (the legacy file) tells, per row, whether every value has the plain shape the
  fast lane handles (``typeof``, ``GLOB`` patterns of ASCII digits, no NUL) and joins the
  plain columns into COPY text itself, so Python receives a few objects per row, not one
  per column.
* Python adds what needs Python to be exact: a local timestamp's UTC offset from
  :mod:`zoneinfo` (cached per local hour, and only where the offset is the same all through
  that hour), a float's shortest round-trip ``repr`` (``inf`` and ``-0.0`` included), a
  date's ISO text, JSON parsed and dumped as the writer does.
* The rows that are not plain (anything the checks above do not accept, a value the
  caches reject, text needing COPY escapes, TEXT that is not UTF-8) go, one by one,
  through the per-row conversion and record validation: quarantined with the same
  reason, or written as the same record. So the lane accepts a value only where it
  provably stores what the per-row path stores; everything else takes that path.

PostgreSQL gets the rows with ``COPY`` (its input functions parse the text); SQLite with
``executemany`` of driver-ready tuples. A background thread writes chunk *k* while the
main thread reads and formats chunk *k + 1* (the drivers release the GIL while they
wait). Each chunk is one transaction with its quarantine rows and ONE ledger row for its
migrated range (:class:`~storekit.records.LegacyRow` with status ``migrated_range``), so
a run killed at any point leaves whole chunks, and the next run resumes after the largest
legacy id in the ledger, as the per-row path does.

On a table still empty when the lane starts, the non-unique secondary indexes are
dropped and built after the load (the unique ones, the primary key included, stay and
keep every key unique); every run through the lane ends by creating any index that is
missing, so a run killed in between leaves them to the next run, which a killed
migration needs anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import queue
import re
import sqlite3
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import attrs
import sqlalchemy as sa

from ..errors import RecordValidationError
from ..query import Eq, Filter, Range
from ..records import Kind, LegacyRow, QuarantinedRow, Record
from ..records._declare import _check_json
from ..sql import SQLBackend, dump_json
from ..store import Store
from ._convert import Quarantine
from ._legacy_read import legacy_batches

__all__ = [
    "BULK_MIN_ROWS",
    "CHUNK_ROWS",
    "RANGE_STATUS",
    "BulkLane",
    "bulk_lane",
    "ledger_counts",
    "ledger_status",
    "run_lane",
]

RANGE_STATUS = "migrated_range"
"""The ledger status of a row standing for a range of migrated legacy rows."""
CHUNK_ROWS = 10_000
"""Legacy rows per transaction (read a batch of :data:`READ_ROWS` at a time)."""
READ_ROWS = 5_000
BULK_MIN_ROWS = 100_000
"""Secondary indexes are dropped (and built after the load) only for at least this many rows."""

_N = "\\N"
_KINDS = {Kind.TEXT, Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.DATE, Kind.TIMESTAMP, Kind.JSON}
_LOCAL = {"local_iso_T": "T", "sqlite_adapter": "[T ]", "utc_sql": "[T ]"}
_TAIL = re.compile(r":[0-5][0-9]:[0-5][0-9](?:\.[0-9]{6})?").fullmatch
"""What follows a timestamp's hour: minutes and seconds up to 59 (as ``datetime`` takes
them), an optional six-digit fraction; ASCII digits only (``\\d`` of the per-row path's
pattern also takes other digits: those rows take that path)."""
_DATE = re.compile(r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})")
_UTC = dt.timezone.utc


class _Reject(Exception):
    """A value the fast lane does not take (the row goes through the per-row path)."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Hours(Dict[str, Any]):
    """Local hour prefix ``'YYYY-MM-DDTHH'`` -> what a timestamp of that hour needs
    (PostgreSQL: the UTC offset text; SQLite: the UTC hour prefix), computed once with
    :mod:`zoneinfo` exactly as the per-row path's ``replace(tzinfo=zone)`` (fold 0);
    ``None`` for an hour the lane does not take: not a real date and hour, a year the
    record's fast validator does not take (only 2..9998), or an offset that changes within
    the hour (or is not whole hours, for SQLite)."""

    def __init__(self, tz: dt.tzinfo, sqlite: bool, sep: str) -> None:
        super().__init__()
        self.tz = tz
        self.sqlite = sqlite
        self.shape = re.compile(f"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{sep}[0-9]{{2}}")

    def __missing__(self, prefix: str) -> Any:
        value = self[prefix] = self._compute(prefix)
        if len(self) > 200_000:  # garbage text: keep the cache bounded
            self.clear()
        return value

    def _compute(self, prefix: str) -> Any:
        if self.shape.fullmatch(prefix) is None:
            return None
        y, m, d, h = int(prefix[:4]), int(prefix[5:7]), int(prefix[8:10]), int(prefix[11:13])
        if not 1 < y < 9999:
            return None
        try:
            start = dt.datetime(y, m, d, h, tzinfo=self.tz)
        except ValueError:
            return None
        offset = start.utcoffset()
        end = start.replace(minute=59, second=59, microsecond=999999)
        if offset is None or end.utcoffset() != offset:
            return None
        seconds = int(offset.total_seconds())
        if offset != dt.timedelta(seconds=seconds):
            return None
        if self.sqlite:
            if seconds % 3600:
                return None
            utc = start.replace(tzinfo=None) - offset
            return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}"
        sign = "-" if seconds < 0 else "+"
        s = abs(seconds)
        text = f"{sign}{s // 3600:02d}:{s % 3600 // 60:02d}"
        return text + (f":{s % 60:02d}" if s % 60 else "")


class _Dates(Dict[str, Optional[str]]):
    """``'YYYYMMDD'`` / ``'YYYY-MM-DD'`` (ASCII digits) -> ``'YYYY-MM-DD'``, or ``None``."""

    def __missing__(self, text: str) -> Optional[str]:
        match = _DATE.fullmatch(text)
        value: Optional[str] = None
        if match is not None and len(text) in (8, 10) and (len(text) == 8) == ("-" not in text):
            try:
                value = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
            except ValueError:
                value = None
        if len(self) > 200_000:
            self.clear()
        self[text] = value
        return value


def _date(cache: _Dates, text: str) -> str:
    value = cache[text]
    if value is None:
        raise _Reject()
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


_count_none = operator.methodcaller("count", None)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _json_text(value: str) -> Optional[str]:
    """JSON text as the writer stores it (``dump_json`` of the parsed, checked value);
    ``None`` for JSON ``null``; :class:`_Reject` when the per-row path must decide."""
    try:
        parsed = json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        raise _Reject() from None
    if parsed is None:
        return None
    if _check_json(parsed) is not None:
        raise _Reject()
    return dump_json(parsed)


def _json_copy(value: Optional[str]) -> str:
    if value is None:
        return _N
    text = _json_text(value)
    return _N if text is None else text.translate(_COPY_ESCAPES)


def _json_sqlite(value: Optional[str]) -> Optional[str]:
    return None if value is None else _json_text(value)


@attrs.define
class Chunk:
    """One transaction's worth: the plain rows (COPY text or tuples), the records and
    quarantine of the other rows, and the migrated legacy id range."""

    data: List[Any] = attrs.Factory(list)
    records: List[Record] = attrs.Factory(list)
    quarantine: List[Tuple[int, str, Tuple[Any, ...]]] = attrs.Factory(list)
    first: Optional[int] = None
    last: Optional[int] = None
    migrated: int = 0
    read: int = 0


class BulkLane:
    """The compiled bulk lane of one legacy table into one SQL backend."""

    def __init__(
        self,
        plan: Any,
        backend: SQLBackend,
        tz: dt.tzinfo,
        table: sa.Table,
    ) -> None:
        self.plan = plan
        self.mapping = plan.mapping
        self.spec = plan.spec
        self.backend = backend
        self.pg = backend.name == "postgresql"
        self.table = table
        self.tz = tz
        pg = self.pg
        position = {c: i for i, c in enumerate(plan.columns)}
        by_field = {cm.field: cm for cm in self.mapping.columns}
        constants = dict(self.mapping.constants)
        env: Dict[str, Any] = {"_N": _N, "_Reject": _Reject, "_BOOL": {0: "f", 1: "t"}}
        checks: List[str] = []  # one condition per legacy value: it has the plain shape
        values: List[str] = []  # the output value of each record field, in ``columns`` order
        self.null_backslashes = 0  # per row, backslashes of constant ``\N`` fields
        for f in self.spec.fields:
            if f.name in constants:
                value = str(constants[f.name])
                if "\x00" in value:
                    raise _Ineligible(f"{f.name}: a NUL in the constant")
                env[f"_c_{f.name}"] = value.translate(_COPY_ESCAPES) if pg else value
                self.null_backslashes += value.translate(_COPY_ESCAPES).count("\\") if pg else 0
                values.append(f"{{_c_{f.name}}}" if pg else f"_c_{f.name}")
                continue
            cm = by_field[f.name]
            if cm.column not in position:  # missing in this file: None (the record checks it)
                if not f.nullable:
                    raise _Ineligible(f"{f.name} is missing and required")
                self.null_backslashes += 1 if pg else 0
                values.append("\\\\N" if pg else "None")
                continue
            v = f"r[{1 + position[cm.column]}]"
            conv = cm.conversion
            nullable = f.nullable

            def check(cond: str, v: str = v, nullable: bool = nullable) -> None:
                checks.append(f"({v} is None or {cond})" if nullable else cond)

            def out(expr: str, v: str = v, nullable: bool = nullable) -> None:
                if pg:
                    values.append("{" + (f"_N if {v} is None else {expr}" if nullable else expr) + "}")
                else:
                    values.append(f"(None if {v} is None else {expr})" if nullable and expr != v else expr)

            if conv == "int" and f.kind is Kind.INT:  # SQLite integers are 64-bit
                check(f"type({v}) is int")
                out(v)
            elif conv == "text" and f.kind is Kind.TEXT:
                # PostgreSQL: tab, newline, CR, NUL and backslash are looked for in the batch's
                # COPY text (_plain); SQLite: NUL here (valid UTF-8: sqlite3 decoded it)
                check(f"type({v}) is str" if pg else f"type({v}) is str and '\\x00' not in {v}")
                out(v)
            elif conv == "bool01" and f.kind is Kind.BOOL:
                check(f"type({v}) is int and ({v} == 0 or {v} == 1)")
                out(f"_BOOL[{v}]" if pg else v)  # SQLite stores a bool as 0/1
            elif conv == "real" and f.kind is Kind.FLOAT:
                check(f"type({v}) is float and {v} == {v}")
                if pg and not nullable:
                    values.append("{" + v + "!r}")
                else:
                    out(f"repr({v})" if pg else v)
            elif conv in _LOCAL and f.kind is Kind.TIMESTAMP:
                hours = _Hours(_UTC if conv == "utc_sql" else tz, sqlite=not pg, sep=_LOCAL[conv])
                env[f"_h{len(env)}"] = hours
                h = f"_h{len(env) - 1}"
                env["_tail"] = _TAIL
                check(f"type({v}) is str and _tail({v}, 13) is not None")
                if pg:
                    out(f"{v} + {h}[{v}[:13]]")
                else:
                    out(f"{h}[{v}[:13]] + {v}[13:19] + ({v}[19:] or '.000000') + '+00:00'")
            elif conv in ("yyyymmdd", "iso_date") and f.kind is Kind.DATE:
                env[f"_d{len(env)}"] = _Dates()
                d = f"_d{len(env) - 1}"
                env["_date"] = _date
                check(f"type({v}) is str")
                out(f"_date({d}, {v})")
            elif conv in ("json_ascii", "json_utf8") and f.kind is Kind.JSON:
                env["_json"] = _json_copy if pg else _json_sqlite
                check(f"type({v}) is str")
                values.append("{" + f"_json({v})" + "}" if pg else f"_json({v})")
            else:
                raise _Ineligible(f"{f.name}: no bulk twin for {conv} into {f.kind.value}")
        self.has_json = "_json" in env
        if pg and self.has_json:
            raise _Ineligible("JSON: its escapes defeat the batch's backslash count")
        self.columns = tuple(f.name for f in self.spec.fields)
        self.width = len(self.columns)
        body = ('f"' + "\\t".join(values) + '\\n"') if pg else "(" + ", ".join(values) + ",)"
        cond = " and ".join(checks) or "True"
        source = (
            "def convert(rows, out, ids, slow):\n"
            "    for r in rows:\n"
            f"        if {cond}:\n"
            "            try:\n"
            f"                out.append({body})\n"
            "                ids.append(r[0])\n"
            "                continue\n"
            "            except (_Reject, KeyError, TypeError, ValueError):\n"
            "                pass\n"
            "        slow.append(r)\n"
        )
        src = self.mapping.table
        exec(compile(source, f"<storekit bulk lane of {self.mapping.file}:{src}>", "exec"), env)
        self._convert: Callable[[List[Tuple[Any, ...]], List[Any], List[int], List[Tuple[Any, ...]]], None]
        self._convert = env["convert"]
        quote = ", ".join(_q(c) for c in self.columns)
        self.copy_sql = f"COPY {_q(table.name)} ({quote}) FROM STDIN"
        marks = ", ".join("?" for _ in self.columns)
        self.insert_sql = f"INSERT INTO {_q(table.name)} ({quote}) VALUES ({marks})"

    # -- reading -----------------------------------------------------------------------

    def _plain(
        self, rows: List[Tuple[Any, ...]], data: List[str], ids: List[int], slow: List[Tuple[Any, ...]]
    ) -> Tuple[List[str], List[int]]:
        """PostgreSQL: the lines whose text values hold a backslash, tab, newline or carriage
        return (which would need COPY escapes; a value ``'\\N'`` among them) or a NUL (which
        the record refuses) go the per-row way. Every backslash of a good line is one of its
        ``\\N`` fields (one per ``None`` of the legacy row, plus the constant ones)."""
        if not data:
            return data, ids
        text = "".join(data)
        tabs = self.width - 1
        by_id = {r[0]: r for r in rows} if len(ids) != len(rows) else None
        picked = rows if by_id is None else [by_id[i] for i in ids]
        nulls = sum(map(_count_none, picked)) + self.null_backslashes * len(data)
        if (
            "\r" not in text
            and "\x00" not in text
            and text.count("\\") == nulls
            and text.count("\t") == tabs * len(data)
            and text.count("\n") == len(data)
        ):
            return data, ids
        kept: List[str] = []
        kept_ids: List[int] = []
        for line, legacy_id, r in zip(data, ids, picked):
            if (
                "\r" in line
                or "\x00" in line
                or line.count("\\") != r.count(None) + self.null_backslashes
                or line.count("\t") != tabs
                or line.count("\n") != 1
            ):
                slow.append(r)
            else:
                kept.append(line)
                kept_ids.append(legacy_id)
        return kept, kept_ids

    def chunks(self, conn: sqlite3.Connection, after: int) -> Iterator[Chunk]:
        """The table's rows above legacy id ``after``, a chunk at a time."""
        chunk = Chunk()
        for rows in legacy_batches(conn, self.mapping.table, self.plan.columns, after=after, size=READ_ROWS):
            out: List[Any] = []
            ids: List[int] = []
            slow: List[Tuple[Any, ...]] = []
            self._convert(rows, out, ids, slow)
            if self.pg:
                out, ids = self._plain(rows, out, ids, slow)
            chunk.data.extend(out)
            chunk.read += len(rows)
            lo, hi = (ids[0], ids[-1]) if ids else (None, None)
            for row in sorted(slow):
                legacy_id = row[0]
                try:
                    chunk.records.append(self.plan.record(row[1:]))
                except Quarantine as exc:
                    chunk.quarantine.append((legacy_id, exc.reason, row[1:]))
                    continue
                except (RecordValidationError, TypeError, ValueError) as exc:
                    chunk.quarantine.append((legacy_id, str(exc), row[1:]))
                    continue
                lo = legacy_id if lo is None or legacy_id < lo else lo
                hi = legacy_id if hi is None or legacy_id > hi else hi
            chunk.migrated = len(chunk.data) + len(chunk.records)
            if lo is not None and hi is not None:
                chunk.first = lo if chunk.first is None else min(chunk.first, lo)
                chunk.last = hi if chunk.last is None else max(chunk.last, hi)
            if chunk.read >= CHUNK_ROWS:
                yield chunk
                chunk = Chunk()
        if chunk.read:
            yield chunk

    # -- writing -----------------------------------------------------------------------

    def write(self, store: Store, chunk: Chunk, now: dt.datetime, tag: Callable[[Any], Any]) -> None:
        """One transaction: the plain rows, the other records, the quarantine and ledger."""
        file, table = self.mapping.file, self.mapping.table
        ledger: List[LegacyRow] = []
        quarantine: List[QuarantinedRow] = []
        for legacy_id, reason, values in chunk.quarantine:
            row = {c: tag(v) for c, v in zip(self.plan.columns, values)}
            kept, entry = quarantined(file, table, legacy_id, reason, row, now)
            quarantine.append(kept)
            ledger.append(entry)
        if chunk.migrated:
            assert chunk.first is not None and chunk.last is not None
            ledger.append(
                LegacyRow(
                    file=file,
                    table=table,
                    legacy_id=chunk.last,
                    record_table=self.spec.table,
                    record_key={"from": chunk.first, "to": chunk.last, "rows": chunk.migrated},
                    status=RANGE_STATUS,
                    migrated_at=now,
                )
            )
        with store.transaction(), self.backend._connection() as conn:
            if chunk.data:
                cursor = conn.connection.cursor()
                try:
                    if self.pg:
                        cursor.copy_expert(self.copy_sql, _Lines(chunk.data), size=1 << 20)
                    else:
                        cursor.executemany(self.insert_sql, chunk.data)
                finally:
                    cursor.close()
            for part in (chunk.records, ledger, quarantine):
                if part:
                    store.append(part)


def quarantined(
    file: str, table: str, legacy_id: int, reason: str, row: Dict[str, Any], now: dt.datetime
) -> Tuple[QuarantinedRow, LegacyRow]:
    """A quarantined legacy row (``row``: its values tagged column by column) and its
    ledger entry, as both migrate lanes write them."""
    kept = QuarantinedRow(file=file, table=table, legacy_id=legacy_id, reason=reason, row=row, quarantined_at=now)
    return kept, LegacyRow(file=file, table=table, legacy_id=legacy_id, status="quarantined", migrated_at=now)


class _Lines:
    """A file-like object over COPY lines, read by psycopg2 in ``size`` pieces."""

    def __init__(self, lines: List[str]) -> None:
        self._lines = lines
        self._at = 0

    def read(self, size: int = -1) -> str:
        lines, at = self._lines, self._at
        if at >= len(lines):
            return ""
        parts: List[str] = []
        total = 0
        while at < len(lines) and (size < 0 or total < size):
            piece = "".join(lines[at : at + 2000])
            parts.append(piece)
            total += len(piece)
            at += 2000
        self._at = at
        return "".join(parts)

    readline = read


class _Ineligible(Exception):
    pass


def ledger_status(store: Store, file: str, table: str, legacy_id: int) -> Optional[str]:
    """What the ledger says of one legacy row: ``'migrated'``, ``'quarantined'``, or
    ``None`` when it does not list it (a row in a migrated range is ``'migrated'``)."""
    row = store.get(LegacyRow, file, table, legacy_id)
    if row is not None and row.status != RANGE_STATUS:
        return str(row.status)
    where: List[Filter] = [
        Eq("file", file),
        Eq("table", table),
        Eq("status", RANGE_STATUS),
        Range("legacy_id", ge=legacy_id),
    ]
    found: List[LegacyRow] = list(store.find(LegacyRow, *where, order_by=("legacy_id",), limit=1))
    if found and int(found[0].record_key["from"]) <= legacy_id:
        return "migrated"
    return None


def ledger_counts(store: Store, file: str, table: str) -> Dict[str, int]:
    """How many legacy rows of ``file``:``table`` the ledger accounts for, as
    ``{"migrated": n, "quarantined": m}`` (a ``migrated_range`` row counts its rows)."""
    counts = {"migrated": 0, "quarantined": 0}
    where = [Eq("file", file), Eq("table", table)]
    counts["quarantined"] = store.count(LegacyRow, *where, Eq("status", "quarantined"))
    counts["migrated"] = store.count(LegacyRow, *where, Eq("status", "migrated"))
    found: Iterator[LegacyRow] = store.find(LegacyRow, *where, Eq("status", RANGE_STATUS))
    for row in found:
        counts["migrated"] += int(row.record_key["rows"])
    return counts


def bulk_lane(plan: Any, store: Store, tz: dt.tzinfo, info: Sequence[Tuple[Any, ...]]) -> Optional[BulkLane]:
    """The bulk lane of ``plan``'s table into ``store``, or ``None`` when the table or the
    store cannot use it (then the per-row path runs)."""
    backend = store.backend
    if not isinstance(backend, SQLBackend) or backend.name not in ("postgresql", "sqlite"):
        return None
    spec = plan.spec
    mapping = plan.mapping
    if (
        spec.key != ("id",)
        or ("id", "id") not in {(c.column, c.field) for c in mapping.columns}
        or plan.splits
        or plan.extra
        or spec.references
        or getattr(spec.cls, "__validate__", None) is not None
        or len(spec.legacy) != 1
    ):
        return None
    if [(r[1], str(r[2]).upper()) for r in info if r[5]] != [("id", "INTEGER")]:
        return None
    mapped = {cm.field for cm in mapping.columns} | {name for name, _ in mapping.constants}
    for f in spec.fields:
        if f.kind not in _KINDS or f.checks or f.choices is not None or f.name not in mapped:
            return None
    for _name, value in mapping.constants:
        if not isinstance(value, str):
            return None
    table = backend._tables[spec.cls]
    try:
        return BulkLane(plan, backend, tz, table)
    except _Ineligible:
        return None


# -- the run: a reader (this thread) and a writer thread ---------------------------------


def run_lane(
    lane: BulkLane,
    conn: sqlite3.Connection,
    store: Store,
    after: int,
    report: Any,
    tag: Callable[[Any], Any],
    progress: Optional[Callable[[str, Any], None]],
) -> None:
    """Migrate the rows above legacy id ``after`` through ``lane``; fill ``report``."""
    fresh = report.source_rows - report.already_present >= BULK_MIN_ROWS and store.count(lane.spec.cls) == 0
    if fresh:
        _drop_secondary_indexes(lane)
    _ensure_partitions(lane, conn, after)
    pending: queue.Queue[Optional[Chunk]] = queue.Queue(maxsize=1)
    failed: List[BaseException] = []
    now = dt.datetime.now(_UTC)

    def writer() -> None:
        try:
            while True:
                item = pending.get()
                if item is None:
                    return
                if not failed:
                    lane.write(store, item, now, tag)
        except BaseException as exc:  # handed to the reader thread, which raises it
            failed.append(exc)
            while pending.get() is not None:
                pass

    thread = threading.Thread(target=writer, name="storekit-migrate-writer", daemon=True)
    thread.start()
    try:
        for chunk in lane.chunks(conn, after):
            while not failed:
                try:
                    pending.put(chunk, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if failed:
                break
            report.migrated += chunk.migrated
            report.quarantined += len(chunk.quarantine)
            if progress:
                progress("batch", report)
    finally:
        while thread.is_alive():
            try:
                pending.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        thread.join()
    if failed:
        raise failed[0]
    _create_indexes(lane)


def _ensure_partitions(lane: BulkLane, conn: sqlite3.Connection, after: int) -> None:
    """Create, up front, the monthly partitions the rows go to (PostgreSQL partitions
    ``api_calls`` by month): from the distinct local months of the partition column. A row
    of a month missed here goes to the default partition, which stays correct."""
    spec, backend = lane.spec, lane.backend
    column = spec.partition_by
    if not (backend.facts.partitions and column):
        return
    cm = next((c for c in lane.mapping.columns if c.field == column), None)
    if cm is None or cm.column not in lane.plan.columns:
        return
    kind = spec.field(column).kind
    rows = _local_months(conn, _q(cm.column), _q(lane.mapping.table), after)
    zone = _UTC if cm.conversion == "utc_sql" else lane.tz
    values: List[Any] = []
    for (prefix,) in rows:
        if not (isinstance(prefix, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}", prefix)):
            continue
        year, month = int(prefix[:4]), int(prefix[5:7])
        if not (1 < year < 9999 and 1 <= month <= 12):
            continue
        if kind is Kind.DATE:
            values.append(dt.date(year, month, 1))
            continue
        first = dt.datetime(year, month, 1, tzinfo=zone)
        last = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone) - dt.timedelta(microseconds=1)
        values += [first.astimezone(_UTC), last.astimezone(_UTC)]
    if not values:
        return
    with backend.transaction(), backend._connection() as sa_conn:
        backend.facts.ensure_partitions(sa_conn, lane.table, column, sorted(set(values)))


def _local_months(conn: sqlite3.Connection, column: str, table: str, after: int) -> List[Tuple[Any]]:
    """The distinct ``'YYYY-MM'`` prefixes of ``column`` (rows above ``after``): on a whole
    table whose smallest and largest values are timestamps at most three years apart, every
    month between them (read from the legacy index on the column, at once); else a scan."""
    if after == -(2**63):
        # one aggregate per query: only then does SQLite read it from an index
        (low,) = conn.execute(f"SELECT min({column}) FROM {table}").fetchone()
        (high,) = conn.execute(f"SELECT max({column}) FROM {table}").fetchone()
        shape = re.compile(r"([0-9]{4})-([0-9]{2})-.*", re.S)
        a = shape.fullmatch(low) if isinstance(low, str) else None
        b = shape.fullmatch(high) if isinstance(high, str) else None
        if a is not None and b is not None:
            first = int(a.group(1)) * 12 + int(a.group(2)) - 1
            last = int(b.group(1)) * 12 + int(b.group(2)) - 1
            if 0 <= last - first <= 36:
                return [(f"{m // 12:04d}-{m % 12 + 1:02d}",) for m in range(first, last + 1)]
    sql = f"SELECT DISTINCT substr({column}, 1, 7) FROM {table} WHERE rowid > ?"
    return list(conn.execute(sql, (after,)).fetchall())


def _secondary(lane: BulkLane) -> List[sa.Index]:
    return sorted((ix for ix in lane.table.indexes if not ix.unique), key=lambda ix: str(ix.name))


def _drop_secondary_indexes(lane: BulkLane) -> None:
    """Drop the table's non-unique indexes, if this role owns the table (an application
    role granted only DML keeps them, and the load keeps them up to date)."""
    backend = lane.backend
    with backend.transaction(), backend._connection() as conn:
        may = getattr(backend.facts, "_may_create", None)
        if lane.pg and (may is None or not may(conn, lane.table)):
            return
        for ix in _secondary(lane):
            conn.execute(sa.schema.DropIndex(ix, if_exists=True))


def _create_indexes(lane: BulkLane) -> None:
    """Create the table's indexes that are missing (all of them after a fresh load; none
    normally): on PostgreSQL two at a time, each on its own connection."""
    backend = lane.backend
    indexes = _secondary(lane)
    if not indexes:
        return
    with backend.engine.connect() as conn:
        inspector = sa.inspect(conn)
        present = {ix["name"] for ix in inspector.get_indexes(lane.table.name)}
    missing = [ix for ix in indexes if ix.name not in present]
    if not missing:
        return
    if not lane.pg:
        with backend.transaction(), backend._connection() as sa_conn:
            for ix in missing:
                sa_conn.execute(sa.schema.CreateIndex(ix, if_not_exists=True))
        return
    failed: List[BaseException] = []

    def build(part: List[sa.Index]) -> None:
        try:
            with backend._errors(), backend.engine.connect() as conn, conn.begin():
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
                for ix in part:
                    conn.execute(sa.schema.CreateIndex(ix, if_not_exists=True))
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=build, args=(missing[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
