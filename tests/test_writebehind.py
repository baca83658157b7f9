"""Write-behind (storekit.writebehind) on both backends: the caller does not wait for the
database, the queue is bounded and says so with a typed error, batches are flushed on
demand, on close and at interpreter exit, nothing is dropped silently, and a database
that fails under it is covered by the fallback."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from storekit import QueueFullError, Store, UsageError, open_store
from storekit.records import ApiCall, Price
from storekit.writebehind import WriteBehind

sys.path.insert(0, str(Path(__file__).parent))
from _fallback_proxy import Proxy

NOW = dt.datetime(2026, 1, 10, 0, 15, 2, tzinfo=dt.timezone.utc)


def call(i: int) -> ApiCall:
    return ApiCall(id=i, timestamp=NOW, endpoint="/quotes", method="GET", response_time=12.5, success=True)


@contextlib.contextmanager
def database_locked(store: Store) -> Iterator[None]:
    """Hold a lock that makes every write to ``api_calls``/``prices`` wait, from outside the store."""
    backend = store.backend
    if backend.name == "sqlite":
        conn = sqlite3.connect(backend.url.database, isolation_level=None)  # type: ignore[attr-defined]
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    url = backend.url.difference_update_query(["schema"]).set(drivername="postgresql+psycopg2")  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    schema = backend.facts.schema  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn, conn.begin() as txn:
            conn.execute(sa.text(f'LOCK TABLE "{schema}".api_calls, "{schema}".prices IN ACCESS EXCLUSIVE MODE'))
            yield
            txn.rollback()
    finally:
        engine.dispose()


def test_submit_returns_while_the_database_is_locked_and_flush_writes(storekit_store: Store) -> None:
    queue = WriteBehind(storekit_store, batch_size=10)
    try:
        with database_locked(storekit_store):
            for i in range(1, 26):
                queue.submit(call(i))  # returns although no write can happen now
            assert queue.stats.queued == 25
            assert queue.stats.flushed == 0
        queue.flush()
        stats = queue.stats
        assert (stats.queued, stats.flushed, stats.failed, stats.pending) == (25, 25, 0, 0)
        assert storekit_store.count(ApiCall) == 25
        assert storekit_store.get(ApiCall, 7) == call(7)
    finally:
        queue.close()


def test_a_full_queue_makes_the_caller_wait_then_raises_queue_full_error(storekit_store: Store) -> None:
    queue = WriteBehind(storekit_store, max_queued=3, batch_size=2, put_timeout=0.2)
    try:
        with database_locked(storekit_store):
            accepted = 0
            with pytest.raises(QueueFullError) as info:
                for i in range(1, 100):
                    queue.submit(call(i))
                    accepted += 1
            assert info.value.pending == 3
            assert queue.stats.queued == accepted
        queue.flush()
        assert queue.stats.flushed == accepted
        assert storekit_store.count(ApiCall) == accepted  # everything accepted was written
    finally:
        queue.close()


def test_a_record_refused_for_good_is_counted_logged_and_kept_and_the_rest_is_written(
    storekit_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="storekit.writebehind")
    dangling = Price(
        stock_id=999_999, date=dt.date(2026, 1, 9), open_price=1, high_price=1, low_price=1, close_price=1, volume=1
    )
    with WriteBehind(storekit_store) as queue:
        queue.submit(call(1))
        queue.submit(dangling)
        queue.submit(call(2))
        queue.flush()
        stats = queue.stats
        assert (stats.queued, stats.flushed, stats.failed, stats.pending) == (3, 2, 1, 0)
        assert [rec for rec, _ in queue.failures] == [dangling]
    assert "Price record refused and not written" in caplog.text
    assert storekit_store.count(ApiCall) == 2


def test_a_record_already_in_the_store_is_replaced_as_put_does(storekit_store: Store) -> None:
    storekit_store.put(call(1))
    changed = ApiCall(id=1, timestamp=NOW, endpoint="/orders", method="POST", response_time=3.0)
    with WriteBehind(storekit_store) as queue:
        queue.submit(changed)
        queue.submit(call(2))
    assert storekit_store.get(ApiCall, 1) == changed
    assert storekit_store.count(ApiCall) == 2


def test_a_closed_queue_refuses_new_records(storekit_store: Store) -> None:
    queue = WriteBehind(storekit_store)
    queue.close()
    with pytest.raises(UsageError, match="closed"):
        queue.submit(call(1))


def test_bad_settings_are_a_usage_error(storekit_store: Store) -> None:
    with pytest.raises(UsageError, match="positive"):
        WriteBehind(storekit_store, batch_size=0)


def test_store_close_flushes_the_stores_queue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url)
    queue = store.write_behind(flush_interval=60)
    assert store.write_behind() is queue
    for i in range(1, 501):
        queue.submit(call(i))
    store.close()
    with open_store(url) as again:
        assert again.count(ApiCall) == 500


EXITING = """
import sys
from storekit import open_store
sys.path.insert(0, {tests!r})
from test_writebehind import call
store = open_store({url!r})
queue = store.write_behind(flush_interval=60)
for i in range(1, 2001):
    queue.submit(call(i))
