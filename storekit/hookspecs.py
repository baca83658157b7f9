"""Every hook a storekit plugin can implement.

Plugins are modules or objects registered under the ``storekit`` entry-point group.
Implement a hook by decorating a function of the same name with
:data:`storekit.hookimpl`. Core calls hooks only through :mod:`storekit.registry`.

Lifecycle: hooks are called when the registry is first used in a process (lazily,
never at import).
"""

from __future__ import annotations

from typing import Callable

import pluggy

from .backend import BackendInfo

__all__ = ["hookimpl", "hookspec", "storekit_register_backends"]

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
