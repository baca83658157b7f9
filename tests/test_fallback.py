"""The fallback store (storekit.fallback): configuration, routing, the outbox, replay
and the conflict rule, on the real PostgreSQL server behind a TCP proxy the tests cut
(tests/_fallback_proxy.py); the server itself is never stopped."""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import storekit
from storekit import BackendUnavailableError, ConfigurationError, Eq, open_store
from storekit.backend import Backend
from storekit.fallback import FallbackBackend, default_fallback_path, resolve_fallback
from storekit.fallback._outbox import Op, decode_op, encode_op
from storekit.records import ApiCall, NotificationStats, all_record_types, spec_of
from storekit.testing import records, same_record

sys.path.insert(0, str(Path(__file__).parent))
from _fallback_proxy import Proxy

NOW = dt.datetime(2026, 1, 10, 0, 15, 2, 123456, tzinfo=dt.timezone.utc)


def call(i: int, endpoint: str = "/quotes") -> ApiCall:
    return ApiCall(id=i, timestamp=NOW, endpoint=endpoint, method="GET", response_time=float(i))


def stats(total: int) -> NotificationStats:
    return NotificationStats(date=dt.date(2026, 1, 10), total_count=total)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def fallback_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fallback.db'}"


@pytest.fixture
def open_fb(
    proxy: Proxy, pg_schema_url: str, fallback_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., storekit.Store]]:
    """Open stores on the proxied primary with the fallback file; all closed at the end.
    The background replay is off (``STOREKIT_FALLBACK_RETRY_MAX=0``) unless a test turns
    it on, so that what each ``sync()`` reports is deterministic."""
    monkeypatch.setenv("STOREKIT_FALLBACK_RETRY_MAX", "0")
    opened: List[storekit.Store] = []

    def make(**kw: Any) -> storekit.Store:
        kw.setdefault("options", {"connect_timeout": 3})
        store = open_store(proxy.url(pg_schema_url), fallback=fallback_url, **kw)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def direct(pg_schema_url: str) -> Iterator[storekit.Store]:
    """The same PostgreSQL schema, straight (no proxy, no fallback): what the server holds."""
    with open_store(pg_schema_url, fallback=None) as store:
        yield store


def fb_backend(store: storekit.Store) -> FallbackBackend:
    assert isinstance(store.backend, FallbackBackend)
    return store.backend


def outbox_rows(fallback_url: str) -> List[Tuple[Any, ...]]:
    path = sa.engine.make_url(fallback_url).database or ""
    with sqlite3.connect(path) as conn:
        return list(conn.execute("select op, record_table from storekit_outbox order by seq"))


# -- configuration ---------------------------------------------------------------------------


def test_without_a_fallback_setting_open_store_opens_the_plain_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOREKIT_FALLBACK", raising=False)
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        assert not isinstance(store.backend, FallbackBackend)
        assert store.served_by == "primary"
        report = store.sync()
        assert (report.replayed, report.pending, report.serving) == (0, 0, "primary")


def test_a_sqlite_primary_gets_no_default_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREKIT_FALLBACK_PATH", str(tmp_path / "fb.db"))
    with open_store(f"sqlite:///{tmp_path / 's.db'}", fallback="default") as store:
        assert not isinstance(store.backend, FallbackBackend)
    assert not (tmp_path / "fb.db").exists()


def test_an_explicit_fallback_that_does_not_rank_below_the_primary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="must rank below the primary"):
        open_store(f"sqlite:///{tmp_path / 's.db'}", fallback=f"sqlite:///{tmp_path / 'f.db'}")


def test_fallback_resolution_from_the_argument_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOREKIT_FALLBACK", raising=False)
    monkeypatch.setenv("STOREKIT_FALLBACK_PATH", str(tmp_path / "fb.db"))
    assert default_fallback_path() == tmp_path / "fb.db"
    assert resolve_fallback() is None
    assert resolve_fallback(None) is None
    assert resolve_fallback("default") == f"sqlite:///{tmp_path / 'fb.db'}"
    assert resolve_fallback("sqlite:///x.db") == "sqlite:///x.db"
    monkeypatch.setenv("STOREKIT_FALLBACK", "default")
    assert resolve_fallback() == f"sqlite:///{tmp_path / 'fb.db'}"
    monkeypatch.setenv("STOREKIT_FALLBACK", "none")
    assert resolve_fallback() is None
    with pytest.raises(ConfigurationError, match="not a fallback URL"):
        resolve_fallback("::nope::")


