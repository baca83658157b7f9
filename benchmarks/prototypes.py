"""Prototypes of the changes proposed for issue 2's upsert, measured on the upsert
benchmark's own harness (same data, same raw baselines, same checks) without editing
storekit: each prototype is installed on one open ``Store`` instance.

``python -m benchmarks.prototypes [--rows N] [--repeat K] [--only VARIANT] [--json PATH]``

Variants (``--only`` is repeatable; the default runs them all):

* ``current``: storekit as it is (the reference, measured again in the same session)
* ``bulk``: records -> driver tuples by one generated list comprehension per record
  type (instead of a per-record function with a converter loop), the SQLite date text
  cached, PostgreSQL booleans bound as they are, and a set-based duplicate-key check
  (both backends)
* ``bulk+copy``: ``bulk``, plus PostgreSQL upserts of 100 rows or more sent as
  ``COPY`` into a temporary staging table followed by one
  ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` (PostgreSQL only)

Each prototype here is the code proposed for storekit, written as functions taking
``self`` so that it can be bound to one instance; the report names the storekit file
and function each one replaces.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import keyword
import operator
import sys
import types
import uuid
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ._common import Result, environment, in_ci, loud, print_table, write_json
from .upsert import Dataset, PostgreSQLUpsert, SQLiteUpsert, Unavailable

UTC = dt.timezone.utc

# -- P1: generated writer (storekit/sql/_backend.py and the two plugins) ------------------
#
# storekit (commit 37c0032 / 5513a97) already has ``SQLFacts.bulk_converters`` (per kind: a
# callable, or None for "the driver binds the value as it is") and an attrgetter-based
# per-record writer. The prototype keeps that protocol and changes how it is used.

_date_text = functools.lru_cache(maxsize=4096)(dt.date.isoformat)
"""= ISODate.process_bind_param; a batch holds few distinct dates, so most calls hit."""


def _utc_text(value: dt.datetime) -> str:
    # = UTCTimestampText.process_bind_param, with isoformat's arguments positional
    return value.astimezone(UTC).isoformat("T", "microseconds")


def _bulk_converters(backend: Any) -> Dict[Any, Optional[Callable[[Any], Any]]]:
    """Proposed ``bulk_converters`` of each plugin."""
    from storekit.records import Kind

    if backend.name == "sqlite":  # as storekit has them, with the date text cached
        return {Kind.BOOL: None, Kind.DATE: _date_text, Kind.TIMESTAMP: _utc_text}
    return {Kind.BOOL: None}  # psycopg2 adapts True/False itself; Boolean's processor only re-checks


def _bulk_writer(self: Any, record_type: type) -> Callable[[Sequence[Any]], List[Tuple[Any, ...]]]:
    """Proposed ``SQLBackend._writer``: one generated function per record type that
    turns a list of records into driver tuples in a single list comprehension, calling
    a converter only for the columns that need one (as dataclasses and attrs generate
    ``__init__``). For ScreeningHistory on SQLite it generates::

        def write(records):
            return [(r.stock_code, r.stock_name, r.sector, _c3(r.screening_date), r.overall_score,
                     ..., r.passed, ..., (None if (v11 := r.created_at) is None else _c11(v11)),)
                    for r in records]
    """
    cache: Dict[type, Any] = self.__dict__.setdefault("_bulk_writers", {})
    writer = cache.get(record_type)
    if writer is not None:
        return writer  # type: ignore[no-any-return]
    from storekit.records import spec_of

    spec = spec_of(record_type)
    table = self._tables[record_type]
    dialect = self.engine.dialect
    fast = self.facts.bulk_converters
    env: Dict[str, Any] = {}
    parts: List[str] = []
    for i, column in enumerate(table.c):
        name = column.name
        if not name.isidentifier() or keyword.iskeyword(name):  # field names always are
            raise ValueError(f"{record_type.__name__}.{name}: not an identifier")
        field = spec.field(name)
        convert = fast[field.kind] if field.kind in fast else column.type.bind_processor(dialect)
        if convert is None:
            parts.append(f"r.{name}")
        else:
            env[f"_c{i}"] = convert
            parts.append(
                f"(None if (v{i} := r.{name}) is None else _c{i}(v{i}))" if field.nullable else f"_c{i}(r.{name})"
            )
    source = f"def write(records):\n    return [({', '.join(parts)},) for r in records]\n"
    exec(compile(source, f"<storekit writer for {record_type.__name__}>", "exec"), env)
    cache[record_type] = writer = env["write"]
    return writer  # type: ignore[no-any-return]


def bulk_upsert(self: Any, record_type: type, records: Iterable[Any]) -> int:
    """Proposed ``SQLBackend.upsert``."""
    from storekit.records import spec_of
    from storekit.sql import _backend

    items = self._checked(record_type, records)
    spec = spec_of(record_type)
    keys = list(map(operator.attrgetter(*spec.key), items))
    unique = items
    if len(set(keys)) != len(keys):  # a later record with the same key wins
        latest: Dict[Any, Any] = {}
        for key, rec in zip(keys, items):
            latest.pop(key, None)
            latest[key] = rec
        unique = list(latest.values())
    rows = _bulk_writer(self, record_type)(unique)
    table = self._tables[record_type]
    with self._connection() as conn:
        for start in range(0, len(rows), _backend._WRITE_CHUNK):
            self.facts.upsert_rows(conn, table, spec.key, rows[start : start + _backend._WRITE_CHUNK])
    return len(items)


# -- P2: COPY into a staging table (plugins/storekit_postgresql) --------------------------

COPY_MIN_ROWS = 100
"""Below this, ``execute_values`` (one round trip) beats COPY (four)."""

_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_BOOL_TEXT = {True: "t", False: "f", None: _NULL}


def _copy_text_column(values: Sequence[Any]) -> List[str]:
    has_null = None in values
    present = [v for v in values if v is not None] if has_null else values
    joined = "".join(present)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        return [_NULL if v is None else v.translate(_COPY_ESCAPES) for v in values]
    return [_NULL if v is None else v for v in values] if has_null else list(values)


def _copy_column(column_type: Any, values: Sequence[Any]) -> List[str]:
    """One column of driver-ready values as COPY text fields."""
    import sqlalchemy as sa
    from storekit_postgresql import _NEGATIVE_ZERO, Float8, UTCTimestamp

    if isinstance(column_type, Float8):  # repr: shortest round-trip text; 'inf' is accepted
        if None in values or _NEGATIVE_ZERO in values:
            return [_NULL if v is None else "-0" if v is _NEGATIVE_ZERO else repr(v) for v in values]
        return list(map(float.__repr__, values))
    if isinstance(column_type, sa.Boolean):
        return list(map(_BOOL_TEXT.__getitem__, values))
    if isinstance(column_type, (sa.Date, UTCTimestamp)):  # ISO 8601, with the offset
        fmt = _date_text if isinstance(column_type, sa.Date) else dt.datetime.isoformat
        if None in values:
            return [_NULL if v is None else fmt(v) for v in values]
        return list(map(fmt, values))
    if isinstance(column_type, sa.Integer):
        return [_NULL if v is None else str(v) for v in values]
    if all(isinstance(v, str) for v in values if v is not None):  # text, JSON text
        return _copy_text_column(values)
    return _copy_text_column([None if v is None else str(v) for v in values])  # UUID, ...


def copy_upsert_rows(self: Any, connection: Any, table: Any, key: Sequence[str], rows: List[Tuple[Any, ...]]) -> None:
    """Proposed ``PostgreSQLFacts.upsert_rows``."""
    from storekit_postgresql import PostgreSQLFacts

    if len(rows) < COPY_MIN_ROWS:
        PostgreSQLFacts.upsert_rows(self, connection, table, key, rows)
        return
    quote = connection.dialect.identifier_preparer.quote
    target = connection.dialect.identifier_preparer.format_table(table)
    stage = quote(f"storekit_stage_{table.name}"[:63])
    cols = ", ".join(quote(c.name) for c in table.c)
    updates = [c.name for c in table.c if c.name not in key]
    action = (
        "DO UPDATE SET " + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in updates) if updates else "DO NOTHING"
    )
    fields = [_copy_column(c.type, values) for c, values in zip(table.c, zip(*rows))]
    text = "\n".join(map("\t".join, zip(*fields))) + "\n"
    with connection.connection.cursor() as cursor:
        # ON COMMIT DROP: nothing outlives the transaction (a schema upgrade can never
        # meet a stale staging table); within one transaction the table is reused.
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target}) ON COMMIT DROP")
        cursor.copy_expert(f"COPY {stage} ({cols}) FROM STDIN", io.StringIO(text), size=1 << 20)
        cursor.execute(
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage}"
            f" ON CONFLICT ({', '.join(map(quote, key))}) {action}; TRUNCATE {stage}"
        )


# -- installing a prototype on one store ---------------------------------------------------


def install_bulk(store: Any) -> None:
    backend = store.backend
    backend.facts.bulk_converters = _bulk_converters(backend)  # shadows the class attribute
    backend.upsert = types.MethodType(bulk_upsert, backend)


def install_bulk_copy(store: Any) -> None:
    install_bulk(store)
    store.backend.facts.upsert_rows = types.MethodType(copy_upsert_rows, store.backend.facts)


VARIANTS: Dict[str, Tuple[Optional[Callable[[Any], None]], Tuple[str, ...]]] = {
    "current": (None, ("postgresql", "sqlite")),
    "bulk": (install_bulk, ("postgresql", "sqlite")),
    "bulk+copy": (install_bulk_copy, ("postgresql",)),
}


def _tricky_records() -> List[Any]:
    """Values the COPY text format must escape or spell exactly, in batches big enough
    (>= COPY_MIN_ROWS) to take the COPY path."""
    from storekit.records.learning import LearningMetric, ScreeningHistory

    kst = dt.timezone(dt.timedelta(hours=9))
    texts = ["a\\b", "tab\there", "line\nbreak", "cr\rlf\r\n", "\\N", "\\.", "삼성전자 우", "😀 emoji", " ", ""]
    floats = [-0.0, 0.0, float("inf"), float("-inf"), 5e-324, 1.7976931348623157e308, 0.1, -2.5e-10, None]
    out: List[Any] = []
    for i in range(150):
        out.append(
            ScreeningHistory(
                stock_code=f"{i:05d}K",
                stock_name=texts[i % len(texts)] or "x",
                sector=None if i % 7 == 0 else texts[(i + 3) % len(texts)],
                screening_date=dt.date(1, 1, 1) + dt.timedelta(days=i * 24_000),
                overall_score=floats[i % len(floats)],
                fundamental_score=floats[(i + 1) % len(floats)],
                technical_score=None,
                passed=(None, True, False)[i % 3],
                roe=floats[(i + 2) % len(floats)],
                per=float("inf"),
                pbr=floats[(i + 4) % len(floats)],
                created_at=None if i % 11 == 0 else dt.datetime(2024, 1, 2, 0, 0, 0, i, kst) + dt.timedelta(hours=i),
            )
        )
        out.append(
            LearningMetric(
                id=2**62 + i,
                date=dt.date(2024, 1, 1) + dt.timedelta(days=i),
                metric_type=texts[i % len(texts)] or "t",
                metric_name=f"m{i}",
                value=None if i % 2 else floats[i % len(floats)] if i % 9 != 8 else 1.0,
                value_text="섹터\t\\" if i % 2 else None,
                metadata=None if i % 5 == 0 else {"k": texts[i % len(texts)], "n": [1, 2.5, -3], "q": '"\\/\n'},
            )
        )
    return out


def _normal(rec: Any) -> Tuple[Any, ...]:
    """Field values with floats by repr (keeps -0.0) and instants in UTC."""
    from storekit.records import spec_of

    values = []
    for name in spec_of(rec).field_names:
        v = getattr(rec, name)
        if isinstance(v, float):
            v = repr(v)
        elif isinstance(v, dt.datetime):
            v = v.astimezone(UTC)
        values.append(v)
    return tuple(values)


def _read_back(url: str, variant: str, records: List[Any], types_: Sequence[type]) -> List[Tuple[Any, ...]]:
    from storekit import open_store

    store = open_store(url, record_types=list(types_))
    try:
        hook = VARIANTS[variant][0]
        if hook is not None:
            hook(store)
        store.put_many(records)
        store.put_many(records)  # the update path too
        found: List[Tuple[Any, ...]] = []
        for t in types_:
            found += map(_normal, store.find(t))
        return sorted(found, key=repr)
    finally:
        store.close()


def selftest(pg_url: Optional[str]) -> None:
    """Write tricky records with each prototype and with storekit as it is (SQLite, and
    PostgreSQL unless ``pg_url`` is None); every store must read back exactly the
    records written."""
    import shutil
    import tempfile

    from storekit.records.learning import LearningMetric, ScreeningHistory

    records = _tricky_records()
    types_ = [ScreeningHistory, LearningMetric]
    expected = sorted((_normal(r) for r in records), key=repr)
    tmp = tempfile.mkdtemp(prefix="storekit-selftest-")
    try:
        for variant, (_, backends) in VARIANTS.items():
            for backend in backends:
                if backend == "sqlite":
                    got = _read_back(f"sqlite:///{tmp}/{variant}.db", variant, records, types_)
                elif pg_url is None:
                    continue
                else:
                    from .upsert import _pg_connect

                    schema = f"skproto_{uuid.uuid4().hex[:8]}"
                    try:
                        got = _read_back(f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}", variant,
                                         records, types_)  # fmt: skip
                    finally:
                        admin = _pg_connect(pg_url)
                        admin.autocommit = True
                        with admin.cursor() as cur:
                            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                        admin.close()
                if got != expected:
                    diff: List[Any] = [g for g, e in zip(got, expected) if g != e][:1]
                    diff = diff or [f"{len(got)} != {len(expected)} rows"]
                    raise AssertionError(
                        f"{variant} on {backend}: read back differs from what was written: {diff[0]!r}"
                    )
                print(f"selftest ok: {variant} on {backend}: {len(records)} tricky records round-trip exactly")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.prototypes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", choices=list(VARIANTS), default=[])
    parser.add_argument("--backend", action="append", choices=("postgresql", "sqlite"), default=[])
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument(
        "--selftest", action="store_true", help="only check that every variant stores tricky values exactly"
    )
    args = parser.parse_args(argv)
    if args.selftest:
        from ._common import pg_base_url
        from .upsert import pg_unreachable_reason

        reason = pg_unreachable_reason(pg_base_url())
        if reason:
            loud(f"selftest without PostgreSQL: {reason}")
        selftest(None if reason else pg_base_url())
        return 1 if reason and in_ci() else 0
    print(f"building {args.rows:,} records and raw tuples (not timed) ...", flush=True)
    data = Dataset(args.rows)
    results: List[Result] = []
    skipped: Dict[str, str] = {}
    for variant in args.only or list(VARIANTS):
        hook, backends = VARIANTS[variant]
        for backend in backends:
            if args.backend and backend not in args.backend:
                continue
            print(f"running upsert[{variant}] on {backend} ...", flush=True)
            bench = (
                PostgreSQLUpsert(data, args.repeat, store_hook=hook)
                if backend == "postgresql"
                else SQLiteUpsert(data, args.repeat, store_hook=hook)
            )
            try:
                for r in bench.run():
                    r.benchmark = f"upsert[{variant}]"
                    results.append(r)
            except Unavailable as exc:
                skipped[f"{variant}/{backend}"] = str(exc)
                loud(f"SKIPPED upsert[{variant}] on {backend}: {exc}")
    print()
    print_table(sorted(results, key=lambda r: (r.backend, r.case, list(VARIANTS).index(r.benchmark[7:-1]))))
    if args.json:
        write_json(args.json, results, environment({"rows": args.rows, "repeats": args.repeat, "skipped": skipped}))
        print(f"results written to {args.json}")
    return 1 if skipped and in_ci() else 0


if __name__ == "__main__":
    sys.exit(main())
