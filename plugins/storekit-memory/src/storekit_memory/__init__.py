"""storekit-memory: an in-memory storekit backend, and the template for a backend plugin.

``pip install storekit-memory``, then ``storekit.open_store("memory://NAME")``. Stores
opened with the same ``NAME`` in one process share their data until the last one
closes; ``memory://`` alone is private to its store. Nothing survives the process.

The whole plugin is this hook module (what storekit's ``storekit`` entry point names)
and :mod:`storekit_memory._backend` (the backend). It imports only public storekit API.
"""

from __future__ import annotations

from typing import Callable

from storekit import BackendInfo, Capability, hookimpl

from ._backend import SCHEME, MemoryBackend, open_memory

__all__ = ["INFO", "MemoryBackend", "open_memory", "storekit_register_backends"]

INFO = BackendInfo(
    name="memory",
    schemes=(SCHEME,),
    factory=open_memory,
    priority=1,
    capabilities={Capability.TRANSACTIONS, Capability.FOREIGN_KEYS},
    # The conformance kit skips a test needing one of these, with the reason given here.
    unsupported={
        Capability.PERSISTENT: "data lives in process memory; it is gone when the last store of a name closes",
        Capability.CONCURRENT_PROCESSES: "data lives in one process's memory; other processes cannot see it",
        Capability.STREAMING: "query evaluates its whole result under the store's lock before returning",
    },
    description="In-process memory (memory://NAME); the example plugin",
)


@hookimpl
def storekit_register_backends(register: Callable[[BackendInfo], None]) -> None:
    register(INFO)
