"""Opening a store, and the generic operations on it."""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Type,
    TypeVar,
    Union,
    cast,
)

import sqlalchemy as sa

from .backend import Backend
from .config import redact_url, resolve_url
from .query import Agg, Aggregate, Filter, Order, Query
from .records import Record, all_record_types, spec_of
from .registry import Registry, get_registry

__all__ = ["Store", "open_store"]

log = logging.getLogger("storekit.store")

if TYPE_CHECKING:
    from .audit import Auditor
    from .domain import (
        AccuracyAnalyzer,
        AccuracyTracker,
        ApiCallTracker,
        DataSynchronizer,
        EnhancedAdaptiveSystem,
        FeedbackSystem,
        ModelPerformanceMonitor,
        NotificationHistory,
        PerformanceTracker,
        RecoveryManager,
        StrategyReporter,
        SystemAlertManager,
        UnifiedDb,
    )
    from .fallback import ReplayReport
    from .writebehind import WriteBehind

R = TypeVar("R", bound=Record)
F = TypeVar("F", bound=Callable[..., Any])

_GENERATIONS = itertools.count(1)


def _writes(method: F) -> F:
    """A write method: :attr:`Store.generation` changes once it returns or raises."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._generation = next(_GENERATIONS)

    return cast(F, wrapper)


class _TransactionDepth(threading.local):
    depth = 0
    """How deep the calling thread is in :meth:`Store.transaction` blocks."""


class Store:
    """A typed store on one backend. Use it as a context manager, or call :meth:`close`.

    Every write validates records before anything is sent; every read returns records.
    """

    def __init__(self, backend: Backend, *, url: str, auditor: Optional[Auditor] = None) -> None:
        self.backend = backend
        self._auditor = auditor
        self._url = redact_url(url)
        self._domains: Dict[str, Any] = {}
        self._generation = 0
        self._write_behind: Optional[WriteBehind] = None
        self._transactions = _TransactionDepth()

    def __repr__(self) -> str:
        return f"<Store {self.backend.name} {self._url}>"

    @property
    def generation(self) -> int:
        """A number that changes after every write through this store and at the end of
        every transaction: a read result cached with it is current while it is unchanged
        (writes by other processes are not seen).

        .. versionadded:: 0.1
        """
        return self._generation

    @property
    def url(self) -> str:
        """The store's URL with any password hidden."""
        return self._url

    # -- domain stores (the application's per-module methods) ------------------------

    def _domain(self, name: str) -> Any:
        try:
            return self._domains[name]
        except KeyError:
            from .domain import DOMAIN_STORES

            return self._domains.setdefault(name, DOMAIN_STORES[name](self))

    @property
    def data_synchronizer(self) -> DataSynchronizer:
        """The persistence methods of DataSynchronizer (``data/learning/learning_data.db``)."""
        return self._domain("data_synchronizer")  # type: ignore[no-any-return]

    @property
    def enhanced_adaptive_system(self) -> EnhancedAdaptiveSystem:
        """The persistence methods of EnhancedAdaptiveSystem (reads ``learning_data.db``)."""
        return self._domain("enhanced_adaptive_system")  # type: ignore[no-any-return]

    @property
    def notification_history(self) -> NotificationHistory:
        """The persistence methods of NotificationHistoryDB (``data/notification_history.db``)."""
        return self._domain("notification_history")  # type: ignore[no-any-return]

    @property
    def system_alert_manager(self) -> SystemAlertManager:
        """The persistence methods of SystemAlertManager (``data/system_alerts.db``)."""
        return self._domain("system_alert_manager")  # type: ignore[no-any-return]

    @property
    def recovery_manager(self) -> RecoveryManager:
        """The persistence methods of RecoveryManager and ErrorRecoverySystem (``data/error_recovery.db``)."""
        return self._domain("recovery_manager")  # type: ignore[no-any-return]

    @property
    def api_call_tracker(self) -> ApiCallTracker:
        """The persistence methods of APICallTracker (``data/api_tracking.db``)."""
        return self._domain("api_call_tracker")  # type: ignore[no-any-return]

    @property
    def performance_tracker(self) -> PerformanceTracker:
        """The persistence methods of PerformanceTracker (``data/performance_tracking.db``)."""
        return self._domain("performance_tracker")  # type: ignore[no-any-return]

    @property
    def accuracy_tracker(self) -> AccuracyTracker:
        """The persistence methods of AccuracyTracker (``data/accuracy_tracking.db``)."""
        return self._domain("accuracy_tracker")  # type: ignore[no-any-return]

    @property
    def strategy_reporter(self) -> StrategyReporter:
        """The persistence methods of StrategyReporter (``data/strategy_performance.db``)."""
        return self._domain("strategy_reporter")  # type: ignore[no-any-return]

    @property
    def model_performance_monitor(self) -> ModelPerformanceMonitor:
        """The persistence methods of ModelPerformanceMonitor (``data/model_performance.db``)."""
        return self._domain("model_performance_monitor")  # type: ignore[no-any-return]

    @property
    def accuracy_analyzer(self) -> AccuracyAnalyzer:
        """The persistence methods of AccuracyAnalyzer (read-only)."""
        return self._domain("accuracy_analyzer")  # type: ignore[no-any-return]

    @property
    def feedback_system(self) -> FeedbackSystem:
        """The persistence methods of FeedbackSystem (``data/feedback.db``)."""
        return self._domain("feedback_system")  # type: ignore[no-any-return]

    @property
    def unified_db(self) -> UnifiedDb:
        """The persistence methods of the main-database helpers of ``core/database/unified_db.py``."""
        return self._domain("unified_db")  # type: ignore[no-any-return]

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush the write-behind queue (if any), then release the backend's
        connections. Idempotent."""
        try:
            if self._write_behind is not None:
                self._write_behind.close()
        finally:
            self.backend.close()

    # -- fallback and write-behind (see storekit.fallback, storekit.writebehind) ---------

    @property
    def served_by(self) -> str:
        """``"primary"`` or ``"fallback"``: which side served this thread's last read or
        write. Always ``"primary"`` for a store opened without a fallback.

        .. versionadded:: 0.1
        """
        return str(getattr(self.backend, "served_by", "primary"))

    def sync(self) -> ReplayReport:
        """Replay the fallback's outbox to the primary now (see :doc:`/explanation/fallback`);
        a store without a fallback has nothing to replay.

        .. versionadded:: 0.1
        """
        from .fallback import ReplayReport

        sync = getattr(self.backend, "sync", None)
        if sync is None:
            return ReplayReport(primary=f"{self.backend.name} {self._url}")
        return cast("ReplayReport", sync())

    def write_behind(self, **settings: Any) -> WriteBehind:
        """The store's write-behind queue (:class:`storekit.writebehind.WriteBehind`),
        made on first use with ``settings``; flushed by :meth:`close`.

        .. versionadded:: 0.1
        """
        if self._write_behind is None:
            from .writebehind import WriteBehind

            self._write_behind = WriteBehind(self, **settings)
        return self._write_behind

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread is inside a :meth:`transaction` block.

        .. versionadded:: 0.1
        """
        return self._transactions.depth > 0

    def _settle(self) -> None:
        # Reads, deletes and transactions come after the records queued for write-behind
        # before them (not inside a transaction, whose lock the queue's writer could be
        # waiting for).
        queue = self._write_behind
        if queue is not None and not self.in_transaction:
            queue.flush()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """Every operation in the block, on this thread, commits or rolls back together."""
        self._settle()
        self._transactions.depth += 1
        committed = False
        try:
            with self.backend.transaction():
                yield self
            committed = True
        finally:
            self._transactions.depth -= 1
            self._generation = next(_GENERATIONS)
            if self._auditor is not None and not self.in_transaction:
                if committed:
                    self._auditor.commit(self)
                else:
                    self._auditor.discard()

    # -- writes ------------------------------------------------------------------------

    @_writes
    def put(self, record: Record) -> None:
        """Insert or replace one record by its natural key."""
        self.backend.upsert(type(record), [record])
        if self._auditor is not None:
            self._auditor.record(self, "put", "upsert", [record])

    @_writes
    def put_many(self, records: Iterable[Record]) -> int:
        """Insert or replace records (of any types) by natural key, in one transaction.

        The types are written in the order they first appear, except that a type
        whose foreign keys reference another type of the call is written after it, so
        a batch of related records succeeds whatever their order in ``records``.
        Returns the number of records written."""
        by_type: Dict[type, List[Record]] = {}
        for rec in records:
            items = by_type.get(type(rec))
            if items is None:
                spec_of(rec)  # once per type: a TypeError for anything not a record
                items = by_type[type(rec)] = []
            items.append(rec)
        count = 0
        with self.backend.transaction():
            for record_type in _parents_first(list(by_type)):
                count += self.backend.upsert(record_type, by_type[record_type])
        if self._auditor is not None:
            self._auditor.record(self, "put_many", "upsert", itertools.chain.from_iterable(by_type.values()))
        return count

    @_writes
    def append(self, records: Iterable[R]) -> int:
        """Insert new records of one type; a key that exists raises
        :class:`~storekit.errors.IntegrityError` and nothing of the call is written."""
        items = list(records)
        if not items:
            return 0
        with self.backend.transaction():
            count = self.backend.append(type(items[0]), items)
        if self._auditor is not None:
            self._auditor.record(self, "append", "create", items)
        return count

    @_writes
    def increment(self, record: Record, *fields: str, replace: Sequence[str] = ()) -> None:
        """Insert ``record``, or add its values of ``fields`` to the stored record of its
        key, atomically: concurrent increments from any number of threads and processes
        lose none. The fields named in ``replace`` take the record's values; the others
        keep the stored ones. For counters, e.g.
        ``store.increment(NotificationStats(date=day, total_count=1), "total_count")``.

        .. versionadded:: 0.1
        """
        self.backend.increment(type(record), record, fields, tuple(replace))
        if self._auditor is not None:
            self._auditor.record(self, "increment", "increment", [record], incremented=fields, replaced=replace)

    @_writes
    def delete(self, record_type: Type[R], *where: Filter) -> int:
        """Delete the records matching every filter; return how many were deleted."""
        self._settle()
        if self._auditor is None or self._auditor.delivering:
            return self.backend.delete(record_type, where)
        # Audited: the records are read in the deleting transaction, so the events name them.
        with self.backend.transaction():
            gone = list(self.backend.query(Query(record_type, where)))
            count = self.backend.delete(record_type, where)
        if count != len(gone):  # PostgreSQL, read committed: a row committed in between
            table = spec_of(record_type).table
            log.warning("audit of a delete from %s: %d deleted, %d read and audited", table, count, len(gone))
        self._auditor.record(self, "delete", "delete", gone)
        return count

    # -- reads -------------------------------------------------------------------------

    def get(self, record_type: Type[R], *key: Any) -> Optional[R]:
        """The record with this natural key (one value per key field), or ``None``."""
        self._settle()
        result: Optional[R] = self.backend.get(record_type, tuple(key))
        return result

    def find(
        self,
        record_type: Type[R],
        *where: Filter,
        order_by: Sequence[Union[str, Order]] = (),
        limit: Optional[int] = None,
        after: Any = None,
    ) -> Iterator[R]:
        """Stream the records matching every filter (see :mod:`storekit.query`)."""
        self._settle()
        return self.backend.query(Query(record_type, where, order_by, limit, after))

    def pages(
        self,
        record_type: Type[R],
        *where: Filter,
        order_by: Sequence[Union[str, Order]] = (),
        size: int = 1000,
    ) -> Iterator[List[R]]:
        """Keyset-paginated pages of at most ``size`` records each."""
        after = None
        while True:
            page = list(self.find(record_type, *where, order_by=order_by, limit=size, after=after))
            if not page:
                return
            yield page
            if len(page) < size:
                return
            after = page[-1]

    def aggregate(
        self,
        record_type: type,
        *aggs: Agg,
        where: Sequence[Filter] = (),
        group_by: Sequence[str] = (),
    ) -> List[Dict[str, Any]]:
        """Grouped aggregates (see :class:`storekit.query.Aggregate`)."""
        self._settle()
        return self.backend.aggregate(Aggregate(record_type, aggs, where, group_by))

    def count(self, record_type: type, *where: Filter) -> int:
        """The number of records matching every filter."""
        rows = self.aggregate(record_type, Agg("count"), where=where)
        return int(rows[0]["count"])


