"""Fixtures: a real SQLite file and the real PostgreSQL server, for every backend test.

The backend tests are the conformance kit's suite (``tests/test_conformance.py``), run
on both first-party backends through the one fixture the kit asks for, ``storekit_url``.

PostgreSQL comes from ``STOREKIT_TEST_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Each test run gets its own schema,
dropped at the end, so runs never collide. When the server cannot be reached, the
PostgreSQL tests fail under ``CI=true`` and are skipped loudly elsewhere.
"""

from __future__ import annotations

import os
import uuid
import warnings
from typing import Any, Iterator, List

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

# Records with JSON fields can draw large inputs; hypothesis's size health checks are about
# generation, not about what a test asserts, and failed at random (data_too_large) in a
# full run, so both are off.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS: List[str] = ["sqlite", "postgresql"]


def _pg_base_url() -> str:
    return os.environ.get("STOREKIT_TEST_PG_URL", DEFAULT_PG_URL)


def _pg_engine(**kw: object) -> sa.engine.Engine:
    url = sa.engine.make_url(_pg_base_url()).set(drivername="postgresql+psycopg2")
    return sa.create_engine(url, **kw)


def _pg_unreachable_reason() -> str:
    url = _pg_base_url()
    engine = _pg_engine(connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return ""
    except Exception as exc:  # any failure means: cannot run the PostgreSQL tests
        shown = sa.engine.make_url(url).render_as_string(hide_password=True)
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return f"PostgreSQL at {shown} is unreachable: {first}"
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``schema`` is private to this test run (dropped at the end)."""
    reason = _pg_unreachable_reason()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
        warnings.warn(f"SKIPPING PostgreSQL tests: {reason}", stacklevel=1)
        pytest.skip(f"SKIPPED: {reason}. Start it or set STOREKIT_TEST_PG_URL.")
    schema = f"sk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    base = _pg_base_url()
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}schema={schema}"
    engine = _pg_engine()
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL URL with a schema of this test's own, dropped at the end (for tests that
    create, change or race on a fresh schema)."""
    schema = f"sk_t_{uuid.uuid4().hex[:12]}"
    yield sa.engine.make_url(pg_url).update_query_dict({"schema": schema}).render_as_string(hide_password=False)
    engine = _pg_engine()
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def proxy() -> Iterator[Any]:
    """A TCP proxy to the test PostgreSQL server that the test can cut and restore
    (``tests/_fallback_proxy.py``)."""
    from _fallback_proxy import Proxy

    p = Proxy(("127.0.0.1", 5432))
    yield p
    p.stop()


def backend_url(name: str, request: pytest.FixtureRequest, tmp_dir: str) -> str:
    if name == "sqlite":
        return f"sqlite:///{os.path.join(tmp_dir, 'store.db')}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session", params=BACKENDS)
def storekit_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The conformance kit's one fixture: an empty store of each first-party backend.

    ``tests/test_conformance.py`` runs the kit's suite (:mod:`storekit.testing.suite`)
    on it, and the kit's ``storekit_store`` fixture serves the other backend tests."""
    return backend_url(request.param, request, str(tmp_path_factory.mktemp(request.param)))
