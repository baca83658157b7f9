"""``storekit rollback``: the store back into legacy-format SQLite files."""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, Optional

import click

from ..config import redact_url, resolve_url
from ._common import console as _console
from ._common import errors_exit


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, dir_okay=True))
@click.option("--from", "url", default=None, help="Store URL to read (default: DATABASE_URL, else data/storekit.db).")
@click.option("--force", is_flag=True, help="Overwrite legacy files that already exist under OUT_DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of progress and a table.")
@click.option("--timezone", "zone", default="Asia/Seoul", show_default=True, help="Zone of the local timestamps.")
def rollback(out_dir: str, url: Optional[str], force: bool, as_json: bool, zone: str) -> None:
    """Write the store back into legacy SQLite files under OUT_DIR (laid out as the
    application's data/): the legacy tables and indexes, the rows that came from the legacy
    files under their legacy ids, the rows written since, and the quarantined rows restored
    exactly, each value in the format the legacy code writes.

    The store is only read. An existing file is never overwritten without --force (nothing
    is written then). Exit codes: 0 written, 1 written but some quarantined rows could not be
    restored (their unique key is taken by a record; listed), 2 bad usage or configuration
    (including existing files), 3 the backend failed.
    """
    from ..migrate import rollback as run_rollback
    from ..migrate._convert import zone as find_zone
    from ..store import open_store

    try:
        find_zone(zone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = None if as_json else _console()
    with errors_exit((OSError,), f"cannot write under {out_dir}"):
        source = resolve_url(url)
        with open_store(source) as store:
            if console is None:
                report = run_rollback(store, out_dir, force=force, zone_name=zone)
            else:
                console.print(f"Rolling back [bold]{redact_url(source)}[/bold] into [bold]{out_dir}[/bold]")
                report = _with_progress(console, run_rollback, store, out_dir, force, zone)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_summary(console, report)
    if report.conflicts:
        sys.exit(1)


def _with_progress(console: Any, run: Any, store: Any, out_dir: str, force: bool, zone: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: Dict[str, Any] = {}

        def progress(event: str, t: Any) -> None:
            name = f"{t.file}:{t.table}"
            if event == "start":
                tasks[name] = bar.add_task(name, total=max(t.total, 1))
            elif event == "end":
                bar.update(tasks[name], completed=max(t.total, 1))
            else:
                bar.update(tasks[name], completed=t.rows)

        return run(store, out_dir, force=force, zone_name=zone, progress=progress)


def _print_summary(console: Any, report: Any) -> None:
    from rich.table import Table

    table = Table(title="storekit rollback")
    for column in ("file", "table", "rows", "from legacy", "written since", "restored"):
        table.add_column(column, justify="left" if column in ("file", "table") else "right")
    for t in report.tables:
        if t.rows:
            table.add_row(t.file, t.table, str(t.rows), str(t.from_legacy), str(t.written_since), str(t.restored))
    console.print(table)
    for t in report.tables:
        if t.extra_columns:
            console.print(f"{t.file}:{t.table}: extra columns restored: {', '.join(t.extra_columns)}")
    for line in report.conflicts:
        console.print(f"[red]not restored[/red] {line}", highlight=False)
    console.print(f"Wrote {len(report.files)} legacy files under {report.out_dir} (empty tables are not listed).")
