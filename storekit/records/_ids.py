"""Stable client-generated ids for records whose legacy table has no natural key."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import random
import threading
import time

__all__ = ["derived_id", "new_id", "utc_now"]

_lock = threading.Lock()
_last = 0
_random = random.Random()  # seeded from os.urandom; private, so no caller's random.seed() touches it
if hasattr(os, "register_at_fork"):  # a forked child must not repeat its parent's sequence
    os.register_at_fork(after_in_child=_random.seed)


EPOCH_MS = 1_577_836_800_000
"""2020-01-01T00:00:00Z: generated ids count milliseconds from here, so they fit in
63 bits until 2089."""


def new_id() -> int:
    """A new positive 63-bit id: milliseconds since 2020-01-01 UTC, then 22 random bits.

    Ids are unique within a process (strictly increasing) and, with 22 random bits
    per millisecond, across processes for any realistic write rate. They are far
    above any legacy ``AUTOINCREMENT`` id (which migrated rows keep), so the two
    never collide. Generating the id on the client makes replays idempotent.
    """
    global _last
    candidate = (time.time_ns() // 1_000_000 - EPOCH_MS) << 22 | _random.getrandbits(22)
    with _lock:
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
    return candidate


def derived_id(*parts: object) -> int:
    """A negative 63-bit id derived from ``parts`` (the same parts give the same id).

    Used where one record type holds rows of two origins, to give the second origin
    an id space that can never collide with the first's positive ids.
    """
    # surrogatepass: an id for a lone surrogate too, so the record's validation names the bad field (issue 7)
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return -(int.from_bytes(digest, "big") >> 2) - 1


_now = _dt.datetime.now
_UTC = _dt.timezone.utc


def utc_now() -> _dt.datetime:
    """The current time as an aware UTC datetime (the ``CURRENT_TIMESTAMP`` default)."""
    return _now(_UTC)  # bound once: this stamps every record_api_call