def open_store(
    url: Optional[str] = None,
    *,
    fallback: Optional[str] = "environment",
    options: Optional[Mapping[str, Any]] = None,
    registry: Optional[Registry] = None,
    record_types: Optional[Sequence[type]] = None,
    audit: Optional[bool] = None,
) -> Store:
    """Open the store at ``url``, else ``DATABASE_URL`` or ``STOREKIT_URL``, else the
    embedded SQLite file (:func:`storekit.default_sqlite_path`).

    ``options`` are backend options (for PostgreSQL: ``schema``, ``pool_size``,
    ``max_overflow``, ``pool_timeout``, ``pool_recycle``, ``connect_timeout``,
    ``copy_min_rows``; see ``docs/configuration.rst``); an unknown option or a bad value
    is a :class:`~storekit.ConfigurationError`.

    The backend is the highest-priority registered backend for the URL's scheme.
    The schema for ``record_types`` (default: every record type) is created if
    missing and its version checked; a database that storekit never wrote but that
    holds tables of storekit's names is refused (:class:`~storekit.ConfigurationError`).

    ``fallback`` is where writes go while the primary is unreachable: ``None`` (no
    fallback), ``"default"`` (the SQLite file :func:`storekit.fallback.default_fallback_path`),
    a URL, or ``"environment"`` (the default: ``STOREKIT_FALLBACK``, unset means none).
    A fallback is used only behind a primary that outranks it (see
    :doc:`/explanation/fallback`).

    ``audit`` turns auditing on (see :mod:`storekit.audit`): ``None`` (the default) takes
    ``options["audit"]``, else ``STOREKIT_AUDIT``; unset means off.

    .. versionchanged:: 0.1
       ``fallback``, ``audit``.
    """
    from .audit import Auditor, audit_setting

    resolved = resolve_url(url)
    registry = registry or get_registry()
    backend_options = dict(options or {})
    option = backend_options.pop("audit", None)  # storekit's option, never the backend's
    auditing = audit_setting(option if audit is None else audit)
    auditor = Auditor(registry) if auditing else None
    scheme = sa.engine.make_url(resolved).drivername
    info = registry.backend_for_scheme(scheme)
    backend = info.factory(resolved, backend_options)
    try:
        from .fallback import with_fallback

        types = list(record_types or all_record_types())
        backend = with_fallback(backend, info, resolved, fallback, registry=registry, record_types=types)
    except BaseException:
        backend.close()
        raise
    log.debug("opened %s store at %s", info.name, redact_url(resolved))
    return Store(backend, url=resolved, auditor=auditor)


def _parents_first(record_types: List[type]) -> List[type]:
    """``record_types`` in their order, except that each comes after the types of the
    list its foreign keys reference (a reference cycle is broken where it closes)."""
    by_table = {spec_of(t).table: t for t in record_types}
    ordered: List[type] = []
    placed: Set[type] = set()

    def place(record_type: type, visiting: Set[type]) -> None:
        if record_type in placed or record_type in visiting:
            return
        visiting.add(record_type)
        for ref in spec_of(record_type).references:
            parent = by_table.get(ref.target)
            if parent is not None:
                place(parent, visiting)
        placed.add(record_type)
        ordered.append(record_type)

    for record_type in record_types:
        place(record_type, set())
    return ordered
