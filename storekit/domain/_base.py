"""The base of every domain store."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store import Store


class DomainStore:
    """The persistence methods of one legacy module, on top of a :class:`~storekit.Store`.

    Domain stores hold no connection of their own: every call goes through the store,
    so ``with store.transaction():`` spans several domain stores, and every backend
    gives the same results.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self._store!r}>"
