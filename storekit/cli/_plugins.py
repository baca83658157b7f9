"""``storekit plugins``."""

from __future__ import annotations

import json
import sys

import click

from ..errors import PluginLoadError
from ._common import console as _console


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def plugins(as_json: bool) -> None:
    """List the backend plugins: what loaded, from where, what each registered, what failed.

    Exits 1 when any plugin failed to load. Errors are shown redacted (no passwords).
    """
    from ..registry import get_registry

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
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="storekit plugins")
        for column in ("plugin", "source", "status", "backends (priority, schemes)"):
            table.add_column(column)
        for p in registry.plugins:
            registered = ", ".join(
                f"{n} ({backends[n].priority}; {', '.join(backends[n].schemes)})" for n in p.backends
            )
            # errors are plugin text (``[Errno 2]``, a stray ``[/x]``), not rich markup
            status = "loaded" if p.loaded else f"[red]failed: {escape(p.error or '')}[/red]"
            table.add_row(escape(p.name), escape(p.source), status, registered)
        _console().print(table)
    if registry.failures:
        sys.exit(1)
