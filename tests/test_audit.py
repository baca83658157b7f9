"""Audit logging (issue 7, item 3): the ``storekit_audit`` hook receives every committed
change, and the built-in ``audit-table`` plugin writes it to ``storekit_audit``; off by
default, one setting turns it on. On a real SQLite file and the real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterator, List, Sequence

import pytest

from storekit import ConfigurationError, Store, hookimpl, open_store
from storekit.audit import AuditEvent
from storekit.query import Eq, Range
from storekit.records import AuditEntry, NotificationHistory, NotificationStats
from storekit.registry import Registry

DAY = dt.date(2024, 3, 4)
UTC = dt.timezone.utc


class Recorder:
    """A third-party audit plugin: keeps every delivery."""

    def __init__(self) -> None:
        self.deliveries: List[List[AuditEvent]] = []

    @hookimpl
    def storekit_audit(self, events: Sequence[AuditEvent], store: Store) -> None:
        assert not store.in_transaction  # delivered after the commit
        self.deliveries.append(list(events))

    @property
    def events(self) -> List[AuditEvent]:
        return [e for batch in self.deliveries for e in batch]


class Failing:
    @hookimpl
    def storekit_audit(self, events: Sequence[AuditEvent], store: Store) -> None:
        raise RuntimeError("audit sink down")


def _registry(*plugins: Any) -> Registry:
    registry = Registry(strict=True)
    registry.load_entry_points()
    for i, plugin in enumerate(plugins):
        registry.register_plugin(plugin, name=f"test-audit-{i}")
    return registry


def _stats(day: dt.date = DAY, total: int = 1) -> NotificationStats:
    return NotificationStats(date=day, total_count=total, updated_at=dt.datetime(2024, 3, 4, 9, tzinfo=UTC))


def _entries(store: Store) -> List[AuditEntry]:
    return list(store.find(AuditEntry, order_by=["at", "id"]))


@pytest.fixture
def clean_url(storekit_url: str) -> Iterator[str]:
    """The backend's store with no notification stats, notifications or audit entries."""
    with open_store(storekit_url, fallback=None, audit=False) as store:
        for record_type in (AuditEntry, NotificationStats, NotificationHistory):
            store.delete(record_type)
    yield storekit_url


def test_storekit_audit_receives_every_committed_change_with_operation_key_values_and_time(clean_url: str) -> None:
    recorder = Recorder()
    before = dt.datetime.now(UTC)
    with open_store(clean_url, fallback=None, audit=True, registry=_registry(recorder)) as store:
        store.put(_stats())
        store.put_many([_stats(DAY + dt.timedelta(days=1)), _stats(DAY + dt.timedelta(days=2))])
        store.append([_stats(DAY + dt.timedelta(days=3))])
        store.increment(_stats(total=5), "total_count", replace=["updated_at"])
        deleted = store.delete(NotificationStats, Range("date", ge=DAY + dt.timedelta(days=2)))

    assert deleted == 2
    ops = [(e.method, e.operation, e.key) for e in recorder.events]
    assert ops == [
        ("put", "upsert", (DAY,)),
        ("put_many", "upsert", (DAY + dt.timedelta(days=1),)),
        ("put_many", "upsert", (DAY + dt.timedelta(days=2),)),
        ("append", "create", (DAY + dt.timedelta(days=3),)),
        ("increment", "increment", (DAY,)),
        ("delete", "delete", (DAY + dt.timedelta(days=2),)),
        ("delete", "delete", (DAY + dt.timedelta(days=3),)),
    ]
    assert [len(batch) for batch in recorder.deliveries] == [1, 2, 1, 1, 2]
    increment = recorder.events[4]
    assert increment.record == _stats(total=5)
    assert (increment.incremented, increment.replaced) == (("total_count",), ("updated_at",))
    assert recorder.events[5].record == _stats(DAY + dt.timedelta(days=2))  # the deleted record, as read
    for event in recorder.events:
        assert event.record_type is NotificationStats and event.table == "notification_stats"
        assert event.caller is None
        assert event.at.utcoffset() == dt.timedelta(0) and before <= event.at <= dt.datetime.now(UTC)


def test_a_rolled_back_transaction_audits_nothing(clean_url: str) -> None:
    recorder = Recorder()
    with open_store(clean_url, fallback=None, audit=True, registry=_registry(recorder)) as store:
        with pytest.raises(RuntimeError, match="changed my mind"), store.transaction():
            store.put(_stats())
            store.delete(NotificationStats)
            store.append([_stats(DAY + dt.timedelta(days=1))])
            raise RuntimeError("changed my mind")

        assert recorder.deliveries == []
        assert _entries(store) == []
        assert store.count(NotificationStats) == 0


def test_a_committed_transaction_is_delivered_once_after_it_commits(clean_url: str) -> None:
    recorder = Recorder()
    with open_store(clean_url, fallback=None, audit=True, registry=_registry(recorder)) as store:
        with store.transaction():
            store.put(_stats())
            with store.transaction():  # nested: part of the outer one
                store.increment(_stats(total=2), "total_count")
            assert recorder.deliveries == []
        assert [[e.operation for e in batch] for batch in recorder.deliveries] == [["upsert", "increment"]]
        assert len({e.at for e in recorder.events}) == 1  # stamped with the commit


