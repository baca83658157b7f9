"""store.notification_history on both backends: the legacy methods, timestamp (not string)
comparisons for ``since`` and ``cleanup_old``, and counters equal to a plain Python count
over the stored notifications."""

from __future__ import annotations

import datetime as dt
import json
from typing import List, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storekit import RecordValidationError, Store
from storekit.domain.notification_history import MESSAGE_LIMIT, NotificationHistoryEntry
from storekit.records import NotificationHistory, NotificationStats


def _clear(store: Store) -> None:
    with store.transaction():
        store.delete(NotificationHistory)
        store.delete(NotificationStats)


def _entry(
    created: dt.datetime, status: str = "sent", channel: str = "telegram", **kw: object
) -> NotificationHistoryEntry:
    return NotificationHistoryEntry(
        alert_id=str(kw.pop("alert_id", "a1")),
        alert_type="price",
        level="info",
        title="t",
        message="m",
        channel=channel,
        status=status,
        created_at=created,
        **kw,  # type: ignore[arg-type]
    )


def test_save_and_get_by_id_round_trip_with_the_legacy_defaults(storekit_store: Store) -> None:
    history = storekit_store.notification_history
    created = dt.datetime.now() - dt.timedelta(minutes=5)  # naive: local time, as legacy passes it
    hid = history.save(_entry(created, response_data='{"ok": true, "message_id": 7}'))
    got = history.get_by_id(hid)
    assert got is not None
    assert (got.id, got.alert_id, got.status, got.recipient, got.trace_id) == (hid, "a1", "sent", "", "")
    assert got.created_at == created.astimezone()
    assert got.sent_at is not None and got.sent_at >= got.created_at  # set because status is 'sent'
    assert got.response_data is not None and json.loads(got.response_data) == {"ok": True, "message_id": 7}
    assert history.get_by_id(hid + 1) is None
    failed = history.get_by_id(history.save(_entry(created, status="failed", error_message="blocked")))
    assert failed is not None and failed.sent_at is None and failed.error_message == "blocked"


def test_record_notification_truncates_the_message_and_counts_it(storekit_store: Store) -> None:
    history = storekit_store.notification_history
    hid = history.record_notification(
        "a9", "trade", "warning", "T", "가" * 600, "email", "filtered", response_data={"reason": "quiet hours"}
    )
    got = history.get_by_id(hid)
    assert got is not None and got.message == "가" * MESSAGE_LIMIT
    stats = history.get_stats()
    assert len(stats) == 1 and (stats[0]["total_count"], stats[0]["filtered_count"], stats[0]["email_count"]) == (
        1,
        1,
        1,
    )
    assert stats[0]["date"] == dt.date.today().isoformat()


def test_since_compares_timestamps_within_one_day(storekit_store: Store) -> None:
    """Legacy compared 'YYYY-MM-DD HH:MM:SS' with since.isoformat() ('T'): same-day filters were wrong."""
    history = storekit_store.notification_history
    day = dt.datetime.now().replace(hour=10, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    early = history.save(_entry(day))
    late = history.save(_entry(day + dt.timedelta(minutes=30)))
    found = history.get_recent(since=day + dt.timedelta(minutes=15))
    assert [e.id for e in found] == [late]
    assert [e.id for e in history.get_recent(since=day)] == [late, early]  # newest first, bound included


def test_cleanup_old_deletes_by_timestamp_and_keeps_the_counters(storekit_store: Store) -> None:
    history = storekit_store.notification_history
    now = dt.datetime.now()
    old = history.save(_entry(now - dt.timedelta(days=90, minutes=1)))
    kept = history.save(_entry(now - dt.timedelta(days=89, hours=23)))
    assert history.cleanup_old(90) == 1
    assert history.get_by_id(old) is None and history.get_by_id(kept) is not None
    assert sum(s["total_count"] for s in history.get_stats()) == 2


def test_lists_by_alert_trace_status_and_channel(storekit_store: Store) -> None:
    history = storekit_store.notification_history
    base = dt.datetime.now() - dt.timedelta(hours=1)
    a = history.save(_entry(base, alert_id="x", trace_id="t1"))
    b = history.save(_entry(base + dt.timedelta(minutes=1), alert_id="x", status="failed", channel="email"))
    c = history.save(_entry(base + dt.timedelta(minutes=2), alert_id="y", trace_id="t1", status="failed"))
    assert [e.id for e in history.get_by_alert_id("x")] == [b, a]
    assert [e.id for e in history.get_by_trace_id("t1")] == [c, a]
    assert [e.id for e in history.get_failed()] == [c, b]
    assert [e.id for e in history.get_failed(limit=1)] == [c]
    assert [e.id for e in history.get_recent(status="failed", channel="email")] == [b]
    assert [e.id for e in history.get_recent(limit=2)] == [c, b]


def test_an_invalid_entry_writes_neither_the_row_nor_the_counters(storekit_store: Store) -> None:
    with pytest.raises(RecordValidationError, match="status"):
        storekit_store.notification_history.save(_entry(dt.datetime.now(), status="queued"))
    assert storekit_store.count(NotificationHistory) == 0
    assert storekit_store.count(NotificationStats) == 0


notifications = st.lists(
    st.tuples(
        st.sampled_from(["sent", "failed", "filtered"]),
        st.sampled_from(["telegram", "email", "slack"]),
        st.integers(0, 20),  # days ago
    ),
    max_size=30,
)


@given(rows=notifications, days=st.integers(0, 21))
def test_stats_summary_equals_a_python_count_over_the_notifications(
    storekit_session_store: Store, rows: List[Tuple[str, str, int]], days: int
) -> None:
    store = storekit_session_store
    _clear(store)
    today = dt.datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
    for status, channel, ago in rows:
        store.notification_history.save(_entry(today - dt.timedelta(days=ago), status, channel))
    summary = store.notification_history.get_stats_summary(days)
    window = [(s, c) for s, c, ago in rows if ago <= days]
    total = len(window)
    sent = sum(1 for s, _ in window if s == "sent")
    assert summary == {
        "period_days": days,
        "total": total,
        "sent": sent,
        "failed": sum(1 for s, _ in window if s == "failed"),
        "filtered": sum(1 for s, _ in window if s == "filtered"),
        "telegram": sum(1 for _, c in window if c == "telegram"),
        "email": sum(1 for _, c in window if c == "email"),
        "success_rate": sent / total * 100 if total else 0.0,
    }
    per_day = store.notification_history.get_stats()
    assert [d["date"] for d in per_day] == sorted(
        {(today - dt.timedelta(days=a)).date().isoformat() for *_, a in rows}, reverse=True
    )
    assert sum(d["total_count"] for d in per_day) == len(rows)
    _clear(store)


def test_get_stats_takes_inclusive_date_bounds(storekit_store: Store) -> None:
    history = storekit_store.notification_history
    noon = dt.datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
    for ago in (0, 1, 2, 3):
        history.save(_entry(noon - dt.timedelta(days=ago)))
    day = [(noon - dt.timedelta(days=a)).date().isoformat() for a in range(4)]
    assert [s["date"] for s in history.get_stats(day[2], day[1])] == [day[1], day[2]]
    assert [s["date"] for s in history.get_stats(start_date=day[1])] == [day[0], day[1]]
    assert [s["date"] for s in history.get_stats(end_date=day[3])] == [day[3]]
