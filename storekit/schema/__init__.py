"""Schema administration: versions and migrations, least-privilege grants, inspection.

Tables are derived from the record declarations and created by
:func:`storekit.open_store`; this package is for the schema's owner: bring a store to
this library's version (:func:`upgrade`, ``storekit schema upgrade``), grant an
application role exactly what it needs (:func:`grant`, ``storekit schema grant``), and
see what a store lacks (:func:`inspect_schema`, used by ``storekit doctor``).
See :doc:`/how-to/operations`.

.. versionadded:: 0.1
"""

from __future__ import annotations

from ._grant import Grant, grant
from ._inspect import SchemaReport, inspect_schema
from ._migrate import SchemaChange, downgrade, upgrade

__all__ = ["Grant", "SchemaChange", "SchemaReport", "downgrade", "grant", "inspect_schema", "upgrade"]
