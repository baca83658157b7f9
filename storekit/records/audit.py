"""The audit table that storekit's built-in audit plugin writes (see
:doc:`/explanation/security`). Not a legacy table."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, Record, field, non_empty, record
from ._ids import new_id


@record(table="storekit_audit", key=("id",), indexes=[("at",), ("table_name", "at")])
class AuditEntry(Record):
    """One committed change of one record, as the ``storekit_audit`` hook reported it.

    .. versionadded:: 0.1
    """

    id: int = field(factory=new_id)
    at: dt.datetime = field(doc="when the change committed (UTC)")
    operation: str = field(choices=("upsert", "create", "increment", "delete"))
    table_name: str = field(check=non_empty, doc="the record's table")
    record_key: Json = field(doc="the record's key values, in key order, in JSON form")
    record_values: Json = field(
        default=None,
        doc="{field: value} in JSON form: what was written (upsert, create), the increment record "
        "(increment: added amounts for the incremented fields) or what was deleted (delete)",
    )
    incremented: Json = field(default=None, doc="increment: the fields whose values were added")
    method: str = field(choices=("put", "put_many", "append", "increment", "delete"), doc="the Store method")
    caller: Optional[str] = field(default=None, doc="the domain store method, e.g. feedback_system.record_predictions")
