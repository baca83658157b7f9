"""Least privilege: the schema belongs to its owner; ``storekit schema grant ROLE`` gives
an application role exactly DML, and the application's paths run as that role on the
real PostgreSQL server. Each test run creates its own role and drops it at the end."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from storekit import Agg, ConfigurationError, Eq, open_store
from storekit.cli import main
from storekit.legacy.generate import generate_legacy_dir
from storekit.migrate import migrate
from storekit.records import ApiCall, NotificationStats
from storekit.schema import grant, upgrade

pytestmark = pytest.mark.postgresql


def _admin(pg_url: str) -> sa.engine.Engine:
    url = sa.engine.make_url(pg_url).difference_update_query(["schema"]).set(drivername="postgresql+psycopg2")
    return sa.create_engine(url)


@pytest.fixture
def owner_and_app(pg_url: str) -> Iterator[Tuple[str, str, str]]:
    """(owner URL, application URL, role): a schema created by the owner (the test
    server's user) and a fresh LOGIN role that owns nothing and has no grants yet."""
    suffix = uuid.uuid4().hex[:10]
    schema, role = f"sk_grant_{suffix}", f"sk_app_{suffix}"
    owner = sa.engine.make_url(pg_url).update_query_dict({"schema": schema})
    admin = _admin(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    try:
        upgrade(owner.render_as_string(hide_password=False))  # the owner creates the schema
        app = owner.set(username=role, password=None)
        yield owner.render_as_string(hide_password=False), app.render_as_string(hide_password=False), role
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')  # grants on the database (TEMPORARY)
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


def _privileges(owner_url: str, role: str, table: str) -> set:
    schema = sa.engine.make_url(owner_url).query["schema"]
    with _admin(owner_url).connect() as conn:
        return {
            p
            for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
            if conn.execute(
                sa.text("SELECT has_table_privilege(:r, :t, :p)"), {"r": role, "t": f'"{schema}"."{table}"', "p": p}
            ).scalar_one()
        }


def test_without_a_grant_the_role_cannot_open_the_store(owner_and_app: Tuple[str, str, str]) -> None:
    _, app_url, role = owner_and_app
    with pytest.raises(ConfigurationError, match=f"role '{role}' may not use schema .*storekit schema grant ROLE"):
        open_store(app_url)


def test_grant_gives_exactly_dml_on_storekit_tables_and_read_only_meta(owner_and_app: Tuple[str, str, str]) -> None:
    owner_url, _, role = owner_and_app

    result = CliRunner().invoke(main, ["schema", "grant", role, "--url", owner_url])

    assert result.exit_code == 0, result.output
    assert f"role {role!r} may read and write" in result.output
    assert _privileges(owner_url, role, "api_calls") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert _privileges(owner_url, role, "storekit_meta") == {"SELECT"}
    schema = sa.engine.make_url(owner_url).query["schema"]
    with _admin(owner_url).connect() as conn:
        usage, create = conn.execute(
            sa.text("SELECT has_schema_privilege(:r, :s, 'USAGE'), has_schema_privilege(:r, :s, 'CREATE')"),
            {"r": role, "s": schema},
        ).one()
        owner = conn.execute(
            sa.text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ).scalar_one()
    assert (usage, create) == (True, False)
    assert owner != role


def test_grant_revokes_what_else_the_role_held(owner_and_app: Tuple[str, str, str]) -> None:
    owner_url, _, role = owner_and_app
    schema = sa.engine.make_url(owner_url).query["schema"]
    with _admin(owner_url).begin() as conn:
        conn.exec_driver_sql(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        conn.exec_driver_sql(f'GRANT CREATE ON SCHEMA "{schema}" TO "{role}"')
    grant(role, owner_url)
    assert _privileges(owner_url, role, "api_calls") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert _privileges(owner_url, role, "storekit_meta") == {"SELECT"}


def test_application_paths_run_as_the_dml_only_role(owner_and_app: Tuple[str, str, str], tmp_path: Path) -> None:
    owner_url, app_url, role = owner_and_app
    grant(role, owner_url)
    start = dt.datetime(2024, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
    calls = [
        ApiCall(
            id=i + 1,
            timestamp=start + dt.timedelta(seconds=i),
            endpoint="/uapi/domestic-stock/v1/quotations/inquire-price",
            method="GET",
            success=i % 4 != 0,
            response_time=0.05,
        )
        for i in range(250)  # >= 100 rows: upserts stage through a temporary table and COPY
    ]
    with open_store(app_url) as store:
        assert store.put_many(calls) == 250
        store.put(NotificationStats(date=dt.date(2024, 3, 4), total_count=1))
        store.increment(NotificationStats(date=dt.date(2024, 3, 4), total_count=2), "total_count")
        assert store.get(NotificationStats, dt.date(2024, 3, 4)).total_count == 3  # type: ignore[union-attr]
        assert len(list(store.find(ApiCall, Eq("success", False)))) == 63
        rows = store.aggregate(ApiCall, Agg("count"), group_by=["success"])
        assert [r["count"] for r in rows] == [63, 187]
        assert store.delete(ApiCall, Eq("success", False)) == 63
        assert store.count(ApiCall) == 187

        legacy = tmp_path / "data"
        generate_legacy_dir(legacy, "full", seed=7, rows=12)
        report = migrate(legacy, store)  # into the existing schema, as the application role
        assert report.migrated > 0


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE storekit_intruder (x int)",
        "DROP TABLE api_calls",
        "TRUNCATE api_calls",
        "ALTER TABLE api_calls ADD COLUMN x int",
        "CREATE INDEX ix_intruder ON api_calls (method)",
        "UPDATE storekit_meta SET value = '1'",
    ],
)
def test_the_dml_only_role_cannot_change_the_schema(owner_and_app: Tuple[str, str, str], ddl: str) -> None:
    owner_url, app_url, role = owner_and_app
    grant(role, owner_url)
    engine = sa.create_engine(
        sa.engine.make_url(app_url).difference_update_query(["schema"]).set(drivername="postgresql+psycopg2"),
        connect_args={"options": f"-c search_path={sa.engine.make_url(app_url).query['schema']}"},
    )
    try:
        with pytest.raises(sa.exc.ProgrammingError, match=r"must be owner|permission denied"), engine.begin() as conn:
            conn.exec_driver_sql(ddl)
    finally:
        engine.dispose()


def test_grant_refuses_a_role_that_does_not_exist_owns_the_schema_or_is_a_superuser(
    owner_and_app: Tuple[str, str, str],
) -> None:
    owner_url, _, _ = owner_and_app
    owner_user = sa.engine.make_url(owner_url).username or "postgres"
    with pytest.raises(ConfigurationError, match="no role 'sk_no_such_role'"):
        grant("sk_no_such_role", owner_url)
    with pytest.raises(ConfigurationError, match=r"superuser|owns schema"):
        grant(owner_user, owner_url)
    result = CliRunner().invoke(main, ["schema", "grant", "sk_no_such_role", "--url", owner_url])
    assert result.exit_code == 2 and "create it first" in result.output


def test_grant_on_sqlite_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "grant", "app", "--url", f"sqlite:///{tmp_path}/s.db"])
    assert result.exit_code == 2
    assert "file permissions" in result.output


def test_the_dml_only_role_can_use_a_fallback(owner_and_app: Tuple[str, str, str], tmp_path: Path) -> None:
    """The fallback's table on the primary (storekit_outbox_applied) is created by
    ``storekit schema upgrade`` and granted, so the application role needs no DDL."""
    owner_url, app_url, role = owner_and_app
    done = grant(role, owner_url)
    assert "storekit_outbox_applied" in done.tables
    with open_store(app_url, fallback=f"sqlite:///{tmp_path}/fallback.db") as store:
        store.put(NotificationStats(date=dt.date(2024, 5, 6), total_count=4))
        assert store.get(NotificationStats, dt.date(2024, 5, 6)).total_count == 4  # type: ignore[union-attr]
