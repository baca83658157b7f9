"""The conformance kit's pytest plugin (entry point ``pytest11``: ``storekit``).

pytest loads it in every project where storekit is installed, so it is inert until
used: it adds the ``--storekit-report`` option and the fixtures below, and imports
neither storekit's backends nor hypothesis until a test asks for them.

A backend's whole obligation is one session-scoped fixture, ``storekit_url``, that
returns the URL of an empty store of that backend; a test module containing
``from storekit.testing.suite import *`` then runs the whole suite on it.

Fixtures
--------
``storekit_store``
    The store (function scope): opened once per session from ``storekit_url`` and
    emptied before each test.
``storekit_session_store``
    The same store, not emptied (session scope): for hypothesis tests, which must
    clean up after each example themselves.
``storekit_backend_info``
    The :class:`~storekit.BackendInfo` the backend registered (session scope).

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, Iterator, List, Optional, TypeVar

import pytest

if TYPE_CHECKING:
    from storekit import BackendInfo, Store

__all__ = [
    "requires",
    "storekit_backend_info",
    "storekit_session_store",
    "storekit_store",
    "storekit_url",
]

F = TypeVar("F", bound=Callable[..., Any])

_MARKER = "storekit_requires"
_SUITE = "storekit.testing.suite"
_BACKEND = pytest.StashKey[str]()
_OPENED = pytest.StashKey[Dict[str, "BackendInfo"]]()

# The suite's modules are not test modules by name, so ask for pytest's assertion
# messages explicitly (before anything imports them).
pytest.register_assert_rewrite(_SUITE)


def requires(*capabilities: str) -> Callable[[F], F]:
    """Mark a test (or class) as needing every one of ``capabilities``
    (:class:`storekit.Capability` names).

    On a backend whose :class:`~storekit.BackendInfo` does not declare one, the test is
    skipped with the reason the backend gives in ``BackendInfo.unsupported``, or with
    "``<backend> does not declare capability <name>``" when it gives none. Tests are
    never skipped by backend name.
    """
    mark = getattr(pytest.mark, _MARKER)(*capabilities)
    use = pytest.mark.usefixtures("_storekit_requirements")

    def decorate(obj: F) -> F:
        decorated: F = use(mark(obj))
        return decorated

    return decorate


def skip_reason(info: BackendInfo, capability: str) -> Optional[str]:
    """Why a test needing ``capability`` is skipped on this backend, or ``None``."""
    if capability in info.capabilities:
        return None
    return info.unsupported.get(capability) or f"{info.name} does not declare capability {capability}"


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def storekit_url() -> str:
    """The URL of an empty store of the backend under test: define it in your conftest.py."""
    pytest.fail(
        "the storekit conformance suite needs a session-scoped fixture `storekit_url` returning "
        "the URL of an empty store of your backend; define it in your conftest.py",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def storekit_session_store(storekit_url: str, pytestconfig: pytest.Config) -> Iterator[Store]:
    """The store at ``storekit_url``, opened once for the session."""
    from storekit import get_registry, open_store

    store = open_store(storekit_url)
    try:
        pytestconfig.stash.setdefault(_OPENED, {})[store.backend.name] = get_registry().backend(store.backend.name)
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session")
def storekit_backend_info(storekit_session_store: Store) -> BackendInfo:
    """The :class:`~storekit.BackendInfo` registered for the store's backend."""
    from storekit import get_registry

    return get_registry().backend(storekit_session_store.backend.name)


def clear(store: Store) -> None:
    """Delete every record, children before parents, in one transaction."""
    from storekit.records import all_record_types

    with store.transaction():
        for record_type in reversed(all_record_types()):
            store.delete(record_type)


@pytest.fixture
def storekit_store(storekit_session_store: Store, request: pytest.FixtureRequest) -> Store:
    """The session's store, emptied before the test."""
    request.node.stash[_BACKEND] = storekit_session_store.backend.name
    clear(storekit_session_store)
    return storekit_session_store


