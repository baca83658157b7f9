"""Issue 3: the server's part of ``storekit migrate`` alone (the ``floor``), and what it
would be if the load asked less of the server.

:func:`floor_runs` gives ``migrate_api_calls`` its ``floor`` line: into a fresh storekit
schema (created by ``open_store``, not timed) whose secondary ``api_calls`` indexes are
dropped, the timed part sends the ``COPY`` text of a finished migration in chunks of
``CHUNK_ROWS`` lines, one transaction each (the rollup trigger runs, as in a migration),
builds the indexes again (``maintenance_work_mem`` 256MB, PostgreSQL's own parallel
workers) and runs ``VACUUM ANALYZE``. No legacy file is read and nothing is converted, so
no client of this schema can be faster: pgloader's time over the floor's bounds the ratio
reachable on the machine.

``migrate_floor_variants`` (opt-in: ``python -m benchmarks --only migrate_floor
--rows 1000000``) measures the same floor under the changes a decision on issue 3 could
make, each line adding to the one before (:data:`VARIANTS`), against pgloader in the same
run: the rollup aggregated once after the load instead of by the trigger, the
``(endpoint, timestamp)`` index without its ``INCLUDE`` columns, binary ``COPY``,
``ANALYZE`` without ``VACUUM``, no rollup at all, no p95 index. They change what the store
keeps or how it reads; this only says what each would buy.
"""

from __future__ import annotations

import io
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import attrs

from ._common import Result, loud, pg_base_url
from .upsert import Unavailable, pg_store_url, pg_unreachable_reason

if TYPE_CHECKING:
    from .migrate import Measured


class Psycopg:
    """A psycopg2 connection (autocommit) whose ``search_path`` is ``schema``."""

    def __init__(self, schema: str) -> None:
        from .upsert import _pg_connect

        self.conn = _pg_connect(pg_base_url(), schema)
        self.conn.autocommit = True

    def __enter__(self) -> Any:
        return self.conn

    def __exit__(self, *exc: Any) -> None:
        self.conn.close()


@attrs.frozen
class Variant:
    """What the load asks of the server."""

    label: str
    rollup: str = "trigger"
    """``trigger`` (as a migration: the statement trigger per chunk), ``once`` (trigger off,
    the rollup aggregated from the whole table after the load) or ``none``."""
    narrow: bool = False
    """``ix_api_calls_endpoint_timestamp`` without its ``INCLUDE`` columns."""
    binary: bool = False
    """``COPY ... (FORMAT binary)`` instead of text."""
    vacuum: bool = True
    """``VACUUM ANALYZE`` (else ``ANALYZE``)."""
    p95_index: bool = True
    """Build ``ix_api_calls_endpoint_response_time_id``."""


AS_MIGRATE = Variant("as storekit migrate asks")
VARIANTS = (
    AS_MIGRATE,
    Variant("rollup once after the load", rollup="once"),
    Variant("+ (endpoint, timestamp) without INCLUDE", rollup="once", narrow=True),
    Variant("+ binary COPY", rollup="once", narrow=True, binary=True),
    Variant("+ ANALYZE without VACUUM", rollup="once", narrow=True, binary=True, vacuum=False),
    Variant("no rollup at all (rest as above)", rollup="none", narrow=True, binary=True, vacuum=False),
    Variant("+ no p95 index", rollup="none", narrow=True, binary=True, vacuum=False, p95_index=False),
)


@attrs.frozen
class Phases:
    load: float
    indexes: float
    analyze: float

    @property
    def total(self) -> float:
        return self.load + self.indexes + self.analyze


def _chunks(copy_text: Path, rows: int) -> List[str]:
    from storekit.migrate._bulk import CHUNK_ROWS

    lines = copy_text.read_text(encoding="utf-8").splitlines(keepends=True)
    if len(lines) != rows:
        raise RuntimeError(f"the floor's COPY text has {len(lines)} lines, not {rows}")
    return ["".join(lines[i : i + CHUNK_ROWS]) for i in range(0, len(lines), CHUNK_ROWS)]


def _binary_chunks(chunks: Sequence[str]) -> List[bytes]:
    """The same chunks in ``COPY`` binary format (PostgreSQL writes them, untimed)."""
    schema = f"sk_bench_floor_src_{uuid.uuid4().hex[:8]}"
    from storekit import open_store

    from .migrate import _drop_schema

    try:
        with open_store(pg_store_url(pg_base_url(), schema)):
            pass
        out: List[bytes] = []
        with Psycopg(schema) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE floor_source (LIKE api_calls, chunk INTEGER)")
            for n, chunk in enumerate(chunks):
                cur.copy_expert("COPY floor_source FROM STDIN", io.StringIO(chunk.replace("\n", f"\t{n}\n")))
            cur.execute(
                "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
                " WHERE attrelid = 'api_calls'::regclass AND attnum > 0 AND NOT attisdropped"
            )
            (columns,) = cur.fetchone()
            for n in range(len(chunks)):
                buf = io.BytesIO()
                cur.copy_expert(
                    f"COPY (SELECT {columns} FROM floor_source WHERE chunk = {n}) TO STDOUT (FORMAT binary)", buf
                )
                out.append(buf.getvalue())
        return out
    finally:
        _drop_schema(schema)


