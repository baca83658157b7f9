"""Reading store rows as plain tuples, in record field order, for ``verify`` and
``rollback`` (which compare and write values, not records).

On the core SQL backend (:class:`storekit.sql.SQLBackend`, which every first-party
backend and any SQL plugin uses) the rows come straight from SQLAlchemy Core with the
column types' result processing, without building a validated record per row, which is
what makes ``storekit verify`` stream at hundreds of thousands of rows a second. Any
other backend is read through :meth:`storekit.Store.find`; both give the same values.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import sqlalchemy as sa

from ..errors import BackendError
from ..query import Eq, Filter, In, Range
from ..records import Kind, all_record_types, spec_of
from ..sql import SQLBackend, build_metadata
from ..store import Store

__all__ = ["StoreRows"]

_CHUNK = 5000

_READY: Dict[Kind, str] = {
    Kind.TEXT: "type(v) is str",
    Kind.INT: "type(v) is int",
    Kind.FLOAT: "type(v) is float",
    Kind.BOOL: "type(v) is bool",
    Kind.DATE: "type(v) is _date",
    Kind.TIMESTAMP: "(type(v) is _datetime and v.tzinfo is not None)",
    Kind.UUID: "type(v) is _UUID",
}
"""Per kind: the driver's value is already the field's value (JSON always goes through the
column type: JSON text and a JSON string are both ``str``)."""


class StoreRows:
    """Tuples of field values (in :attr:`RecordSpec.field_names` order) from ``store``.

    ``generic=True`` always reads through :meth:`Store.find` (used by tests to prove
    both paths agree)."""

    def __init__(self, store: Store, *, generic: bool = False) -> None:
        self.store = store
        backend = store.backend
        self._engine: Optional[sa.engine.Engine] = None
        self._tables: Dict[type, sa.Table] = {}
        self._readers: Dict[type, Tuple[Any, Callable[[Sequence[Any]], List[Tuple[Any, ...]]]]] = {}
        if isinstance(backend, SQLBackend) and not generic:
            self._engine = backend.engine
            self._tables = build_metadata(all_record_types(), backend.facts)
            self._name = backend.name

    def _reader(self, record_type: type) -> Tuple[Any, Callable[[Sequence[Any]], List[Tuple[Any, ...]]]]:
        """The raw columns of ``record_type``'s table and the function turning driver rows
        into field values: a column's result processing runs only when the driver did not
        already hand back the field's type (an aware datetime from PostgreSQL needs no
        conversion; ISO text from SQLite does). Generated once per record type."""
        found = self._readers.get(record_type)
        if found is not None:
            return found
        assert self._engine is not None
        dialect = self._engine.dialect
        table = self._tables[record_type]
        spec = spec_of(record_type)
        env: Dict[str, Any] = {"_date": dt.date, "_datetime": dt.datetime, "_UUID": uuid.UUID}
        values: List[str] = []
        for i, c in enumerate(table.c):
            process = c.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is None:
                values.append(f"r[{i}]")
                continue
            env[f"_p{i}"] = process
            ready = _READY.get(spec.field(c.name).kind)
            if ready is None:
                values.append(f"(None if (v := r[{i}]) is None else _p{i}(v))")
            else:
                values.append(f"(v if (v := r[{i}]) is None or {ready} else _p{i}(v))")
        source = f"def convert(rows):\n    return [({', '.join(values)},) for r in rows]\n"
        exec(compile(source, f"<storekit rows of {spec.name}>", "exec"), env)
        raw = [sa.type_coerce(c, sa.types.NullType()).label(c.name) for c in table.c]
        found = self._readers[record_type] = (raw, env["convert"])
        return found

    def rows(
        self,
        record_type: type,
        where: Sequence[Filter] = (),
        order_by: Sequence[str] = (),
        limit: Optional[int] = None,
        *,
        stream: bool = True,
    ) -> Iterator[Tuple[Any, ...]]:
        """The matching rows (filters and order as for :meth:`Store.find`, whose order
        always ends with the key). ``stream=False`` fetches them in one round trip (for
        reads bounded by a batch), instead of through a server-side cursor."""
        if self._engine is None:
            names = spec_of(record_type).field_names
            found: Iterator[Any] = self.store.find(record_type, *where, order_by=order_by, limit=limit)
            for rec in found:
                yield tuple(getattr(rec, n) for n in names)
            return
        table = self._tables[record_type]
        raw, convert = self._reader(record_type)
        stmt = sa.select(*raw).where(*[_clause(table, f) for f in where])
        order = list(order_by) + [k for k in spec_of(record_type).key if k not in order_by]
        stmt = stmt.order_by(*[table.c[name] for name in order])
        if limit is not None:
            stmt = stmt.limit(limit)
        try:
            with self._engine.connect() as conn:
                if not stream:
                    yield from convert(conn.execute(stmt).all())
                    return
                result = conn.execution_options(yield_per=_CHUNK).execute(stmt)
                for partition in result.partitions():
                    yield from convert(partition)
        except sa.exc.SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
            raise BackendError(f"{self._name}: {first}", backend=self._name, orig=exc) from exc

    def all(
        self, record_type: type, where: Sequence[Filter] = (), order_by: Sequence[str] = ()
    ) -> List[Tuple[Any, ...]]:
        """The matching rows as a list, in one round trip (for batch-sized reads)."""
        return list(self.rows(record_type, where, order_by, stream=False))


def _clause(table: sa.Table, flt: Filter) -> Any:
    col = table.c[flt.field]
    if isinstance(flt, Eq):
        return col.is_(None) if flt.value is None else col == flt.value
    if isinstance(flt, In):
        values = [v for v in flt.values if v is not None]
        return col.in_(values) if values else sa.false()
    assert isinstance(flt, Range)
    parts = []
    for op, bound in (("__ge__", flt.ge), ("__gt__", flt.gt), ("__le__", flt.le), ("__lt__", flt.lt)):
        if bound is not None:
            parts.append(getattr(col, op)(sa.literal(bound, col.type)))
    return sa.and_(*parts) if parts else col.is_not(None)
