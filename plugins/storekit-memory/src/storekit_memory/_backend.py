"""``MemoryBackend``: the :class:`storekit.Backend` contract over Python dicts.

The storage is the plugin's own (a dict per record type, keyed by natural key);
what a query, an aggregate or a constraint means is :mod:`storekit.evaluate`, the
same code as storekit's reference model, so the semantics cannot drift.

Concurrency: one lock per database. A call holds it while it runs, a transaction
for its whole duration, so transactions are serializable and readers never see
uncommitted writes. Atomicity: every write goes through an undo journal; a failing
call undoes its own entries, a failing transaction all of its entries.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import attrs
from storekit import evaluate
from storekit.errors import BackendUnavailableError, ConfigurationError, IntegrityError
from storekit.query import Aggregate, Filter, Query
from storekit.records import Kind, spec_of

__all__ = ["SCHEME", "MemoryBackend", "open_memory"]

SCHEME = "memory"

Key = evaluate.Key
Table = Dict[Key, Any]
_MISSING = object()


class _Database:
    """The records of one store name, shared by every backend opened on that name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tables: Dict[type, Table] = {}
        self.lock = threading.RLock()
        self.users = 0


class _Catalog:
    """Named databases, alive while a backend uses them (``memory://`` alone is unnamed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._named: Dict[str, _Database] = {}

    def acquire(self, name: str) -> _Database:
        with self._lock:
            db = self._named.setdefault(name, _Database(name)) if name else _Database(name)
            db.users += 1
            return db

    def release(self, db: _Database) -> None:
        with self._lock:
            db.users -= 1
            if db.users == 0 and self._named.get(db.name) is db:
                del self._named[db.name]  # the last store of the name closed: its data goes


# Process-wide, as "same name, same data" requires (like SQLite's shared-cache memory
# databases); it starts empty and holds data only while stores are open.
_CATALOG = _Catalog()


class _Journal:
    """Undo entries, newest last: the table, the key and what it held before."""

    def __init__(self) -> None:
        self._entries: List[Tuple[Table, Key, Any]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, table: Table, key: Key, record: Any) -> None:
        self._entries.append((table, key, table.get(key, _MISSING)))
        table[key] = record

    def remove(self, table: Table, key: Key) -> None:
        self._entries.append((table, key, table.pop(key)))

    def undo(self, mark: int = 0) -> None:
        """Undo every entry after the first ``mark``."""
        while len(self._entries) > mark:
            table, key, old = self._entries.pop()
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old


def _isolated(record: Any) -> Any:
    """``record`` with its JSON values copied: records are frozen, but a dict or list
    inside one is not, and a database never shares its rows with the caller."""
    spec = spec_of(record)
    changes = {
        f.name: copy.deepcopy(getattr(record, f.name))
        for f in spec.fields
        if f.kind is Kind.JSON and isinstance(getattr(record, f.name), (dict, list))
    }
    return attrs.evolve(record, **changes) if changes else record


class MemoryBackend:
    """The backend contract in process memory (see the module docstring).

    Open it through :func:`storekit.open_store` with ``memory://NAME`` (stores opened
    with the same name in one process share data until the last one closes) or
    ``memory://`` (private to the store).
    """

    name = "memory"

    def __init__(self, database: _Database) -> None:
        self._db: Optional[_Database] = database
        self._local = threading.local()

    def __repr__(self) -> str:
        where = "closed" if self._db is None else f"memory://{self._db.name}"
        return f"<MemoryBackend {where}>"

    # -- state ----------------------------------------------------------------------------

    def _database(self) -> _Database:
        db = self._db
        if db is None:
            raise BackendUnavailableError("the memory store is closed", backend=self.name)
        return db

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[Tuple[Dict[type, Table], _Journal]]:
        """One call: under the lock, journalled into this thread's transaction if there is
        one; on an error only this call's own entries are undone."""
        db = self._database()
        with db.lock:
            journal: Optional[_Journal] = getattr(self._local, "journal", None)
            if journal is None:
                journal = _Journal()
            mark = len(journal)
            try:
                yield db.tables, journal
            except BaseException:
                journal.undo(mark)
                raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "journal", None) is not None:
            yield  # nested: part of the enclosing transaction
            return
        db = self._database()
        with db.lock:
            journal = self._local.journal = _Journal()
            try:
                yield
            except BaseException:
                journal.undo()
                raise
            finally:
                self._local.journal = None

    def ensure_schema(self, record_types: Sequence[type]) -> None:
        with self._atomic() as (tables, _):
            for record_type in record_types:
                spec_of(record_type)
                tables.setdefault(record_type, {})

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            _CATALOG.release(db)

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, record_type: type, records: Iterable[Any]) -> int:
        items = [_isolated(r) for r in evaluate.checked_records(record_type, records)]
        with self._atomic() as (tables, journal):
            table = tables.setdefault(record_type, {})
            for key, rec in evaluate.latest_by_key(record_type, items).items():
                journal.put(table, key, rec)
                evaluate.check_unique(rec, table, backend=self.name)
                evaluate.check_references(rec, tables, backend=self.name)
        return len(items)

    def append(self, record_type: type, records: Iterable[Any]) -> int:
        items = [_isolated(r) for r in evaluate.checked_records(record_type, records)]
        spec = spec_of(record_type)
        with self._atomic() as (tables, journal):
            table = tables.setdefault(record_type, {})
            for rec in items:
                key = spec.key_of(rec)
                if key in table:
                    raise IntegrityError(f"duplicate key: {spec.name}{key!r} exists", backend=self.name)
                journal.put(table, key, rec)
                evaluate.check_unique(rec, table, backend=self.name)
                evaluate.check_references(rec, tables, backend=self.name)
        return len(items)

    def increment(self, record_type: type, record: Any, fields: Sequence[str], replace: Sequence[str] = ()) -> None:
        rec = _isolated(evaluate.checked_records(record_type, [record])[0])
        key = spec_of(record_type).key_of(rec)
        with self._atomic() as (tables, journal):
            table = tables.setdefault(record_type, {})
            new = evaluate.incremented(table.get(key), rec, fields, replace, backend=self.name)
            journal.put(table, key, new)
            evaluate.check_unique(new, table, backend=self.name)
            evaluate.check_references(new, tables, backend=self.name)

    def delete(self, record_type: type, where: Sequence[Filter]) -> int:
        spec = spec_of(record_type)
        with self._atomic() as (tables, journal):
            table = tables.setdefault(record_type, {})
            doomed = [spec.key_of(r) for r in evaluate.matching(record_type, where, table.values())]
            for key in doomed:
                journal.remove(table, key)
            if doomed:
                evaluate.check_not_referenced(record_type, tables, backend=self.name)
        return len(doomed)

    # -- reads ----------------------------------------------------------------------------

    def get(self, record_type: type, key: Tuple[Any, ...]) -> Optional[Any]:
        wanted = evaluate.lookup_key(record_type, key)
        with self._atomic() as (tables, _):
            found = tables.get(record_type, {}).get(wanted)
        return None if found is None else _isolated(found)

    def query(self, query: Query[Any]) -> Iterator[Any]:
        # Evaluated eagerly under the lock, so a reader never sees half a transaction;
        # that is why the backend does not declare streaming.
        with self._atomic() as (tables, _):
            rows = evaluate.select(query, tables.get(query.record_type, {}).values())
        return (_isolated(r) for r in rows)

    def aggregate(self, aggregate: Aggregate) -> List[Dict[str, Any]]:
        with self._atomic() as (tables, _):
            return evaluate.aggregate(aggregate, tables.get(aggregate.record_type, {}).values(), backend=self.name)


def open_memory(url: str, options: Mapping[str, Any]) -> MemoryBackend:
    """The backend factory: a :class:`MemoryBackend` for ``memory://NAME`` or ``memory://``.

    :raises storekit.ConfigurationError: not a ``memory://`` URL, or any option given.
    """
    scheme, sep, name = url.partition("://")
    if scheme != SCHEME or not sep or "?" in name:
        raise ConfigurationError(f"not a memory store URL: {url!r} (expected memory://NAME or memory://)")
    if options:
        raise ConfigurationError(f"the memory backend takes no options (got {', '.join(sorted(options))})")
    return MemoryBackend(_CATALOG.acquire(name))
