"""Where storekit's upsert spends its time, next to the raw driver doing the same work.

``python -m benchmarks.profile_upsert [--backend postgresql|sqlite] [--rows N]
[--case insert|update] [--top K] [--cprofile-out PATH]``

Two views of one ``Store.put_many`` of N ScreeningHistory records:

1. Phases, timed without a profiler by replaying the steps of ``Store.put_many`` and
   ``SQLBackend.upsert`` one after the other (the same calls, on the same objects),
   next to the raw driver's time for the same rows. The replay uses storekit's private
   attributes (``_checked``, ``_writer``, ``_tables``): it is a diagnostic, update it
   when those change.
2. A cProfile of the real ``put_many`` (top functions by own time, and own time
   grouped by package).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import os
import pstats
import shutil
import tempfile
import time
import uuid
from typing import Any, Callable, Dict, List, Tuple

from ._common import pg_base_url
from .upsert import (
    PG_DDL,
    PG_PAGE_SIZE,
    PG_UPSERT,
    SQLITE_DDL,
    SQLITE_UPSERT,
    Dataset,
    _pg_connect,
    _sqlite_connect,
    pg_store_url,
    pg_unreachable_reason,
)


def _clock(fn: Callable[[], Any]) -> Tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


class _Target:
    """A fresh raw table and a fresh storekit store on one backend."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.tmp = tempfile.mkdtemp(prefix="storekit-profile-")
        self.schemas: List[str] = []
        self.admin: Any = None
        if backend == "postgresql":
            reason = pg_unreachable_reason(pg_base_url())
            if reason:
                raise SystemExit(reason)
            self.admin = _pg_connect(pg_base_url())
            self.admin.autocommit = True

    def raw(self) -> Tuple[Callable[[List[Tuple[Any, ...]]], None], Any]:
        if self.backend == "postgresql":
            from psycopg2.extras import execute_values

            schema = f"skprof_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self.schemas.append(schema)
            with self.admin.cursor() as cur:
                cur.execute(f'CREATE SCHEMA "{schema}"')
            conn = _pg_connect(pg_base_url(), schema)
            with conn.cursor() as cur:
                for stmt in PG_DDL:
                    cur.execute(stmt)
            conn.commit()

            def upsert(rows: List[Tuple[Any, ...]]) -> None:
                with conn.cursor() as cur:
                    execute_values(cur, PG_UPSERT, rows, page_size=PG_PAGE_SIZE)
                conn.commit()

            return upsert, conn
        conn = _sqlite_connect(os.path.join(self.tmp, f"raw-{uuid.uuid4().hex[:6]}.db"))
        for stmt in SQLITE_DDL:
            conn.execute(stmt)

        def upsert_sqlite(rows: List[Tuple[Any, ...]]) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(SQLITE_UPSERT, rows)
            conn.execute("COMMIT")

        return upsert_sqlite, conn

    def store(self) -> Any:
        from storekit import open_store
        from storekit.records.learning import ScreeningHistory

        if self.backend == "postgresql":
            schema = f"skprof_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self.schemas.append(schema)
            url = pg_store_url(pg_base_url(), schema)
        else:
            url = f"sqlite:///{os.path.join(self.tmp, f'sk-{uuid.uuid4().hex[:6]}.db')}"
        return open_store(url, record_types=[ScreeningHistory])

    def close(self) -> None:
        if self.admin is not None:
            with self.admin.cursor() as cur:
                for schema in self.schemas:
                    cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            self.admin.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def phases(store: Any, records: List[Any]) -> Dict[str, float]:
    """Replay Store.put_many -> SQLBackend.upsert -> facts.upsert_rows, step by step."""
    from storekit.records import spec_of
    from storekit.sql import _backend

    backend = store.backend
    out: Dict[str, float] = {}

    def group() -> Dict[type, List[Any]]:
        by_type: Dict[type, List[Any]] = {}
        for rec in records:
            spec_of(rec)
            by_type.setdefault(type(rec), []).append(rec)
        return by_type

    out["put_many: spec_of + group by type"], by_type = _clock(group)
    ((record_type, items),) = by_type.items()
    out["upsert: _checked (list + type check)"], items = _clock(lambda: backend._checked(record_type, items))
    spec = spec_of(record_type)

    def dedup() -> Dict[Any, Any]:
        latest: Dict[Any, Any] = {}
        for rec in items:
            key = spec.key_of(rec)
            latest.pop(key, None)
            latest[key] = rec
        return latest

    out["upsert: dedup by key (key_of)"], latest = _clock(dedup)
    writer = backend._writer(record_type)
    out["upsert: writer (bind processors -> tuples)"], rows = _clock(lambda: [writer(rec) for rec in latest.values()])
    table = backend._tables[record_type]

    def send() -> None:
        with backend.transaction(), backend._connection() as conn:
            for start in range(0, len(rows), _backend._WRITE_CHUNK):
                backend.facts.upsert_rows(conn, table, spec.key, rows[start : start + _backend._WRITE_CHUNK])

    out["driver: facts.upsert_rows + begin/commit"], _ = _clock(send)
    return out


