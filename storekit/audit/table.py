"""storekit's built-in audit plugin: every audit event becomes an
:class:`~storekit.records.AuditEntry` in the ``storekit_audit`` table of the same store.

Registered under the ``storekit`` entry-point group as ``audit-table``, exactly as a third
party would register an audit plugin; it does nothing unless auditing is on.

Values are stored in JSON form: dates and timestamps as ISO 8601 text, UUIDs as text,
infinite floats and ``-0.0`` as their ``repr`` text (JSON has no such numbers), JSON
fields as they are.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any, Dict, List, Sequence

from ..hookspecs import hookimpl
from ..records import AuditEntry, Kind, spec_of
from . import AuditEvent

__all__ = ["entry_of", "storekit_audit"]


def _json(kind: Kind, value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and (not math.isfinite(value) or (value == 0.0 and math.copysign(1.0, value) < 0)):
        return repr(value)
    return value


def entry_of(event: AuditEvent) -> AuditEntry:
    """The audit table's record of ``event``."""
    spec = spec_of(event.record_type)
    kinds = {f.name: f.kind for f in spec.fields}
    values: Dict[str, Any] = {}
    if event.record is not None:
        values = {name: _json(kind, getattr(event.record, name)) for name, kind in kinds.items()}
    return AuditEntry(
        at=event.at,
        operation=event.operation,
        table_name=spec.table,
        record_key=[_json(kinds[n], v) for n, v in zip(spec.key, event.key)],
        record_values=values or None,
        incremented=list(event.incremented) or None,
        method=event.method,
        caller=event.caller,
    )


@hookimpl
def storekit_audit(events: Sequence[AuditEvent], store: Any) -> None:
    """Write one :class:`~storekit.records.AuditEntry` per event, in one transaction."""
    entries: List[AuditEntry] = [entry_of(e) for e in events]
    if entries:
        store.put_many(entries)
