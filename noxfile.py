"""nox sessions: tests per Python (both backends), lint, typecheck, docs, bench.

Interpreters that are not installed are skipped, never a failure: the Python
versions are probed before the sessions are declared, so a broken shim (pyenv's
"command not found") counts as absent too.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True

SUPPORTED = ["3.9", "3.10", "3.11", "3.12", "3.13"]
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _works(version: str) -> bool:
    exe = shutil.which(f"python{version}")
    if exe is None:
        return False
    try:
        return subprocess.run([exe, "-c", "pass"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


AVAILABLE = [v for v in SUPPORTED if _works(v)] or None


def _env() -> dict:
    return {
        "STOREKIT_TEST_PG_URL": os.environ.get("STOREKIT_TEST_PG_URL", DEFAULT_PG_URL),
        "STOREKIT_STRICT_PLUGINS": "1",
        "HYPOTHESIS_PROFILE": os.environ.get(
            "HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"
        ),
    }


@nox.session(python=AVAILABLE)
def tests(session: nox.Session) -> None:
    """The test suite on SQLite and PostgreSQL (pass pytest arguments after --)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env=_env())


@nox.session
def lint(session: nox.Session) -> None:
    """ruff."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "storekit", "plugins", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict, against Python 3.9 (the floor)."""
    session.install("-e", ".[test]", "mypy>=1.8")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation with warnings as errors."""
    session.install("-e", ".[test]", "-r", "docs/requirements.txt")  # storekit.testing is documented too
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "doctest", "docs", "docs/_build/doctest")


@nox.session
def example_plugin(session: nox.Session) -> None:
    """The example third-party plugin (plugins/storekit-memory), installed on its own, runs
    its tests and the conformance kit."""
    session.install("-e", ".", "-e", "plugins/storekit-memory", "pytest>=7.4", "hypothesis>=6.90")
    session.run(
        "pytest",
        "plugins/storekit-memory/tests",
        *session.posargs,
        env={"STOREKIT_STRICT_PLUGINS": "1"},  # the kit picks its hypothesis profile from CI
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, each printed as a ratio to a baseline measured in the same run."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "benchmarks", *session.posargs, env=_env())
