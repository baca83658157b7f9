"""The persistence methods of RecoveryManager and ErrorRecoverySystem (``data/error_recovery.db``).

The rows are :class:`~storekit.records.ErrorEvent` and
:class:`~storekit.records.RecoveryRule`, the records ``storekit migrate`` writes. The
recovery actions themselves, the psutil monitor and the error handlers stay in the
application: it reports an error (one row), attempts recovery, and records the outcome
on the same row. See ``docs/modules/recovery_manager.rst`` for what changed.
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import attrs

from ..errors import UsageError
from ..query import Agg, Eq, Filter, Range
from ..records import ErrorEvent, RecoveryRule
from ..records._ids import new_id
from ._base import DomainStore
from ._monitoring import aware, local_now, percent, plain
from ._unified_db_values import number

__all__ = ["ERROR_PATTERNS", "RecoveryManager", "classify_error"]

ERROR_PATTERNS: Sequence[Tuple[str, str]] = (
    ("api_rate_limit", r"rate.?limit|too many requests|\b429\b"),
    ("api_timeout", r"time.?out|timed out"),
    ("memory_error", r"memory|\boom\b"),
    ("database_error", r"database|sqlite|sql|psycopg|\bdb\b"),
    ("network_error", r"network|connection|socket|unreachable|dns"),
    ("permission_error", r"permission|access denied|forbidden|not permitted"),
    ("file_error", r"no such file|file not found|\bfile\b|directory"),
)
"""``error_type`` by the first matching pattern (case-insensitive) over the exception's
class name and message; ``unknown`` when none matches. Pass ``error_type`` to
:meth:`RecoveryManager.report_error` to override."""

_DEFAULT_SEVERITY = {
    "memory_error": "high",
    "database_error": "high",
    "api_timeout": "medium",
    "network_error": "medium",
    "api_rate_limit": "medium",
    "file_error": "medium",
    "permission_error": "high",
}


def classify_error(error: Union[BaseException, str]) -> str:
    """The legacy ``error_type`` of ``error`` (see :data:`ERROR_PATTERNS`)."""
    text = f"{type(error).__name__} {error}" if isinstance(error, BaseException) else str(error)
    for error_type, pattern in ERROR_PATTERNS:
        if re.search(pattern, text, re.IGNORECASE):
            return error_type
    return "unknown"


def _json_list(value: Any) -> Any:
    return [plain(v) for v in value] if isinstance(value, (list, tuple)) else value


class RecoveryManager(DomainStore):
    """The persistence methods of RecoveryManager and ErrorRecoverySystem."""

    # -- recovery rules -------------------------------------------------------------------

    def add_recovery_rule(self, rule: Any) -> RecoveryRule:
        """Store a recovery rule by its ``name`` (insert, or replace the rule of that
        name). ``rule`` is a :class:`~storekit.records.RecoveryRule` or the application's
        ``RecoveryRule`` (any object with ``name, error_pattern, severity_threshold,
        recovery_actions`` and optionally ``max_attempts, cooldown_seconds, conditions,
        enabled``; enum values are stored by value). Replacing keeps the stored
        ``created_at`` (the legacy INSERT OR REPLACE refreshed it). Returns the stored record.
        """
        if not isinstance(rule, RecoveryRule):
            rule = RecoveryRule(
                name=rule.name,
                error_pattern=rule.error_pattern,
                severity_threshold=plain(rule.severity_threshold),
                recovery_actions=_json_list(rule.recovery_actions),
                max_attempts=getattr(rule, "max_attempts", 3),
                cooldown_seconds=getattr(rule, "cooldown_seconds", 300),
                conditions=getattr(rule, "conditions", None),
                enabled=bool(getattr(rule, "enabled", True)),
            )
        with self._store.transaction():
            stored = self._store.get(RecoveryRule, rule.name)
            if stored is not None:
                rule = attrs.evolve(rule, created_at=stored.created_at)
            self._store.put(rule)
        stored_rule: RecoveryRule = rule
        return stored_rule

    def get_recovery_rules(self, enabled_only: bool = False) -> List[RecoveryRule]:
        """Every stored rule (or only the enabled ones), by name."""
        where = [Eq("enabled", True)] if enabled_only else []
        return list(self._store.find(RecoveryRule, *where, order_by=["name"]))

    def get_recovery_rule(self, name: str) -> Optional[RecoveryRule]:
        """The rule called ``name``, or ``None``."""
        return self._store.get(RecoveryRule, name)

    # -- error events ---------------------------------------------------------------------

    def report_error(
        self,
        error: Union[BaseException, str],
        component: str,
        severity: Any = None,
        affected_users: int = 0,
        *,
        error_type: Optional[str] = None,
        system_metrics: Optional[Dict[str, Any]] = None,
        stack_trace: Optional[str] = None,
    ) -> ErrorEvent:
        """Store one error event and return it (its ``id`` names it for
        :meth:`record_recovery`). Stored once, whatever the severity.

        ``error_type`` defaults to :func:`classify_error`; ``severity`` (an
        ``ErrorSeverity`` or its value) to the error type's usual severity (``medium``
        when unknown); ``stack_trace`` to the traceback of ``error`` when it is an
        exception with one. ``system_metrics`` is what the application's psutil probe
        returned (storekit does not call psutil).
        """
        kind = error_type or classify_error(error)
        if stack_trace is None and isinstance(error, BaseException) and error.__traceback__ is not None:
            stack_trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        event = ErrorEvent(
            id=new_id(),
            timestamp=local_now(),
            error_type=kind,
            severity=plain(severity) if severity is not None else _DEFAULT_SEVERITY.get(kind, "medium"),
            component=component,
            message=str(error),
            stack_trace=stack_trace,
            system_metrics=system_metrics,
            affected_users=affected_users,
            recovery_attempted=False,
        )
        self._store.append([event])
        return event

    def record_recovery(self, event_id: int, action: Any, success: bool, recovery_time: float) -> ErrorEvent:
        """Record the recovery attempt of a reported event on its own row (the legacy
        module inserted the event a second time instead): ``recovery_attempted`` set,
        ``recovery_action`` (a RecoveryAction or its value), ``recovery_success`` and
        ``recovery_time`` in seconds. Returns the updated event.

        :raises storekit.UsageError: no event has this id; nothing is written.
        """
        with self._store.transaction():
            event = self._store.get(ErrorEvent, event_id)
            if event is None:
                raise UsageError(f"no error event with id {event_id}")
            event = attrs.evolve(  # type: ignore[misc]
                event,
                recovery_attempted=True,
                recovery_action=plain(action),
                recovery_success=bool(success),
                recovery_time=number(recovery_time, "ErrorEvent", "recovery_time"),
            )
            self._store.put(event)
        return event

    def get_error_event(self, event_id: int) -> Optional[ErrorEvent]:
        """The event with this id, or ``None``."""
        return self._store.get(ErrorEvent, event_id)

    def get_recent_errors(
        self, limit: int = 100, component: Optional[str] = None, since: Optional[dt.datetime] = None
    ) -> List[ErrorEvent]:
        """The newest ``limit`` events, optionally of one component and at or after
        ``since`` (naive is local time)."""
        where: List[Filter] = []
        if component is not None:
            where.append(Eq("component", component))
        if since is not None:
            where.append(Range("timestamp", ge=aware(since)))
        return list(self._store.find(ErrorEvent, *where, order_by=["-timestamp"], limit=limit))

    def get_error_statistics(self, hours: float = 24, *, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
        """The events of the ``hours`` before ``now`` (default: the current time),
        counted by the database: ``total_errors``, ``severity_distribution`` and
        ``component_distribution`` (value -> count), ``recovery_attempts``,
        ``successful_recoveries`` and ``recovery_success_rate`` (percent of attempts,
        0.0 without attempts)."""
        end = aware(now) or local_now()
        where: List[Filter] = [Range("timestamp", ge=end - dt.timedelta(hours=hours), le=end)]

        def counts(field: str, *extra: Filter) -> Dict[Any, int]:
            rows = self._store.aggregate(ErrorEvent, Agg("count"), where=[*where, *extra], group_by=[field])
            return {r[field]: r["count"] for r in rows}

        severities = counts("severity")
        recoveries = counts("recovery_success", Eq("recovery_attempted", True))
        attempts = sum(recoveries.values())
        successful = recoveries.get(True, 0)
        return {
            "total_errors": sum(severities.values()),
            "severity_distribution": severities,
            "component_distribution": counts("component"),
            "recovery_attempts": attempts,
            "successful_recoveries": successful,
            "recovery_success_rate": percent(successful, attempts),
        }
