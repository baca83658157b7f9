"""The docs stay honest by test (as datasette's test_docs.py has it): every hook is
documented with its exact signature and has a test named after it, and every CLI
command has a section in the CLI reference."""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import click
import pytest

from storekit import hookspecs
from storekit.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HOOKS_RST = DOCS / "reference" / "hooks.rst"
CLI_RST = DOCS / "reference" / "cli.rst"


def _hooks() -> Dict[str, Callable[..., Any]]:
    marker = f"{hookspecs.PROJECT_NAME}_spec"  # what pluggy's HookspecMarker sets
    return {name: fn for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, marker)}


HOOKS = sorted(_hooks())


def test_there_are_hooks() -> None:
    assert "storekit_register_backends" in HOOKS


def _signature_text(fn: Callable[..., Any]) -> str:
    """The signature as the docs show it: ``name(param: type, ...) -> type``."""
    return f"{fn.__name__}{inspect.signature(fn)}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(hook: str) -> None:
    source = HOOKS_RST.read_text(encoding="utf-8")
    fn = _hooks()[hook]
    automodule = re.search(r"^\.\. automodule:: storekit\.hookspecs\n((?:   :.*\n)*)", source, re.M)
    if automodule and ":members:" in automodule.group(1):
        # autodoc renders the signature from the code itself; it documents a member only
        # if the module exports it and it has a docstring.
        assert hook in hookspecs.__all__, f"{hook} is not in storekit.hookspecs.__all__, so autodoc skips it"
        assert inspect.getdoc(fn), f"{hook} has no docstring, so autodoc skips it"
    else:
        written = re.search(rf"^\.\. (?:py:)?function:: (?:storekit\.hookspecs\.)?({hook}\(.*\).*)$", source, re.M)
        assert written, f"{hook} is not documented in {HOOKS_RST.relative_to(ROOT)}"
        assert written.group(1).strip() == _signature_text(fn)
    built = DOCS / "_build" / "html" / "reference" / "hooks.html"
    if built.exists() and built.stat().st_mtime >= Path(hookspecs.__file__).stat().st_mtime:
        text = re.sub(r"<[^>]+>", "", built.read_text(encoding="utf-8"))
        text = re.sub(r"\s+", "", text.replace("&#8594;", "->").replace("&gt;", ">"))
        for name, param in inspect.signature(fn).parameters.items():
            assert f"{name}:" in text, f"the built hooks page does not show {hook}'s parameter {name}"
            assert str(param.annotation).split(".")[-1].split("[")[0] in text


def _test_names() -> Iterator[str]:
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                yield node.name


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test_named_after_it(hook: str) -> None:
    named = [name for name in _test_names() if hook in name]
    assert named, f"no test under tests/ has {hook!r} in its name"


# -- the command line ------------------------------------------------------------------------


def _command_paths(command: click.Command, path: List[str]) -> Iterator[List[str]]:
    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"storekit {name} is listed but cannot be loaded"
            yield from _command_paths(sub, [*path, name])


COMMANDS = [" ".join(["storekit", *p]) for p in _command_paths(main, [])]


def test_the_cli_reference_is_generated_from_the_command_group() -> None:
    source = CLI_RST.read_text(encoding="utf-8")
    assert re.search(r"^\.\. storekit-cli:: storekit\.cli:main\s*$", source, re.M), (
        "docs/reference/cli.rst must generate its sections with `.. storekit-cli:: storekit.cli:main`"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_cli_command_has_a_docs_section(command: str) -> None:
    """The section the generator writes for each command: a title and its ``--help``."""
    pytest.importorskip("sphinx", reason="the docs extension needs Sphinx (the docs extra)")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from storekit_docs.generated import _command_paths as documented
        from storekit_docs.generated import _help
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    titles = {" ".join(["storekit", *p]): p for p in documented(main, [])}
    assert command in titles, f"the storekit-cli directive has no section for {command!r}"
    assert _help(main, titles[command]).startswith("Usage: storekit")
