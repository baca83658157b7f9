"""Records of ``data/api_tracking.db`` (APICallTracker)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Index, LegacySource, Record, field, record
from ._ids import new_id


@record(
    table="api_calls",
    key=("id",),
    legacy=[LegacySource("api_tracking.db", "api_calls")],
    indexes=[
        ("timestamp",),
        # covering: get_api_statistics reads an endpoint's period from the index alone
        Index(
            ("endpoint", "timestamp"),
            include=("success", "error_message", "response_time", "request_size", "response_size"),
        ),
        # the p95 row: the endpoint's calls in response-time order (keys in the order the
        # query's total order appends), the period filtered from the index
        Index(("endpoint", "response_time", "id"), include=("timestamp",)),
        ("success",),
    ],
    partition_by="timestamp",
)
class ApiCall(Record):
    """One API call (APICallTracker.record_api_call)."""

    id: int = field(factory=new_id)
    timestamp: dt.datetime
    endpoint: str
    method: str
    response_time: float = field(doc="milliseconds")
    request_size: Optional[int] = field(default=None, doc="bytes")
    response_size: Optional[int] = field(default=None, doc="bytes")
    status_code: Optional[int] = None
    success: Optional[bool] = None
    error_message: Optional[str] = None
    user_agent: Optional[str] = None
    ip_address: Optional[str] = None
    session_id: Optional[str] = None
