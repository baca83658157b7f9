"""A password in the URL never shows in errors, reprs or logs."""

from __future__ import annotations

import datetime as dt
import logging
import os
import traceback
from typing import Iterator, List, Optional

import pytest
import sqlalchemy as sa

from storekit import BackendUnavailableError, open_store
from storekit.config import redact_url

SECRET = "s3cr3t-Pa55word"


def test_unreachable_postgresql_error_does_not_contain_the_password(caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql://trader:{SECRET}@127.0.0.1:1/hantu"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BackendUnavailableError) as info:
        open_store(url, options={"connect_timeout": 2})
    text = "".join(traceback.format_exception(info.type, info.value, info.tb))
    assert "127.0.0.1" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert SECRET not in text
    assert SECRET not in caplog.text


def test_store_repr_and_url_hide_the_password(tmp_path: os.PathLike[str]) -> None:
    with open_store(f"sqlite:///{tmp_path}/x.db") as store:
        assert "x.db" in repr(store)
    assert SECRET not in redact_url(f"postgresql://u:{SECRET}@h/db")
    assert SECRET not in redact_url(f"weird://u:{SECRET}@h:notaport/db?")


# -- failing and working connections, with every log record captured ----------------------

UNREACHABLE = [
    pytest.param(f"postgresql://trader:{SECRET}@127.0.0.1:1/hantu", id="port-1"),
    pytest.param(f"postgresql://trader:{SECRET}@no-such-host.invalid:5432/hantu", id="wrong-host"),
    pytest.param(f"postgresql://trader:{SECRET}@192.0.2.1:5432/hantu", id="test-net-host"),
]


@pytest.fixture
def redacting_caplog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG (SQLAlchemy's engine and pool included), through the filter."""
    from storekit.logging import install_redaction

    install_redaction(caplog.handler)
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "storekit"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def _everything(exc: BaseException) -> str:
    """The exception as a user can see it: str, repr, the formatted chain, and the
    str/repr of every exception in its chain (``.orig``, ``__cause__``, ``__context__``)."""
    parts = ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    seen = set()
    todo: List[Optional[BaseException]] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [str(e), repr(e), repr(getattr(e, "args", ""))]
        todo += [e.__cause__, e.__context__, getattr(e, "orig", None)]
    return "\n".join(parts)


@pytest.mark.parametrize("url", UNREACHABLE)
def test_unreachable_postgresql_leaks_the_password_nowhere(
    url: str, redacting_caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("app.sync")
    with pytest.raises(BackendUnavailableError) as info:
        try:
            open_store(url, options={"connect_timeout": 2})
        except BackendUnavailableError:
            log.error("cannot open the store at %s", url, exc_info=True)  # the application's habit
            raise
    assert SECRET not in _everything(info.value)
    assert SECRET not in redacting_caplog.text
    assert "Traceback" in redacting_caplog.text
    assert "trader:***@" in redacting_caplog.text
    for record in redacting_caplog.records:
        assert SECRET not in record.getMessage()


def test_reachable_postgresql_with_a_password_leaks_it_nowhere(
    pg_url: str, redacting_caplog: pytest.LogCaptureFixture
) -> None:
    from storekit import IntegrityError
    from storekit.records import NotificationStats

    url = sa.engine.make_url(pg_url).set(password=SECRET).render_as_string(hide_password=False)
    assert SECRET in url  # trust auth accepts any password, so the store opens
    with open_store(url) as store:
        shown = [repr(store), store.url, repr(store.backend), repr(getattr(store.backend, "engine", ""))]
        assert not [s for s in shown if SECRET in s]
        record = NotificationStats(date=dt.date(2024, 1, 2), total_count=1)
        store.put(record)
        with pytest.raises(IntegrityError) as info:
            store.append([record])
        logging.getLogger("app").exception("append failed")
    assert SECRET not in _everything(info.value)
    assert SECRET not in redacting_caplog.text


def test_cli_output_hides_the_password_of_an_unreachable_store() -> None:
    from click.testing import CliRunner

    from storekit.cli import main

    url = f"postgresql://trader:{SECRET}@127.0.0.1:1/hantu"
    for args in (["doctor", "--url", url], ["doctor", "--json", "--url", url], ["schema", "upgrade", "--url", url]):
        result = CliRunner().invoke(main, args)
        output = result.output + str(result.exception or "")
        assert result.exit_code != 0, args
        assert SECRET not in output, args
        assert "trader:***@127.0.0.1:1" in output or "127.0.0.1" in output, args
