"""The outbox: every write made on the fallback, journaled in the fallback's own file.

An entry is one write operation (an upsert, append, increment or delete of one record
type), stored as JSON in the same SQLite transaction as the write itself, so the
fallback's data and its outbox can never disagree. Entries are replayed to the primary
in ``seq`` order and deleted once the primary has them; entries the primary refuses
move to ``storekit_outbox_conflicts`` (kept exactly, with the reason).

Each entry has a globally unique ``op_id``. Replaying an entry first claims its id in
the primary's ``storekit_outbox_applied`` table, in the primary transaction that
applies it, so an entry is applied at most once however often replay runs (after a
crash, or from several processes sharing the fallback file).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import attrs
import sqlalchemy as sa

from ..codec import Codec
from ..query import Eq, Filter, In, Range
from ..records import Kind, all_record_types, spec_of

__all__ = ["APPLIED", "CONFLICTS", "OUTBOX", "Entry", "Op", "decode_op", "encode_op", "new_op_id"]

_fallback_metadata = sa.MetaData()

OUTBOX = sa.Table(
    "storekit_outbox",
    _fallback_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("op_id", sa.String(32), nullable=False),
    sa.Column("txn", sa.String(32), nullable=False),
    sa.Column("op", sa.String(16), nullable=False),
    sa.Column("record_table", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sqlite_autoincrement=True,  # a seq is never reused, even after the outbox empties
)
"""Pending writes, in the fallback file. ``txn`` groups the entries of one transaction."""

CONFLICTS = sa.Table(
    "storekit_outbox_conflicts",
    _fallback_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("outbox_seq", sa.Integer, nullable=False),
    sa.Column("op_id", sa.String(32), nullable=False),
    sa.Column("op", sa.String(16), nullable=False),
    sa.Column("record_table", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("found_at", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)
"""Writes the primary refused at replay, kept exactly with the reason (never dropped)."""

_primary_metadata = sa.MetaData()

APPLIED = sa.Table(
    "storekit_outbox_applied",
    _primary_metadata,
    sa.Column("op_id", sa.String(32), primary_key=True),
    sa.Column("applied_at", sa.BigInteger, nullable=False),
)
"""On the primary: the op ids already applied (epoch seconds), pruned after
:data:`APPLIED_KEEP_SECONDS`."""

APPLIED_KEEP_SECONDS = 7 * 24 * 3600

OPS = ("upsert", "append", "increment", "delete")


def new_op_id() -> str:
    """A globally unique operation id (32 hex digits)."""
    return uuid.uuid4().hex


def utc_text() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def now_seconds() -> int:
    return int(time.time())


@attrs.frozen
class Op:
    """One write: what a caller asked of the backend, as data (journaled and replayed)."""

    kind: str
    record_type: type
    records: Tuple[Any, ...] = ()
    where: Tuple[Filter, ...] = ()
    args: Tuple[Any, ...] = ()
    """More arguments of ``increment`` after the record (its ``fields``, ...), JSON-able."""
    kwargs: Dict[str, Any] = attrs.field(factory=dict, hash=False)
    op_id: str = attrs.field(factory=new_op_id)

    def apply(self, backend: Any) -> Any:
        """Run this write on ``backend``; return what the backend method returns."""
        if self.kind == "upsert":
            return backend.upsert(self.record_type, self.records)
        if self.kind == "append":
            return backend.append(self.record_type, self.records)
        if self.kind == "increment":
            return backend.increment(self.record_type, self.records[0], *self.args, **self.kwargs)
        if self.kind == "delete":
            return backend.delete(self.record_type, self.where)
        raise ValueError(f"unknown outbox operation {self.kind!r}")

    def with_records(self, records: Sequence[Any]) -> Op:
        """The same operation (same id) on fewer records (replay splits a refused append)."""
        return attrs.evolve(self, records=tuple(records))


@attrs.frozen
class Entry:
    """An outbox row, decoded."""

    seq: int
    txn: str
    op: Op
    payload: str


# -- JSON payloads ------------------------------------------------------------------------

_codec = Codec()


def _tables() -> Dict[str, type]:
    return {spec_of(t).table: t for t in all_record_types()}


def _encode_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind in (Kind.TIMESTAMP, Kind.DATE):
        return value.isoformat()
    if kind is Kind.UUID:
        return str(value)
    return value


def _decode_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is Kind.TIMESTAMP:
        return dt.datetime.fromisoformat(value)
    if kind is Kind.DATE:
        return dt.date.fromisoformat(value)
    if kind is Kind.UUID:
        return uuid.UUID(value)
    if kind is Kind.FLOAT and isinstance(value, int):
        return float(value)
    return value


def _encode_filter(record_type: type, flt: Filter) -> List[Any]:
    kind = spec_of(record_type).field(flt.field).kind
    if isinstance(flt, Eq):
        return ["eq", flt.field, _encode_value(kind, flt.value)]
    if isinstance(flt, In):
        return ["in", flt.field, [_encode_value(kind, v) for v in flt.values]]
    bounds = {name: _encode_value(kind, getattr(flt, name)) for name in ("ge", "gt", "le", "lt")}
    return ["range", flt.field, bounds]


def _decode_filter(record_type: type, data: List[Any]) -> Filter:
    tag, name, value = data
    kind = spec_of(record_type).field(name).kind
    if tag == "eq":
        return Eq(name, _decode_value(kind, value))
    if tag == "in":
        return In(name, [_decode_value(kind, v) for v in value])
    return Range(name, **{k: _decode_value(kind, v) for k, v in value.items()})


def encode_records(record_type: type, records: Iterable[Any]) -> List[Dict[str, Any]]:
    spec = spec_of(record_type)
    kinds = [(f.name, f.kind) for f in spec.fields]
    return [{name: _encode_value(kind, getattr(rec, name)) for name, kind in kinds} for rec in records]


def encode_op(op: Op) -> str:
    """The JSON payload of ``op`` (exact: timestamps with offset and microseconds, floats
    by repr including ``-0.0`` and infinities, UUIDs and dates as text)."""
    body: Dict[str, Any] = {}
    if op.records:
        body["records"] = encode_records(op.record_type, op.records)
    if op.where:
        body["where"] = [_encode_filter(op.record_type, f) for f in op.where]
    if op.args:
        body["args"] = [list(a) if isinstance(a, tuple) else a for a in op.args]
    if op.kwargs:
        body["kwargs"] = {k: list(v) if isinstance(v, tuple) else v for k, v in op.kwargs.items()}
    return json.dumps(body, separators=(",", ":"))


def decode_op(kind: str, table: str, payload: str, op_id: str, tables: Optional[Dict[str, type]] = None) -> Op:
    """The :class:`Op` an outbox row describes."""
    record_type = (tables or _tables())[table]
    spec = spec_of(record_type)
    kinds = {f.name: f.kind for f in spec.fields}
    body = json.loads(payload)
    records: Tuple[Any, ...] = tuple(
        _codec.from_row({k: _decode_value(kinds[k], v) for k, v in row.items()}, record_type)
        for row in body.get("records", ())
    )
    where = tuple(_decode_filter(record_type, f) for f in body.get("where", ()))
    return Op(kind, record_type, records, where, tuple(body.get("args", ())), dict(body.get("kwargs", {})), op_id)


def outbox_row(op: Op, txn: str) -> Dict[str, Any]:
    return {
        "op_id": op.op_id,
        "txn": txn,
        "op": op.kind,
        "record_table": spec_of(op.record_type).table,
        "payload": encode_op(op),
        "created_at": utc_text(),
    }


# -- reading and writing the tables -------------------------------------------------------


def ensure_fallback_tables(connection: sa.engine.Connection) -> None:
    _fallback_metadata.create_all(connection, checkfirst=True)


def ensure_primary_tables(connection: sa.engine.Connection) -> None:
    _primary_metadata.create_all(connection, checkfirst=True)


def read_batch(connection: sa.engine.Connection, limit: int) -> List[Entry]:
    """The oldest ``limit`` entries, extended to the end of the last one's transaction."""
    cols = [OUTBOX.c.seq, OUTBOX.c.txn, OUTBOX.c.op, OUTBOX.c.record_table, OUTBOX.c.payload, OUTBOX.c.op_id]
    rows = list(connection.execute(sa.select(*cols).order_by(OUTBOX.c.seq).limit(limit)))
    if len(rows) == limit:
        last = rows[-1]
        rows += list(
            connection.execute(
                sa.select(*cols).where(OUTBOX.c.txn == last.txn, OUTBOX.c.seq > last.seq).order_by(OUTBOX.c.seq)
            )
        )
    tables = _tables()
    return [Entry(r.seq, r.txn, decode_op(r.op, r.record_table, r.payload, r.op_id, tables), r.payload) for r in rows]


