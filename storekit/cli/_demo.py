"""``storekit demo``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Optional, Tuple

import click

from ..config import redact_url, resolve_url
from ..errors import StorekitError
from ._common import console as _console
from ._common import exit_code as _exit_code
from ._migrate import migrate_with_progress as _migrate_with_progress
from ._migrate import print_migration_summary as _print_migration_summary
from ._verify import print_verify_summary


@click.command()
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
    """The main job on sample data: write legacy files, migrate them, verify them, report.

    Writes two legacy data/ directories as the application's legacy modules would
    (a realistic sparse install, where only learning_data.db holds rows, and a fully
    populated one), migrates the full install into the store (the embedded SQLite file
    by default) and the sparse install into a throwaway in-memory store, checks every
    legacy row against the store (`storekit verify`), and prints what happened to every
    legacy row. Running it again adds nothing: the rows are already present. Exit codes:
    0 done and verified, 1 verify found rows not accounted for, 2 bad usage or
    configuration, 3 the backend failed.
    """
    import tempfile

    from ..legacy.generate import Profile, generate_legacy_dir
    from ..migrate import migrate as run_migration
    from ..migrate import verify as run_verify
    from ..store import open_store

    console = _console()
    with contextlib.ExitStack() as stack:
        root = Path(legacy_dir) if legacy_dir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        try:
            runs: Tuple[Tuple[Profile, Optional[str]], ...] = (("sparse", "sqlite://"), ("full", url))
            unverified = False
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
                    checked = run_verify(str(data_dir), store, zone_name="Asia/Seoul")
                print_verify_summary(console, checked)
                unverified = unverified or not checked.ok
        except StorekitError as exc:
            console.print(f"[red]error:[/red] {exc}")
            sys.exit(_exit_code(exc))
        if legacy_dir:
            console.print(f"\nThe legacy files are kept under {root}.")
    if unverified:
        sys.exit(1)
