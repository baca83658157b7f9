"""``storekit migrate`` and its progress display (shared with ``storekit demo``)."""

from __future__ import annotations

import json
import sys
from typing import Any, List, Optional

import click

from ..config import redact_url, resolve_url
from ._common import console as _console
from ._common import errors_exit, per_table_progress


@click.command()
@click.argument("legacy_dir", type=click.Path(exists=True, file_okay=False, dir_okay=True))
@click.option("--to", "to_url", default=None, help="Target store URL (default: DATABASE_URL, else data/storekit.db).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of progress and a table.")
@click.option("--strict", is_flag=True, help="Exit 1 when any row was quarantined.")
@click.option("--dry-run", is_flag=True, help="Convert and count, write nothing (references are not checked).")
@click.option("--only", "only", multiple=True, metavar="FILE[:TABLE]", help="Migrate only this file or table.")
@click.option("--timezone", "zone", default="Asia/Seoul", show_default=True, help="Zone of the local timestamps.")
def migrate(
    legacy_dir: str, to_url: Optional[str], as_json: bool, strict: bool, dry_run: bool, only: Any, zone: str
) -> None:
    """Migrate the legacy SQLite files under LEGACY_DIR (the application's data/) into the store.

    Every legacy row ends migrated or quarantined (kept exactly, with the reason); a second
    run adds nothing. Exit codes: 0 done (quarantined rows allowed), 1 rows were quarantined
    and --strict was given, 2 bad usage or configuration, 3 the backend failed.
    """
    import sqlite3

    from ..migrate import migrate as run_migration
    from ..migrate import parse_only
    from ..migrate._convert import zone as find_zone
    from ..store import open_store

    try:
        parse_only(list(only))
        find_zone(zone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = None if as_json else _console()
    with errors_exit((sqlite3.Error, OSError), "cannot read the legacy files"):
        target = resolve_url(to_url)
        with open_store(target) as store:
            if console is None:
                report = run_migration(legacy_dir, store, only=list(only) or None, dry_run=dry_run, zone=zone)
            else:
                console.print(f"Migrating [bold]{legacy_dir}[/bold] into [bold]{redact_url(target)}[/bold]")
                report = migrate_with_progress(console, run_migration, legacy_dir, store, list(only), dry_run, zone)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_migration_summary(console, report)
    if strict and report.quarantined:
        sys.exit(1)


def migrate_with_progress(
    console: Any, run: Any, legacy_dir: str, store: Any, only: List[str], dry_run: bool, zone: str
) -> Any:
    with per_table_progress(console, lambda t: t.source_rows, lambda t: t.done) as progress:
        return run(legacy_dir, store, only=only or None, dry_run=dry_run, zone=zone, progress=progress)


def print_migration_summary(console: Any, report: Any) -> None:
    from rich.table import Table

    table = Table(title="storekit migrate" + (" (dry run)" if report.dry_run else ""))
    for column in ("file", "table", "source rows", "migrated", "quarantined", "already present"):
        table.add_column(column, justify="left" if column in ("file", "table") else "right")
    for t in report.tables:
        quarantined = f"[red]{t.quarantined}[/red]" if t.quarantined else "0"
        table.add_row(t.file, t.table, str(t.source_rows), str(t.migrated), quarantined, str(t.already_present))
    console.print(table)
    for t in report.tables:
        if t.extra_columns:
            console.print(f"{t.file}:{t.table}: extra columns kept in the ledger: {', '.join(t.extra_columns)}")
        if t.missing_columns:
            console.print(f"{t.file}:{t.table}: columns absent from this file: {', '.join(t.missing_columns)}")
    if report.absent_files:
        console.print(f"Absent files: {', '.join(report.absent_files)}")
    if report.unknown_tables:
        console.print(f"[yellow]Tables no mapping knows (not migrated): {', '.join(report.unknown_tables)}[/yellow]")
    if report.quarantined:
        console.print(f"[yellow]{report.quarantined} rows quarantined (see the storekit_quarantine table).[/yellow]")
