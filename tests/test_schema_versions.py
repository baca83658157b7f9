"""Schema versions: recorded, checked at open, migrated by ``storekit schema upgrade``
(Alembic revisions), on a real SQLite file and the real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Dict, Iterator, Set

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from storekit import SchemaVersionError, open_store
from storekit.cli import main
from storekit.records import Stock
from storekit.schema import downgrade, inspect_schema, upgrade
from storekit.schema._connect import sql_backend
from storekit.schema._migrate import revision_of
from storekit.sql import SCHEMA_VERSION


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store location of its own for each test (these tests change schemas)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    yield request.getfixturevalue("pg_schema_url")


def _indexes(url: str) -> Dict[str, Set[str]]:
    return {table: shape["indexes"] for table, shape in _snapshot(url).items()}


def _snapshot(url: str) -> Dict[str, Dict[str, Any]]:
    """Every table's columns (name, type, nullable, default), indexes, unique constraints,
    foreign keys and primary key, as the database reports them: a migrated store must
    match a store created at the current version exactly."""
    with sql_backend(url) as backend, backend.engine.connect() as conn:
        inspector = sa.inspect(conn)
        # storekit_outbox_applied: the fallback's table, which upgrade creates and open_store
        # creates only with a fallback
        tables = [t for t in inspector.get_table_names() if t != "storekit_outbox_applied"]
        return {
            t: {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(t)
                ],
                "indexes": {str(i["name"]) for i in inspector.get_indexes(t)},
                "indexed_columns": sorted((str(i["name"]), tuple(i["column_names"])) for i in inspector.get_indexes(t)),
                "index_options": sorted(
                    (str(i["name"]), repr(i.get("column_sorting")), repr(i.get("dialect_options", {})))
                    for i in inspector.get_indexes(t)
                ),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(t)),
                "foreign_keys": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                    for f in inspector.get_foreign_keys(t)
                ),
                "primary_key": inspector.get_pk_constraint(t)["constrained_columns"],
            }
            for t in tables
        }


def _set_version(url: str, version: int) -> None:
    with sql_backend(url) as backend, backend.engine.begin() as conn:
        meta = backend._meta
        conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value=str(version)))


def test_the_head_revision_is_the_library_schema_version() -> None:
    from alembic.script import ScriptDirectory

    import storekit.schema

    script = ScriptDirectory(str(Path(storekit.schema.__file__).parent))
    assert script.get_heads() == [revision_of(SCHEMA_VERSION)]
    chain = [s.revision for s in script.walk_revisions()]
    assert chain == [revision_of(v) for v in range(SCHEMA_VERSION, 0, -1)]


def test_a_new_store_records_the_library_version(fresh_url: str) -> None:
    open_store(fresh_url).close()
    report = inspect_schema(fresh_url)
    assert report.version == SCHEMA_VERSION
    assert report.current and report.advice() == ""


def test_an_older_store_is_refused_with_the_command_to_run(fresh_url: str) -> None:
    open_store(fresh_url).close()
    downgrade(1, fresh_url)
    with pytest.raises(
        SchemaVersionError, match=rf"version 1, this library writes {SCHEMA_VERSION}: run `storekit schema upgrade`"
    ):
        open_store(fresh_url)
    assert inspect_schema(fresh_url).advice() == "run `storekit schema upgrade` as the schema's owner"


def test_upgrade_migrates_an_older_store_to_what_a_new_store_has_and_keeps_its_data(fresh_url: str) -> None:
    stock = Stock(id=7, code="005930", name="삼성전자", market="KOSPI")
    with open_store(fresh_url) as store:
        store.put(stock)
    upgrade(fresh_url)  # a current store is left alone, but for the coming months' partitions (PostgreSQL)
    created_now = _snapshot(fresh_url)
    downgrade(1, fresh_url)
    older = _indexes(fresh_url)
    assert older["indicators"] == created_now["indicators"]["indexes"] - {"ix_indicators_stock_id"}

    result = CliRunner().invoke(main, ["schema", "upgrade", "--url", fresh_url])

    assert result.exit_code == 0, result.output
    migrations = ", ".join(revision_of(v) for v in range(2, SCHEMA_VERSION + 1))
    assert f"schema version 1 -> {SCHEMA_VERSION} (migrations: {migrations})" in result.output
    assert _snapshot(fresh_url) == created_now
    with open_store(fresh_url) as store:
        assert store.get(Stock, 7) == stock
    assert inspect_schema(fresh_url).current


def test_upgrade_is_idempotent(fresh_url: str) -> None:
    first = upgrade(fresh_url)
    assert (first.before, first.after) == (None, SCHEMA_VERSION)
    again = upgrade(fresh_url)
    assert not again.changed
    result = CliRunner().invoke(main, ["schema", "upgrade", "--url", fresh_url])
    assert result.exit_code == 0 and "nothing to do" in result.output


def test_upgrade_recreates_a_declared_index_dropped_by_hand(fresh_url: str) -> None:
    open_store(fresh_url).close()
    with sql_backend(fresh_url) as backend, backend.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_api_calls_timestamp")
    assert inspect_schema(fresh_url).missing_indexes == ("api_calls.ix_api_calls_timestamp",)
    assert upgrade(fresh_url).created_indexes == ("ix_api_calls_timestamp",)
    assert inspect_schema(fresh_url).current


def test_a_newer_store_is_refused_by_open_store_and_upgrade_and_left_alone(fresh_url: str) -> None:
    open_store(fresh_url).close()
    _set_version(fresh_url, SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError, match="upgrade storekit"):
        open_store(fresh_url)

    result = CliRunner().invoke(main, ["schema", "upgrade", "--url", fresh_url])

    assert result.exit_code == 3
    assert f"version {SCHEMA_VERSION + 1}, newer than this library's {SCHEMA_VERSION}" in result.output
    assert "pip install -U storekit" in result.output
    assert inspect_schema(fresh_url).version == SCHEMA_VERSION + 1
    assert inspect_schema(fresh_url).advice().startswith("upgrade storekit")


def test_a_failing_migration_changes_nothing(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The migrations and the version record commit together or not at all."""
    from alembic.operations import Operations

    open_store(fresh_url).close()
    downgrade(1, fresh_url)
    before = _indexes(fresh_url)
    real = Operations.create_index
    calls = []

    def create_then_fail(self: Operations, *args: object, **kwargs: object) -> None:
        calls.append(args)
        real(self, *args, **kwargs)  # type: ignore[arg-type]
        if len(calls) == 3:
            raise RuntimeError("injected failure in the middle of revision 0002")

    monkeypatch.setattr(Operations, "create_index", create_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        upgrade(fresh_url)
    assert _indexes(fresh_url) == before
    assert inspect_schema(fresh_url).version == 1


def test_records_written_after_an_upgrade_use_the_new_indexes_on_delete(fresh_url: str) -> None:
    """Deleting a parent still works after the migration (foreign keys and indexes agree)."""
    from storekit import Eq
    from storekit.records import Indicator

    with open_store(fresh_url) as store:
        store.put(Stock(id=1, code="000660", name="SK하이닉스", market="KOSPI"))
    downgrade(1, fresh_url)
    upgrade(fresh_url)
    with open_store(fresh_url) as store:
        store.put(Indicator(id=1, stock_id=1, date=dt.date(2024, 1, 2), name="rsi", value=55.5))
        assert store.delete(Indicator, Eq("stock_id", 1)) == 1
        assert store.delete(Stock, Eq("id", 1)) == 1


def test_upgrade_to_3_partitions_existing_time_series_tables_and_keeps_their_rows(fresh_url: str) -> None:
    """Version 3 on PostgreSQL: api_calls and daily_strategy_returns copied into tables
    partitioned by month (SQLite: new covering indexes only); the upgraded store equals
    one created at version 3 holding the same rows, partitions included."""
    from storekit.records import ApiCall, DailyStrategyReturn

    utc = dt.timezone.utc
    calls = [
        ApiCall(
            id=i + 1,
            timestamp=dt.datetime(2025, 11, 3, tzinfo=utc) + dt.timedelta(days=7 * i),
            endpoint="/q",
            method="GET",
            response_time=float(i),
            success=i % 4 != 0,
            error_message=None if i % 4 else "timeout",
        )
        for i in range(12)
    ]
    returns = [
        DailyStrategyReturn(strategy_name="s", date=dt.date(2025, 12, 30) + dt.timedelta(days=i), daily_return=0.1 * i)
        for i in range(40)
    ]
    with open_store(fresh_url) as store:
        store.append(calls)
        store.put_many(returns)
    upgrade(fresh_url)  # as the owner would: also the partitions of the coming months
    created_now = _snapshot(fresh_url)
    partitions = _partitions(fresh_url)
    if fresh_url.startswith("postgresql"):
        names = {p.split()[0] for p in partitions}
        assert {"api_calls_p202511", "api_calls_default", "daily_strategy_returns_p202602"} <= names
    downgrade(2, fresh_url)
    if fresh_url.startswith("postgresql"):
        with sql_backend(fresh_url) as backend, backend.engine.connect() as conn:
            kinds = conn.execute(
                sa.text(
                    "SELECT relname, relkind FROM pg_class WHERE relname IN ('api_calls', 'daily_strategy_returns') "
                    "AND relnamespace = to_regnamespace(current_schema())"
                )
            ).all()
        assert sorted(kinds) == [("api_calls", "r"), ("daily_strategy_returns", "r")]
        assert not [t for t in _snapshot(fresh_url) if "_p20" in t]

    assert upgrade(fresh_url).revisions[0] == "0003"

    assert _snapshot(fresh_url) == created_now
    assert _partitions(fresh_url) == partitions
    with open_store(fresh_url) as store:
        assert list(store.find(ApiCall, order_by=["id"])) == calls
        assert list(store.find(DailyStrategyReturn, order_by=["date"])) == returns
        assert store.api_call_tracker.cleanup_old(days=0, now=calls[5].timestamp) == 5
        assert store.count(ApiCall) == 7


def _partitions(url: str) -> Set[str]:
    """The partitions of the store's tables with their bounds (none on SQLite)."""
    if not url.startswith("postgresql"):
        return set()
    with sql_backend(url) as backend, backend.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid) FROM pg_class c "
                "WHERE c.relispartition AND c.relkind = 'r' AND c.relnamespace = to_regnamespace(current_schema())"
            )
        )
        return {r[0] for r in rows}


