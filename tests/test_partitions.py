"""Time partitions (PostgreSQL) and retention: ``api_calls`` by ``timestamp`` and
``daily_strategy_returns`` by ``date`` are range-partitioned by month on PostgreSQL and
plain tables on SQLite; every operation gives the same result on both, and retention
drops whole months on PostgreSQL where it deletes rows on SQLite."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import List, Set

import pytest
import sqlalchemy as sa

from storekit import Agg, Eq, IntegrityError, Range, Store, open_store
from storekit.records import ApiCall, DailyStrategyReturn

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def _call(i: int, at: dt.datetime, **kw: object) -> ApiCall:
    values = {"endpoint": "/quote", "method": "GET", "response_time": float(i), "success": True}
    return ApiCall(id=i, timestamp=at, **{**values, **kw})  # type: ignore[arg-type]


def _spread() -> List[ApiCall]:
    """Two calls a day from November 2025 to mid-March 2026 (five months)."""
    start = dt.datetime(2025, 11, 1, tzinfo=UTC)
    return [_call(i + 1, start + dt.timedelta(hours=12 * i)) for i in range(2 * 135)]


def _partitions(store: Store, table: str) -> Set[str]:
    with store.backend._connection(write=False) as conn:  # type: ignore[attr-defined]
        return set(store.backend.facts._partitions_of(conn, store.backend._tables[_type(table)]))  # type: ignore[attr-defined]


def _type(table: str) -> type:
    return ApiCall if table == "api_calls" else DailyStrategyReturn


def _relkind(store: Store, table: str) -> str:
    with store.backend._connection(write=False) as conn:  # type: ignore[attr-defined]
        return str(conn.scalar(sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}))


@pytest.fixture
def pg_store(pg_url: str) -> Store:
    store = open_store(pg_url)
    store.delete(ApiCall)
    store.delete(DailyStrategyReturn)
    yield store  # type: ignore[misc]
    store.close()


def test_partitioned_tables_on_postgresql_get_a_partition_per_month_when_written(pg_store: Store) -> None:
    assert _relkind(pg_store, "api_calls") == "p" and _relkind(pg_store, "daily_strategy_returns") == "p"
    pg_store.append(_spread())
    months = {"202511", "202512", "202601", "202602", "202603", "202604"}  # and the next month
    assert {f"api_calls_p{m}" for m in months} <= _partitions(pg_store, "api_calls")
    pg_store.put(DailyStrategyReturn(strategy_name="s", date=dt.date(2024, 2, 29), daily_return=1.0))
    assert {"daily_strategy_returns_p202402", "daily_strategy_returns_p202403"} <= _partitions(
        pg_store, "daily_strategy_returns"
    )


def test_a_month_boundary_is_taken_in_utc(pg_store: Store) -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    # 2026-04-01 05:00 in Seoul is 2026-03-31 20:00 UTC: the March partition
    pg_store.append([_call(1, dt.datetime(2026, 4, 1, 5, 0, tzinfo=seoul))])
    with pg_store.backend._connection(write=False) as conn:  # type: ignore[attr-defined]
        assert conn.scalar(sa.text("SELECT count(*) FROM api_calls_p202603")) == 1


def test_the_record_key_stays_unique_across_partitions(storekit_store: Store) -> None:
    store = storekit_store
    store.append([_call(1, dt.datetime(2026, 1, 5, tzinfo=UTC))])
    with pytest.raises(IntegrityError):
        store.append([_call(1, dt.datetime(2026, 3, 5, tzinfo=UTC))])
    with pytest.raises(IntegrityError):
        store.append([_call(2, NOW), _call(2, NOW - dt.timedelta(days=60))])
    assert store.count(ApiCall) == 1

    moved = _call(1, dt.datetime(2026, 3, 5, tzinfo=UTC), endpoint="/order")
    store.put(moved)
    assert store.count(ApiCall) == 1 and store.get(ApiCall, 1) == moved

    store.increment(_call(1, dt.datetime(2025, 12, 1, tzinfo=UTC), request_size=5), "request_size")
    # an increment keeps every stored field but the incremented ones: the timestamp too
    assert store.get(ApiCall, 1) == _call(1, dt.datetime(2026, 3, 5, tzinfo=UTC), endpoint="/order", request_size=5)


def test_queries_and_aggregates_span_partitions(storekit_store: Store) -> None:
    store = storekit_store
    calls = _spread()
    store.append(calls)
    assert [c.id for c in store.find(ApiCall, order_by=["-timestamp"], limit=3)] == [270, 269, 268]
    window = Range("timestamp", ge=dt.datetime(2025, 12, 20, tzinfo=UTC), lt=dt.datetime(2026, 1, 10, tzinfo=UTC))
    assert store.count(ApiCall, window) == 2 * 21
    assert store.aggregate(ApiCall, Agg("max", "response_time")) == [{"max_response_time": 270.0}]
    assert store.delete(ApiCall, Eq("id", 3)) == 1


def test_cleanup_old_deletes_the_calls_before_the_cutoff_on_every_backend(storekit_store: Store) -> None:
    store = storekit_store
    calls = _spread()
    store.append(calls)
    cutoff = NOW - dt.timedelta(days=60)  # 2026-01-14 12:00: inside January

    deleted = store.api_call_tracker.cleanup_old(days=60, now=NOW)

    assert deleted == sum(1 for c in calls if c.timestamp < cutoff)
    assert sorted(c.id for c in store.find(ApiCall)) == sorted(c.id for c in calls if c.timestamp >= cutoff)
    assert store.api_call_tracker.cleanup_old(days=60, now=NOW) == 0


def test_cleanup_old_drops_whole_months_and_deletes_rows_only_in_the_boundary_month(pg_store: Store) -> None:
    pg_store.append(_spread())

    pg_store.api_call_tracker.cleanup_old(days=60, now=NOW)

    left = _partitions(pg_store, "api_calls")
    assert not {"api_calls_p202511", "api_calls_p202512"} & left
    assert {"api_calls_p202601", "api_calls_p202602", "api_calls_p202603"} <= left
    with pg_store.backend._connection(write=False) as conn:  # type: ignore[attr-defined]
        first = conn.scalar(sa.text("SELECT min(timestamp) FROM api_calls_p202601"))
    assert first >= NOW - dt.timedelta(days=60)
    # a later write into a dropped month creates it again
    pg_store.append([_call(10_000, dt.datetime(2025, 11, 2, tzinfo=UTC))])
    assert pg_store.count(ApiCall, Range("timestamp", lt=dt.datetime(2025, 12, 1, tzinfo=UTC))) == 1


def test_retention_rolled_back_keeps_every_partition_and_row(pg_store: Store) -> None:
    pg_store.append(_spread())
    before = _partitions(pg_store, "api_calls")
    with pytest.raises(RuntimeError), pg_store.transaction():
        assert pg_store.api_call_tracker.cleanup_old(days=30, now=NOW) > 0
        raise RuntimeError("roll back")
    assert _partitions(pg_store, "api_calls") == before and pg_store.count(ApiCall) == 270
    pg_store.append([_call(10_000, dt.datetime(2025, 11, 2, tzinfo=UTC))])  # the partition is known again


def test_a_month_dropped_by_another_store_still_takes_writes(pg_url: str) -> None:
    """Each store remembers the partitions it saw; a write into a month another process
    dropped meanwhile lands in the default partition, and reads see it as any other."""
    with open_store(pg_url) as writer, open_store(pg_url) as cleaner:
        writer.delete(ApiCall)
        writer.append([_call(1, dt.datetime(2025, 6, 2, tzinfo=UTC))])
        writer.append([_call(3, dt.datetime(2025, 6, 4, tzinfo=UTC))])  # now remembered as committed
        assert cleaner.api_call_tracker.cleanup_old(days=30, now=NOW) == 2
        writer.append([_call(2, dt.datetime(2025, 6, 3, tzinfo=UTC))])
        assert [c.id for c in cleaner.find(ApiCall)] == [2]
        with writer.backend._connection(write=False) as conn:  # type: ignore[attr-defined]
            assert conn.scalar(sa.text("SELECT count(*) FROM api_calls_default")) == 1


def test_a_role_that_may_not_create_partitions_writes_into_the_default_partition_until_upgrade(
    pg_url: str,
) -> None:
    """The application's DML-only role (storekit schema grant) cannot create partitions:
    a month without one goes to the default partition; the owner's ``storekit schema
    upgrade`` moves it into its month. Retention by that role deletes row by row."""
    from storekit.schema import grant, upgrade

    owner = sa.engine.make_url(pg_url)
    schema = f"sk_part_{uuid.uuid4().hex[:10]}"
    role = f"sk_app_{uuid.uuid4().hex[:10]}"
    owner_url = owner.update_query_dict({"schema": schema}).render_as_string(hide_password=False)
    app_url = owner.set(username=role).update_query_dict({"schema": schema}).render_as_string(hide_password=False)
    admin = sa.create_engine(owner.difference_update_query(["schema"]).set(drivername="postgresql+psycopg2"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    try:
        upgrade(owner_url)
        grant(role, owner_url)
        old = [_call(i + 1, dt.datetime(2023, 5, 1 + i, tzinfo=UTC)) for i in range(3)]
        with open_store(app_url) as app:
            app.append(old)
            assert app.count(ApiCall) == 3 and _partitions(app, "api_calls") >= {"api_calls_default"}
            assert "api_calls_p202305" not in _partitions(app, "api_calls")

        upgrade(owner_url)

        with open_store(owner_url) as store, store.backend._connection(write=False) as conn:  # type: ignore[attr-defined]
            # (partitions are read through their table: the role has no grant on them)
            assert conn.scalar(sa.text("SELECT count(*) FROM api_calls_default")) == 0
            assert conn.scalar(sa.text("SELECT count(*) FROM api_calls_p202305")) == 3
        with open_store(app_url) as app:
            assert list(app.find(ApiCall, order_by=["id"])) == old
            assert app.api_call_tracker.cleanup_old(days=1, now=dt.datetime(2023, 5, 3, tzinfo=UTC)) == 1
            assert "api_calls_p202305" in _partitions(app, "api_calls")
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


def test_a_generic_delete_with_an_upper_bound_on_the_partition_field_is_retention(storekit_store: Store) -> None:
    store = storekit_store
    store.append(_spread())
    before = dt.datetime(2026, 2, 1, tzinfo=UTC)
    expected = store.count(ApiCall, Range("timestamp", le=before))
    assert store.delete(ApiCall, Range("timestamp", le=before)) == expected
    assert store.count(ApiCall, Range("timestamp", le=before)) == 0
    # other filters: row by row, the same result
    assert store.delete(ApiCall, Range("timestamp", lt=NOW), Eq("endpoint", "/none")) == 0


def test_strategy_cleanup_old_deletes_the_returns_before_the_cutoff_on_every_backend(storekit_store: Store) -> None:
    store = storekit_store
    days = [dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(120)]
    for name in ("a", "b"):
        store.put_many([DailyStrategyReturn(strategy_name=name, date=d, daily_return=0.5) for d in days])
    today = dt.date(2026, 1, 28)

    deleted = store.strategy_reporter.cleanup_old(days=45, today=today)

    cutoff = today - dt.timedelta(days=45)
    assert deleted == 2 * sum(1 for d in days if d < cutoff)
    assert min(r.date for r in store.find(DailyStrategyReturn)) == cutoff
    assert store.count(DailyStrategyReturn) == 2 * sum(1 for d in days if d >= cutoff)


def test_an_upsert_with_repeated_keys_across_write_chunks_keeps_the_last_of_each(storekit_store: Store) -> None:
    """More records than one write chunk (5,000), a key repeated with another month: the
    later record wins and no other record is lost."""
    store = storekit_store
    first = [_call(i + 1, NOW - dt.timedelta(minutes=i)) for i in range(6000)]
    again = [_call(i + 1, NOW - dt.timedelta(days=70, minutes=i), endpoint="/order") for i in range(0, 6000, 7)]
    assert store.put_many([*first, *again]) == 6000 + len(again)
    assert store.count(ApiCall) == 6000
    assert store.count(ApiCall, Eq("endpoint", "/order")) == len(again)
    assert store.get(ApiCall, 8) == again[1]
