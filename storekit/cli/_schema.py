"""``storekit schema``: versions and least-privilege grants, for the schema's owner."""

from __future__ import annotations

import json
from typing import Optional

import click

from ..config import redact_url, resolve_url
from ._common import errors_exit

_URL_HELP = "Store URL (default: DATABASE_URL, else data/storekit.db)."


@click.group()
def schema() -> None:
    """Administer the store's schema: bring it to this library's version, grant an
    application role exactly the privileges it needs. Run these as the schema's owner."""


@schema.command()
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with what was done.")
def upgrade(url: Optional[str], as_json: bool) -> None:
    """Bring the store to this library's schema version: run the migrations after its
    recorded version, create missing tables and declared indexes, in one transaction.
    Idempotent; a store storekit never wrote is created.

    Exit codes: 0 the store is current, 2 bad usage or configuration, 3 the backend failed
    or the store's schema is newer than this library (upgrade storekit instead).
    """
    from ..schema import upgrade as run_upgrade

    with errors_exit():
        target = resolve_url(url)
        change = run_upgrade(target)
    if as_json:
        payload = {
            "url": redact_url(target),
            "before": change.before,
            "after": change.after,
            "revisions": list(change.revisions),
            "created_indexes": list(change.created_indexes),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    where = redact_url(target)
    if change.before is None:
        click.echo(f"{where}: created at schema version {change.after}")
    elif change.changed:
        steps = ", ".join(change.revisions) or "none"
        click.echo(f"{where}: schema version {change.before} -> {change.after} (migrations: {steps})")
        for name in change.created_indexes:
            click.echo(f"  created missing index {name}")
    else:
        click.echo(f"{where}: already at schema version {change.after}; nothing to do")


@schema.command()
@click.argument("role")
@click.option("--url", default=None, help=_URL_HELP)
def grant(role: str, url: Optional[str]) -> None:
    """Grant the PostgreSQL role ROLE exactly what the application needs: USAGE on
    storekit's schema, SELECT, INSERT, UPDATE, DELETE on its tables (SELECT only on
    storekit_meta), USAGE, SELECT on their sequences, TEMPORARY on the database if
    missing; anything else ROLE held on them is revoked. ROLE must exist and own nothing.
    Run it again after `storekit schema upgrade`.

    Exit codes: 0 granted, 2 bad usage or configuration (not PostgreSQL, no such role, a
    superuser or the owner), 3 the backend failed.
    """
    from ..schema import grant as run_grant

    with errors_exit():
        target = resolve_url(url)
        done = run_grant(role, target)
    click.echo(
        f"{redact_url(target)}: role {done.role!r} may read and write {len(done.tables)} tables "
        f"of schema {done.schema!r} ({len(done.sequences)} sequences), read {', '.join(done.read_only)}"
    )
    for statement in done.statements:
        click.echo(f"  {statement}")
