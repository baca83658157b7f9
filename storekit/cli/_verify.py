"""``storekit verify``: every legacy row accounted for, by content."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import click

from ..config import redact_url, resolve_url
from ._common import console as _console
from ._common import errors_exit, per_table_progress

SHOWN_PER_TABLE = 20
"""Findings listed per table on a terminal (``--json`` lists them all)."""


@click.command()
@click.argument("legacy_dir", type=click.Path(exists=True, file_okay=False, dir_okay=True))
@click.option(
    "--against", "url", default=None, help="Store URL to check (default: DATABASE_URL, else data/storekit.db)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every finding.")
@click.option("--timezone", "zone", default="Asia/Seoul", show_default=True, help="Zone of the local timestamps.")
def verify(legacy_dir: str, url: Optional[str], as_json: bool, zone: str) -> None:
    """Check that every row of the legacy files under LEGACY_DIR is in the store with equal
    content after the documented conversion, or in quarantine with its reason.

    Content, not counts: a changed value or a missing row is reported with its file, table,
    legacy id and column. The legacy files are opened read-only. Exit codes: 0 every row is
    accounted for, 1 some are not (listed), 2 bad usage or configuration, 3 the backend failed.
    """
    import sqlite3

    from ..migrate import verify as run_verify
    from ..migrate._convert import zone as find_zone
    from ..store import open_store

    try:
        find_zone(zone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = None if as_json else _console()
    with errors_exit((sqlite3.Error, OSError), "cannot read the legacy files"):
        target = resolve_url(url)
        with open_store(target) as store:
            if console is None:
                report = run_verify(legacy_dir, store, zone_name=zone)
            else:
                console.print(f"Verifying [bold]{legacy_dir}[/bold] against [bold]{redact_url(target)}[/bold]")
                report = _with_progress(console, run_verify, legacy_dir, store, zone)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_verify_summary(console, report)
    if not report.ok:
        sys.exit(1)


def _with_progress(console: Any, run: Any, legacy_dir: str, store: Any, zone: str) -> Any:
    with per_table_progress(console, lambda t: t.source_rows, lambda t: t.checked) as progress:
        return run(legacy_dir, store, zone_name=zone, progress=progress)


def print_verify_summary(console: Any, report: Any) -> None:
    """The verify report as a table, its findings, and the verdict (shared with ``storekit demo``)."""
    from rich.table import Table

    table = Table(title="storekit verify")
    for column in ("file", "table", "source rows", "matched", "quarantined", "unaccounted"):
        table.add_column(column, justify="left" if column in ("file", "table") else "right")
    for t in report.tables:
        bad = f"[red]{t.unaccounted}[/red]" if t.unaccounted else "0"
        table.add_row(t.file, t.table, str(t.source_rows), str(t.matched), str(t.quarantined), bad)
    console.print(table)
    for t in report.tables:
        if not t.findings:
            continue
        console.print(f"[red]{t.file}:{t.table}[/red]: {len(t.findings)} finding(s)")
        for f in t.findings[:SHOWN_PER_TABLE]:
            where = f"id {f.legacy_id}" + (f", column {f.column}" if f.column else "")
            detail = f" (expected {f.expected}, found {f.found})" if f.expected is not None else ""
            console.print(f"  {where}: {f.problem}{detail}", markup=False, highlight=False)
        if len(t.findings) > SHOWN_PER_TABLE:
            console.print(f"  ... and {len(t.findings) - SHOWN_PER_TABLE} more (--json lists them all)")
    if report.unknown_tables:
        console.print(f"[red]Tables no mapping knows (not in the store): {', '.join(report.unknown_tables)}[/red]")
    if report.absent_files:
        console.print(f"Absent files: {', '.join(report.absent_files)}")
    if report.ok:
        console.print(f"[green]All {report.rows} legacy rows are accounted for.[/green]")
    else:
        console.print("[red]Some legacy rows are not accounted for (exit 1).[/red]")
