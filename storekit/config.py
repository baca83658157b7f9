"""Where a store lives: URL resolution and the embedded default path.

Precedence: an explicit argument, then the environment (``DATABASE_URL``, which
the application already uses, or ``STOREKIT_URL``), then the embedded SQLite file
at :func:`default_sqlite_path`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import sqlalchemy as sa

from .errors import ConfigurationError

__all__ = ["default_sqlite_path", "default_sqlite_url", "redact_url", "resolve_url"]

DEFAULT_SQLITE_FILE = Path("data") / "storekit.db"


def default_sqlite_path() -> Path:
    """The embedded store: ``$STOREKIT_SQLITE_PATH``, else ``data/storekit.db`` under the
    current directory (the application keeps every legacy file under ``data/`` and runs
    from its repository root)."""
    configured = os.environ.get("STOREKIT_SQLITE_PATH")
    return Path(configured) if configured else Path.cwd() / DEFAULT_SQLITE_FILE


def default_sqlite_url() -> str:
    return f"sqlite:///{default_sqlite_path()}"


def resolve_url(url: Optional[str] = None) -> str:
    """The store URL: ``url``, else ``DATABASE_URL``/``STOREKIT_URL``, else the embedded file."""
    for candidate in (url, os.environ.get("DATABASE_URL"), os.environ.get("STOREKIT_URL")):
        if candidate:
            try:
                sa.engine.make_url(candidate)
            except sa.exc.ArgumentError:
                raise ConfigurationError(
                    f"not a database URL: {redact_url(candidate)!r} "
                    "(expected e.g. postgresql://user@host/db or sqlite:///path.db)"
                ) from None
            return candidate
    return default_sqlite_url()


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (also for unparseable URLs)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        scheme, sep, rest = url.partition("://")
        if not sep or "@" not in rest:
            return url
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
