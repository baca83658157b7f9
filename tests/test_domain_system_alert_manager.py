"""store.system_alert_manager on both backends: alerts saved with their daily counters,
ids unique within one second, sent/acknowledged/resolved recorded, statistics equal to a
plain Python count over the stored alerts."""

from __future__ import annotations

import datetime as dt
import enum
from typing import List, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storekit import IntegrityError, Store, UsageError
from storekit.domain.system_alert_manager import new_alert_id
from storekit.records import AlertStatistics, SystemAlert

LEVELS = ["info", "warning", "error", "critical"]


class AlertLevel(enum.Enum):  # the application's enums are passed as they are
    CRITICAL = "critical"


class AlertCategory(enum.Enum):
    API = "api"


def _clear(store: Store) -> None:
    with store.transaction():
        store.delete(SystemAlert)
        store.delete(AlertStatistics)


def test_alert_ids_stay_unique_within_one_second(storekit_store: Store) -> None:
    manager = storekit_store.system_alert_manager
    ids = {manager.create_alert("warning", "api", "slow", "m", "kis_api").alert_id for _ in range(50)}
    assert len(ids) == 50 == storekit_store.count(SystemAlert)
    assert all(i.startswith("api_kis_api_") for i in ids)
    assert new_alert_id("api", "kis_api", 1768032278.9).startswith("api_kis_api_1768032278_")


def test_create_alert_saves_the_legacy_fields_and_counts_the_day(storekit_store: Store) -> None:
    manager = storekit_store.system_alert_manager
    alert = manager.create_alert(
        AlertLevel.CRITICAL,
        AlertCategory.API,
        "down",
        "KIS 500",
        "kis_api",
        metrics={"error_rate": 12.5, "종목": "삼성"},
        actionable=True,
    )
    stored = manager.get_alert(alert.alert_id)
    assert stored == alert
    assert (stored.level, stored.category, stored.urgent, stored.actionable, stored.sent) == (
        "critical",
        "api",
        True,
        True,
        False,
    )
    assert stored.metrics == {"error_rate": 12.5, "종목": "삼성"}
    stats = manager.get_alert_statistics(days=1)
    assert (stats["total_alerts"], stats["critical_alerts"], stats["info_alerts"]) == (1, 1, 0)


def test_sent_acknowledged_and_resolved_are_recorded_and_counted_once(storekit_store: Store) -> None:
    manager = storekit_store.system_alert_manager
    first = manager.create_alert("error", "trading", "t", "m", "engine")
    second = manager.create_alert("info", "trading", "t", "m", "engine")
    assert manager.mark_sent(first.alert_id) and manager.mark_sent(second.alert_id)
    assert not manager.mark_sent(first.alert_id)  # already sent: counted once
    assert manager.acknowledge(first.alert_id) and manager.resolve(first.alert_id)
    got = manager.get_alert(first.alert_id)
    assert got is not None and (got.sent, got.acknowledged, got.resolved) == (True, True, True)
    stats = manager.get_alert_statistics(days=1)
    assert (stats["total_alerts"], stats["error_alerts"], stats["info_alerts"]) == (2, 1, 1)  # kept
    assert (stats["sent_alerts"], stats["acknowledged_alerts"], stats["resolved_alerts"]) == (2, 1, 1)
    with pytest.raises(UsageError, match="nope"):
        manager.mark_sent("nope")


def test_saving_an_existing_alert_id_raises_and_counts_nothing(storekit_store: Store) -> None:
    manager = storekit_store.system_alert_manager
    alert = manager.create_alert("info", "system", "t", "m", "host")
    with pytest.raises(IntegrityError):
        manager.save_alert(alert)
    assert manager.get_alert_statistics(days=1)["total_alerts"] == 1


def test_recent_alerts_filter_by_level_category_and_time(storekit_store: Store) -> None:
    manager = storekit_store.system_alert_manager
    now = dt.datetime.now(dt.timezone.utc)
    for i, (level, category) in enumerate([("info", "api"), ("error", "api"), ("error", "system")]):
        manager.save_alert(
            SystemAlert(
                alert_id=f"a{i}",
                timestamp=now - dt.timedelta(hours=3 - i),
                level=level,
                category=category,
                title="t",
                message="m",
                component="c",
            )
        )
    assert [a.alert_id for a in manager.get_recent_alerts()] == ["a2", "a1", "a0"]
    assert [a.alert_id for a in manager.get_recent_alerts(level="error", category="api")] == ["a1"]
    assert [a.alert_id for a in manager.get_recent_alerts(since=now - dt.timedelta(hours=2, minutes=30))] == [
        "a2",
        "a1",
    ]
    assert [a.alert_id for a in manager.get_recent_alerts(limit=1)] == ["a2"]


@given(
    rows=st.lists(st.tuples(st.sampled_from(LEVELS), st.integers(0, 15)), max_size=30),
    days=st.integers(0, 16),
)
def test_alert_statistics_equal_a_python_count_over_the_alerts(
    storekit_session_store: Store, rows: List[Tuple[str, int]], days: int
) -> None:
    store = storekit_session_store
    _clear(store)
    noon = dt.datetime.now().replace(hour=12, minute=0, second=0, microsecond=0).astimezone()
    for i, (level, ago) in enumerate(rows):
        store.system_alert_manager.save_alert(
            SystemAlert(
                alert_id=f"x{i}",
                timestamp=noon - dt.timedelta(days=ago),
                level=level,
                category="system",
                title="t",
                message="m",
                component="c",
            )
        )
    stats = store.system_alert_manager.get_alert_statistics(days)
    window = [level for level, ago in rows if ago <= days]
    assert stats["period_days"] == days and stats["total_alerts"] == len(window)
    for level in LEVELS:
        assert stats[f"{level}_alerts"] == window.count(level)
    assert sum(d["total_alerts"] for d in stats["daily"]) == len(window)
    _clear(store)
