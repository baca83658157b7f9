"""Directives that render text the code already holds: docstrings, CLI help, the
exception tree."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Iterable, List

from sphinx.util.docstrings import prepare_docstring

from ._util import GeneratedDirective, import_object

# -- docstrings, CLI, exceptions ---------------------------------------------------------------


class DocstringDirective(GeneratedDirective):
    """``.. storekit-docstring:: dotted.name``: an object's docstring, unindexed."""

    required_arguments = 1

    def generate(self) -> List[str]:
        obj = import_object(self.arguments[0])
        self.depend_on_module(obj if inspect.ismodule(obj) else inspect.getmodule(obj))
        doc = inspect.getdoc(obj)
        if not doc:
            raise self.error(f"{self.arguments[0]} has no docstring")
        return prepare_docstring(doc)


def _help(command: Any, args: List[str]) -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(command, [*args, "--help"], prog_name="storekit", terminal_width=80)
    if result.exit_code != 0:
        raise RuntimeError(f"storekit {' '.join(args)} --help exited {result.exit_code}")
    return result.output.rstrip()


def _command_paths(command: Any, path: List[str]) -> Iterable[List[str]]:
    """``[]`` for the group itself, then ``[name, ...]`` for every subcommand, sorted."""
    import click

    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _command_paths(command.get_command(ctx, name), [*path, name])


class CliDirective(GeneratedDirective):
    """``.. storekit-cli:: storekit.cli:main``: every command's ``--help``."""

    required_arguments = 1

    def generate(self) -> List[str]:
        main = import_object(self.arguments[0])
        self.depend_on_module(importlib.import_module(self.arguments[0].partition(":")[0]))
        lines: List[str] = []
        for path in _command_paths(main, []):
            title = " ".join(["storekit", *path])
            lines += [title, "-" * len(title), "", ".. code-block:: text", ""]
            lines += ["   " + line if line else "" for line in _help(main, path).splitlines()]
            lines.append("")
        return lines


def _tree(cls: type, module: str, depth: int) -> List[str]:
    lines = []
    for sub in cls.__subclasses__():
        if sub.__module__ != module:
            continue
        extra = [b.__name__ for b in sub.__bases__ if b.__module__ == "builtins"]
        also = f" (also a :class:`{extra[0]}`)" if extra else ""
        lines += ["  " * depth + f"* :exc:`~storekit.{sub.__name__}`{also}", ""]
        lines += _tree(sub, module, depth + 1)
    return lines


class ExceptionTreeDirective(GeneratedDirective):
    """``.. storekit-exception-tree:: storekit.StorekitError``."""

    required_arguments = 1
    titles_allowed = False

    def generate(self) -> List[str]:
        base = import_object(self.arguments[0])
        self.depend_on_module(importlib.import_module(base.__module__))
        return [f"* :exc:`~storekit.{base.__name__}`", "", *_tree(base, base.__module__, 1)]