def _package(filename: str) -> str:
    norm = filename.replace("\\", "/")
    for marker, name in (
        ("/storekit_postgresql/", "storekit plugin (postgresql)"),
        ("/storekit_sqlite/", "storekit plugin (sqlite)"),
        ("/storekit/", "storekit"),
        ("/psycopg2/", "psycopg2 (python part)"),
        ("/sqlalchemy/", "sqlalchemy"),
        ("/attr/", "attrs"),
        ("/benchmarks/", "benchmark harness"),
    ):
        if marker in norm:
            return name
    if filename == "~":
        return "C builtins / drivers (C)"
    return "other python"


def profile(store: Any, records: List[Any], top: int, out_path: str = "") -> None:
    prof = cProfile.Profile()
    gc.collect()
    prof.enable()
    store.put_many(records)
    prof.disable()
    if out_path:
        prof.dump_stats(out_path)
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    by_pkg: Dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_pkg[_package(filename)] = by_pkg.get(_package(filename), 0.0) + tt
    print(f"\ncProfile of put_many ({len(records):,} records): {total:.3f} s under the profiler")
    print("own time by package:")
    for pkg, tt in sorted(by_pkg.items(), key=lambda kv: -kv[1]):
        print(f"  {pkg:<34} {tt:8.3f} s  {100 * tt / total:5.1f} %")
    print(f"\ntop {top} functions by own time:")
    stats.sort_stats("tottime").print_stats(top)


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_upsert",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), action="append")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--case", choices=("insert", "update"), default="insert")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument(
        "--cprofile-out",
        metavar="PATH",
        default="",
        help="also dump the cProfile stats (one file per backend: PATH.<backend>)",
    )
    args = parser.parse_args(argv)
    print(f"building {args.rows:,} records (not timed) ...", flush=True)
    data = Dataset(args.rows)
    for backend in args.backend or ["postgresql", "sqlite"]:
        target = _Target(backend)
        try:
            raw_rows = data.pg if backend == "postgresql" else data.sqlite
            version = 0 if args.case == "insert" else 1
            raw_upsert, raw_conn = target.raw()
            stores = [target.store(), target.store()]
            if args.case == "update":
                raw_upsert(raw_rows[0])
                for s in stores:
                    s.put_many(data.records[0])
            raw_t, _ = _clock(functools.partial(raw_upsert, raw_rows[version]))
            raw_conn.close()
            ph = phases(stores[0], data.records[version])
            sk_total = sum(ph.values())
            print(f"\n== {backend}, {args.case} path, {args.rows:,} rows ==")
            print(f"  {'raw driver (same rows, same SQL)':<46} {raw_t:8.3f} s")
            for name, t in ph.items():
                print(f"  {name:<46} {t:8.3f} s  {100 * t / sk_total:5.1f} % of storekit")
            print(
                f"  {'storekit total (sum of phases)':<46} {sk_total:8.3f} s  ratio raw/storekit {raw_t / sk_total:.2f}"
            )
            over = sk_total - raw_t
            print(f"  {'overhead over raw':<46} {over:8.3f} s")
            profile(
                stores[1],
                data.records[version],
                args.top,
                f"{args.cprofile_out}.{backend}" if args.cprofile_out else "",
            )
            for s in stores:
                s.close()
        finally:
            target.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
