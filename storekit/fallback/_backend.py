"""The fallback backend: the primary while it answers, the fallback (with its outbox)
while it does not, and replay in between."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar

import attrs
import sqlalchemy as sa

from ..errors import (
    AggregateOverflowError,
    BackendError,
    BackendUnavailableError,
    ConfigurationError,
    IntegrityError,
    UsageError,
)
from ..query import Aggregate, Filter, Query
from ..records import all_record_types, spec_of
from ..sql import SQLBackend
from . import _outbox
from ._outbox import Entry, Op

__all__ = ["Backoff", "FallbackBackend", "ReplayReport"]

log = logging.getLogger("storekit.fallback")

T = TypeVar("T")

PRIMARY = "primary"
FALLBACK = "fallback"

PRUNE_EVERY_SECONDS = 3600.0
"""How often increments on the primary also prune its expired replay marks."""

REPLAY_BATCH = 500
"""Outbox entries replayed per primary transaction (a transaction is never split)."""


@attrs.frozen
class Backoff:
    """Delays between background attempts to reach the primary again: ``initial`` seconds,
    doubled after every failure up to ``maximum``, each with up to 25 % random jitter."""

    initial: float = 0.5
    maximum: float = 30.0

    @classmethod
    def from_environment(cls) -> Backoff:
        """The default, with ``maximum`` from ``STOREKIT_FALLBACK_RETRY_MAX`` (seconds) if
        set; ``0`` turns the background replay off (replay only on demand)."""
        value = os.environ.get("STOREKIT_FALLBACK_RETRY_MAX")
        if not value:
            return cls()
        try:
            maximum = float(value)
        except ValueError:
            raise ConfigurationError(
                f"STOREKIT_FALLBACK_RETRY_MAX must be a number of seconds, not {value!r}"
            ) from None
        if maximum < 0:
            raise ConfigurationError(f"STOREKIT_FALLBACK_RETRY_MAX must not be negative, not {value!r}")
        return cls(initial=min(0.5, maximum), maximum=maximum)

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay * random.uniform(0.75, 1.0)
            delay = min(delay * 2, self.maximum)


@attrs.frozen
class ReplayReport:
    """What one :meth:`storekit.Store.sync` did, and where the outbox stands.

    ``replayed``: outbox entries applied to the primary; ``skipped``: entries found
    already applied (a replay interrupted after the primary committed, or a concurrent
    replay); ``conflicts``: entries (or records of an append) the primary refused in
    this run, moved to ``storekit_outbox_conflicts``; ``pending``: entries still waiting;
    ``conflicts_total``: every conflict kept in the fallback file; ``serving``:
    ``"primary"`` or ``"fallback"`` after the run; ``oldest_pending``: when the oldest
    waiting entry was written (UTC, ISO 8601); ``last_error``: why the primary was last
    found unreachable.
    """

    replayed: int = 0
    skipped: int = 0
    conflicts: int = 0
    pending: int = 0
    conflicts_total: int = 0
    serving: str = PRIMARY
    primary: str = ""
    fallback: Optional[str] = None
    oldest_pending: Optional[str] = None
    last_error: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        """The report as a JSON-able dict (``storekit sync --json``)."""
        return attrs.asdict(self)

    def __add__(self, other: ReplayReport) -> ReplayReport:
        return attrs.evolve(
            other,
            replayed=self.replayed + other.replayed,
            skipped=self.skipped + other.skipped,
            conflicts=self.conflicts + other.conflicts,
        )


def _describe(backend: SQLBackend) -> str:
    return f"{backend.name} {backend.url.render_as_string(hide_password=True)}"


class _Txn:
    """The state of one outermost transaction on one thread."""

    def __init__(self) -> None:
        self.id = _outbox.new_op_id()
        self.target = PRIMARY
        self.ops: List[Op] = []
        self.stack = contextlib.ExitStack()


class FallbackBackend:
    """A :class:`storekit.Backend` that writes to ``primary`` and, while the primary is
    unreachable, to ``fallback`` with an outbox journal, replayed to the primary when it
    returns (in the background with :class:`Backoff`, or on demand with :meth:`sync`).

    Made by :func:`storekit.open_store` when a fallback is configured; see
    :doc:`/explanation/fallback` for the guarantees. Both backends must be SQL backends
    (:class:`storekit.sql.SQLBackend`): the outbox lives in the fallback's database and
    the applied-entry marks in the primary's.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        primary: SQLBackend,
        fallback: SQLBackend,
        *,
        record_types: Sequence[type],
        backoff: Backoff = Backoff(),
        background: bool = True,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.backoff = backoff
        self.background = background and backoff.maximum > 0
        self._record_types = list(record_types)
        self._local = threading.local()
        self._cond = threading.Condition()
        self._mode = FALLBACK
        self._active_fallback = 0
        self._switching = False
        self._primary_ready = False
        self._pruned = 0.0
        self._replay_lock = threading.Lock()
        self._closed = threading.Event()
        self._replayer: Optional[threading.Thread] = None
        self.last_error: Optional[str] = None
        """Why the primary was last found unreachable (no credentials), or ``None``."""

    def __repr__(self) -> str:
        return f"<FallbackBackend {_describe(self.primary)} -> {_describe(self.fallback)}, serving {self._mode}>"

    def __getattr__(self, name: str) -> Any:
        # Backend-specific extras (``facts``, ``engine``, ``schema_version``...) are the
        # primary's; every Backend method is defined here explicitly (tests/test_fallback.py
        # checks that against the protocol), so that no write escapes the outbox.
        if name.startswith("__") or name in ("primary", "fallback"):
            raise AttributeError(name)
        return getattr(self.primary, name)

    # -- opening ------------------------------------------------------------------------

    def start(self) -> None:
        """Prepare both sides: the fallback must open; the primary may be down."""
        self.fallback.ensure_schema(self._record_types)
        with self.fallback.transaction(), self.fallback._connection() as conn:
            _outbox.ensure_fallback_tables(conn)
            pending = _outbox.pending_count(conn)
        try:
            self._prepare_primary()
        except BackendUnavailableError as exc:
            self._mark_down(exc)
            return
        if pending:
            log.warning(
                "%d write(s) made on the fallback %r are waiting for replay; writing to the "
                "fallback until they are on the primary",
                pending,
                self.fallback,
            )
            self._start_replayer(wait_first=False)
        else:
            self._mode = PRIMARY

    def _prepare_primary(self) -> None:
        if not self._primary_ready:
            for attempt in range(3):
                try:
                    self.primary.ensure_schema(self._record_types)
                    with self.primary.transaction(), self.primary._connection() as conn:
                        _outbox.ensure_primary_tables(conn)
                        _outbox.prune_applied(conn)
                    break
                except BackendUnavailableError:
                    raise
                except BackendError:
                    # Processes that find the primary back at the same moment all create
                    # the schema; PostgreSQL's CREATE ... IF NOT EXISTS is not safe against
                    # that race, and the loser sees a unique violation (or "already
                    # exists"): once the winner has committed, the next attempt finds
                    # everything there. Any other error is raised by the last attempt.
                    if attempt == 2:
                        raise
                    time.sleep(0.1 * (attempt + 1))
            self._pruned = time.monotonic()
            self._primary_ready = True

    # -- which side ---------------------------------------------------------------------

    @property
    def serving(self) -> str:
        """``"primary"`` or ``"fallback"``: where new operations go now."""
        return self._mode

    @property
    def served_by(self) -> str:
        """``"primary"`` or ``"fallback"``: the side that served this thread's last operation."""
        return str(getattr(self._local, "served_by", self._mode))

    def _mark_down(self, exc: BaseException) -> None:
        self.last_error = str(exc)
        with self._cond:
            was = self._mode
            self._mode = FALLBACK
        if was == PRIMARY:
            log.warning("primary %r is unreachable, writing to the fallback %r: %s", self.primary, self.fallback, exc)
        self._start_replayer()

    def _enter_fallback(self) -> None:
        with self._cond:
            while self._switching:
                self._cond.wait()
            self._mode = FALLBACK  # a replay may have just switched back: the primary failed since
            self._active_fallback += 1
        self._start_replayer()

    def _leave_fallback(self) -> None:
        with self._cond:
            self._active_fallback -= 1
            self._cond.notify_all()

    # -- transactions -------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "txn", None) is not None:
            yield  # nested: part of the enclosing transaction
            return
        txn = _Txn()
        self._local.txn = txn
        try:
            with self._cond:
                while self._switching:
                    self._cond.wait()
                target = self._mode
                if target == FALLBACK:
                    self._active_fallback += 1
            txn.target = target
            if target == PRIMARY:
                try:
                    txn.stack.enter_context(self.primary.transaction())
                except BackendUnavailableError as exc:
                    self._move_to_fallback(txn, exc)
            else:
                txn.stack.enter_context(self.fallback.transaction())
            try:
                yield
            except BaseException as exc:
                self._abort(txn, exc)
                raise
            self._commit(txn)
        finally:
            self._local.txn = None
            if txn.target == FALLBACK:
                self._leave_fallback()

    def _abort(self, txn: _Txn, exc: BaseException) -> None:
        with contextlib.suppress(BackendUnavailableError):  # a lost connection's rollback
            txn.stack.__exit__(type(exc), exc, exc.__traceback__)

    def _commit(self, txn: _Txn) -> None:
        try:
            txn.stack.close()
            self._local.served_by = txn.target
            return
        except BackendUnavailableError as exc:
            if txn.target == FALLBACK:
                raise
            # The commit may or may not have reached the primary: journal the whole
            # transaction on the fallback. Replay makes that safe (see _outbox).
            self._move_to_fallback(txn, exc, abandon=False)
        txn.stack.close()
        self._local.served_by = FALLBACK

    def _move_to_fallback(self, txn: _Txn, exc: BaseException, *, abandon: bool = True) -> None:
        """The primary failed inside ``txn``: redo its writes so far on the fallback."""
        self._mark_down(exc)
        if abandon:
            with contextlib.suppress(Exception):
                txn.stack.__exit__(BackendUnavailableError, exc, None)
        txn.stack = contextlib.ExitStack()
        self._enter_fallback()
        txn.target = FALLBACK
        txn.stack.enter_context(self.fallback.transaction())
        for op in txn.ops:
            self._journal(op, txn)

    def _journal(self, op: Op, txn: _Txn) -> Any:
        result = op.apply(self.fallback)  # validates before anything is journaled
        row = _outbox.outbox_row(op, txn.id)
        with self.fallback._connection() as conn:
            conn.execute(_outbox.OUTBOX.insert(), row)
        return result

    # -- writes -------------------------------------------------------------------------

    def _write(self, op: Op) -> Any:
        txn: Optional[_Txn] = getattr(self._local, "txn", None)
        if txn is None:
            with self.transaction():
                return self._write(op)
        if txn.target == PRIMARY:
            try:
                result = op.apply(self.primary)
                if op.kind == "increment":  # not idempotent: mark it, in case the commit is lost
                    with self.primary._connection() as conn:
                        _outbox.claim(conn, [op.op_id])
                        if time.monotonic() - self._pruned > PRUNE_EVERY_SECONDS:
                            self._pruned = time.monotonic()
                            _outbox.prune_applied(conn)
            except BackendUnavailableError as exc:
                self._move_to_fallback(txn, exc)
            else:
                txn.ops.append(op)
                self._local.served_by = PRIMARY
                return result
        result = self._journal(op, txn)
        self._local.served_by = FALLBACK
        return result

    def ensure_schema(self, record_types: Sequence[type]) -> None:
        self.fallback.ensure_schema(record_types)
        self._record_types += [t for t in record_types if t not in self._record_types]
        if self._mode == PRIMARY:
            try:
                self.primary.ensure_schema(record_types)
            except BackendUnavailableError as exc:
                self._mark_down(exc)

    def upsert(self, record_type: type, records: Any) -> int:
        return int(self._write(Op("upsert", record_type, tuple(records))))

    def append(self, record_type: type, records: Any) -> int:
        return int(self._write(Op("append", record_type, tuple(records))))

    def increment(self, record_type: type, record: Any, *args: Any, **kwargs: Any) -> None:
        # Every argument after the record is journaled as given (JSON), so the outbox
        # follows the contract's increment as it grows.
        self._write(Op("increment", record_type, (record,), args=tuple(args), kwargs=dict(kwargs)))

    def delete(self, record_type: type, where: Sequence[Filter]) -> int:
        return int(self._write(Op("delete", record_type, where=tuple(where))))

    # -- reads --------------------------------------------------------------------------

    def _read(self, read: Callable[[Any], T]) -> T:
        txn: Optional[_Txn] = getattr(self._local, "txn", None)
        side = txn.target if txn is not None else self._mode
        if side == PRIMARY:
            try:
                result = read(self.primary)
            except BackendUnavailableError as exc:
                if txn is not None:
                    self._move_to_fallback(txn, exc)
                else:
                    self._mark_down(exc)
            else:
                self._local.served_by = PRIMARY
                return result
        result = read(self.fallback)
        self._local.served_by = FALLBACK
        return result

    def get(self, record_type: type, key: Tuple[Any, ...]) -> Optional[Any]:
        return self._read(lambda b: b.get(record_type, key))

    def aggregate(self, aggregate: Aggregate) -> List[Dict[str, Any]]:
        rows: List[Dict[str, Any]] = self._read(lambda b: b.aggregate(aggregate))
        return rows

    def api_call_totals(self, endpoint: Optional[str], start: Any, end: Any) -> Optional[List[Dict[str, Any]]]:
        # an optional read (docs/reference/backend-contract.rst), served as aggregate is:
        # by the side serving reads, not by the primary (what __getattr__ would give)
        def read(b: Any) -> Optional[List[Dict[str, Any]]]:
            totals = getattr(b, "api_call_totals", None)
            return None if totals is None else totals(endpoint, start, end)

        return self._read(read)

    def query(self, query: Query[Any]) -> Iterator[Any]:
        # Validate (and pick a side) now; a primary that fails before the first record
        # is replaced by the fallback, one that fails later raises.
        txn: Optional[_Txn] = getattr(self._local, "txn", None)
        side = txn.target if txn is not None else self._mode
        first = (self.primary if side == PRIMARY else self.fallback).query(query)
        return self._stream(query, side, first)

    def _stream(self, query: Query[Any], side: str, records: Iterator[Any]) -> Iterator[Any]:
        if side == PRIMARY:
            try:
                head = next(records)
            except StopIteration:
                self._local.served_by = PRIMARY
                return
            except BackendUnavailableError as exc:
                txn: Optional[_Txn] = getattr(self._local, "txn", None)
                if txn is not None:
                    self._move_to_fallback(txn, exc)
                else:
                    self._mark_down(exc)
                records = self.fallback.query(query)
                side = FALLBACK
            else:
                self._local.served_by = PRIMARY
                yield head
                try:
                    yield from records
                except BackendUnavailableError as exc:  # part of the stream is out: raise
                    self._mark_down(exc)
                    raise
                return
        self._local.served_by = side
        yield from records

    # -- replay -------------------------------------------------------------------------

    def pending(self) -> int:
        """The number of outbox entries waiting for the primary."""
        with self.fallback._connection(write=False) as conn:
            return _outbox.pending_count(conn)

    def sync(self) -> ReplayReport:
        """Replay the outbox to the primary now, in order, and serve from the primary
        once it is empty. Raises :class:`~storekit.BackendUnavailableError` if the
        primary cannot be reached (the outbox is kept)."""
        if getattr(self._local, "txn", None) is not None:
            raise UsageError("sync() inside a transaction would wait for itself; call it outside")
        with self._replay_lock:
            try:
                self._prepare_primary()
                report = self._replay_all()
                with self._cond:
                    if self._mode == PRIMARY:
                        return self._report(report)
                    self._switching = True
                    while self._active_fallback:
                        self._cond.wait()
                try:
                    report += self._replay_all()
                    if self._clear_if_replayed():
                        with self._cond:
                            self._mode = PRIMARY
                        self.last_error = None
                        log.info("the outbox is replayed; serving from the primary %r again", self.primary)
                finally:
                    with self._cond:
                        self._switching = False
                        self._cond.notify_all()
            except BackendUnavailableError as exc:
                self.last_error = str(exc)
                raise
            return self._report(report)

    def status(self) -> ReplayReport:
        """Where the outbox stands, without replaying anything (the primary is not contacted)."""
        return self._report(ReplayReport())

    def _report(self, report: ReplayReport) -> ReplayReport:
        with self.fallback._connection(write=False) as conn:
            pending = _outbox.pending_count(conn)
            total = _outbox.conflict_count(conn)
            oldest = _outbox.oldest_pending(conn)
        return attrs.evolve(
            report,
            pending=pending,
            conflicts_total=total,
            oldest_pending=oldest,
            last_error=self.last_error,
            serving=self._mode,
            primary=_describe(self.primary),
            fallback=_describe(self.fallback),
        )

    def _replay_all(self) -> ReplayReport:
        report = ReplayReport()
        while True:
            with self.fallback._connection(write=False) as conn:
                entries = _outbox.read_batch(conn, REPLAY_BATCH)
            if not entries:
                return report
            report += self._replay(entries)

    def _replay(self, entries: List[Entry]) -> ReplayReport:
        try:
            with self.primary.transaction(), self.primary._connection() as conn:
                _outbox.prune_applied(conn)
                mine = _outbox.claim(conn, [e.op.op_id for e in entries])
                for entry in entries:
                    if entry.op.op_id in mine:
                        entry.op.apply(self.primary)
            conflicts: List[Tuple[Entry, str, Tuple[Any, ...]]] = []
        except (IntegrityError, AggregateOverflowError):
            mine, conflicts = self._replay_one_by_one(entries)
        found_at = _outbox.utc_text()
        with self.fallback.transaction(), self.fallback._connection() as conn:
            for entry, reason, records in conflicts:
                op = entry.op.with_records(records) if records else entry.op
                conn.execute(
                    _outbox.CONFLICTS.insert(),
                    {
                        "outbox_seq": entry.seq,
                        "op_id": op.op_id,
                        "op": op.kind,
                        "record_table": spec_of(op.record_type).table,
                        "payload": _outbox.encode_op(op) if records else entry.payload,
                        "reason": reason,
                        "created_at": _outbox.utc_text(),
                        "found_at": found_at,
                    },
                )
            conn.execute(sa.delete(_outbox.OUTBOX).where(_outbox.OUTBOX.c.seq.in_([e.seq for e in entries])))
        if conflicts:
            log.warning(
                "%d outbox write(s) conflicted with the primary; kept in storekit_outbox_conflicts", len(conflicts)
            )
        skipped = len(entries) - len(mine)
        if skipped:
            log.info("%d outbox entr(ies) were already on the primary and were skipped", skipped)
        return ReplayReport(replayed=len(mine), skipped=skipped, conflicts=len(conflicts))

    def _replay_one_by_one(self, entries: List[Entry]) -> Tuple[set[str], List[Tuple[Entry, str, Tuple[Any, ...]]]]:
        """Replay with a savepoint per entry: what the primary refuses becomes a conflict.

        An append whose record is already on the primary, equal, was applied before (its
        commit acknowledgement was lost): it is skipped, not a conflict."""
        conflicts: List[Tuple[Entry, str, Tuple[Any, ...]]] = []
        with self.primary.transaction(), self.primary._connection() as conn:
            mine = _outbox.claim(conn, [e.op.op_id for e in entries])
            for entry in entries:
                if entry.op.op_id not in mine:
                    continue
                try:
                    with conn.begin_nested():
                        entry.op.apply(self.primary)
                    continue
                except (IntegrityError, AggregateOverflowError) as exc:
                    if entry.op.kind != "append":
                        conflicts.append((entry, str(exc), ()))
                        continue
                refused = []
                for rec in entry.op.records:
                    try:
                        with conn.begin_nested():
                            self.primary.append(entry.op.record_type, [rec])
                    except IntegrityError as exc:
                        if self.primary.get(entry.op.record_type, rec.key) != rec:
                            refused.append((rec, str(exc)))
                if refused:
                    conflicts.append((entry, refused[0][1], tuple(r for r, _ in refused)))
        return mine, conflicts

    def _clear_if_replayed(self) -> bool:
        """Empty the fallback's tables if (and only if) nothing is waiting for replay:
        the fallback holds only writes the primary does not have yet."""
        with self.fallback.transaction(), self.fallback._connection() as conn:
            if _outbox.pending_count(conn):
                return False
            mine = set(self._record_types)
            for record_type in reversed(all_record_types()):  # children before parents
                if record_type in mine:
                    self.fallback.delete(record_type, ())
        return True

    # -- background replay --------------------------------------------------------------

    def _start_replayer(self, *, wait_first: bool = True) -> None:
        if not self.background or self._closed.is_set():
            return
        with self._cond:
            if self._replayer is not None and self._replayer.is_alive():
                return
            self._replayer = threading.Thread(
                target=self._replay_loop, args=(wait_first,), name="storekit-replay", daemon=True
            )
            self._replayer.start()

    def _replay_loop(self, wait_first: bool) -> None:
        delays = self.backoff.delays()
        if wait_first and self._closed.wait(next(delays)):  # the primary has just failed
            return
        while not self._closed.is_set():
            try:
                report = self.sync()
            except BackendUnavailableError:
                pass
            except Exception:  # keep retrying; the outbox is intact
                log.exception("replay of the outbox to %r failed; retrying", self.primary)
            else:
                if report.serving == PRIMARY:
                    return
            if self._closed.wait(next(delays)):
                return

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        self._closed.set()
        replayer = self._replayer
        if replayer is not None and replayer is not threading.current_thread():
            replayer.join(timeout=5)
        self.primary.close()
        self.fallback.close()
