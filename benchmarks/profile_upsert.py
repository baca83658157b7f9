"""Where storekit's upsert spends its time, next to the raw driver doing the same work.

``python -m benchmarks.profile_upsert [--backend postgresql|sqlite] [--rows N]
[--case insert|update] [--runs K] [--prototype VARIANT] [--top K] [--cprofile-out PATH]``

Two views of one ``Store.put_many`` of N ScreeningHistory records:

1. Phases, timed (wall and this process's CPU) without a profiler by replaying the
   steps of ``Store.put_many`` and ``SQLBackend.upsert`` one after the other (the same
   calls, on the same objects), next to the raw driver for the same rows: once with
   the tuples built before timing (the benchmark's baseline) and once with a raw
   user's inline tuple-building from the same records inside the timing. The replay
   uses storekit's private attributes (``_checked``, ``_writer``, ``_tables``): it is a
   diagnostic, update it when those change. ``--prototype`` replays a
   ``benchmarks.prototypes`` variant instead.
2. A cProfile of the real ``put_many`` (top functions by own time, and own time
   grouped by package).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import functools
import gc
import os
import pstats
import shutil
import statistics
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


def _clock(fn: Callable[[], Any]) -> Tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, result) of ``fn()``."""
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, time.process_time() - cpu, out


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


Phases = Dict[str, Tuple[float, float]]


def phases(store: Any, records: List[Any], bulk: bool = False) -> Phases:
    """Replay Store.put_many -> SQLBackend.upsert -> facts.upsert_rows, step by step, as
    written at storekit commit 371777c (``bulk``: the steps of benchmarks.prototypes'
    ``bulk`` variant instead). Keep in step with storekit/store.py and sql/_backend.py."""
    from storekit.records import spec_of
    from storekit.sql import _backend

    from . import prototypes

    backend = store.backend
    out: Phases = {}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        wall, cpu, result = _clock(fn)
        out[name] = (wall, cpu)
        return result

    def group() -> Dict[type, List[Any]]:  # Store.put_many
        by_type: Dict[type, List[Any]] = {}
        for rec in records:
            bucket = by_type.get(type(rec))
            if bucket is None:
                spec_of(rec)
                bucket = by_type[type(rec)] = []
            bucket.append(rec)
        return by_type

    by_type = step("put_many: check record types, group", group)
    ((record_type, grouped),) = by_type.items()
    items: List[Any] = step("upsert: _checked (list + type check)", lambda: backend._checked(record_type, grouped))
    spec = spec_of(record_type)

    def dedup() -> List[Any]:
        if bulk:  # benchmarks.prototypes.bulk_upsert
            keys = list(map(spec.key_getter, items))
            return items if len(set(keys)) == len(keys) else list({k: r for k, r in zip(keys, items)}.values())
        key_of = spec.key_getter  # SQLBackend.upsert
        latest: Dict[Any, Any] = {key_of(rec): rec for rec in items}
        return list(latest.values())

    unique = step("upsert: duplicate keys (later wins)", dedup)
    if bulk:
        write = prototypes._bulk_writer(backend, record_type)
        rows = step("upsert: records -> driver tuples", lambda: write(unique))
    else:
        writer = backend._writer(record_type)
        rows = step("upsert: records -> driver tuples", lambda: [writer(rec) for rec in unique])
    table = backend._tables[record_type]

    def send() -> None:
        with backend.transaction(), backend._connection() as conn:
            for start in range(0, len(rows), _backend._WRITE_CHUNK):
                backend.facts.upsert_rows(conn, table, spec.key, rows[start : start + _backend._WRITE_CHUNK])

    step("driver: facts.upsert_rows, begin/commit", send)
    return out


def raw_rows_from_records(backend: str, records: List[Any]) -> List[Tuple[Any, ...]]:
    """What a raw-driver user starting from the same objects writes: the tuples built
    inline, with SQLite's storage conversions (ISO date, UTC timestamp text)."""
    if backend == "postgresql":
        return [
            (r.stock_code, r.stock_name, r.sector, r.screening_date, r.overall_score, r.fundamental_score,
             r.technical_score, r.passed, r.roe, r.per, r.pbr, r.created_at)
            for r in records
        ]  # fmt: skip
    utc = dt.timezone.utc
    return [
        (r.stock_code, r.stock_name, r.sector, r.screening_date.isoformat(), r.overall_score,
         r.fundamental_score, r.technical_score, None if r.passed is None else int(r.passed), r.roe, r.per,
         r.pbr, None if r.created_at is None else r.created_at.astimezone(utc).isoformat(timespec="microseconds"))
        for r in records
    ]  # fmt: skip


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


