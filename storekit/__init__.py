"""storekit: one typed store for the trading application's state.

Open a store with :func:`open_store`; records are in :mod:`storekit.records`,
queries in :mod:`storekit.query`, the backend contract in :mod:`storekit.backend`.
"""

from ._version import __version__
from .backend import Backend, BackendInfo, Capability
from .codec import Codec, configure_converter, make_converter
from .config import default_sqlite_path, resolve_url
from .errors import (
    AggregateOverflowError,
    BackendError,
    BackendUnavailableError,
    ConfigurationError,
    FieldError,
    InputFileError,
    IntegrityError,
    NoBackendError,
    OutputExistsError,
    PluginLoadError,
    QueryError,
    QueueFullError,
    RecordValidationError,
    SchemaVersionError,
    StorekitError,
    UsageError,
)
from .hookspecs import hookimpl
from .query import Agg, Aggregate, Eq, In, Order, Query, Range, asc, desc
from .registry import PluginStatus, Registry, get_registry
from .store import Store, open_store

__all__ = [
    "Agg",
    "Aggregate",
    "AggregateOverflowError",
    "Backend",
    "BackendError",
    "BackendInfo",
    "BackendUnavailableError",
    "Capability",
    "Codec",
    "ConfigurationError",
    "Eq",
    "FieldError",
    "In",
    "InputFileError",
    "IntegrityError",
    "NoBackendError",
    "Order",
    "OutputExistsError",
    "PluginLoadError",
    "PluginStatus",
    "Query",
    "QueryError",
    "QueueFullError",
    "Range",
    "RecordValidationError",
    "Registry",
    "SchemaVersionError",
    "Store",
    "StorekitError",
    "UsageError",
    "__version__",
    "asc",
    "configure_converter",
    "default_sqlite_path",
    "desc",
    "get_registry",
    "hookimpl",
    "make_converter",
    "open_store",
    "resolve_url",
]