print(queue.stats.flushed, flush=True)
# no close, no flush: the interpreter exits with 2000 records queued
"""


def test_records_queued_at_interpreter_exit_are_flushed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    script = EXITING.format(tests=str(Path(__file__).parent), url=url)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.split()[0]) < 2000  # some really were still queued at exit
    with open_store(url) as store:
        assert store.count(ApiCall) == 2000


def test_callers_on_many_threads_lose_nothing(storekit_store: Store) -> None:
    with WriteBehind(storekit_store, max_queued=500, batch_size=200) as queue:

        def produce(base: int) -> None:
            for i in range(base, base + 1000):
                queue.submit(call(i))

        threads = [threading.Thread(target=produce, args=(k * 10_000,)) for k in range(1, 5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        queue.flush()
        assert queue.stats.flushed == 4000
    assert storekit_store.count(ApiCall) == 4000


def test_a_database_failing_under_the_queue_is_covered_by_the_fallback(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREKIT_FALLBACK_RETRY_MAX", "0")
    schema = f"sk_wb_{uuid.uuid4().hex[:10]}"
    url = sa.engine.make_url(pg_url).update_query_dict({"schema": schema}).render_as_string(hide_password=False)
    proxy = Proxy(("127.0.0.1", 5432))
    try:
        store = open_store(proxy.url(url), fallback=f"sqlite:///{tmp_path / 'fb.db'}", options={"connect_timeout": 3})
        queue = store.write_behind(batch_size=100)
        for i in range(1, 301):
            queue.submit(call(i))
        queue.flush()
        proxy.cut()
        for i in range(301, 601):
            queue.submit(call(i))
        queue.flush()
        assert queue.stats.flushed == 600
        assert store.backend.serving == "fallback"  # type: ignore[attr-defined]
        proxy.restore()
        assert store.sync().pending == 0
        store.close()
        with open_store(url, fallback=None) as direct:
            assert sorted(c.id for c in direct.find(ApiCall)) == list(range(1, 601))
    finally:
        proxy.stop()
        engine = sa.create_engine(
            sa.engine.make_url(pg_url).difference_update_query(["schema"]).set(drivername="postgresql+psycopg2")
        )
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_reads_through_the_store_see_the_records_queued_before_them(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        queue = store.write_behind(flush_interval=60)
        queue.submit(call(1))
        assert store.get(ApiCall, 1) == call(1)
        queue.submit(call(2))
        assert store.count(ApiCall) == 2
        queue.submit(call(3))
        assert [c.id for c in store.find(ApiCall)] == [1, 2, 3]


def test_inside_a_transaction_a_submitted_record_is_part_of_it(tmp_path: Path) -> None:
    class Abort(Exception):
        pass

    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        queue = store.write_behind()
        with pytest.raises(Abort), store.transaction():
            queue.submit(call(1))
            assert store.in_transaction
            raise Abort
        assert not store.in_transaction
        assert store.count(ApiCall) == 0
        with store.transaction():
            queue.submit(call(2))
        assert store.count(ApiCall) == 1
        assert queue.stats.queued == 0


def test_a_delete_or_transaction_comes_after_the_records_queued_before_it(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        queue = store.write_behind(flush_interval=60)
        queue.submit(call(1))
        assert store.delete(ApiCall) == 1
        queue.submit(call(2))
        with store.transaction():
            assert store.delete(ApiCall) == 1
        queue.close()
        assert store.count(ApiCall) == 0


def test_record_api_call_returns_while_the_database_is_locked_and_goes_through_the_queue(
    storekit_store: Store,
) -> None:
    tracker = storekit_store.api_call_tracker
    queue = storekit_store.write_behind()
    before = queue.stats.queued
    with database_locked(storekit_store):
        tracker.record_api_call("/quote", response_time=12.5)
        tracker.record_api_call("/order", "POST", 80.0, success=False, error_message="HTTP 500")
        assert queue.stats.queued == before + 2
    assert tracker.get_endpoint_list() == ["/order", "/quote"]  # reads wait for the queue
    assert queue.stats.pending == 0