def test_storekit_fallback_default_puts_the_default_file_behind_postgresql(
    pg_schema_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREKIT_FALLBACK", "default")
    monkeypatch.setenv("STOREKIT_FALLBACK_PATH", str(tmp_path / "fb.db"))
    with open_store(pg_schema_url) as store:
        backend = fb_backend(store)
        assert backend.primary.name == "postgresql"
        assert backend.fallback.name == "sqlite"
        assert backend.serving == "primary"
        assert store.backend.name == "postgresql"
        # extras are the primary's
        assert store.backend.facts.schema == sa.engine.make_url(pg_schema_url).query["schema"]
    assert (tmp_path / "fb.db").exists()


def test_every_backend_method_is_defined_by_the_fallback_itself() -> None:
    """No contract method reaches a side through __getattr__, so none escapes the outbox:
    this fails when the contract grows until the fallback handles the new method."""
    members = [
        name
        for name, value in inspect.getmembers(Backend)
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    ]
    assert "increment" in members
    missing = [name for name in members if name not in vars(FallbackBackend)]
    assert missing == []


# -- routing and replay ---------------------------------------------------------------------


def test_an_unreachable_primary_at_open_sends_writes_to_the_fallback_and_sync_replays_them(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store, fallback_url: str
) -> None:
    proxy.cut()
    store = open_fb()
    assert fb_backend(store).serving == "fallback"
    store.put_many([call(1), call(2)])
    assert store.served_by == "fallback"
    assert [op for op, _ in outbox_rows(fallback_url)] == ["upsert"]
    with pytest.raises(BackendUnavailableError):
        store.sync()
    proxy.restore()
    report = store.sync()
    assert (report.replayed, report.pending, report.conflicts, report.serving) == (1, 0, 0, "primary")
    assert sorted(c.id for c in direct.find(ApiCall)) == [1, 2]
    assert outbox_rows(fallback_url) == []
    assert store.get(ApiCall, 1) == call(1)
    assert store.served_by == "primary"


def test_reads_report_the_side_that_served_them(proxy: Proxy, open_fb: Callable[..., storekit.Store]) -> None:
    store = open_fb()
    store.put(call(1))
    assert store.get(ApiCall, 1) == call(1)
    assert store.served_by == "primary"
    proxy.cut()
    assert store.get(ApiCall, 1) is None  # the fallback holds only the outage's writes
    assert store.served_by == "fallback"
    store.put(call(2))
    assert [c.id for c in store.find(ApiCall)] == [2]
    assert store.served_by == "fallback"
    assert store.count(ApiCall) == 1


def test_a_failure_mid_run_moves_writes_to_the_fallback_without_losing_one(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store
) -> None:
    store = open_fb()
    store.put(call(1))
    proxy.cut()
    store.put(call(2))  # fails on the primary, lands on the fallback, acknowledged
    assert store.served_by == "fallback"
    proxy.restore()
    store.sync()
    assert sorted(c.id for c in direct.find(ApiCall)) == [1, 2]


def test_a_transaction_cut_midway_is_redone_whole_on_the_fallback(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store
) -> None:
    store = open_fb()
    with store.transaction():
        store.put(call(1))
        proxy.cut()
        store.put(call(2))
        assert store.served_by == "fallback"
    proxy.restore()
    store.sync()
    assert sorted(c.id for c in direct.find(ApiCall)) == [1, 2]


def test_replay_keeps_the_order_of_writes_to_one_key(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store
) -> None:
    proxy.cut()
    store = open_fb()
    for endpoint in ("/a", "/b", "/c"):
        store.put(call(7, endpoint))
    store.delete(ApiCall, Eq("id", 8))
    store.put(call(8, "/x"))
    store.delete(ApiCall, Eq("endpoint", "/x"))
    proxy.restore()
    assert store.sync().replayed == 6
    assert [(c.id, c.endpoint) for c in direct.find(ApiCall)] == [(7, "/c")]


def test_increments_made_during_an_outage_are_applied_exactly_once(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store
) -> None:
    store = open_fb()
    store.increment(stats(1), "total_count")
    proxy.cut()
    for _ in range(3):
        store.increment(stats(1), "total_count")
    store.increment(attrs.evolve(stats(1), sent_count=7), "total_count", replace=["sent_count"])
    proxy.restore()
    store.sync()
    found = direct.get(NotificationStats, dt.date(2026, 1, 10))
    assert found is not None and (found.total_count, found.sent_count) == (5, 7)


def _snapshot(fallback_url: str, target: Path) -> None:
    source = sqlite3.connect(sa.engine.make_url(fallback_url).database or "")
    copy = sqlite3.connect(str(target))
    source.backup(copy)
    source.close()
    copy.close()


def _restore_snapshot(snapshot: Path, fallback_url: str) -> None:
    source = sqlite3.connect(str(snapshot))
    target = sqlite3.connect(sa.engine.make_url(fallback_url).database or "")
    source.backup(target)
    source.close()
    target.close()


def test_a_replay_repeated_after_a_lost_acknowledgement_applies_nothing_twice(
    proxy: Proxy,
    open_fb: Callable[..., storekit.Store],
    direct: storekit.Store,
    fallback_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The crash window between the primary's commit and the outbox's delete: the same
    entries are replayed again, and the applied-op marks make that a no-op."""
    proxy.cut()
    store = open_fb(record_types=[ApiCall, NotificationStats])  # only what it writes
    store.append([call(1), call(2)])
    store.increment(stats(5), "total_count")
    store.put(call(3))
    snapshot = tmp_path / "before-replay.db"
    _snapshot(fallback_url, snapshot)
    proxy.restore()
    assert store.sync().replayed == 3
    store.close()
    _restore_snapshot(snapshot, fallback_url)  # as if the outbox delete never happened
    proxy.cut()
    again = open_fb()
    caplog.set_level(logging.INFO, logger="storekit.fallback")
    proxy.restore()
    report = again.sync()  # (or the background replay, whichever runs first)
    assert (report.conflicts, report.pending) == (0, 0)
    assert "3 outbox entr(ies) were already on the primary and were skipped" in caplog.text
    assert sorted(c.id for c in direct.find(ApiCall)) == [1, 2, 3]
    found = direct.get(NotificationStats, dt.date(2026, 1, 10))
    assert found is not None and found.total_count == 5


def test_conflict_rule_replayed_upserts_win_and_refused_appends_are_kept(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store, fallback_url: str
) -> None:
    """The same key written on both sides: an upsert replays last and wins; an append of a
    key the primary holds with other values is refused and kept, with the reason, in
    storekit_outbox_conflicts (the primary's record stays); an append the primary already
    holds identically is a replay of itself and skipped."""
    proxy.cut()
    store = open_fb()
    store.put(call(1, "/fallback"))
    store.append([call(2, "/fallback"), call(3, "/same"), call(4, "/new")])
    direct.put(call(1, "/primary"))
    direct.append([call(2, "/primary"), call(3, "/same")])
    proxy.restore()
    report = store.sync()
    assert (report.conflicts, report.conflicts_total, report.pending) == (1, 1, 0)
    by_id = {c.id: c.endpoint for c in direct.find(ApiCall)}
    assert by_id == {1: "/fallback", 2: "/primary", 3: "/same", 4: "/new"}
    path = sa.engine.make_url(fallback_url).database or ""
    with sqlite3.connect(path) as conn:
        ((op, table, payload, reason),) = conn.execute(
            "select op, record_table, payload, reason from storekit_outbox_conflicts"
        )
    assert (op, table) == ("append", "api_calls")
    assert [r["id"] for r in json.loads(payload)["records"]] == [2]
    assert "api_calls" in reason or "duplicate" in reason.lower() or "unique" in reason.lower()


def test_the_background_replay_returns_to_the_primary_by_itself(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREKIT_FALLBACK_RETRY_MAX", "0.2")
    proxy.cut()
    store = open_fb()
    store.put(call(1))
    proxy.restore()
    deadline = time.monotonic() + 60
    while fb_backend(store).serving != "primary":
        assert time.monotonic() < deadline, "the background replay never switched back"
        time.sleep(0.05)
    assert [c.id for c in direct.find(ApiCall)] == [1]
    store.put(call(2))
    assert store.served_by == "primary"


def test_writers_on_several_threads_lose_nothing_across_a_cut(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store
) -> None:
    store = open_fb()
    acked: List[int] = []
    lock = threading.Lock()
    cut_at, restore_at = threading.Event(), threading.Event()

    def writer(base: int) -> None:
        for i in range(base, base + 60):
            store.put(call(i))
            with lock:
                acked.append(i)
                if len(acked) == 40:
                    cut_at.set()
                if len(acked) == 120:
                    restore_at.set()

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(1, 4)]
    for t in threads:
        t.start()
    cut_at.wait(60)
    proxy.cut()
    restore_at.wait(60)
    proxy.restore()
    for t in threads:
        t.join(60)
    store.sync()
    assert sorted(c.id for c in direct.find(ApiCall)) == sorted(acked)
    assert len(acked) == 180


# -- the journal's encoding ---------------------------------------------------------------------


@pytest.mark.parametrize("record_type", all_record_types(), ids=lambda t: t.__name__)
@settings(max_examples=10)
@given(data=st.data())
def test_the_outbox_payload_round_trips_every_record_type_exactly(record_type: type, data: st.DataObject) -> None:
    rec = data.draw(records(record_type))
    op = Op("upsert", record_type, (rec,))
    back = decode_op("upsert", spec_of(record_type).table, encode_op(op), op.op_id)
    assert len(back.records) == 1
    assert same_record(rec, back.records[0]), (rec, back.records[0])


# -- the conformance kit, through a fallback store ----------------------------------------------

KIT_CONFTEST = """
import os
import pytest
from hypothesis import HealthCheck, settings

# fewer examples than the backends' own kit runs: this proves the routing, not the SQL
settings.register_profile("fallback", max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fallback")

@pytest.fixture(scope="session")
def storekit_url():
    os.environ["STOREKIT_FALLBACK"] = os.environ["_FB_URL"]
    return os.environ["_PRIMARY_URL"]
"""


@pytest.mark.parametrize("primary", ["reachable", "unreachable"])
def test_a_fallback_store_passes_the_conformance_kit(
    primary: str, pg_schema_url: str, tmp_path: Path, proxy: Proxy
) -> None:
    """The kit's whole suite on a fallback store: served by PostgreSQL, and served by the
    SQLite fallback with every write journaled (the primary behind a cut proxy)."""
    (tmp_path / "conftest.py").write_text(KIT_CONFTEST, encoding="utf-8")
    (tmp_path / "test_kit.py").write_text("from storekit.testing.suite import *  # noqa: F401,F403\n", encoding="utf-8")
    if primary == "unreachable":
        proxy.cut()
    env = {
        **os.environ,
        "STOREKIT_STRICT_PLUGINS": "1",
        "_FB_URL": f"sqlite:///{tmp_path / 'fallback.db'}",
        "_PRIMARY_URL": proxy.url(pg_schema_url),
        "STOREKIT_FALLBACK_RETRY_MAX": "30",
    }
    report = tmp_path / "report.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            f"--storekit-report={report}",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["backend"] == "postgresql"
    assert data["summary"]["failed"] == 0
    assert data["summary"]["passed"] > 0
    if primary == "unreachable":
        assert proxy.accepted == 0  # really served by the fallback throughout


# -- storekit sync --------------------------------------------------------------------------


def test_storekit_sync_replays_reports_and_exits_by_what_is_left(
    proxy: Proxy, open_fb: Callable[..., storekit.Store], direct: storekit.Store, fallback_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from storekit.cli import main

    proxy.cut()
    with open_fb() as store:
        store.put(call(1))
    args = [
        "sync",
        "--url",
        proxy.url(str(direct.backend.url.render_as_string(hide_password=False))),  # type: ignore[attr-defined]
        "--fallback",
        fallback_url,
        "--json",
    ]
    status = CliRunner().invoke(main, [*args, "--status"])
    assert status.exit_code == 1, status.output
    assert json.loads(status.output)["pending"] == 1
    down = CliRunner().invoke(main, args)
    assert down.exit_code == 3, down.output
    proxy.restore()
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert (report["replayed"], report["pending"], report["serving"]) == (1, 0, "primary")
    assert [c.id for c in direct.find(ApiCall)] == [1]
    text = CliRunner().invoke(main, args[:-1])
    assert text.exit_code == 0 and "Replayed 0 write(s)" in text.output
    sqlite_primary = CliRunner().invoke(main, ["sync", "--url", f"sqlite:///{tmp_path / 's.db'}"])
    assert sqlite_primary.exit_code == 2
    assert "has no fallback" in sqlite_primary.output


# -- random operations across random outages, against the reference model ----------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(1, 6), st.sampled_from(["/a", "/b"])),
        st.tuples(st.just("append"), st.just(0), st.sampled_from(["/a", "/b"])),
        st.tuples(st.just("increment"), st.integers(1, 3), st.just("")),
        st.tuples(st.just("delete id"), st.integers(1, 6), st.just("")),
        st.tuples(st.just("delete endpoint"), st.just(0), st.sampled_from(["/a", "/b"])),
        st.tuples(st.just("transaction"), st.integers(1, 6), st.sampled_from(["/a", "/b"])),
        st.tuples(st.sampled_from(["cut", "restore", "sync"]), st.just(0), st.just("")),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=20)
@given(ops=OPS)
def test_random_writes_across_random_outages_end_as_the_reference_model_says(
    ops: List[Tuple[str, int, str]], pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever the order of writes, cuts, restores and syncs, after a final sync the
    primary holds what the reference model holds: nothing lost, nothing doubled, the last
    write to each key last."""
    from storekit.testing import ReferenceBackend

    types = [ApiCall, NotificationStats]
    schema = f"sk_fbr_{uuid.uuid4().hex[:10]}"
    url = sa.engine.make_url(pg_url).update_query_dict({"schema": schema}).render_as_string(hide_password=False)
    fallback = f"sqlite:///{tmp_path_factory.mktemp('fb') / 'fallback.db'}"
    proxy = Proxy(("127.0.0.1", 5432))
    model = ReferenceBackend()
    fresh = iter(range(1000, 2000))
    old = os.environ.get("STOREKIT_FALLBACK_RETRY_MAX")
    os.environ["STOREKIT_FALLBACK_RETRY_MAX"] = "0"
    try:
        with open_store(proxy.url(url), fallback=fallback, record_types=types, options={"connect_timeout": 3}) as s:
            for op, n, endpoint in ops:
                if op == "put":
                    for side in (s.backend, model):
                        side.upsert(ApiCall, [call(n, endpoint)])
                elif op == "append":
                    i = next(fresh)
                    for side in (s.backend, model):
                        side.append(ApiCall, [call(i, endpoint)])
                elif op == "increment":
                    counted = stats(n)  # one record: its updated_at is taken by both sides
                    for side in (s.backend, model):
                        side.increment(NotificationStats, counted, ["total_count"])
                elif op == "delete id":
                    for side in (s.backend, model):
                        side.delete(ApiCall, [Eq("id", n)])
                elif op == "delete endpoint":
                    for side in (s.backend, model):
                        side.delete(ApiCall, [Eq("endpoint", endpoint)])
                elif op == "transaction":
                    counted = stats(1)
                    with s.transaction():
                        s.put(call(n, endpoint))
                        s.increment(counted, "total_count")
                    model.upsert(ApiCall, [call(n, endpoint)])
                    model.increment(NotificationStats, counted, ["total_count"])
                elif op == "cut":
                    proxy.cut()
                elif op == "restore":
                    proxy.restore()
                else:
                    with contextlib.suppress(BackendUnavailableError):
                        s.sync()
            proxy.restore()
            assert s.sync().pending == 0
        with open_store(url, fallback=None, record_types=types) as direct:
            for record_type in types:
                assert list(direct.find(record_type)) == list(model.query(storekit.Query(record_type)))
    finally:
        proxy.stop()
        if old is None:
            os.environ.pop("STOREKIT_FALLBACK_RETRY_MAX", None)
        else:
            os.environ["STOREKIT_FALLBACK_RETRY_MAX"] = old
        engine = sa.create_engine(
            sa.engine.make_url(pg_url).difference_update_query(["schema"]).set(drivername="postgresql+psycopg2")
        )
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
