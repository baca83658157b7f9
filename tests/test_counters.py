"""Counters without lost updates (issue 5 item 5): many threads and processes increment
``notification_stats`` and ``alert_statistics`` at once, on SQLite and PostgreSQL, and
the final counts are exact."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from typing import Callable, List

from storekit import Eq, Store, open_store
from storekit.records import AlertStatistics, NotificationHistory, NotificationStats, SystemAlert

THREADS = 4
PROCESSES = 3
EACH = 25
SPAWN_SECONDS = 5.0
"""Workers start together this long after the test starts them (a spawned process needs
about a second to import storekit); a slow start only means less overlap, never a failure."""
DAY = dt.date(2026, 1, 10)


def _ready(start_at: float) -> None:
    """Wait for the common start, so threads and processes really write at once."""
    time.sleep(max(0.0, start_at - time.time()))


def _bump(url: str, n: int, start_at: float) -> None:
    """``n`` raw increments of one counter row (a worker: thread or process)."""
    with open_store(url) as store:
        _ready(start_at)
        for _ in range(n):
            store.increment(NotificationStats(date=DAY, total_count=1, sent_count=2), "total_count", "sent_count")


def _notify(url: str, n: int, start_at: float) -> None:
    with open_store(url) as store:
        _ready(start_at)
        for i in range(n):
            status = ("sent", "failed", "filtered")[i % 3]
            store.notification_history.record_notification("a", "t", "info", "T", "m", "telegram", status)


def _alert(url: str, n: int, start_at: float) -> None:
    with open_store(url) as store:
        _ready(start_at)
        for i in range(n):
            store.system_alert_manager.create_alert(("info", "critical")[i % 2], "api", "t", "m", "kis_api")


def _run_everywhere(url: str, worker: Callable[[str, int, float], None]) -> int:
    """Run ``worker`` in THREADS threads of this process and PROCESSES spawned processes,
    all at once; return how many times it acted in all."""
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + SPAWN_SECONDS
    procs = [ctx.Process(target=worker, args=(url, EACH, start_at)) for _ in range(PROCESSES)]
    threads = [threading.Thread(target=worker, args=(url, EACH, start_at)) for _ in range(THREADS)]
    errors: List[BaseException] = []

    def guarded(t: threading.Thread) -> None:
        try:
            t.run()
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)

    runners = [threading.Thread(target=guarded, args=(t,)) for t in threads]
    for p in procs:
        p.start()
    for r in runners:
        r.start()
    for r in runners:
        r.join()
    for p in procs:
        p.join(timeout=300)
    assert not errors, errors
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    return (THREADS + PROCESSES) * EACH


def test_store_increment_loses_no_update_across_threads_and_processes(storekit_store: Store) -> None:
    total = _run_everywhere(_url(storekit_store), _bump)
    got = storekit_store.get(NotificationStats, DAY)
    assert got is not None
    assert (got.total_count, got.sent_count) == (total, 2 * total)


def test_notification_stats_lose_no_update_across_threads_and_processes(storekit_store: Store) -> None:
    total = _run_everywhere(_url(storekit_store), _notify)
    assert storekit_store.count(NotificationHistory) == total
    summary = storekit_store.notification_history.get_stats_summary(days=36500)
    per_status = {s: storekit_store.count(NotificationHistory, Eq("status", s)) for s in ("sent", "failed", "filtered")}
    assert summary["total"] == total == summary["telegram"]
    assert (summary["sent"], summary["failed"], summary["filtered"]) == (
        per_status["sent"],
        per_status["failed"],
        per_status["filtered"],
    )


def test_alert_statistics_lose_no_update_and_alert_ids_stay_unique(storekit_store: Store) -> None:
    total = _run_everywhere(_url(storekit_store), _alert)
    assert storekit_store.count(SystemAlert) == total  # same category, component and second: no overwrite
    stats = storekit_store.system_alert_manager.get_alert_statistics(days=36500)
    critical = storekit_store.count(SystemAlert, Eq("level", "critical"))
    assert (stats["total_alerts"], stats["critical_alerts"], stats["info_alerts"]) == (
        total,
        critical,
        total - critical,
    )
    rows = list(storekit_store.find(AlertStatistics))
    assert sum(r.total_alerts for r in rows) == total


# -- helpers --------------------------------------------------------------------------------


def _url(store: Store) -> str:
    """The unredacted URL of the test store (the test databases have no password)."""
    return store.url
