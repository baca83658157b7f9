"""The PostgreSQL backend's URLs and options: ``postgres://`` is ``postgresql://``, other
drivers are refused, and option values are checked before anything connects."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import socket
import threading
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from storekit import ConfigurationError, open_store
from storekit.records import ScreeningHistory

PASSWORD = "hunter2pw"


class _Listener:
    """A local TCP port that counts the connections made to it and closes each at once
    (so a client that does connect fails fast instead of waiting for a server)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            self.connections += 1
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone may not)
        self._sock.close()
        self._thread.join(5)


@pytest.fixture
def listener() -> Iterator[_Listener]:
    server = _Listener()
    yield server
    server.close()


def _with_scheme(url: str, scheme: str) -> str:
    return scheme + url[url.index("://") :]


@pytest.mark.parametrize("scheme", ["postgres", "postgresql+psycopg2", "postgres+psycopg2"])
def test_postgres_and_psycopg2_urls_open_the_same_store_as_postgresql(pg_schema_url: str, scheme: str) -> None:
    record = ScreeningHistory(stock_code="005930", stock_name="삼성전자", screening_date=dt.date(2026, 1, 2))
    with open_store(_with_scheme(pg_schema_url, scheme), fallback=None) as store:
        assert store.backend.name == "postgresql"
        store.put(record)
    with open_store(pg_schema_url, fallback=None) as store:
        assert store.get(ScreeningHistory, "005930", dt.date(2026, 1, 2)) == record


@pytest.mark.parametrize("driver", ["psycopg", "pg8000", "asyncpg", "psycopg2cffi"])
def test_a_url_naming_another_driver_is_refused_before_connecting(listener: _Listener, driver: str) -> None:
    port = listener.port
    url = f"postgresql+{driver}://svc:{PASSWORD}@127.0.0.1:{port}/prod"
    with pytest.raises(ConfigurationError, match="uses psycopg2") as caught:
        open_store(url, fallback=None, options={"connect_timeout": 1})
    assert f"postgresql+{driver}://" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert listener.connections == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pool_size", "x"),
        ("pool_size", 0),
        ("pool_size", True),
        ("pool_size", 2.5),
        ("max_overflow", -2),
        ("max_overflow", "many"),
        ("pool_timeout", 0),
        ("pool_timeout", "soon"),
        ("pool_timeout", math.nan),
        ("pool_timeout", math.inf),
        ("pool_recycle", 0),
        ("pool_recycle", None),
        ("connect_timeout", 0),
        ("connect_timeout", -1),
        ("connect_timeout", "3s"),
        ("copy_min_rows", 0),
        ("copy_min_rows", "lots"),
        ("schema", 5),
    ],
)
def test_a_bad_option_value_is_a_configuration_error_naming_option_and_value(
    listener: _Listener, name: str, value: Any
) -> None:
    url = f"postgresql://svc:{PASSWORD}@127.0.0.1:{listener.port}/prod"
    options = {"connect_timeout": 1, name: value}
    with pytest.raises(ConfigurationError) as caught:
        open_store(url, fallback=None, options=options)
    assert f"postgresql option {name}={value!r} is invalid" in str(caught.value)
    assert listener.connections == 0


def test_option_values_given_as_strings_are_converted(pg_schema_url: str) -> None:
    options = {"pool_size": "3", "max_overflow": "-1", "pool_timeout": "2.5", "copy_min_rows": "1"}
    with open_store(pg_schema_url, fallback=None, options=options) as store:
        engine: sa.engine.Engine = store.backend.engine  # type: ignore[attr-defined]
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool.timeout() == 2.5  # type: ignore[attr-defined]
        assert store.backend.facts.copy_min_rows == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["pool_size", "max_overflow", "pool_timeout", "pool_recycle", "copy_min_rows"])
def test_a_storekit_option_in_the_url_query_is_refused_before_connecting(listener: _Listener, name: str) -> None:
    url = f"postgresql://svc:{PASSWORD}@127.0.0.1:{listener.port}/prod?{name}=3"
    with pytest.raises(ConfigurationError, match=f"{name} in the URL's query") as caught:
        open_store(url, fallback=None, options={"connect_timeout": 1})
    assert PASSWORD not in str(caught.value)
    assert listener.connections == 0


def _connect_timeout_of(store: Any) -> str:
    engine: sa.engine.Engine = store.backend.engine
    with engine.connect() as conn:
        return str(conn.connection.dbapi_connection.get_dsn_parameters()["connect_timeout"])  # type: ignore[union-attr]


def test_connect_timeout_in_the_url_is_used_unless_the_option_is_given(pg_schema_url: str) -> None:
    url = sa.engine.make_url(pg_schema_url).update_query_dict({"connect_timeout": "4"})
    rendered = url.render_as_string(hide_password=False)
    with open_store(rendered, fallback=None) as store:
        assert _connect_timeout_of(store) == "4"
    with open_store(rendered, fallback=None, options={"connect_timeout": 6}) as store:
        assert _connect_timeout_of(store) == "6"


def test_a_bad_connect_timeout_in_the_url_is_a_configuration_error(listener: _Listener) -> None:
    url = f"postgresql://svc:{PASSWORD}@127.0.0.1:{listener.port}/prod?connect_timeout=0"
    with pytest.raises(ConfigurationError, match="connect_timeout='0' is invalid"):
        open_store(url, fallback=None)
    assert listener.connections == 0
