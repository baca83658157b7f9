"""``python -m benchmarks [--rows N] [--only NAME] [--repeat K] [--json PATH]``

Benchmarks (``--only`` takes a name, or a group such as ``upsert``; repeatable):

* ``upsert_postgresql``: upsert N records by natural key, storekit vs psycopg2 execute_values
* ``upsert_sqlite``: the same, storekit vs sqlite3 executemany
* ``migrate_api_calls``: ``storekit migrate`` of an N-row legacy api_tracking.db into SQLite
  and PostgreSQL (wall time, peak RSS; against pgloader when it is installed)
* the benchmarks of the package's other modules (``_discover``); those a module lists in
  ``OPT_IN`` run only when ``--only`` names them: ``instructions_upsert_sqlite`` (minutes
  under valgrind) and ``migrate_floor_variants`` (the server's part of a migration under
  possible schema changes)

When PostgreSQL cannot be reached its benchmarks are skipped with a loud notice; the
exit status is then non-zero under ``CI=true`` (the benchmark must run there) and 0
elsewhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set

from ._common import Result, environment, in_ci, loud, pg_base_url, print_table, write_json
from .upsert import Dataset, PostgreSQLUpsert, SQLiteUpsert, Unavailable, pg_unreachable_reason

_HERE = Path(__file__).parent


class _Context:
    def __init__(self, rows: int, repeats: int) -> None:
        self.rows = rows
        self.repeats = repeats
        self.meta: Dict[str, object] = {}
        self._data: Optional[Dataset] = None

    @property
    def data(self) -> Dataset:
        if self._data is None:
            print(f"building {self.rows:,} records and raw tuples (not timed) ...", flush=True)
            self._data = Dataset(self.rows)
        return self._data


def _upsert_postgresql(ctx: _Context) -> List[Result]:
    reason = pg_unreachable_reason(pg_base_url())
    if reason:  # before building the data: say so at once
        raise Unavailable(reason)
    bench = PostgreSQLUpsert(ctx.data, ctx.repeats)
    try:
        return bench.run()
    finally:
        ctx.meta["postgresql_server_version"] = bench.server_version or None
        ctx.meta["postgresql_checkpoint_between_steps"] = bench.can_checkpoint


def _upsert_sqlite(ctx: _Context) -> List[Result]:
    return SQLiteUpsert(ctx.data, ctx.repeats).run()


def _migrate_api_calls(ctx: _Context) -> List[Result]:
    from .migrate import run

    return run(ctx.rows, ctx.repeats, ctx.meta)


BENCHMARKS: Dict[str, Callable[[_Context], List[Result]]] = {
    "upsert_postgresql": _upsert_postgresql,
    "upsert_sqlite": _upsert_sqlite,
    "migrate_api_calls": _migrate_api_calls,
}


def _discover() -> None:
    """Add the ``BENCHMARKS`` of every other module of this package.

    A module ``benchmarks/<name>.py`` may define ``BENCHMARKS: Dict[str, Callable[[ctx],
    List[Result]]]``; ``ctx`` has ``rows``, ``repeats`` and a ``meta`` dict for the JSON.
    Names it also lists in ``OPT_IN`` are left out of a run without ``--only``.
    """
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules([str(_HERE)]), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in ("upsert", "migrate"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        for name, function in getattr(module, "BENCHMARKS", {}).items():
            if name in BENCHMARKS:
                raise SystemExit(f"benchmark {name!r} is defined twice")
            BENCHMARKS[name] = function
        OPT_IN.update(getattr(module, "OPT_IN", ()))


OPT_IN: Set[str] = set()
"""Benchmarks run only when ``--only`` names them (or their group)."""
_discover()


def _select(only: Sequence[str]) -> List[str]:
    if not only:
        return [b for b in BENCHMARKS if b not in OPT_IN]
    chosen: List[str] = []
    for name in only:
        matches = [b for b in BENCHMARKS if b == name or b.startswith(name + "_")]
        if not matches:
            raise SystemExit(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="records per run (default 100000)")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run only this benchmark or group (repeatable)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")

    ctx = _Context(args.rows, args.repeat)
    results: List[Result] = []
    skipped: Dict[str, str] = {}
    for name in _select(args.only):
        print(f"running {name} ({args.rows:,} rows, {args.repeat} runs each) ...", flush=True)
        try:
            results += BENCHMARKS[name](ctx)
        except Unavailable as exc:
            skipped[name] = str(exc)
            loud(
                f"SKIPPED {name}: {exc}. Start PostgreSQL or set STOREKIT_TEST_PG_URL"
                + (" (CI=true: this is a failure)" if in_ci() else "")
            )

    print()
    if results:
        print_table(results)
    for name, reason in skipped.items():
        print(f"SKIPPED {name}: {reason}")
    if args.json:
        meta = environment(
            {"rows": args.rows, "repeats": args.repeat, "pg_url": _shown_pg_url(), "skipped": skipped, **ctx.meta}
        )
        write_json(args.json, results, meta)
        print(f"results written to {args.json}")
    return 1 if skipped and in_ci() else 0


def _shown_pg_url() -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(pg_base_url()).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