@pytest.fixture
def _storekit_requirements(storekit_backend_info: BackendInfo, request: pytest.FixtureRequest) -> None:
    """Skip the test unless the backend declares what its ``requires`` marks ask for."""
    request.node.stash[_BACKEND] = storekit_backend_info.name
    for marker in request.node.iter_markers(_MARKER):
        for capability in marker.args:
            reason = skip_reason(storekit_backend_info, capability)
            if reason is not None:
                pytest.skip(reason)


# -- hooks -----------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("storekit", "storekit conformance kit")
    group.addoption(
        "--storekit-report",
        metavar="PATH",
        default=None,
        help="write a JSON report of the storekit conformance suite's results to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(*capabilities): storekit conformance test needing backend capabilities "
        "(use storekit.testing.requires)",
    )
    path = config.getoption("storekit_report")
    if path:
        config.pluginmanager.register(_Report(str(path)), "storekit-report")


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(_is_suite_test(item) for item in session.items):
        _choose_hypothesis_profile()


def _choose_hypothesis_profile() -> None:
    """Register the kit's profiles; load one only if the project has loaded none."""
    from hypothesis import HealthCheck, settings

    for name, examples in (("storekit-dev", 25), ("storekit-ci", 100)):
        settings.register_profile(
            name, max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )
    current = getattr(settings, "_current_profile", None)  # hypothesis has no public test before 6.1xx
    if current == "default":
        ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
        settings.load_profile("storekit-ci" if ci else "storekit-dev")


def _is_suite_test(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    return str(getattr(function, "__module__", "")).startswith(_SUITE)


class _Report:
    """Collects the outcome of every suite test and writes them as JSON at the end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.tests: Dict[str, Dict[str, Any]] = {}

    @pytest.hookimpl(hookwrapper=True)  # old-style: pytest 7.4 is the floor
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        if _is_suite_test(item):
            self._record(item, outcome.get_result())

    def _record(self, item: pytest.Item, report: pytest.TestReport) -> None:
        function = getattr(item, "function", None)
        module = str(getattr(function, "__module__", ""))[len(_SUITE) + 1 :]
        entry = self.tests.setdefault(
            item.nodeid,
            {
                "nodeid": item.nodeid,
                "test": f"{module}::{item.name}",
                "backend": None,
                "requires": sorted(c for m in item.iter_markers(_MARKER) for c in m.args),
                "outcome": "passed",
                "skip_reason": None,
            },
        )
        entry["backend"] = entry["backend"] or _backend_of(item)
        if report.failed:
            entry["outcome"] = "failed"
        elif report.skipped and entry["outcome"] != "failed":
            entry["outcome"] = "skipped"
            entry["skip_reason"] = _skip_reason(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        import storekit
        from storekit.testing import KIT_VERSION

        opened = session.config.stash.get(_OPENED, {})
        tests: List[Dict[str, Any]] = list(self.tests.values())
        if len(opened) == 1:
            only = next(iter(opened))
            for entry in tests:
                entry["backend"] = entry["backend"] or only
        summary = {o: sum(1 for t in tests if t["outcome"] == o) for o in ("passed", "failed", "skipped")}
        payload = {
            "kit_version": KIT_VERSION,
            "storekit_version": storekit.__version__,
            "backend": next(iter(opened)) if len(opened) == 1 else None,
            "backends": [
                {
                    "name": info.name,
                    "plugin": info.plugin,
                    "capabilities": sorted(info.capabilities),
                    "unsupported": dict(sorted(info.unsupported.items())),
                }
                for info in sorted(opened.values(), key=lambda i: i.name)
            ],
            "summary": summary,
            "tests": tests,
        }
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2, ensure_ascii=False)
            f.write("\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(f"storekit conformance report: {self.path}")


def _backend_of(item: pytest.Item) -> Optional[str]:
    name = item.stash.get(_BACKEND, None)
    if name:
        return name
    funcargs: Dict[str, Any] = getattr(item, "funcargs", {})
    for fixture in ("storekit_backend_info", "storekit_store", "storekit_session_store"):
        value = funcargs.get(fixture)
        if value is not None:
            backend = getattr(value, "backend", value)
            return str(backend.name)
    return None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason
    return str(longrepr)
