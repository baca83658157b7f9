"""The reference the api-statistics tests hold storekit to: APICallTracker's computation
of one endpoint's statistics, over the calls in Python."""

from __future__ import annotations

import collections
import datetime as dt
import math
from typing import Any, Dict, List, Optional

from storekit.domain.api_call_tracker import APIStatistics
from storekit.records import ApiCall


def reference_statistics(
    rows: List[ApiCall], endpoint: str, start: dt.datetime, end: dt.datetime
) -> Optional[Dict[str, Any]]:
    """APICallTracker's computation: the endpoint's calls of [start, end], in Python."""
    calls = [r for r in rows if r.endpoint == endpoint and start <= r.timestamp <= end]
    if not calls:
        return None
    times = sorted(c.response_time for c in calls)
    successful = sum(1 for c in calls if c.success is True)
    requests = sum(c.request_size or 0 for c in calls)
    responses = sum(c.response_size or 0 for c in calls)
    errors = collections.Counter(c.error_message for c in calls if c.success is False and c.error_message is not None)
    return {
        "total_calls": len(calls),
        "successful_calls": successful,
        "failed_calls": len(calls) - successful,
        "error_rate": (len(calls) - successful) / len(calls) * 100,
        "avg_response_time": sum(times) / len(times),
        "min_response_time": times[0],
        "max_response_time": times[-1],
        "p95_response_time": times[int(0.95 * len(times))],
        "total_request_size": requests,
        "total_response_size": responses,
        "avg_request_size": requests / len(calls),
        "avg_response_size": responses / len(calls),
        "error_types": dict(errors),
    }


def assert_statistics(got: Optional[APIStatistics], expected: Optional[Dict[str, Any]]) -> None:
    if expected is None:
        assert got is None
        return
    assert got is not None
    for name, value in expected.items():
        if isinstance(value, float):
            assert math.isclose(getattr(got, name), value, rel_tol=1e-9, abs_tol=1e-9), name
        else:
            assert getattr(got, name) == value, name