def test_auditing_is_off_by_default_and_calls_no_hook(clean_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STOREKIT_AUDIT", raising=False)
    recorder = Recorder()
    with open_store(clean_url, fallback=None, registry=_registry(recorder)) as store:
        store.put(_stats())
        store.delete(NotificationStats)
        assert store._auditor is None
        assert recorder.deliveries == [] and _entries(store) == []


@pytest.mark.parametrize("how", ["environment", "option"], ids=["STOREKIT_AUDIT=1", "options={'audit': True}"])
def test_one_setting_turns_auditing_on(clean_url: str, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.delenv("STOREKIT_AUDIT", raising=False)
    options = {}
    if how == "environment":
        monkeypatch.setenv("STOREKIT_AUDIT", "1")
    else:
        options["audit"] = True
    with open_store(clean_url, fallback=None, options=options) as store:
        store.put(_stats())
        assert [e.operation for e in _entries(store)] == ["upsert"]


def test_an_explicit_argument_wins_over_the_environment(clean_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOREKIT_AUDIT", "1")
    with open_store(clean_url, fallback=None, audit=False) as store:
        store.put(_stats())
        assert _entries(store) == []


@pytest.mark.parametrize("value", ["maybe", 2])
def test_an_invalid_audit_setting_is_a_configuration_error(clean_url: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match="audit setting"):
        open_store(clean_url, fallback=None, options={"audit": value})


def test_the_audit_table_plugin_is_loaded_through_the_entry_point_like_a_third_party() -> None:
    registry = _registry()
    plugins = {p.name: p for p in registry.plugins}
    assert plugins["audit-table"].loaded and plugins["audit-table"].source.startswith("storekit ")
    assert registry.has_hook_implementations("storekit_audit")


def test_auditing_on_without_an_implementation_is_refused(clean_url: str) -> None:
    import storekit_postgresql
    import storekit_sqlite

    registry = Registry(strict=True)
    registry.register_plugin(storekit_sqlite, name="sqlite")
    registry.register_plugin(storekit_postgresql, name="postgresql")
    with pytest.raises(ConfigurationError, match="no plugin implements storekit_audit"):
        open_store(clean_url, fallback=None, audit=True, registry=registry)


def test_the_audit_table_names_the_domain_store_method_and_the_values(clean_url: str) -> None:
    with open_store(clean_url, fallback=None, audit=True) as store:
        history_id = store.notification_history.record_notification(
            "a-1", "trade", "INFO", "체결", "msg", "telegram", "sent", response_data={"ok": 1.5}
        )
        entries = _entries(store)

    assert [(e.table_name, e.operation, e.method) for e in entries] == [
        ("notification_history", "create", "append"),
        ("notification_stats", "increment", "increment"),
    ]
    assert {e.caller for e in entries} == {"notification_history.record_notification"}
    history, stats = entries
    assert history.record_key == [history_id]
    assert history.record_values is not None
    assert history.record_values["title"] == "체결" and history.record_values["response_data"] == {"ok": 1.5}
    assert isinstance(history.record_values["created_at"], str)  # ISO 8601 in the JSON form
    assert stats.incremented == [
        "total_count",
        "sent_count",
        "failed_count",
        "filtered_count",
        "telegram_count",
        "email_count",
    ]
    assert entries[0].at == entries[1].at  # one transaction


def test_a_delete_by_filter_audits_each_deleted_key(clean_url: str) -> None:
    with open_store(clean_url, fallback=None, audit=False) as store:
        store.put_many([_stats(DAY + dt.timedelta(days=i)) for i in range(5)])
    with open_store(clean_url, fallback=None, audit=True) as store:
        assert store.delete(NotificationStats, Range("date", ge=DAY + dt.timedelta(days=3))) == 2
        assert store.delete(NotificationStats, Eq("date", DAY + dt.timedelta(days=30))) == 0
        entries = _entries(store)
    assert sorted(e.record_key[0] for e in entries) == ["2024-03-07", "2024-03-08"]
    assert {(e.operation, e.table_name) for e in entries} == {("delete", "notification_stats")}


def test_deleting_audit_entries_is_itself_audited(clean_url: str) -> None:
    with open_store(clean_url, fallback=None, audit=True) as store:
        store.put(_stats())
        first = _entries(store)
        store.delete(AuditEntry, Eq("id", first[0].id))
        (entry,) = _entries(store)
    assert (entry.table_name, entry.operation, entry.record_key) == ("storekit_audit", "delete", [first[0].id])


def test_a_failing_audit_hook_is_logged_and_the_write_stands(clean_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with open_store(clean_url, fallback=None, audit=True, registry=_registry(Failing())) as store:
        with caplog.at_level(logging.ERROR, logger="storekit.audit"):
            store.put(_stats())
        assert store.get(NotificationStats, DAY) == _stats()
        assert [e.operation for e in _entries(store)] == ["upsert"]  # the other plugins still ran
    (failure,) = [r for r in caplog.records if r.name == "storekit.audit"]
    assert "audit plugin 'test-audit-0' failed on 1 committed change(s)" in failure.getMessage()
    assert failure.exc_info is not None and "audit sink down" in str(failure.exc_info[1])


def test_writes_of_the_write_behind_queue_are_audited_when_its_thread_writes_them(clean_url: str) -> None:
    recorder = Recorder()
    with open_store(clean_url, fallback=None, audit=True, registry=_registry(recorder)) as store:
        queue = store.write_behind()
        queue.submit(_stats())
        queue.submit(_stats(DAY + dt.timedelta(days=1)))
        queue.flush()
        assert sorted(e.key for e in recorder.events) == [(DAY,), (DAY + dt.timedelta(days=1),)]
        assert {(e.method, e.operation, e.caller) for e in recorder.events} == {("append", "create", None)}


def test_the_argument_wins_over_the_audit_option_which_never_reaches_the_backend(clean_url: str) -> None:
    with open_store(clean_url, fallback=None, audit=False, options={"audit": True}) as store:
        store.put(_stats())
        assert store._auditor is None and _entries(store) == []
