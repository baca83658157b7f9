"""The backend contract: the small generic interface every backend implements.

Domain operations are written once in core on top of this contract, so every
backend behaves the same. A backend may be faster at an operation, never different.
The semantics of queries and aggregates are in :mod:`storekit.query`.

.. versionadded:: 0.1
"""

from __future__ import annotations

from types import MappingProxyType
from typing import (
    Any,
    Callable,
    ContextManager,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

import attrs
from typing_extensions import Protocol, runtime_checkable

from .query import Aggregate, Filter, Query

__all__ = ["Backend", "BackendInfo", "Capability"]

R = TypeVar("R")


class Capability:
    """Names of optional backend capabilities, checked by the conformance kit."""

    TRANSACTIONS = "transactions"
    """Several writes, of several record types, commit or roll back together."""
    STREAMING = "streaming"
    """``query`` reads lazily with bounded memory."""
    CONCURRENT_PROCESSES = "concurrent-processes"
    """Several processes may write at once."""
    FOREIGN_KEYS = "foreign-keys"
    """Declared references are enforced."""
    PERSISTENT = "persistent"
    """Data survives closing and reopening the store."""


@runtime_checkable
class Backend(Protocol):
    """What a storage backend implements.

    Every method takes record types declared with :func:`storekit.records.record`
    and records of those types; rows never leave the backend as anything but records.
    """

    name: str
    """The registered backend name (``sqlite``, ``postgresql``, ...)."""

    def ensure_schema(self, record_types: Sequence[type]) -> None:
        """Create what is missing for ``record_types`` (tables, indexes) and record the
        schema version; existing data is never touched."""

    def upsert(self, record_type: type, records: Iterable[Any]) -> int:
        """Insert or fully replace each record by its natural key; return the count.

        Within one call, a later record with the same key wins."""

    def append(self, record_type: type, records: Iterable[Any]) -> int:
        """Insert records that must be new; a duplicate key raises
        :class:`~storekit.errors.IntegrityError` and nothing of the call is written."""

    def increment(self, record_type: type, record: Any, fields: Sequence[str], replace: Sequence[str] = ()) -> None:
        """Insert ``record``, or, if its key exists, add its values of ``fields`` (int or
        float fields) to the stored ones, set the fields named in ``replace`` to the
        record's and keep every other stored field, as one atomic step: concurrent
        increments lose no update (see :mod:`storekit.query`).

        .. versionadded:: 0.1
        """

    def get(self, record_type: type, key: Tuple[Any, ...]) -> Optional[Any]:
        """The record with this natural key, or ``None``."""

    def query(self, query: Query[Any]) -> Iterator[Any]:
        """Records matching ``query``, in its order; lazily for streaming backends."""

    def aggregate(self, aggregate: Aggregate) -> List[Dict[str, Any]]:
        """Grouped aggregates as dicts, ordered by the group-by fields."""

    def delete(self, record_type: type, where: Sequence[Filter]) -> int:
        """Delete records matching every filter (all records with no filter)."""

    def transaction(self) -> ContextManager[None]:
        """A context in which every call of this backend, on this thread, is one
        transaction: committed at exit, rolled back on an exception. Nests."""

    def close(self) -> None:
        """Release connections and files. Idempotent."""


BackendFactory = Callable[[str, Mapping[str, Any]], Backend]


def _strings(value: Iterable[str]) -> Tuple[str, ...]:
    return tuple(value)


def _capabilities(value: Iterable[str]) -> FrozenSet[str]:
    return frozenset(value)


def _reasons(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _not_both(instance: BackendInfo, attribute: Any, value: Mapping[str, str]) -> None:
    both = sorted(set(value) & instance.capabilities)
    if both:
        raise ValueError(f"backend {instance.name!r} both supports and does not support {', '.join(both)}")


@attrs.frozen
class BackendInfo:
    """A backend as a plugin registers it.

    ``priority`` orders backends for fallback (higher first) and breaks ties when
    several backends claim a URL scheme; registration order never matters.
    """

    name: str
    schemes: Tuple[str, ...] = attrs.field(converter=_strings)
    factory: BackendFactory = attrs.field(repr=False)
    priority: int = 0
    capabilities: FrozenSet[str] = attrs.field(default=frozenset(), converter=_capabilities)
    description: str = ""
    plugin: str = ""
    """Filled in by the registry: the plugin (entry point) that registered it."""
    unsupported: Mapping[str, str] = attrs.field(
        factory=dict, converter=_reasons, validator=_not_both, kw_only=True, hash=False
    )
    """Why the backend lacks a capability: capability name to reason, for example
    ``{Capability.TRANSACTIONS: "every call commits on its own"}``. The conformance kit
    (:mod:`storekit.testing`) skips a test that needs a capability the backend does not
    declare with this reason. A name may not be both here and in ``capabilities``.

    .. versionadded:: 0.1
    """
