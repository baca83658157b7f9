"""Where a store lives: URL resolution and the embedded default path.

Precedence: an explicit argument, then the environment (``DATABASE_URL``, which
the application already uses, or ``STOREKIT_URL``), then the embedded SQLite file
at :func:`default_sqlite_path`.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import urllib.parse
from pathlib import Path
from typing import FrozenSet, Optional, Set, Tuple

import sqlalchemy as sa

from .errors import ConfigurationError

__all__ = [
    "REDACTED",
    "add_secret",
    "default_sqlite_path",
    "default_sqlite_url",
    "known_secrets",
    "redact_text",
    "redact_url",
    "resolve_url",
]

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
                sa.engine.make_url(candidate).port  # noqa: B018  (the port is parsed when read)
            except (sa.exc.ArgumentError, ValueError):
                raise ConfigurationError(
                    f"not a database URL: {redact_url(candidate)!r} "
                    "(expected e.g. postgresql://user@host/db or sqlite:///path.db)"
                ) from None
            _remember_url_password(candidate)
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


REDACTED = "***"
"""What a secret is replaced with, everywhere storekit hides one."""

SECRET_ENV_NAMES = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|APP_KEY|API_KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
"""Environment variables whose values are secrets (``PGPASSWORD``, ``APP_KEY``,
``APP_SECRET``, ``TELEGRAM_BOT_TOKEN``, ...)."""

URL_ENV_NAMES = ("DATABASE_URL", "STOREKIT_URL", "STOREKIT_FALLBACK", "STOREKIT_TEST_PG_URL")
"""Environment variables holding database URLs, whose passwords are secrets."""

MIN_SECRET_LENGTH = 4
"""Shorter values are not redacted as literals (they would mangle ordinary words);
passwords in URLs and ``password=`` pairs are redacted whatever their length."""

# user:password@ inside any scheme://... URL; the password runs to the last @ of the
# URL's authority, so an unencoded @ in it is still covered.
_URL_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*:)(?P<pw>[^\s'\"]*)(?=@[^\s@/'\"]*(?:[/?#\s'\"]|$))"
)
# password=... (libpq DSNs, query strings) and 'password': '...' (dict reprs)
_PASSWORD_PAIR = re.compile(
    r"(?P<head>(?:password|passwd|pwd)['\"]?\s*[=:]\s*(?P<q>['\"])?)(?P<pw>(?(q)[^'\"]*|[^\s&;,)}'\"]*))",
    re.IGNORECASE,
)

_lock = threading.Lock()
_secrets: Set[str] = set()


def add_secret(value: Optional[str]) -> None:
    """Treat ``value`` as a secret from now on: :func:`redact_text` (and so the logging
    filter :class:`storekit.logging.RedactingFilter`) replaces it wherever it appears,
    also percent-encoded. Values shorter than :data:`MIN_SECRET_LENGTH` are ignored.

    :func:`resolve_url` calls it for the password of every URL it resolves, so the
    password of a store the process opened is known even when the URL came from an
    argument rather than the environment.

    .. versionadded:: 0.1
    """
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(value)
        for encoded in (urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)):
            if encoded != value:
                _secrets.add(encoded)


def _remember_url_password(url: str) -> None:
    add_secret(_url_password(url))  # an unparseable URL: the URL pattern of redact_text covers it


def known_secrets() -> FrozenSet[str]:
    """The literal secrets :func:`redact_text` hides: those given to :func:`add_secret`,
    the passwords of the URLs in :data:`URL_ENV_NAMES`, and the values of environment
    variables matching :data:`SECRET_ENV_NAMES`. The environment is read on every call.

    .. versionadded:: 0.1
    """
    found: Set[str] = set()
    names, urls = _secret_env_names(tuple(os.environ))
    for name in names:
        value = os.environ.get(name, "")
        if len(value) >= MIN_SECRET_LENGTH:
            found.add(value)
    for name in urls:
        password = _url_password(os.environ.get(name, ""))
        if password is not None and len(password) >= MIN_SECRET_LENGTH:
            found.add(password)
    with _lock:
        return frozenset(found | _secrets)


@functools.lru_cache(maxsize=8)
def _secret_env_names(names: Tuple[str, ...]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Of the environment's variable ``names``: those holding secrets, those holding URLs
    (cached: the regular expression runs once per distinct set of names, not per log record)."""
    return tuple(n for n in names if SECRET_ENV_NAMES.search(n)), tuple(n for n in URL_ENV_NAMES if n in names)


@functools.lru_cache(maxsize=64)
def _url_password(url: str) -> Optional[str]:
    try:
        password = sa.engine.make_url(url).password
    except Exception:
        return None
    return None if password is None else str(password)


def redact_text(text: str) -> str:
    """``text`` with every secret replaced by :data:`REDACTED`: passwords of URLs
    (``scheme://user:***@host``), ``password=`` / ``'password': '...'`` pairs, and every
    :func:`known_secrets` value, wherever it appears (messages, tracebacks, reprs).

    .. versionadded:: 0.1
    """
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    text = _PASSWORD_PAIR.sub(lambda m: m.group("head") + (REDACTED if m.group("pw") else ""), text)
    for secret in sorted(known_secrets(), key=len, reverse=True):  # longest first: no partial leftovers
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
