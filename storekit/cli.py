"""The ``storekit`` command line. Imported only by the console script, so that
``import storekit`` stays light (click and rich load here)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

import click

from . import __version__
from .config import redact_url, resolve_url
from .errors import PluginLoadError, StorekitError, UsageError

__all__ = ["main"]


def _console() -> Any:
    from rich.console import Console

    return Console()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storekit")
def main() -> None:
    """storekit: the trading application's typed store.

    The store URL comes from --url where a command takes one, else DATABASE_URL,
    else the embedded SQLite file data/storekit.db (STOREKIT_SQLITE_PATH overrides).
    Exit codes: 0 success, 1 the command's check failed, 2 bad usage or configuration,
    3 the backend failed.
    """


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def plugins(as_json: bool) -> None:
    """List the backend plugins: what loaded, from where, what each registered, what failed.

    Exits 1 when any plugin failed to load.
    """
    from .registry import get_registry

    try:
        registry = get_registry()
    except PluginLoadError as exc:  # strict loading (STOREKIT_STRICT_PLUGINS=1)
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    backends = {b.name: b for b in registry.backends()}
    if as_json:
        payload = {
            "plugins": [
                {
                    "name": p.name,
                    "source": p.source,
                    "loaded": p.loaded,
                    "backends": list(p.backends),
                    "error": p.error,
                }
                for p in registry.plugins
            ],
            "backends": [
                {
                    "name": b.name,
                    "schemes": list(b.schemes),
                    "priority": b.priority,
                    "capabilities": sorted(b.capabilities),
                    "plugin": b.plugin,
                    "description": b.description,
                }
                for b in backends.values()
            ],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        from rich.table import Table

        table = Table(title="storekit plugins")
        for column in ("plugin", "source", "status", "backends (priority, schemes)"):
            table.add_column(column)
        for p in registry.plugins:
            registered = ", ".join(
                f"{n} ({backends[n].priority}; {', '.join(backends[n].schemes)})" for n in p.backends
            )
            status = "loaded" if p.loaded else f"[red]failed: {p.error}[/red]"
            table.add_row(p.name, p.source, status, registered)
        _console().print(table)
    if registry.failures:
        sys.exit(1)


def _exit_code(exc: StorekitError) -> int:
    """2 for usage and configuration errors, 3 for backend failures (see ``storekit --help``)."""
    return 2 if isinstance(exc, UsageError) else 3


@main.command()
@click.option(
    "--url", default=None, help="Store URL for the full install (default: DATABASE_URL, else data/storekit.db)."
)
@click.option(
    "--legacy-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write the sample legacy data/ directories here and keep them (default: a temporary directory).",
)
@click.option("--seed", default=20260110, show_default=True, help="Seed of the generated legacy files.")
def demo(url: Optional[str], legacy_dir: Optional[str], seed: int) -> None:
    """The main job on sample data: write legacy files, migrate them, report.

    Writes two legacy data/ directories as the application's legacy modules would
    (a realistic sparse install, where only learning_data.db holds rows, and a fully
    populated one), migrates the full install into the store (the embedded SQLite file
    by default) and the sparse install into a throwaway in-memory store, and prints
    what happened to every legacy row. Running it again adds nothing: the rows are
    already present. Exit codes as for `storekit migrate`.
    """
    import tempfile

    from .legacy.generate import Profile, generate_legacy_dir
    from .migrate import migrate as run_migration
    from .store import open_store

    console = _console()
    with contextlib.ExitStack() as stack:
        root = Path(legacy_dir) if legacy_dir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        try:
            runs: Tuple[Tuple[Profile, Optional[str]], ...] = (("sparse", "sqlite://"), ("full", url))
            for profile, store_url in runs:
                data_dir = root / profile / "data"
                if not data_dir.exists():
                    generate_legacy_dir(data_dir, profile, seed=seed)
                target = resolve_url(store_url)
                console.print(
                    f"\n[bold]{profile} legacy install[/bold] ({data_dir}) into [bold]{redact_url(target)}[/bold]"
                )
                with open_store(target) as store:
                    report = _migrate_with_progress(
                        console, run_migration, str(data_dir), store, [], False, "Asia/Seoul"
                    )
                _print_migration_summary(console, report)
        except StorekitError as exc:
            console.print(f"[red]error:[/red] {exc}")
            sys.exit(_exit_code(exc))
        if legacy_dir:
            console.print(f"\nThe legacy files are kept under {root}.")


@main.command()
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

    from .migrate import migrate as run_migration
    from .migrate import parse_only
    from .migrate._convert import zone as find_zone
    from .store import open_store

    try:
        parse_only(list(only))
        find_zone(zone)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = None if as_json else _console()
    try:
        target = resolve_url(to_url)
        with open_store(target) as store:
            if console is None:
                report = run_migration(legacy_dir, store, only=list(only) or None, dry_run=dry_run, zone=zone)
            else:
                console.print(f"Migrating [bold]{legacy_dir}[/bold] into [bold]{redact_url(target)}[/bold]")
                report = _migrate_with_progress(console, run_migration, legacy_dir, store, list(only), dry_run, zone)
    except StorekitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(_exit_code(exc))
    except (sqlite3.Error, OSError) as exc:  # a legacy file that cannot be read
        click.echo(f"error: cannot read the legacy files: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_migration_summary(console, report)
    if strict and report.quarantined:
        sys.exit(1)


def _migrate_with_progress(
    console: Any, run: Any, legacy_dir: str, store: Any, only: List[str], dry_run: bool, zone: str
) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks = {}
        clock = {}

        def progress(event: str, t: Any) -> None:
            import time

            name = f"{t.file}:{t.table}"
            if event == "start":
                tasks[name] = bar.add_task(name, total=t.source_rows, completed=t.already_present, rate="-")
                clock[name] = (time.perf_counter(), t.done)
                return
            started, first = clock[name]
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(tasks[name], completed=t.done, rate=f"{(t.done - first) / elapsed:,.0f}")

        return run(legacy_dir, store, only=only or None, dry_run=dry_run, zone=zone, progress=progress)


def _print_migration_summary(console: Any, report: Any) -> None:
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


if __name__ == "__main__":  # pragma: no cover
    main()
