"""The ``storekit`` command line. Imported only by the console script, so that
``import storekit`` stays light (click and rich load here).

Each command lives in its own module and is imported only when it runs (or when
``--help`` lists it).
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional

import click

from .. import __version__

__all__ = ["main"]

_COMMANDS: Dict[str, str] = {
    "demo": "storekit.cli._demo:demo",
    "doctor": "storekit.cli._doctor:doctor",
    "migrate": "storekit.cli._migrate:migrate",
    "plugins": "storekit.cli._plugins:plugins",
    "rollback": "storekit.cli._rollback:rollback",
    "schema": "storekit.cli._schema:schema",
    "sync": "storekit.cli._sync:sync",
    "verify": "storekit.cli._verify:verify",
}
"""Command name to ``module:attribute`` of its click command."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in _COMMANDS:
            module, _, attr = _COMMANDS[cmd_name].partition(":")
            command: Any = getattr(importlib.import_module(module), attr)
            return command  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storekit")
def main() -> None:
    """storekit: the trading application's typed store.

    The store URL comes from --url where a command takes one, else DATABASE_URL,
    else the embedded SQLite file data/storekit.db (STOREKIT_SQLITE_PATH overrides).
    Exit codes: 0 success, 1 the command's check failed, 2 bad usage or configuration,
    3 the backend failed.
    """
