"""An in-memory reference model of the backend contract, in plain Python.

:class:`ReferenceBackend` implements :class:`storekit.Backend` by following the
semantics in :mod:`storekit.query` literally, with no storage tricks. It is the
oracle of the stateful tests: every real backend must return what it returns.

What it models beyond the query semantics: upserts replace by natural key (a
later record of the same key in one call wins); appends of an existing key raise
:class:`~storekit.errors.IntegrityError`; declared unique constraints and
references are enforced row by row (NULLs never conflict, a reference with a
NULL field is not checked, deleting a referenced row raises); every call is
atomic and :meth:`~ReferenceBackend.transaction` snapshots and restores the whole
state. Timestamps are kept in UTC, as the real backends return them. Sums are
exact (ints in arbitrary precision, floats as exact fractions rounded once), so
the backends' float sums may differ from them only by rounding.

The evaluation itself (filters, order, pages, aggregates, constraints) is
:mod:`storekit.evaluate`, public so that any non-SQL backend can share it; this
module adds only the state: tables, atomic calls and transactions.

.. versionadded:: 0.1
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from .. import evaluate
from ..backend import Capability
from ..errors import IntegrityError
from ..query import Aggregate, Filter, Query
from ..records import Record, spec_of

__all__ = ["ReferenceBackend"]

Key = evaluate.Key
Tables = Dict[type, Dict[Key, Record]]


class ReferenceBackend:
    """The backend contract as plain Python over dicts (see the module docstring)."""

    name = "reference"
    capabilities = frozenset({Capability.TRANSACTIONS, Capability.FOREIGN_KEYS})

    def __init__(self) -> None:
        self._tables: Tables = {}
        self._depth = 0

    def __repr__(self) -> str:
        counts = ", ".join(f"{t.__name__}={len(rows)}" for t, rows in self._tables.items())
        return f"<ReferenceBackend {counts}>"

    # -- state ----------------------------------------------------------------------------

    def _table(self, record_type: type) -> Dict[Key, Record]:
        spec_of(record_type)
        return self._tables.setdefault(record_type, {})

    def _snapshot(self) -> Tables:
        return {t: dict(rows) for t, rows in self._tables.items()}

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        snapshot = self._snapshot()
        try:
            yield
        except BaseException:
            self._tables = snapshot
            raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._atomic():
                yield
        finally:
            self._depth = 0

    def ensure_schema(self, record_types: Sequence[type]) -> None:
        for record_type in record_types:
            self._table(record_type)

    def close(self) -> None:
        pass

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, record_type: type, records: Iterable[Any]) -> int:
        items = evaluate.checked_records(record_type, records)
        latest = evaluate.latest_by_key(record_type, items)
        with self._atomic():
            table = self._table(record_type)
            for key, rec in latest.items():
                table[key] = rec
                evaluate.check_unique(rec, table, backend=self.name)
                evaluate.check_references(rec, self._tables, backend=self.name)
        return len(items)

    def append(self, record_type: type, records: Iterable[Any]) -> int:
        items = evaluate.checked_records(record_type, records)
        spec = spec_of(record_type)
        with self._atomic():
            table = self._table(record_type)
            for rec in items:
                key = spec.key_of(rec)
                if key in table:
                    raise IntegrityError(f"duplicate key: {spec.name}{key!r} exists", backend=self.name)
                table[key] = rec
                evaluate.check_unique(rec, table, backend=self.name)
                evaluate.check_references(rec, self._tables, backend=self.name)
        return len(items)

    def increment(self, record_type: type, record: Any, fields: Sequence[str], replace: Sequence[str] = ()) -> None:
        rec = evaluate.checked_records(record_type, [record])[0]
        spec = spec_of(record_type)
        with self._atomic():
            table = self._table(record_type)
            key = spec.key_of(rec)
            table[key] = evaluate.incremented(table.get(key), rec, fields, replace, backend=self.name)
            evaluate.check_unique(table[key], table, backend=self.name)
            evaluate.check_references(table[key], self._tables, backend=self.name)

    def delete(self, record_type: type, where: Sequence[Filter]) -> int:
        spec = spec_of(record_type)
        with self._atomic():
            table = self._table(record_type)
            doomed = [spec.key_of(rec) for rec in evaluate.matching(record_type, where, table.values())]
            for key in doomed:
                del table[key]
            if doomed:
                evaluate.check_not_referenced(record_type, self._tables, backend=self.name)
        return len(doomed)

    # -- reads ----------------------------------------------------------------------------

    def get(self, record_type: type, key: Tuple[Any, ...]) -> Optional[Any]:
        return self._table(record_type).get(evaluate.lookup_key(record_type, key))

    def query(self, query: Query[Any]) -> Iterator[Any]:
        return iter(evaluate.select(query, self._rows(query.record_type)))

    def aggregate(self, aggregate: Aggregate) -> List[Dict[str, Any]]:
        return evaluate.aggregate(aggregate, self._rows(aggregate.record_type), backend=self.name)

    def _rows(self, record_type: type) -> Iterable[Record]:
        return self._tables.get(record_type, {}).values()
