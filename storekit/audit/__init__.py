"""Audit events: what a store's writes changed, delivered to the ``storekit_audit`` hook.

Auditing is off unless asked for (``open_store(audit=True)``, ``options={"audit": True}``
or ``STOREKIT_AUDIT=1``); a store with auditing off builds no events and calls no hook.
With it on, every write through a :class:`~storekit.Store` yields one
:class:`AuditEvent` per record, handed to every plugin implementing
:func:`~storekit.hookspecs.storekit_audit` once the write has committed. The built-in
plugin :mod:`storekit.audit.table` writes them to the ``storekit_audit`` table
(:class:`~storekit.records.AuditEntry`). See :doc:`/explanation/security`.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import attrs

from ..errors import ConfigurationError
from ..records import Record, spec_of, utc_now

if TYPE_CHECKING:
    from ..registry import Registry
    from ..store import Store

__all__ = ["AUDIT_ENV", "AuditEvent", "Auditor", "audit_setting"]

log = logging.getLogger("storekit.audit")

AUDIT_ENV = "STOREKIT_AUDIT"
"""The environment variable that turns auditing on for stores opened without ``audit=``."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@attrs.frozen
class AuditEvent:
    """One committed change of one record.

    ``operation`` is what the store can say without reading before it writes:

    * ``"upsert"`` (:meth:`~storekit.Store.put`, :meth:`~storekit.Store.put_many`): the
      record was created or replaced; which of the two is not known.
    * ``"create"`` (:meth:`~storekit.Store.append`): the record was new.
    * ``"increment"`` (:meth:`~storekit.Store.increment`): ``record`` is the increment
      as given: its ``incremented`` fields were added to the stored values, its
      ``replaced`` fields set, and the whole record inserted if the key was new. The
      resulting values are not read back.
    * ``"delete"`` (:meth:`~storekit.Store.delete`): ``record`` is the record as it was
      read, in the deleting transaction, just before the delete.
    """

    operation: str
    record_type: type
    key: Tuple[Any, ...]
    record: Optional[Record]
    """The values written (upsert, create), the increment (increment) or the deleted
    record (delete)."""
    method: str
    """The :class:`~storekit.Store` method: ``put``, ``put_many``, ``append``,
    ``increment`` or ``delete``."""
    at: dt.datetime
    """When the write committed (UTC); the same for every event of one transaction."""
    caller: Optional[str] = None
    """The domain store method the application called, e.g.
    ``"feedback_system.record_predictions"``; ``None`` for direct store calls and for
    writes of the write-behind queue's thread."""
    incremented: Tuple[str, ...] = ()
    replaced: Tuple[str, ...] = ()

    @property
    def table(self) -> str:
        """The record type's table name."""
        return spec_of(self.record_type).table


def audit_setting(value: Any = None) -> bool:
    """Whether auditing is on: ``value`` if it is given (a bool, or a string as the
    environment takes), else :data:`AUDIT_ENV`. Anything else is a
    :class:`~storekit.ConfigurationError`."""
    if value is None:
        value = os.environ.get(AUDIT_ENV, "")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    accepted = ", ".join(_TRUE + _FALSE[1:])
    raise ConfigurationError(f"the audit setting must be a boolean or one of {accepted}, not {value!r}")


class _Pending(threading.local):
    def __init__(self) -> None:
        self.events: List[AuditEvent] = []
        self.delivering = False


class Auditor:
    """A store's audit state: events held back until their transaction commits, and the
    delivery to the registry's ``storekit_audit`` implementations. Made by
    :func:`storekit.open_store` only when auditing is on."""

    def __init__(self, registry: Registry) -> None:
        if not registry.has_hook_implementations("storekit_audit"):
            raise ConfigurationError(
                "auditing is on but no plugin implements storekit_audit "
                "(storekit's own, `audit-table`, is missing or failed: `storekit plugins` lists them)"
            )
        self._registry = registry
        self._local = _Pending()

    @property
    def delivering(self) -> bool:
        """Whether this thread is inside a hook call: writes made there are not audited."""
        return self._local.delivering

    def record(
        self,
        store: Store,
        method: str,
        operation: str,
        records: Iterable[Record],
        *,
        incremented: Sequence[str] = (),
        replaced: Sequence[str] = (),
    ) -> None:
        """Events for ``records``, just written by ``method``: delivered now, or when the
        enclosing transaction commits."""
        if self._local.delivering:
            return
        caller = _domain_caller()
        at = utc_now()
        events = [
            AuditEvent(
                operation=operation,
                record_type=type(rec),
                key=rec.key,
                record=rec,
                method=method,
                at=at,
                caller=caller,
                incremented=tuple(incremented),
                replaced=tuple(replaced),
            )
            for rec in records
        ]
        if store.in_transaction:
            self._local.events.extend(events)
        else:
            self._deliver(store, events)

    def commit(self, store: Store) -> None:
        """The outermost transaction committed: deliver its events, stamped with now."""
        events, self._local.events = self._local.events, []
        at = utc_now()
        self._deliver(store, [attrs.evolve(e, at=at) for e in events])

    def discard(self) -> None:
        """The outermost transaction rolled back: its writes never happened."""
        self._local.events = []

    def _deliver(self, store: Store, events: List[AuditEvent]) -> None:
        if not events:
            return
        self._local.delivering = True
        try:
            failed = self._registry.audit(events, store)
        finally:
            self._local.delivering = False
        for plugin, exc in failed:
            # The writes have committed; an audit failure cannot undo them, and raising
            # would tell the caller they failed. Loud instead: watch this logger.
            log.error(
                "audit plugin %r failed on %d committed change(s); they are not audited by it",
                plugin,
                len(events),
                exc_info=(type(exc), exc, exc.__traceback__),
            )


def _domain_stores() -> Mapping[type, str]:
    from ..domain import DOMAIN_STORES

    return {cls: name for name, cls in DOMAIN_STORES.items()}


_DOMAIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "domain") + os.sep
_names: Dict[type, str] = {}


def _domain_caller() -> Optional[str]:
    """The outermost domain store method on this thread's stack, as ``store.method``."""
    if not _names:
        _names.update(_domain_stores())
    found: Optional[str] = None
    frame: Optional[FrameType] = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_DOMAIN_DIR) and not frame.f_code.co_name.startswith("_"):
            name = _names.get(type(frame.f_locals.get("self")))
            if name is not None:
                found = f"{name}.{frame.f_code.co_name}"
        frame = frame.f_back
    return found
