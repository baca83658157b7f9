"""Fallback without loss: the primary (PostgreSQL) first, a SQLite file while the
primary is unreachable, and replay of what the file received when the primary returns.

:func:`storekit.open_store` sets it up from its ``fallback`` argument or from
``STOREKIT_FALLBACK``; :doc:`/explanation/fallback` describes the guarantees, the
conflict rule and how to watch the outbox.

.. versionadded:: 0.1
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence

import attrs
import sqlalchemy as sa

from ..backend import Backend, BackendInfo
from ..config import redact_url
from ..errors import ConfigurationError
from ..registry import Registry
from ..sql import SQLBackend
from ._backend import Backoff, FallbackBackend, ReplayReport

__all__ = [
    "DEFAULT",
    "FROM_ENVIRONMENT",
    "Backoff",
    "FallbackBackend",
    "OutboxCounts",
    "ReplayReport",
    "default_fallback_path",
    "outbox_counts",
    "resolve_fallback",
]

DEFAULT = "default"
"""``fallback=DEFAULT``: the SQLite file at :func:`default_fallback_path`."""

FROM_ENVIRONMENT = "environment"
"""``fallback=FROM_ENVIRONMENT`` (the default of :func:`storekit.open_store`): what
``STOREKIT_FALLBACK`` says, a URL, ``default``, or unset/``none`` for no fallback."""

DEFAULT_FALLBACK_FILE = Path("data") / "storekit-fallback.db"


def default_fallback_path() -> Path:
    """The default fallback file: ``$STOREKIT_FALLBACK_PATH``, else
    ``data/storekit-fallback.db`` under the current directory (next to the embedded
    store, ``data/storekit.db``, and never the same file)."""
    configured = os.environ.get("STOREKIT_FALLBACK_PATH")
    return Path(configured) if configured else Path.cwd() / DEFAULT_FALLBACK_FILE


def resolve_fallback(fallback: Optional[str] = FROM_ENVIRONMENT) -> Optional[str]:
    """The fallback URL that ``fallback`` asks for, or ``None`` for no fallback.

    ``None``: none; :data:`DEFAULT`: the SQLite file at :func:`default_fallback_path`;
    a URL: that URL; :data:`FROM_ENVIRONMENT`: the same rules applied to
    ``STOREKIT_FALLBACK`` (unset, empty or ``none``: no fallback).
    """
    fallback = _requested(fallback)
    if fallback is None:
        return None
    if fallback == DEFAULT:
        return f"sqlite:///{default_fallback_path()}"
    try:
        sa.engine.make_url(fallback)
    except sa.exc.ArgumentError:
        raise ConfigurationError(
            f"not a fallback URL: {redact_url(fallback)!r} (expected 'default', 'none' or e.g. sqlite:///path.db)"
        ) from None
    return fallback


def _requested(fallback: Optional[str]) -> Optional[str]:
    if fallback == FROM_ENVIRONMENT:
        value = os.environ.get("STOREKIT_FALLBACK", "").strip()
        return None if value.lower() in ("", "none") else value
    return fallback


def with_fallback(
    primary: Backend,
    info: BackendInfo,
    url: str,
    fallback: Optional[str],
    *,
    registry: Registry,
    record_types: Sequence[type],
) -> Backend:
    """``primary`` with its schema ensured, wrapped in a started :class:`FallbackBackend`
    when ``fallback`` resolves to a fallback that ranks below it (what
    :func:`storekit.open_store` does with its ``fallback`` argument)."""
    fallback_url = resolve_fallback(fallback)
    if fallback_url is None:
        primary.ensure_schema(record_types)
        return primary
    explicit = _requested(fallback) != DEFAULT
    fb_info = registry.backend_for_scheme(sa.engine.make_url(fallback_url).drivername)
    if fb_info.priority >= info.priority:
        if not explicit:  # the default file behind a SQLite (or equally ranked) primary: none needed
            primary.ensure_schema(record_types)
            return primary
        raise ConfigurationError(
            f"the fallback {redact_url(fallback_url)} ({fb_info.name}, priority {fb_info.priority}) must rank "
            f"below the primary {redact_url(url)} ({info.name}, priority {info.priority})"
        )
    if sa.engine.make_url(fallback_url) == sa.engine.make_url(url):
        raise ConfigurationError(f"the fallback is the primary itself: {redact_url(url)}")
    secondary: Any = fb_info.factory(fallback_url, {})
    try:
        if not isinstance(primary, SQLBackend) or not isinstance(secondary, SQLBackend):
            raise ConfigurationError(
                f"a fallback needs SQL backends on both sides (the outbox is journaled in SQL); "
                f"got {info.name} -> {fb_info.name}"
            )
        backend = FallbackBackend(primary, secondary, record_types=record_types, backoff=Backoff.from_environment())
        backend.start()
    except BaseException:
        secondary.close()
        raise
    return backend


@attrs.frozen
class OutboxCounts:
    """What waits in a fallback's outbox."""

    pending: int
    """Writes journaled in the fallback that wait for replay to the primary."""
    conflicts: int
    """Writes the primary refused at replay, kept in ``storekit_outbox_conflicts``."""


def outbox_counts(fallback_url: str) -> Optional[OutboxCounts]:
    """What waits in the outbox of the fallback at ``fallback_url``, read-only (``None``:
    no outbox there yet). Unlike opening the store with a fallback, this creates nothing
    and starts no replay (``storekit doctor`` uses it).

    .. versionadded:: 0.1
    """
    from ..schema._connect import sql_backend
    from ._outbox import OUTBOX, conflict_count, pending_count

    with sql_backend(fallback_url) as backend, backend._connection(write=False) as conn:
        if not sa.inspect(conn).has_table(OUTBOX.name):
            return None
        return OutboxCounts(pending_count(conn), conflict_count(conn))
