"""open_store: URL resolution, options, and where the tables go."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from storekit import ConfigurationError, NoBackendError, open_store
from storekit.config import default_sqlite_path


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
