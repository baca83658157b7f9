"""The generic SQL backend and the pieces a SQL dialect plugin needs.

A SQL plugin subclasses :class:`SQLFacts` with its database and driver facts and
registers a factory returning ``SQLBackend(url, facts)``; everything else (tables
derived from the records, queries, keyset pagination, aggregates, transactions,
error wrapping) is written once here.
"""

from ._backend import SQLBackend
from ._facts import SQLFacts
from ._schema import SCHEMA_VERSION, build_metadata
from .types import Float64, ISODate, JSONText, UTCTimestampText, dump_json, load_json, to_utc

__all__ = [
    "SCHEMA_VERSION",
    "Float64",
    "ISODate",
    "JSONText",
    "SQLBackend",
    "SQLFacts",
    "UTCTimestampText",
    "build_metadata",
    "dump_json",
    "load_json",
    "to_utc",
]
