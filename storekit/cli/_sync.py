"""``storekit sync``: replay the fallback's outbox to the primary."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

import click

from ._common import errors_exit


@click.command()
@click.option("--url", default=None, help="Primary store URL (default: DATABASE_URL, else data/storekit.db).")
@click.option(
    "--fallback",
    default=None,
    help="Fallback URL, or 'default' (default: STOREKIT_FALLBACK if set, else the default fallback file).",
)
@click.option("--status", is_flag=True, help="Only report what waits in the outbox; replay nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def sync(url: Optional[str], fallback: Optional[str], status: bool, as_json: bool) -> None:
    """Replay the writes the fallback received while the primary was unreachable, in order,
    each applied once (see the fallback explanation in the docs).

    Exit codes: 0 the outbox is empty and holds no conflicts, 1 writes are still waiting
    (--status) or conflicts are kept in storekit_outbox_conflicts, 2 bad usage or
    configuration (no fallback for this primary), 3 the primary or the fallback failed.
    """
    from ..config import redact_url, resolve_url
    from ..fallback import DEFAULT, FallbackBackend
    from ..store import open_store

    # The command replays in the foreground: no background replay racing it.
    os.environ["STOREKIT_FALLBACK_RETRY_MAX"] = "0"
    if fallback is None:
        fallback = os.environ.get("STOREKIT_FALLBACK") or DEFAULT
    with errors_exit():
        primary = resolve_url(url)
        with open_store(primary, fallback=fallback) as store:
            backend: Any = store.backend
            if not isinstance(backend, FallbackBackend):
                click.echo(
                    f"error: {redact_url(primary)} has no fallback (a fallback must rank below its primary)", err=True
                )
                sys.exit(2)
            report = backend.status() if status else store.sync()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        if not status:
            click.echo(f"Replayed {report.replayed} write(s) to {report.primary}")
            if report.skipped:
                click.echo(f"Skipped {report.skipped} write(s) the primary already had")
        click.echo(f"Waiting in the outbox of {report.fallback}: {report.pending}")
        if report.oldest_pending:
            click.echo(f"Oldest waiting write: {report.oldest_pending}")
        if report.conflicts_total:
            click.echo(
                f"Conflicts kept in storekit_outbox_conflicts: {report.conflicts_total} ({report.conflicts} new)"
            )
        click.echo(f"Serving: {report.serving}")
    if report.pending or report.conflicts_total:
        sys.exit(1)
