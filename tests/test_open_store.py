"""open_store: URL resolution, options, and where the tables go."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from storekit import ConfigurationError, NoBackendError, open_store
from storekit.config import default_sqlite_path
from storekit.records import ScreeningHistory


def test_unknown_option_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="pool_sise"):
        open_store(f"sqlite:///{tmp_path}/a.db", options={"pool_sise": 5})


def test_unknown_scheme_is_a_no_backend_error() -> None:
    with pytest.raises(NoBackendError, match="oracle"):
        open_store("oracle://u@h/db")


def test_database_url_is_used_when_no_argument_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "from-env.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    with open_store() as store:
        assert store.backend.name == "sqlite"
    assert target.exists()


def test_the_embedded_default_is_data_storekit_db_and_its_directory_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("STOREKIT_URL", raising=False)
    monkeypatch.delenv("STOREKIT_SQLITE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_sqlite_path() == tmp_path / "data" / "storekit.db"
    with open_store() as store:
        assert store.backend.name == "sqlite"
    assert (tmp_path / "data" / "storekit.db").exists()


@pytest.mark.usefixtures("pg_url")
def test_postgresql_tables_default_to_the_storekit_schema() -> None:
    """In a database of its own (created and dropped here), so that a ``storekit`` schema
    left in the shared test database by another run or library version cannot interfere."""
    import os
    import uuid

    base = sa.engine.make_url(os.environ.get("STOREKIT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    name = f"sk_default_schema_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base.set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name)
        try:
            with open_store(url.render_as_string(hide_password=False)) as store:
                assert store.backend.facts.schema == "storekit"  # type: ignore[attr-defined]
            engine = sa.create_engine(url.set(drivername="postgresql+psycopg2"))
            try:
                with engine.connect() as conn:
                    found = conn.execute(
                        sa.text(
                            "select count(*) from information_schema.tables "
                            "where table_schema = 'storekit' and table_name = 'screening_history'"
                        )
                    ).scalar_one()
                assert found == 1
            finally:
                engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _open_and_close(url: str) -> None:
    open_store(url).close()


def test_processes_opening_the_same_fresh_postgresql_schema_at_once_all_succeed(pg_schema_url: str) -> None:
    """``CREATE SCHEMA/TABLE IF NOT EXISTS`` races between processes; schema creation is
    serialized, so none of them fails with a catalog unique violation."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(4, mp_context=context) as pool:
        results = [pool.submit(_open_and_close, pg_schema_url) for _ in range(4)]
        for done in results:
            done.result()  # re-raises a process's error
    with open_store(pg_schema_url) as store:
        assert store.backend.schema_version() is not None  # type: ignore[attr-defined]


_LEGACY_API_CALLS = (
    "CREATE TABLE api_calls (id INTEGER PRIMARY KEY, timestamp TEXT, endpoint TEXT, method TEXT, "
    "response_time REAL, status_code INTEGER, success BOOLEAN)"
)


def test_a_database_of_someone_elses_tables_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    """Such as the application's own main or api_tracking database: storekit would skip
    its tables by name and fail on their rows later (and hang triggers on them)."""
    path = tmp_path / "api_tracking.db"
    with sqlite3.connect(path) as conn:
        conn.execute(_LEGACY_API_CALLS)
    before = _sqlite_schema(path)
    with pytest.raises(ConfigurationError, match=r"not a storekit store: .*\(api_calls\) and no storekit_meta"):
        open_store(f"sqlite:///{path}")
    assert _sqlite_schema(path) == before


def test_a_postgresql_schema_of_someone_elses_tables_is_refused_and_left_unchanged(pg_schema_url: str) -> None:
    url = sa.engine.make_url(pg_schema_url)
    schema = url.query["schema"]
    engine = sa.create_engine(url.difference_update_query(["schema"]).set(drivername="postgresql+psycopg2"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(sa.text(f'SET LOCAL search_path = "{schema}"'))
            conn.execute(sa.text(_LEGACY_API_CALLS.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")))
            conn.execute(sa.text("CREATE TABLE stocks (id SERIAL PRIMARY KEY, code TEXT)"))
        with pytest.raises(ConfigurationError, match=r"\(api_calls, stocks\) and no storekit_meta"):
            open_store(pg_schema_url)
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s ORDER BY 1"),
                {"s": schema},
            ).scalars().all()
            triggers = conn.execute(
                sa.text("SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = :s"), {"s": schema}
            ).scalar_one()
        assert (tables, triggers) == (["api_calls", "stocks"], 0)
    finally:
        engine.dispose()


def test_a_storekit_store_with_extra_tables_of_its_owner_still_opens(tmp_path: Path) -> None:
    """The check is for a store storekit never wrote; other tables beside storekit's are fine."""
    path = tmp_path / "store.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    with open_store(f"sqlite:///{path}") as store:
        assert store.backend.schema_version() is not None  # type: ignore[attr-defined]


def _sqlite_schema(path: Path) -> list:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_relative_and_absolute_urls_of_one_file_share_one_engine_that_survives_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///data/x.db") as relative, open_store(f"sqlite:///{tmp_path}/data/x.db") as absolute:
        assert relative.backend.engine is absolute.backend.engine  # type: ignore[attr-defined]
        monkeypatch.chdir(tmp_path / "elsewhere")
        relative.backend.engine.dispose()  # type: ignore[attr-defined]  # the next connection is a new one
        relative.put(ScreeningHistory(stock_code="005930", stock_name="삼성전자", screening_date=dt.date(2026, 1, 10)))
        assert absolute.count(ScreeningHistory) == 1
    assert not (tmp_path / "elsewhere" / "data").exists()
