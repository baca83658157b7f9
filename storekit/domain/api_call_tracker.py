"""The persistence methods of APICallTracker (``data/api_tracking.db``).

The rows are :class:`~storekit.records.ApiCall`, the record ``storekit migrate`` writes
from ``api_calls``. Statistics are computed by the database (grouped totals, read from
the per-minute rollup of schema version 4 where the backend keeps one, and one order
statistic for the 95th percentile), never by loading the calls. See
``docs/modules/api_call_tracker.rst`` for what changed from the legacy module.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Sequence, Tuple

import attrs

from ..query import Agg, Eq, Filter, Query, Range
from ..records import ApiCall, utc_now
from ._base import DomainStore
from ._monitoring import local_now, percent

__all__ = ["APIStatistics", "ApiCallTracker", "p95_index"]

P95 = 0.95


def p95_index(count: int) -> int:
    """The 0-based position of the 95th percentile in ``count`` ascending values:
    nearest rank, ``int(0.95 * count)`` (so ``sorted(values)[int(0.95 * len(values))]``).

    LEGACY.md does not give the legacy formula; this is the one written down in
    ``docs/modules/api_call_tracker.rst``."""
    return min(int(P95 * count), count - 1)


@attrs.frozen
class APIStatistics:
    """The statistics of one endpoint over a period (the legacy ``APIStatistics``).

    Times are milliseconds, sizes bytes, ``error_rate`` a percentage; ``error_types``
    counts the failed calls by error message."""

    endpoint: str
    period_start: dt.datetime
    period_end: dt.datetime
    total_calls: int
    successful_calls: int
    failed_calls: int
    error_rate: float
    avg_response_time: float
    min_response_time: float
    max_response_time: float
    p95_response_time: float
    total_request_size: int
    total_response_size: int
    avg_request_size: float
    avg_response_size: float
    error_types: Dict[str, int] = attrs.field(factory=dict)


_TOTALS = (
    Agg("count"),
    Agg("sum", "response_time"),
    Agg("min", "response_time"),
    Agg("max", "response_time"),
    Agg("sum", "request_size"),
    Agg("sum", "response_size"),
)


class ApiCallTracker(DomainStore):
    """The persistence methods of APICallTracker (``data/api_tracking.db``).

    ``store.api_call_tracker.record_api_call(...)`` replaces the tracker's thread-per-call
    INSERT; ``get_api_statistics`` and ``generate_traffic_report`` run in the database.
    """

    # -- writes ---------------------------------------------------------------------------

    def record_api_call(
        self,
        endpoint: str,
        method: str = "GET",
        response_time: float = 0.0,
        request_size: int = 0,
        response_size: int = 0,
        status_code: int = 200,
        success: bool = True,
        error_message: Optional[str] = None,
        user_agent: Optional[str] = None,
        ip_address: Optional[str] = None,
        session_id: Optional[str] = None,
    ) -> None:
        """Record one API call (``response_time`` in milliseconds, sizes in bytes), stamped
        with the current time. Returns nothing, as the legacy tracker, without waiting for
        the database: the call goes to the store's write-behind queue
        (:meth:`storekit.Store.write_behind`), which reads through the store wait for.

        :raises storekit.RecordValidationError: a value of the wrong type; nothing is written.
        """
        self._write(
            ApiCall(
                timestamp=utc_now(),  # an instant: stored and returned in UTC on every backend
                endpoint=endpoint,
                method=method,
                response_time=response_time,
                request_size=request_size,
                response_size=response_size,
                status_code=status_code,
                success=success,
                error_message=error_message,
                user_agent=user_agent,
                ip_address=ip_address,
                session_id=session_id,
            )
        )

    def cleanup_old(self, days: float = 90, *, now: Optional[dt.datetime] = None) -> int:
        """Delete the calls recorded more than ``days`` days before ``now`` (default: the
        current time); return how many. Not in the legacy tracker, which kept every call.

        On PostgreSQL, where ``api_calls`` is partitioned by month, the months entirely
        before the cutoff are dropped whole and only the month of the cutoff is deleted
        row by row; elsewhere it is one ``DELETE``. The result is the same.

        .. versionadded:: 0.1
        """
        _, cutoff = self._period(0, now)
        return self._store.delete(ApiCall, Range("timestamp", lt=cutoff - dt.timedelta(days=days)))

    def _write(self, call: ApiCall) -> None:
        # The one place a call is written: the store's write-behind queue (issue 6).
        self._store.write_behind().submit(call)

    # -- reads ----------------------------------------------------------------------------

    @staticmethod
    def _period(hours: float, now: Optional[dt.datetime]) -> Tuple[dt.datetime, dt.datetime]:
        end = now if now is not None else local_now()
        if end.tzinfo is None:
            end = end.astimezone()
        return end - dt.timedelta(hours=hours), end

    def get_api_statistics(
        self, endpoint: str, hours: float = 24, *, now: Optional[dt.datetime] = None
    ) -> Optional[APIStatistics]:
        """The statistics of ``endpoint`` over the ``hours`` before ``now`` (default: the
        current time; both ends included), or ``None`` when it had no calls.

        ``successful_calls`` counts calls with ``success`` true, ``failed_calls`` the rest;
        ``p95_response_time`` is the nearest-rank 95th percentile (:func:`p95_index`).
        One grouped statement (the per-minute rollup's whole minutes and the calls of the
        partial ones, on backends with the rollup) and one one-row query; nothing is
        cached, so a call recorded before is always counted.

        .. versionchanged:: 0.1
           Read from the per-minute rollup (schema version 4) where the backend has it.
        """
        start, end = self._period(hours, now)
        where: List[Filter] = [Eq("endpoint", endpoint), Range("timestamp", ge=start, le=end)]
        # grouped by (success, error_message): the groups also give the error types
        groups = self._groups(endpoint, start, end)
        total = sum(g["count"] for g in groups)
        if not total:
            return None
        successful = sum(g["count"] for g in groups if g["success"] is True)
        request_size = sum(g["sum_request_size"] or 0 for g in groups)
        response_size = sum(g["sum_response_size"] or 0 for g in groups)
        return APIStatistics(
            endpoint=endpoint,
            period_start=start,
            period_end=end,
            total_calls=total,
            successful_calls=successful,
            failed_calls=total - successful,
            error_rate=percent(total - successful, total),
            avg_response_time=sum(g["sum_response_time"] for g in groups) / total,
            min_response_time=min(g["min_response_time"] for g in groups),
            max_response_time=max(g["max_response_time"] for g in groups),
            p95_response_time=self._p95(where, total, max(g["max_response_time"] for g in groups)),
            total_request_size=request_size,
            total_response_size=response_size,
            avg_request_size=request_size / total,
            avg_response_size=response_size / total,
            error_types={
                g["error_message"]: g["count"]
                for g in groups
                if g["success"] is False and g["error_message"] is not None
            },
        )

    def _groups(self, endpoint: Optional[str], start: dt.datetime, end: dt.datetime) -> List[Dict[str, Any]]:
        """The calls of ``endpoint`` (``None``: all) in ``[start, end]``, grouped by
        ``(endpoint, success, error_message)``: count, response-time sum, minimum and
        maximum, size sums. From the backend's per-minute rollup where it keeps one (the
        optional ``api_call_totals``: SQL backends, schema version 4), else one grouped
        aggregate over the calls; the same numbers either way."""
        totals = getattr(self._store.backend, "api_call_totals", None)
        if totals is not None:
            self._store._settle()  # as every read through the store: after the queued writes
            rows: Optional[List[Dict[str, Any]]] = totals(endpoint, start, end)
            if rows is not None:
                return rows
        where: List[Filter] = [Range("timestamp", ge=start, le=end)]
        if endpoint is not None:
            where.append(Eq("endpoint", endpoint))
        return self._store.aggregate(ApiCall, *_TOTALS, where=where, group_by=["endpoint", "success", "error_message"])

    def _p95(self, where: Sequence[Filter], count: int, maximum: float) -> float:
        """The :func:`p95_index`-th smallest response time, read as one row: from the
        nearer end of the order, so the database keeps at most half the rows to sort."""
        k = p95_index(count)
        from_top = count - 1 - k
        # the key in the same direction: the (endpoint, response_time, id) index is read
        # in one direction, without a sort (ties do not change the value read)
        order, offset = (["-response_time", "-id"], from_top) if from_top < k else (["response_time", "id"], k)
        query: Query[ApiCall] = Query(ApiCall, where=where, order_by=order, limit=1, offset=offset)
        found = next(iter(self._store.backend.query(query)), None)
        return maximum if found is None else found.response_time  # None: rows deleted meanwhile

    def get_recent_calls(self, minutes: float = 60, *, now: Optional[dt.datetime] = None) -> List[ApiCall]:
        """The calls of the last ``minutes`` (every process's, not only this one's), oldest first."""
        start, end = self._period(minutes / 60.0, now)
        return list(self._store.find(ApiCall, Range("timestamp", ge=start, le=end), order_by=["timestamp"]))

    def get_endpoint_list(self) -> List[str]:
        """Every endpoint with a recorded call, sorted."""
        return [r["endpoint"] for r in self._store.aggregate(ApiCall, Agg("count"), group_by=["endpoint"])]

    def generate_traffic_report(self, hours: float = 24, *, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
        """The stored part of the legacy traffic report over the ``hours`` before ``now``.

        Keys: ``period_start``, ``period_end``, ``period_hours``, ``total_calls``,
        ``successful_calls``, ``failed_calls``, ``error_rate`` (%), ``avg_response_time``
        (ms, ``0.0`` without calls), ``endpoints`` (endpoint -> ``total_calls``,
        ``successful_calls``, ``failed_calls``, ``error_rate``, ``avg_response_time``,
        ``max_response_time``), ``busiest_endpoints`` and ``slowest_endpoints`` (up to 10
        ``(endpoint, calls)`` / ``(endpoint, avg ms)`` pairs) and ``error_types``. One
        grouped statement in the database, as for :meth:`get_api_statistics`.
        """
        start, end = self._period(hours, now)
        endpoints: Dict[str, Dict[str, Any]] = {}
        errors: Dict[str, int] = {}
        total_time = 0.0
        for g in self._groups(None, start, end):
            e = endpoints.setdefault(
                g["endpoint"],
                {"total_calls": 0, "successful_calls": 0, "_time": 0.0, "max_response_time": g["max_response_time"]},
            )
            e["total_calls"] += g["count"]
            e["successful_calls"] += g["count"] if g["success"] is True else 0
            e["_time"] += g["sum_response_time"]
            e["max_response_time"] = max(e["max_response_time"], g["max_response_time"])
            total_time += g["sum_response_time"]
            if g["success"] is False and g["error_message"] is not None:
                errors[g["error_message"]] = errors.get(g["error_message"], 0) + g["count"]
        for e in endpoints.values():
            e["failed_calls"] = e["total_calls"] - e["successful_calls"]
            e["error_rate"] = percent(e["failed_calls"], e["total_calls"])
            e["avg_response_time"] = e.pop("_time") / e["total_calls"]
        total = sum(e["total_calls"] for e in endpoints.values())
        successful = sum(e["successful_calls"] for e in endpoints.values())
        busiest = sorted(endpoints, key=lambda name: (-endpoints[name]["total_calls"], name))[:10]
        slowest = sorted(endpoints, key=lambda name: (-endpoints[name]["avg_response_time"], name))[:10]
        return {
            "period_start": start,
            "period_end": end,
            "period_hours": hours,
            "total_calls": total,
            "successful_calls": successful,
            "failed_calls": total - successful,
            "error_rate": percent(total - successful, total),
            "avg_response_time": total_time / total if total else 0.0,
            "endpoints": endpoints,
            "busiest_endpoints": [(name, endpoints[name]["total_calls"]) for name in busiest],
            "slowest_endpoints": [(name, endpoints[name]["avg_response_time"]) for name in slowest],
            "error_types": dict(sorted(errors.items())),
        }
