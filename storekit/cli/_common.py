"""What every command shares: the rich console and the exit-code rule."""

from __future__ import annotations

from typing import Any

from ..errors import StorekitError, UsageError


def console() -> Any:
    """A rich console (rich is imported only when a command prints)."""
    from rich.console import Console

    return Console()


def exit_code(exc: StorekitError) -> int:
    """2 for usage and configuration errors, 3 for backend failures (see ``storekit --help``)."""
    return 2 if isinstance(exc, UsageError) else 3
