"""Every hook a storekit plugin can implement.

Plugins are modules or objects registered under the ``storekit`` entry-point group.
Implement a hook by decorating a function of the same name with
:data:`storekit.hookimpl`. Core calls hooks only through :mod:`storekit.registry`.

Lifecycle: hooks are called when the registry is first used in a process (lazily,
never at import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import pluggy

from .backend import BackendInfo

if TYPE_CHECKING:
    from .audit import AuditEvent
    from .store import Store

__all__ = ["hookimpl", "hookspec", "storekit_audit", "storekit_register_backends"]

PROJECT_NAME = "storekit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def storekit_register_backends(register: Callable[[BackendInfo], None]) -> None:
    """Register storage backends.

    Call ``register`` once per backend with a :class:`storekit.BackendInfo`.
    Called once per registry, for every plugin (not first-result); the return
    value is ignored. A backend's ``priority``, not the order of calls, decides
    which backend wins a URL scheme and the fallback order.

    :param register: callback taking a :class:`storekit.BackendInfo`.
    """


@hookspec
def storekit_audit(events: Sequence[AuditEvent], store: Store) -> None:
    """Receive the changes a store's writes made, once they have committed.

    Called only for stores opened with auditing on (``open_store(audit=True)``,
    ``options={"audit": True}`` or ``STOREKIT_AUDIT=1``), for every plugin (not
    first-result); the return value is ignored. ``events`` holds one
    :class:`storekit.audit.AuditEvent` per written or deleted record, in write order:
    after each write outside a transaction, and once per outermost
    :meth:`~storekit.Store.transaction` after it commits (a transaction that rolls back
    delivers nothing). Writes an implementation makes through ``store`` are not audited.
    Each implementation is called on its own: one that raises is logged to
    ``storekit.audit`` at ERROR, with its plugin's name, and the others still run; nothing
    is raised, because the writes have committed. storekit's own implementation, the ``audit-table`` plugin
    (:mod:`storekit.audit.table`), writes the ``storekit_audit`` table.

    :param events: the committed changes, one per record.
    :param store: the :class:`storekit.Store` they were written through.

    .. versionadded:: 0.1
    """
