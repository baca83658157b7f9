"""Write-behind: high-frequency records (API calls) queued in memory and written in
batches by a background thread, so that the caller never waits for I/O.

A queued record is written as :meth:`storekit.Store.put` writes it (insert, or replace
by key); batches go through the bulk path (COPY on PostgreSQL), in one transaction
each. A store opened with a fallback covers the database failing under a running
writer: the batch lands in the fallback's outbox instead (:doc:`/explanation/fallback`).

Nothing is dropped silently: when the queue is full the caller waits up to
``put_timeout`` seconds and then gets :class:`~storekit.QueueFullError`; a batch the
backend cannot take stays queued and is retried with backoff; a record the backend
refuses for good (a dangling reference) is counted in ``failed`` and logged with the
error. :meth:`WriteBehind.flush` waits for what was queued, :meth:`WriteBehind.close`
(called by :meth:`storekit.Store.close`) flushes and stops, and queues still open at
interpreter exit are flushed then (``atexit``).

Reads through the store (:meth:`~storekit.Store.get`, :meth:`~storekit.Store.find`,
:meth:`~storekit.Store.aggregate` and what uses them), :meth:`~storekit.Store.delete`
and the start of a :meth:`~storekit.Store.transaction` first wait for the store's queue
to be written, so a caller reads its own queued records and a delete or transaction
comes after them; inside a transaction nothing waits (records submitted inside one are
written at once, as part of it).

.. versionadded:: 0.1
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Optional

import attrs

from .errors import BackendError, IntegrityError, QueueFullError, StorekitError, UsageError
from .records import Record

if TYPE_CHECKING:
    from .store import Store

__all__ = ["WriteBehind", "WriteBehindStats"]

log = logging.getLogger("storekit.writebehind")


@attrs.frozen
class WriteBehindStats:
    """Counters of a :class:`WriteBehind` queue since it was made.

    ``queued``: records accepted; ``flushed``: records written; ``failed``: records the
    backend refused for good (logged, and kept in :attr:`WriteBehind.failures`);
    ``pending``: records accepted and not yet written or failed; ``retries``: batch
    writes that failed and were retried; ``batches``: batch writes that succeeded."""

    queued: int
    flushed: int
    failed: int
    pending: int
    retries: int
    batches: int


class WriteBehind:
    """A bounded in-memory queue in front of a store, flushed by a background thread.

    Get the store's queue with :meth:`storekit.Store.write_behind`; ``settings`` are:

    ``max_queued`` (100 000)
        Records the queue holds; a full queue makes :meth:`submit` wait.
    ``batch_size`` (5 000)
        Records per batch write (at least 100 puts PostgreSQL writes on COPY).
    ``flush_interval`` (0.05 s)
        How long a partial batch may wait before it is written.
    ``put_timeout`` (5 s)
        How long :meth:`submit` waits for room before raising :class:`~storekit.QueueFullError`.
    ``retry_max`` (5 s)
        The longest pause between retries of a batch the backend did not take.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_queued: int = 100_000,
        batch_size: int = 5_000,
        flush_interval: float = 0.05,
        put_timeout: float = 5.0,
        retry_max: float = 5.0,
    ) -> None:
        if max_queued < 1 or batch_size < 1 or flush_interval <= 0 or put_timeout < 0 or retry_max <= 0:
            raise UsageError(
                "write-behind settings must be positive (max_queued, batch_size, flush_interval, retry_max) "
                "and put_timeout not negative"
            )
        self._store = store
        self.max_queued = max_queued
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.put_timeout = put_timeout
        self.retry_max = retry_max
        self._queue: Deque[Record] = collections.deque()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._queued = 0
        self._flushed = 0
        self._failed = 0
        self._retries = 0
        self._failing = 0  # consecutive failed batch writes (the retry backoff)
        self._batches = 0
        self._in_flight = 0
        self._closing = False
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self.last_error: Optional[BaseException] = None
        """The last error of a batch write (retried or failed), or ``None``."""
        self.failures: Deque[Any] = collections.deque(maxlen=1000)
        """The last 1000 ``(record, error)`` pairs the backend refused for good."""
        _OPEN.add(self)

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.stats
        return f"<WriteBehind on {self._store!r}: {s.pending} pending, {s.flushed} flushed, {s.failed} failed>"

    # -- the caller's side ------------------------------------------------------------------

    def submit(self, record: Record) -> None:
        """Queue ``record`` to be written (as :meth:`storekit.Store.put` would) and return
        at once; if the queue is full, wait up to ``put_timeout`` seconds for room, then
        raise :class:`~storekit.QueueFullError` (the record is not queued).

        Inside a :meth:`storekit.Store.transaction` block the record is written at once,
        as part of the transaction (and not counted here)."""
        store = self._store
        if store._transactions.depth:  # = store.in_transaction, on the hot path
            store.put(record)
            return
        with self._lock:
            if len(self._queue) >= self.max_queued or self._closing:
                self._wait_for_room()
            self._queue.append(record)
            self._queued += 1
            full = len(self._queue) >= self.batch_size
        if self._thread is None:
            self._start()
        if full and not self._wakeup.is_set():  # Event.set costs a lock and a notify
            self._wakeup.set()

    def _wait_for_room(self) -> None:
        if self._closing:
            raise UsageError("this write-behind queue is closed; reopen the store")
        deadline = time.monotonic() + self.put_timeout
        self._wakeup.set()
        while len(self._queue) >= self.max_queued:
            left = deadline - time.monotonic()
            if left <= 0 or self._closing:
                raise QueueFullError(
                    f"the write-behind queue stayed full ({len(self._queue)} records) for "
                    f"{self.put_timeout:g} s; the backend is not keeping up"
                    + (f" (last error: {self.last_error})" if self.last_error else ""),
                    pending=len(self._queue),
                    orig=self.last_error,
                )
            self._room.wait(left)

    @property
    def stats(self) -> WriteBehindStats:
        """The counters, read together."""
        with self._lock:
            return WriteBehindStats(
                queued=self._queued,
                flushed=self._flushed,
                failed=self._failed,
                pending=self._queued - self._flushed - self._failed,
                retries=self._retries,
                batches=self._batches,
            )

    def flush(self, timeout: Optional[float] = 30.0) -> None:
        """Wait until every record queued before this call is written (or failed).

        Raises :class:`~storekit.BackendError` if that takes longer than ``timeout``
        seconds (``None``: no limit); the records stay queued."""
        if self._queued == self._flushed + self._failed:  # nothing queued (the fast path of reads)
            return
        if threading.current_thread() is self._thread:  # the writer's own store calls
            return
        with self._lock:
            target = self._queued
            if self._flushed + self._failed >= target:
                return
        if self._thread is None:
            self._start()
        self._wakeup.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._flushed + self._failed < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    pending = target - self._flushed - self._failed
                    raise BackendError(
                        f"write-behind flush timed out after {timeout:g} s with {pending} record(s) still queued"
                        + (f"; last error: {self.last_error}" if self.last_error else ""),
                        orig=self.last_error,
                    )
                self._done.wait(left)

    def close(self, timeout: Optional[float] = 30.0) -> None:
        """Flush, then stop the background thread. Idempotent. New records are refused."""
        if self._closed:
            return
        try:
            self.flush(timeout)
        finally:
            with self._lock:
                self._closing = True
                self._room.notify_all()
            self._stop.set()
            self._wakeup.set()
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
            self._closed = True
            _OPEN.discard(self)

    # -- the background side -----------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="storekit-write-behind", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        pause = 0.0
        while True:
            if pause:
                self._stop.wait(pause)  # a retry: producers' wakeups do not shorten it
            else:
                self._wakeup.wait(self.flush_interval)
            self._wakeup.clear()
            with self._lock:
                if self._closing and not self._queue:
                    return
                if not self._queue:
                    continue
                count = min(len(self._queue), self.batch_size)
                batch = [self._queue.popleft() for _ in range(count)]
                self._in_flight = count
                self._room.notify_all()
            pause = self._write(batch)
            if pause == 0.0 and len(self._queue) >= self.batch_size:
                self._wakeup.set()  # more full batches waiting: no pause

    def _write(self, batch: List[Record]) -> float:
        """Write ``batch``; on a backend error put it back at the head of the queue and
        return the pause before the next try."""
        try:
            self._put(batch)
        except (IntegrityError, UsageError, TypeError) as exc:
            self._write_one_by_one(batch, exc)
        except StorekitError as exc:
            self._retry(batch, exc)
            self._failing += 1
            return min(self.retry_max, 0.1 * 2.0 ** min(self._failing, 10))
        except Exception as exc:  # pragma: no cover - a bug: keep the records, say so
            log.exception("write-behind batch failed unexpectedly; retrying")
            self._retry(batch, exc)
            return self.retry_max
        else:
            with self._lock:
                self._flushed += len(batch)
                self._batches += 1
                self._in_flight = 0
                self._done.notify_all()
        self._failing = 0
        return 0.0

    def _put(self, batch: List[Record]) -> None:
        """Append each type's records (the bulk path); a key already present makes it an
        upsert of that type's records, which is what put gives (a retry after a lost
        commit acknowledgement finds its own records there)."""
        by_type: Dict[type, List[Record]] = {}
        for rec in batch:
            by_type.setdefault(type(rec), []).append(rec)
        store = self._store
        with store.transaction():
            for records in by_type.values():
                store.append(records)

    def _retry(self, batch: List[Record], exc: BaseException) -> None:
        self.last_error = exc
        with self._lock:
            self._queue.extendleft(reversed(batch))
            self._retries += 1
            self._in_flight = 0
        log.warning("write-behind batch of %d record(s) failed, retrying: %s", len(batch), exc)

    def _write_one_by_one(self, batch: List[Record], exc: BaseException) -> None:
        try:
            self._store.put_many(batch)  # a key already present: replace, as put does
        except (IntegrityError, UsageError, TypeError):
            pass
        except StorekitError as again:
            self._retry(batch, again)
            return
        else:
            with self._lock:
                self._flushed += len(batch)
                self._batches += 1
                self._in_flight = 0
                self._done.notify_all()
            return
        flushed = failed = 0
        for rec in batch:
            try:
                self._store.put(rec)
                flushed += 1
            except (IntegrityError, UsageError, TypeError) as err:
                failed += 1
                self.failures.append((rec, err))
                self.last_error = err
                log.error("write-behind: %s record refused and not written: %s", type(rec).__name__, err, exc_info=err)
            except StorekitError as again:  # the backend went away meanwhile: retry the rest
                rest = batch[flushed + failed :]
                with self._lock:
                    self._flushed += flushed
                    self._failed += failed
                self._retry(rest, again)
                return
        with self._lock:
            self._flushed += flushed
            self._failed += failed
            self._in_flight = 0
            self._done.notify_all()


_OPEN: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for queue in list(_OPEN):
        try:
            queue.close(timeout=10.0)
        except Exception as exc:
            log.error("write-behind queue not flushed at exit: %s", exc, exc_info=exc)
