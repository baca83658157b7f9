"""What every command shares: the rich console and the exit-code rule."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Dict, Iterator, Tuple, Type

import click

from ..errors import StorekitError, UsageError


def console() -> Any:
    """A rich console (rich is imported only when a command prints)."""
    from rich.console import Console

    return Console()


@contextlib.contextmanager
def errors_exit(io_errors: Tuple[Type[BaseException], ...] = (), io_problem: str = "") -> Iterator[None]:
    """A storekit error in the block ends the command with its message on stderr and its
    exit code (:func:`exit_code`); one of ``io_errors`` ends it with exit 2 and
    ``io_problem``."""
    try:
        yield
    except StorekitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exit_code(exc))
    except io_errors as exc:
        click.echo(f"error: {io_problem}: {exc}", err=True)
        sys.exit(2)


def exit_code(exc: StorekitError) -> int:
    """2 for usage and configuration errors, 3 for backend failures (see ``storekit --help``)."""
    return 2 if isinstance(exc, UsageError) else 3


@contextlib.contextmanager
def per_table_progress(
    console: Any, total: Callable[[Any], int], done: Callable[[Any], int]
) -> Iterator[Callable[[str, Any], None]]:
    """A progress bar per legacy table, with rows per second and an ETA. Yields the
    ``progress(event, table_report)`` callback that migrate and verify call with
    ``'start'``, then ``'batch'``/``'end'``; ``total`` and ``done`` read a report."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: Dict[str, Any] = {}
        clock: Dict[str, Tuple[float, int]] = {}

        def progress(event: str, t: Any) -> None:
            name = f"{t.file}:{t.table}"
            if event == "start":
                tasks[name] = bar.add_task(name, total=total(t), completed=done(t), rate="-")
                clock[name] = (time.perf_counter(), done(t))
                return
            started, first = clock[name]
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(tasks[name], completed=done(t), rate=f"{(done(t) - first) / elapsed:,.0f}")

        yield progress
