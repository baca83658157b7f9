"""``storekit doctor``: each check against a real store, and an exit code that says
whether the store is healthy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from storekit import hookimpl, open_store
from storekit.cli import main
from storekit.registry import reset_registry
from storekit.schema import downgrade
from storekit.schema._connect import sql_backend

SECRET = "d0ctor-Secret"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    yield request.getfixturevalue("pg_schema_url")


def _doctor(*args: str) -> tuple[int, Dict[str, Any]]:
    result = CliRunner().invoke(main, ["doctor", "--json", "--fallback", "none", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _status(payload: Dict[str, Any]) -> Dict[str, str]:
    return {c["name"]: c["status"] for c in payload["checks"]}


def test_a_healthy_store_exits_0_with_every_check_ok(fresh_url: str) -> None:
    open_store(fresh_url).close()
    code, payload = _doctor("--url", fresh_url)
    assert code == 0 and payload["healthy"] is True
    assert _status(payload) == {
        "plugins": "ok",
        "connection": "ok",
        "schema version": "ok",
        "tables": "ok",
        "indexes": "ok",
        "outbox": "skip",
    }


def test_the_human_output_lists_every_check(fresh_url: str) -> None:
    open_store(fresh_url).close()
    result = CliRunner().invoke(main, ["doctor", "--url", fresh_url, "--fallback", "none"])
    assert result.exit_code == 0
    for name in ("plugins", "connection", "schema version", "tables", "indexes", "outbox"):
        assert f"] {name}: " in result.output
    assert result.output.rstrip().endswith("healthy")


@pytest.mark.parametrize(
    "host",
    [pytest.param("127.0.0.1:1", id="port-1"), pytest.param("no-such-host.invalid:5432", id="wrong-host")],
)
def test_an_unreachable_database_fails_the_connection_check_within_the_timeout(host: str) -> None:
    url = f"postgresql://trader:{SECRET}@{host}/hantu"
    result = CliRunner().invoke(main, ["doctor", "--json", "--fallback", "none", "--timeout", "2", "--url", url])
    assert result.exit_code == 1
    assert SECRET not in result.output
    payload = json.loads(result.output)
    assert payload["healthy"] is False
    assert payload["url"] == f"postgresql://trader:***@{host}/hantu"
    status = _status(payload)
    assert status["connection"] == "fail"
    assert status["schema version"] == status["indexes"] == "skip"


def test_an_older_schema_fails_and_says_what_to_run(fresh_url: str) -> None:
    open_store(fresh_url).close()
    downgrade(1, fresh_url)
    code, payload = _doctor("--url", fresh_url)
    assert code == 1
    checks = {c["name"]: c for c in payload["checks"]}
    assert checks["schema version"]["status"] == "fail"
    assert "run `storekit schema upgrade`" in checks["schema version"]["detail"]
    assert checks["indexes"]["status"] == "fail"
    assert "indicators.ix_indicators_stock_id" in checks["indexes"]["data"]["missing"]


def test_a_newer_schema_fails_and_says_to_upgrade_storekit(fresh_url: str) -> None:
    open_store(fresh_url).close()
    with sql_backend(fresh_url) as backend, backend.engine.begin() as conn:
        meta = backend._meta
        conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value="99"))
    code, payload = _doctor("--url", fresh_url)
    assert code == 1
    detail = {c["name"]: c for c in payload["checks"]}["schema version"]["detail"]
    assert "version 99" in detail and "upgrade storekit" in detail


def test_a_missing_index_fails_and_names_it(fresh_url: str) -> None:
    open_store(fresh_url).close()
    with sql_backend(fresh_url) as backend, backend.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_api_calls_endpoint_timestamp")
    code, payload = _doctor("--url", fresh_url)
    assert code == 1
    assert _status(payload)["indexes"] == "fail"
    assert {c["name"]: c for c in payload["checks"]}["indexes"]["data"]["missing"] == [
        "api_calls.ix_api_calls_endpoint_timestamp"
    ]


def test_a_store_storekit_never_wrote_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    code, payload = _doctor("--url", f"sqlite:///{tmp_path}/empty.db")
    assert code == 0
    assert _status(payload)["schema version"] == "warn"


def test_a_plugin_that_fails_to_load_fails_the_plugins_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        @hookimpl
        def storekit_register_backends(self, register: Any) -> None:
            raise RuntimeError("boom: missing dependency")

    monkeypatch.delenv("STOREKIT_STRICT_PLUGINS", raising=False)
    reset_registry([("broken-backend", Broken())])
    try:
        url = f"sqlite:///{tmp_path}/s.db"
        open_store(url).close()
        code, payload = _doctor("--url", url)
    finally:
        monkeypatch.undo()  # strict loading back on before the registry is rebuilt
        reset_registry()
    assert code == 1
    plugins = {c["name"]: c for c in payload["checks"]}["plugins"]
    assert plugins["status"] == "fail"
    assert plugins["data"]["failed"] == ["broken-backend"]
    assert "boom: missing dependency" in plugins["detail"]


def test_writes_waiting_in_the_fallback_outbox_are_reported(tmp_path: Path) -> None:
    from storekit.fallback import OutboxCounts, outbox_counts
    from storekit.records import Stock

    primary = f"postgresql://trader:{SECRET}@127.0.0.1:1/hantu"  # down: writes go to the fallback
    fallback = f"sqlite:///{tmp_path}/fallback.db"
    assert outbox_counts(fallback) is None  # no outbox there yet
    with open_store(primary, fallback=fallback, options={"connect_timeout": 1}) as store:
        store.put(Stock(id=1, code="005930", name="삼성전자", market="KOSPI"))
        store.put(Stock(id=2, code="000660", name="SK하이닉스", market="KOSPI"))
    assert outbox_counts(fallback) == OutboxCounts(pending=2, conflicts=0)

    result = CliRunner().invoke(main, ["doctor", "--json", "--url", fallback, "--fallback", fallback])
    outbox = {c["name"]: c for c in json.loads(result.output)["checks"]}["outbox"]
    assert outbox["status"] == "warn"
    assert outbox["data"]["pending"] == 2
    assert SECRET not in result.output


def test_a_bad_url_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["doctor", "--url", "not a url"])
    assert result.exit_code == 2