def _rollup_shape(url: str) -> Dict[str, Any]:
    """The rollup's triggers (and trigger functions, PostgreSQL) as the database reports
    them, and its rows."""
    with sql_backend(url) as backend, backend.engine.connect() as conn:
        if url.startswith("postgresql"):
            triggers = conn.execute(
                sa.text(
                    "SELECT tgname, pg_get_triggerdef(t.oid), p.prosrc FROM pg_trigger t "
                    "JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT tgisinternal AND tgrelid = to_regclass('api_calls')"
                )
            ).all()
        else:
            triggers = conn.exec_driver_sql(
                "SELECT name, sql, '' FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'api_calls'"
            ).all()
        rows = conn.exec_driver_sql("SELECT * FROM storekit_api_calls_rollup ORDER BY 1, 2, 3, 4, 5").all()
    return {"triggers": sorted(map(tuple, triggers)), "rows": [tuple(r) for r in rows]}


def test_upgrade_to_4_builds_the_rollup_of_the_calls_a_store_holds(fresh_url: str) -> None:
    """Version 4: storekit_api_calls_rollup and its triggers, created by the upgrade as for a new
    store, with the groups of the calls stored before; the statistics stay exact after."""
    from storekit.records import ApiCall

    utc = dt.timezone.utc
    t0 = dt.datetime(2026, 1, 5, 3, 30, 7, tzinfo=utc)
    calls = [
        ApiCall(
            id=i + 1,
            timestamp=t0 + dt.timedelta(seconds=17 * i),
            endpoint=("/a", "/b")[i % 2],
            method="GET",
            response_time=float(i % 13),
            request_size=None if i % 5 == 0 else i,
            success=None if i % 11 == 0 else i % 4 != 0,
            error_message=None if i % 4 else "timeout",
        )
        for i in range(60)
    ]
    with open_store(fresh_url) as store:
        store.append(calls)
        before = store.api_call_tracker.get_api_statistics("/a", hours=1, now=t0 + dt.timedelta(minutes=20))
    created_now = _rollup_shape(fresh_url)
    assert created_now["triggers"] and created_now["rows"]
    downgrade(3, fresh_url)
    with sql_backend(fresh_url) as backend, backend.engine.connect() as conn:
        assert not sa.inspect(conn).has_table("storekit_api_calls_rollup")
    assert upgrade(fresh_url).revisions[0] == "0004"
    assert _rollup_shape(fresh_url) == created_now
    with open_store(fresh_url) as store:
        tracker = store.api_call_tracker
        assert tracker.get_api_statistics("/a", hours=1, now=t0 + dt.timedelta(minutes=20)) == before
        store.delete(ApiCall)
        assert tracker.get_api_statistics("/a", hours=1, now=t0 + dt.timedelta(minutes=20)) is None
    assert _rollup_shape(fresh_url)["rows"] == []
