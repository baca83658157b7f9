"""The migration ledger and quarantine (``storekit migrate``).

Every legacy row keeps a stable identity, (file, table, legacy id): the legacy
``id`` column where the table has an integer one, else its SQLite ``rowid``. A row
that became a record is listed in :class:`LegacyRow`; a row that could not be typed
is kept exactly, with the reason, in :class:`QuarantinedRow` (and listed in the
ledger as ``quarantined``). Nothing else can happen to a legacy row.

Tables keyed by their legacy id that ``storekit migrate`` loads in bulk are ledgered a
range at a time: one row with status ``migrated_range`` per migrated chunk, whose
``legacy_id`` is the chunk's last migrated legacy id and whose ``record_key`` is
``{"from": first, "to": last, "rows": n}``: every legacy row with an id from ``first`` to
``last`` that is not listed as ``quarantined`` became the record of the same ``id``
(``n`` of them). Quarantined rows are always listed one by one.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, Record, field, non_empty, record
from ._ids import utc_now


@record(table="storekit_legacy_rows", key=("file", "table", "legacy_id"))
class LegacyRow(Record):
    """One legacy row and what became of it."""

    file: str = field(check=non_empty, doc="legacy file, relative to the application's data/")
    table: str = field(check=non_empty)
    legacy_id: int = field(doc="the legacy id column, or the rowid where there is none")
    record_table: Optional[str] = field(default=None, doc="the store table of the record (migrated rows)")
    record_key: Json = field(default=None, doc="the record's key values, as JSON-able text forms")
    status: str = field(choices=("migrated", "quarantined", "migrated_range"))
    extra: Json = field(default=None, doc="{column: tagged value} of columns the mapping does not know")
    migrated_at: Optional[dt.datetime] = field(factory=utc_now)


@record(table="storekit_quarantine", key=("file", "table", "legacy_id"))
class QuarantinedRow(Record):
    """A legacy row that could not become a valid record, kept exactly.

    ``row`` maps every legacy column to a tagged value: ``["null"]``, ``["int", "123"]``,
    ``["real", repr(x)]``, ``["text", s]``, ``["text_hex", hex of UTF-8 with surrogatepass]``
    (text holding NUL or lone surrogates) or ``["blob", hex]``.
    """

    file: str = field(check=non_empty)
    table: str = field(check=non_empty)
    legacy_id: int
    reason: str
    row: Json
    quarantined_at: Optional[dt.datetime] = field(factory=utc_now)
