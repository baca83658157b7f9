"""What DataSynchronizer has read: one record per input JSON file, so that a second
sync skips the files that did not change (the plan's 4.4: every legacy run re-parsed
every file). Not a legacy table."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, Record, field, non_empty, record
from ._ids import utc_now


@record(table="storekit_synced_files", key=("path",))
class SyncedFile(Record):
    """One input file of DataSynchronizer and what the last sync made of it.

    A file is unchanged when its size and ``mtime_ns`` match, or, when they do not,
    its SHA-256 does; an unchanged file is neither parsed nor written again, and a file
    that failed is reported again with the stored ``problems``.
    """

    path: str = field(check=non_empty, doc="POSIX path relative to the data directory")
    kind: str = field(choices=("screening", "selection"))
    size: int
    mtime_ns: int
    sha256: str = field(check=non_empty)
    status: str = field(choices=("synced", "failed"))
    rows: int = field(default=0, doc="records written from the file")
    problems: Json = field(default=None, doc="[[json_path, reason], ...] of a failed file")
    synced_at: Optional[dt.datetime] = field(factory=utc_now)