def pending_count(connection: sa.engine.Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(OUTBOX)).scalar_one())


def conflict_count(connection: sa.engine.Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(CONFLICTS)).scalar_one())


def oldest_pending(connection: sa.engine.Connection) -> Optional[str]:
    value = connection.execute(sa.select(sa.func.min(OUTBOX.c.created_at))).scalar_one_or_none()
    return None if value is None else str(value)


def claim(connection: sa.engine.Connection, op_ids: Sequence[str]) -> set[str]:
    """Mark ``op_ids`` applied on the primary; return those this call marked (the others
    were applied before, or by a concurrent replay, which this call waits for)."""
    if not op_ids:
        return set()
    prep = connection.dialect.identifier_preparer
    mark = "%s" if connection.dialect.paramstyle in ("format", "pyformat") else "?"
    values = ", ".join(f"({mark}, {mark})" for _ in op_ids)
    now = now_seconds()
    params: List[Any] = []
    for op_id in op_ids:
        params += [op_id, now]
    sql = (
        f"INSERT INTO {prep.format_table(APPLIED)} (op_id, applied_at) VALUES {values} "
        "ON CONFLICT (op_id) DO NOTHING RETURNING op_id"
    )
    return {row[0] for row in connection.exec_driver_sql(sql, tuple(params))}


def prune_applied(connection: sa.engine.Connection) -> None:
    connection.execute(sa.delete(APPLIED).where(APPLIED.c.applied_at < now_seconds() - APPLIED_KEEP_SECONDS))
