"""Opening a SQL store's backend without creating or checking its schema."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping, Optional

import sqlalchemy as sa

from ..config import redact_text, redact_url, resolve_url
from ..errors import ConfigurationError
from ..registry import Registry, get_registry
from ..sql import SQLBackend


@contextlib.contextmanager
def sql_backend(
    url: Optional[str] = None,
    options: Optional[Mapping[str, Any]] = None,
    registry: Optional[Registry] = None,
) -> Iterator[SQLBackend]:
    """The backend for ``url`` (resolved as :func:`storekit.open_store` does), with its
    schema left exactly as it is, closed at the end of the block. Schema tools work
    only on SQL backends: any other is a :class:`~storekit.ConfigurationError`."""
    resolved = resolve_url(url)
    info = (registry or get_registry()).backend_for_scheme(sa.engine.make_url(resolved).drivername)
    try:
        backend = info.factory(resolved, dict(options or {}))
    except (OSError, ValueError) as exc:  # e.g. a SQLite file whose directory cannot be made
        raise ConfigurationError(f"cannot open {redact_url(resolved)}: {redact_text(str(exc))}") from None
    try:
        if not isinstance(backend, SQLBackend):
            raise ConfigurationError(
                f"the {info.name} backend keeps no SQL schema: schema versions, grants and "
                "index checks apply to SQL backends (PostgreSQL, SQLite) only"
            )
        yield backend
    finally:
        backend.close()