def floor_once(text: Sequence[str], binary: Optional[Sequence[bytes]], variant: Variant = AS_MIGRATE) -> Phases:
    """One timed floor into a fresh storekit schema (dropped after): ``text`` (COPY text
    chunks), or ``binary`` (the same chunks in binary format) for a binary variant."""
    if variant.binary and binary is None:
        raise ValueError(f"{variant.label}: a binary variant needs the binary chunks")
    from storekit_postgresql import API_CALL_ROLLUP_DDL

    from storekit import open_store

    from .migrate import _drop_schema

    backfill = API_CALL_ROLLUP_DDL[-1]  # the rollup of every stored call (schema upgrade's backfill)
    if not backfill.startswith("INSERT INTO storekit_api_calls_rollup"):
        raise RuntimeError("the PostgreSQL plugin's last rollup statement is not the backfill")
    schema = f"sk_bench_floor_{uuid.uuid4().hex[:8]}"
    try:
        with open_store(pg_store_url(pg_base_url(), schema)):
            pass
        with Psycopg(schema) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'api_calls'"
                " AND indexdef NOT LIKE 'CREATE UNIQUE%%' ORDER BY indexname",
                (schema,),
            )
            indexes: List[Tuple[str, str]] = cur.fetchall()
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')
            cur.execute("SET maintenance_work_mem = '256MB'")
            start = time.perf_counter()
            copy = "COPY api_calls FROM STDIN" + (" (FORMAT binary)" if variant.binary else "")
            for n, chunk in enumerate(text):
                cur.execute("BEGIN")
                if variant.rollup != "trigger":
                    cur.execute("SET LOCAL storekit.rollup_off = 'on'")
                data: Any = io.BytesIO(binary[n]) if variant.binary and binary is not None else io.StringIO(chunk)
                cur.copy_expert(copy, data)
                cur.execute("COMMIT")
            if variant.rollup == "once":
                cur.execute(backfill)
            loaded = time.perf_counter()
            for name, ddl in indexes:
                if name == "ix_api_calls_endpoint_response_time_id" and not variant.p95_index:
                    continue
                ddl = ddl.replace(" ON ONLY ", " ON ", 1)  # pg_indexes' form builds no partition
                if name == "ix_api_calls_endpoint_timestamp" and variant.narrow:
                    ddl = ddl.split(" INCLUDE ", 1)[0]
                cur.execute(ddl)
            indexed = time.perf_counter()
            cur.execute("VACUUM ANALYZE api_calls" if variant.vacuum else "ANALYZE api_calls")
            done = time.perf_counter()
        return Phases(loaded - start, indexed - loaded, done - indexed)
    finally:
        _drop_schema(schema)


def floor_runs(copy_text: Path, rows: int, repeats: int) -> Measured:
    """The ``floor`` line of ``migrate_api_calls``: :func:`floor_once` as migrate asks."""
    from .migrate import FLOOR, Measured, Run

    chunks = _chunks(copy_text, rows)
    runs = [Run(floor_once(chunks, None).total, 0.0, 0, "", "") for _ in range(repeats)]
    return Measured(FLOOR, "postgresql", rows, runs)


def _migrate_floor_variants(ctx: Any) -> List[Result]:
    from storekit.legacy.generate import write_api_calls

    from .migrate import PGLOADER_MISSING, SEED, _pg_runs, _pgloader_runs

    reason = pg_unreachable_reason(pg_base_url())
    if reason:
        raise Unavailable(reason)
    work = Path(tempfile.mkdtemp(prefix="sk_bench_floor_"))
    try:
        print(f"writing a {ctx.rows:,}-row legacy api_tracking.db and migrating it (not timed) ...", flush=True)
        api_db = write_api_calls(work / "data" / "api_tracking.db", ctx.rows, seed=SEED)
        copy_text = work / "api_calls.copy"
        _pg_runs(work / "data", ctx.rows, 1, keep_copy=copy_text)
        text = _chunks(copy_text, ctx.rows)
        binary = _binary_chunks(text)
        binary_path = shutil.which("pgloader")
        pgloader = _pgloader_runs(binary_path, api_db, ctx.rows, ctx.repeats, work) if binary_path else None
        if pgloader is None:
            loud(PGLOADER_MISSING)
        measured: Dict[str, List[Phases]] = {}
        for _ in range(ctx.repeats):
            for variant in VARIANTS:
                measured.setdefault(variant.label, []).append(floor_once(text, binary, variant))
        _print(measured, pgloader.seconds if pgloader else None)
        ctx.meta["migrate_floor_variants"] = {
            "rows": ctx.rows,
            "pgloader_s": pgloader.seconds if pgloader else None,
            "variants": [{**attrs.asdict(v), "runs": [attrs.asdict(p) for p in measured[v.label]]} for v in VARIANTS],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return []


def _print(measured: Dict[str, List[Phases]], pgloader_s: Optional[float]) -> None:
    width = max(len(label) for label in measured)
    print(f"\n{'floor variant':{width}}  {'load':>6}  {'indexes':>7}  {'analyze':>7}  {'total':>6}  vs pgloader")
    for label, runs in measured.items():
        load, indexes, analyze, total = (
            statistics.median(getattr(p, part) for p in runs) for part in ("load", "indexes", "analyze", "total")
        )
        versus = f"{pgloader_s / total:.2f}x" if pgloader_s else "-"
        print(f"{label:{width}}  {load:6.1f}  {indexes:7.1f}  {analyze:7.1f}  {total:6.1f}  {versus}")
    print(
        "seconds, median of the runs; each line adds to the one before it (see benchmarks/migrate_floor.py); "
        + (f"pgloader {pgloader_s:.1f} s in the same run" if pgloader_s else "no pgloader")
    )


BENCHMARKS = {"migrate_floor_variants": _migrate_floor_variants}
OPT_IN = {"migrate_floor_variants"}
