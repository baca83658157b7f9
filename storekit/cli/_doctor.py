"""``storekit doctor``: is the store healthy, and if not, what to run."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any, Dict, FrozenSet, List, Optional

import attrs
import click

from ..config import redact_text, redact_url, resolve_url
from ..errors import StorekitError

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"

DEFAULT_TIMEOUT_SECONDS = 5.0


@attrs.frozen
class Check:
    """One finding: ``status`` is ok, warn, fail or skip; ``detail`` says what and what to do."""

    name: str
    status: str
    detail: str
    data: Dict[str, Any] = attrs.field(factory=dict)


@click.command()
@click.option("--url", default=None, help="Store URL to check (default: DATABASE_URL, else data/storekit.db).")
@click.option(
    "--fallback",
    default="environment",
    show_default=True,
    help="Fallback whose outbox to check: a URL, 'default', 'none', or 'environment' (STOREKIT_FALLBACK).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds to wait for the database to answer a connection.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every check.")
def doctor(url: Optional[str], fallback: str, timeout: float, as_json: bool) -> None:
    """Check the store: plugins load, the database answers within --timeout, the schema is
    at this library's version with every declared table and index, and no write waits in
    the fallback's outbox. Changes nothing. Each failed check says what to run.

    Exit codes: 0 healthy (warnings allowed), 1 a check failed, 2 bad usage or configuration.
    """
    try:
        target = resolve_url(url)
    except StorekitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    checks = run_checks(target, fallback=fallback, timeout=timeout)
    healthy = all(c.status != FAIL for c in checks)
    if as_json:
        payload = {
            "url": redact_url(target),
            "healthy": healthy,
            "checks": [attrs.asdict(c) for c in checks],
        }
        click.echo(redact_text(json.dumps(payload, indent=2, ensure_ascii=False)))
    else:
        click.echo(f"storekit doctor: {redact_url(target)}")
        marks = {OK: "ok  ", WARN: "WARN", FAIL: "FAIL", SKIP: "skip"}
        for c in checks:
            click.echo(redact_text(f"  [{marks[c.status]}] {c.name}: {c.detail}"))
        click.echo("healthy" if healthy else "NOT healthy (exit 1)")
    if not healthy:
        sys.exit(1)


def run_checks(url: str, *, fallback: Optional[str], timeout: float) -> List[Check]:
    """Every check, in order; a check that cannot run (nothing to connect to) is skipped."""
    checks = [_plugins()]
    connected = _connect(url, timeout)
    checks.append(connected)
    if connected.status == OK and connected.data.get("sql"):
        checks += _schema(url, timeout)
    else:
        why = "the database did not answer" if connected.status == FAIL else "not a SQL backend"
        checks += [Check(name, SKIP, why) for name in ("schema version", "tables", "indexes")]
    checks.append(_outbox(fallback))
    return checks


def _plugins() -> Check:
    from ..errors import PluginLoadError
    from ..registry import get_registry

    try:
        registry = get_registry()
    except PluginLoadError as exc:  # strict loading
        return Check("plugins", FAIL, f"{exc} (see `storekit plugins`)")
    failures = registry.failures
    if failures:
        shown = "; ".join(f"{p.name}: {p.error}" for p in failures)
        return Check(
            "plugins",
            FAIL,
            f"{len(failures)} failed to load: {shown} (see `storekit plugins`)",
            {"failed": [p.name for p in failures]},
        )
    loaded = [p.name for p in registry.plugins if p.loaded]
    return Check("plugins", OK, f"{len(loaded)} loaded ({', '.join(loaded)})", {"loaded": loaded})


def _options(url: str, timeout: float) -> Dict[str, Any]:
    """``connect_timeout`` for backends that take it (making a backend connects to nothing)."""
    import sqlalchemy as sa

    from ..registry import get_registry

    info = get_registry().backend_for_scheme(sa.engine.make_url(url).drivername)
    try:
        probe = info.factory(url, {})
    except (OSError, ValueError):  # reported by the connection check
        return {}
    try:
        accepted: FrozenSet[str] = getattr(getattr(probe, "facts", None), "options", frozenset())
    finally:
        probe.close()
    return {"connect_timeout": max(1, math.ceil(timeout))} if "connect_timeout" in accepted else {}


def _connect(url: str, timeout: float) -> Check:
    import sqlalchemy as sa

    from ..errors import ConfigurationError
    from ..schema._connect import sql_backend

    started = time.perf_counter()
    try:
        with sql_backend(url, _options(url, timeout)) as backend, backend._connection(write=False) as conn:
            conn.execute(sa.text("SELECT 1"))
            server = ".".join(map(str, conn.dialect.server_version_info or ()))
    except ConfigurationError as exc:
        if "keeps no SQL schema" in str(exc):
            return Check("connection", OK, "the backend opened (not a SQL backend)", {"sql": False})
        return Check("connection", FAIL, str(exc))
    except StorekitError as exc:
        return Check("connection", FAIL, f"{exc} (is the server running and DATABASE_URL right?)")
    elapsed = time.perf_counter() - started
    detail = f"{backend.name} {server} answered in {elapsed * 1000:.0f} ms"
    return Check("connection", OK, detail, {"sql": True, "backend": backend.name, "server_version": server})


def _schema(url: str, timeout: float) -> List[Check]:
    from ..schema import inspect_schema

    try:
        report = inspect_schema(url, options=_options(url, timeout))
    except StorekitError as exc:
        return [Check("schema version", FAIL, str(exc))]
    advice = report.advice()
    if report.version is None:
        version = Check(
            "schema version",
            WARN,
            "storekit has not created its tables here yet (open_store or `storekit schema upgrade` will)",
            {"version": None, "library_version": report.library_version},
        )
    elif report.version != report.library_version:
        version = Check(
            "schema version",
            FAIL,
            f"the store is at version {report.version}, this library at {report.library_version}: {advice}",
            {"version": report.version, "library_version": report.library_version},
        )
    else:
        version = Check("schema version", OK, f"{report.version}", {"version": report.version})
    if report.version is None:
        tables = Check("tables", SKIP, "no storekit schema yet")
    elif report.missing_tables:
        tables = Check(
            "tables",
            WARN,
            f"{len(report.missing_tables)} declared table(s) missing: "
            f"{', '.join(report.missing_tables)} ({advice or 'run `storekit schema upgrade`'})",
            {"missing": list(report.missing_tables)},
        )
    else:
        tables = Check("tables", OK, "every declared table exists")
    if report.missing_indexes:
        indexes = Check(
            "indexes",
            FAIL,
            f"{len(report.missing_indexes)} declared index(es) missing: "
            f"{', '.join(report.missing_indexes)} (run `storekit schema upgrade`)",
            {"missing": list(report.missing_indexes)},
        )
    else:
        indexes = Check("indexes", OK, "every declared index exists on the tables present")
    return [version, tables, indexes]


def _outbox(fallback: Optional[str]) -> Check:
    from ..fallback import OutboxCounts, outbox_counts, resolve_fallback

    try:
        fallback_url = resolve_fallback(None if fallback == "none" else fallback)
    except StorekitError as exc:
        return Check("outbox", FAIL, str(exc))
    if fallback_url is None:
        return Check("outbox", SKIP, "no fallback configured (STOREKIT_FALLBACK or --fallback)")
    where = redact_url(fallback_url)
    try:
        counts = outbox_counts(fallback_url) or OutboxCounts(0, 0)
    except StorekitError as exc:
        return Check("outbox", FAIL, f"cannot read the fallback's outbox at {where}: {exc}")
    data = attrs.asdict(counts)
    if counts.conflicts:
        return Check(
            "outbox",
            FAIL,
            f"{counts.conflicts} write(s) the primary refused are kept in storekit_outbox_conflicts of "
            f"{where}, and {counts.pending} wait for replay: look at them (`storekit sync --status`)",
            data,
        )
    if counts.pending:
        return Check(
            "outbox",
            WARN,
            f"{counts.pending} write(s) in {where} wait for replay to the primary "
            "(the application replays them when the primary answers; or run `storekit sync`)",
            data,
        )
    return Check("outbox", OK, f"no writes waiting in {where}", data)