def _median(values: List[float]) -> float:
    return statistics.median(values)


def main(argv: Any = None) -> int:
    from . import prototypes

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_upsert",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), action="append")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--case", choices=("insert", "update"), default="insert")
    parser.add_argument("--runs", type=int, default=3, help="phase replays; medians are printed (default 3)")
    parser.add_argument(
        "--prototype",
        choices=list(prototypes.VARIANTS),
        default="current",
        help="profile storekit with this benchmarks.prototypes variant installed",
    )
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument(
        "--cprofile-out",
        metavar="PATH",
        default="",
        help="also dump the cProfile stats (one file per backend: PATH.<backend>)",
    )
    args = parser.parse_args(argv)
    hook, variant_backends = prototypes.VARIANTS[args.prototype]
    print(f"building {args.rows:,} records (not timed) ...", flush=True)
    data = Dataset(args.rows)
    version = 0 if args.case == "insert" else 1
    for backend in args.backend or ["postgresql", "sqlite"]:
        if backend not in variant_backends:
            print(f"(prototype {args.prototype} does not apply to {backend})")
            continue
        target = _Target(backend)
        try:
            raw_rows = data.pg if backend == "postgresql" else data.sqlite
            raw: Dict[str, List[Tuple[float, float]]] = {"pre": [], "inline": []}
            ph: Dict[str, List[Tuple[float, float]]] = {}
            for _ in range(args.runs):
                raw_upsert, raw_conn = target.raw()
                inline_upsert, inline_conn = target.raw()
                store = target.store()
                if hook is not None:
                    hook(store)
                if args.case == "update":
                    raw_upsert(raw_rows[0])
                    inline_upsert(raw_rows[0])
                    store.put_many(data.records[0])
                wall, cpu, _ = _clock(functools.partial(raw_upsert, raw_rows[version]))
                raw["pre"].append((wall, cpu))
                records = data.records[version]
                wall, cpu, _ = _clock(lambda: inline_upsert(raw_rows_from_records(backend, records)))  # noqa: B023
                raw["inline"].append((wall, cpu))
                raw_conn.close()
                inline_conn.close()
                for name, t in phases(store, records, bulk=hook is not None).items():
                    ph.setdefault(name, []).append(t)
                store.close()
            print(f"\n== {backend}, {args.case} path, {args.rows:,} rows, storekit {args.prototype},"
                  f" medians of {args.runs} ==")  # fmt: skip
            print(f"  {'':<50} {'wall s':>8} {'cpu s':>8}")
            raw_wall, raw_cpu = (_median([t[i] for t in raw["pre"]]) for i in (0, 1))
            in_wall, in_cpu = (_median([t[i] for t in raw["inline"]]) for i in (0, 1))
            print(f"  {'raw driver, tuples built before timing':<50} {raw_wall:8.3f} {raw_cpu:8.3f}")
            print(f"  {'raw driver, tuples built from records in timing':<50} {in_wall:8.3f} {in_cpu:8.3f}")
            sk_wall = sk_cpu = 0.0
            for name, ts in ph.items():
                wall, cpu = _median([t[0] for t in ts]), _median([t[1] for t in ts])
                sk_wall += wall
                sk_cpu += cpu
                print(f"  {name:<50} {wall:8.3f} {cpu:8.3f}")
            print(f"  {'storekit (sum of phases)':<50} {sk_wall:8.3f} {sk_cpu:8.3f}")
            print(f"  ratio raw/storekit: wall {raw_wall / sk_wall:.2f}, client cpu {raw_cpu / sk_cpu:.2f};"
                  f" against the raw user building tuples in timing: wall {in_wall / sk_wall:.2f},"
                  f" client cpu {in_cpu / sk_cpu:.2f}")  # fmt: skip
            store = target.store()
            if hook is not None:
                hook(store)
            if args.case == "update":
                store.put_many(data.records[0])
            profile(
                store, data.records[version], args.top, f"{args.cprofile_out}.{backend}" if args.cprofile_out else ""
            )
            store.close()
        finally:
            target.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
