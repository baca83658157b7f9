"""store.recovery_manager on both backends: error events stored once (recovery recorded on
the same row), recovery rules by name, error statistics equal to a plain Python count."""

from __future__ import annotations

import collections
import datetime as dt
import enum
from typing import Any, Dict, List, Optional

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storekit import Store, UsageError
from storekit.domain.recovery_manager import ERROR_PATTERNS, classify_error
from storekit.records import ErrorEvent, RecoveryRule, spec_of

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


class ErrorSeverity(enum.Enum):
    HIGH = "high"
    CRITICAL = "critical"


class RecoveryAction(enum.Enum):
    RESET_CONNECTION = "reset_connection"
    RESTART_SERVICE = "restart_service"


@attrs.define
class AppRule:  # the application's RecoveryRule dataclass
    name: str
    error_pattern: str
    severity_threshold: ErrorSeverity
    recovery_actions: List[RecoveryAction]
    max_attempts: int = 3
    cooldown_seconds: int = 300
    conditions: Optional[Dict[str, Any]] = None
    enabled: bool = True


@pytest.mark.parametrize("severity", [ErrorSeverity.HIGH, ErrorSeverity.CRITICAL])
def test_a_high_or_critical_event_is_stored_once_with_its_recovery(
    storekit_store: Store, severity: ErrorSeverity
) -> None:
    manager = storekit_store.recovery_manager
    try:
        raise TimeoutError("read timed out after 30s")
    except TimeoutError as exc:
        event = manager.report_error(exc, "kis_api", severity, affected_users=3)
    assert (event.error_type, event.severity, event.recovery_attempted) == ("api_timeout", severity.value, False)
    assert event.stack_trace is not None and "TimeoutError" in event.stack_trace
    updated = manager.record_recovery(event.id, RecoveryAction.RESET_CONNECTION, True, 1.5)
    assert storekit_store.count(ErrorEvent) == 1  # legacy inserted a second row
    assert manager.get_error_event(event.id) == updated
    assert (updated.recovery_attempted, updated.recovery_action, updated.recovery_success, updated.recovery_time) == (
        True,
        "reset_connection",
        True,
        1.5,
    )
    assert (updated.message, updated.affected_users, updated.timestamp) == (event.message, 3, event.timestamp)


def test_record_recovery_of_an_unknown_event_raises_and_writes_nothing(storekit_store: Store) -> None:
    with pytest.raises(UsageError, match="42"):
        storekit_store.recovery_manager.record_recovery(42, "reset_connection", False, 0.1)
    assert storekit_store.count(ErrorEvent) == 0


def test_report_error_takes_a_string_and_explicit_details(storekit_store: Store) -> None:
    manager = storekit_store.recovery_manager
    event = manager.report_error(
        "disk almost full", "host", "low", error_type="system_disk_full", system_metrics={"disk_percent": 96.0}
    )
    assert (event.error_type, event.severity, event.stack_trace, event.system_metrics) == (
        "system_disk_full",
        "low",
        None,
        {"disk_percent": 96.0},
    )
    assert manager.get_recent_errors() == [event]
    assert manager.get_recent_errors(component="other") == []


def test_classify_error_by_message() -> None:
    assert classify_error(TimeoutError("x")) == "api_timeout"
    assert classify_error(MemoryError()) == "memory_error"
    assert classify_error("sqlite3.OperationalError: database is locked") == "database_error"
    assert classify_error("HTTP 429 Too Many Requests") == "api_rate_limit"
    assert classify_error(PermissionError("Permission denied")) == "permission_error"
    assert classify_error("something odd") == "unknown"


def test_recovery_rules_by_name_keep_their_creation_time(storekit_store: Store) -> None:
    manager = storekit_store.recovery_manager
    rule = AppRule(
        "api_timeout_recovery",
        "timeout",
        ErrorSeverity.HIGH,
        [RecoveryAction.RESET_CONNECTION, RecoveryAction.RESTART_SERVICE],
    )
    first = manager.add_recovery_rule(rule)
    assert first.recovery_actions == ["reset_connection", "restart_service"]
    assert first.severity_threshold == "high"
    second = manager.add_recovery_rule(attrs.evolve(rule, max_attempts=5, enabled=False))
    assert second.created_at == first.created_at and second.max_attempts == 5
    assert manager.get_recovery_rule("api_timeout_recovery") == second
    manager.add_recovery_rule(
        RecoveryRule(
            name="memory_error_recovery",
            error_pattern="memory",
            severity_threshold="critical",
            recovery_actions=["clear_cache"],
        )
    )
    assert [r.name for r in manager.get_recovery_rules()] == ["api_timeout_recovery", "memory_error_recovery"]
    assert [r.name for r in manager.get_recovery_rules(enabled_only=True)] == ["memory_error_recovery"]
    assert storekit_store.count(RecoveryRule) == 2


events = st.builds(
    ErrorEvent,
    timestamp=st.integers(-30 * 3600, 3600).map(lambda s: NOW + dt.timedelta(seconds=s)),
    error_type=st.just("unknown"),
    severity=st.sampled_from(["low", "medium", "high", "critical"]),
    component=st.sampled_from(["kis_api", "db", "scheduler"]),
    message=st.just("m"),
    recovery_attempted=st.one_of(st.none(), st.booleans()),
    recovery_success=st.one_of(st.none(), st.booleans()),
)


@given(rows=st.lists(events, max_size=40), hours=st.sampled_from([1, 24]))
def test_error_statistics_equal_a_python_count_over_the_events(
    storekit_session_store: Store, rows: List[ErrorEvent], hours: int
) -> None:
    store = storekit_session_store
    store.delete(ErrorEvent)
    store.put_many(rows)
    got = store.recovery_manager.get_error_statistics(hours, now=NOW)
    window = [e for e in rows if NOW - dt.timedelta(hours=hours) <= e.timestamp <= NOW]
    attempts = [e for e in window if e.recovery_attempted is True]
    successful = sum(1 for e in attempts if e.recovery_success is True)
    assert got == {
        "total_errors": len(window),
        "severity_distribution": dict(collections.Counter(e.severity for e in window)),
        "component_distribution": dict(collections.Counter(e.component for e in window)),
        "recovery_attempts": len(attempts),
        "successful_recoveries": successful,
        "recovery_success_rate": successful / len(attempts) * 100 if attempts else 0.0,
    }
    store.delete(ErrorEvent)


def test_a_rolled_back_transaction_spanning_these_domain_stores_writes_nothing(storekit_store: Store) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), storekit_store.transaction():
        storekit_store.recovery_manager.report_error("boom", "c")
        storekit_store.api_call_tracker.record_api_call("/x")
        storekit_store.system_alert_manager.create_alert("info", "system", "t", "m", "c")
        storekit_store.notification_history.record_notification("a", "t", "info", "T", "m", "telegram", "sent")
        raise Abort
    assert storekit_store.recovery_manager.get_error_statistics()["total_errors"] == 0
    assert storekit_store.api_call_tracker.get_endpoint_list() == []
    assert storekit_store.system_alert_manager.get_alert_statistics()["total_alerts"] == 0
    assert storekit_store.notification_history.get_stats() == []


def test_every_type_the_classifier_gives_is_one_an_error_event_accepts() -> None:
    accepted = set(spec_of(ErrorEvent).field("error_type").choices or ())
    assert {kind for kind, _ in ERROR_PATTERNS} | {classify_error("nothing matches this")} <= accepted
