"""The exception tree.

Everything storekit raises derives from :class:`StorekitError`, in two branches:
:class:`UsageError` (the caller asked for something invalid: bad values, unknown
fields, unknown backends) and :class:`BackendError` (the database failed; the
driver's exception is kept in ``.orig``). Usage errors that are about values also
subclass :class:`ValueError`, so ``except ValueError`` in application code keeps
working.

Messages never contain credentials: URLs are rendered with the password hidden.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = [
    "AggregateOverflowError",
    "BackendError",
    "BackendUnavailableError",
    "ConfigurationError",
    "FieldError",
    "InputFileError",
    "IntegrityError",
    "NoBackendError",
    "OutputExistsError",
    "PluginLoadError",
    "QueryError",
    "QueueFullError",
    "RecordValidationError",
    "SchemaVersionError",
    "StorekitError",
    "UsageError",
]


class StorekitError(Exception):
    """Base of every storekit exception."""


class UsageError(StorekitError):
    """The caller asked for something storekit cannot do; nothing was written."""


class ConfigurationError(UsageError):
    """A URL, setting or option is invalid."""


class NoBackendError(ConfigurationError):
    """No registered backend handles a URL scheme."""


class PluginLoadError(StorekitError):
    """A backend plugin failed to load (raised only in strict loading)."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r} failed to load: {message}")
        self.plugin = plugin


class QueryError(UsageError, ValueError):
    """A query names an unknown field or uses a field in a way it cannot be used."""


class FieldError(ValueError):
    """One invalid field value: which record type, which field, and why.

    The value itself is kept in ``.value`` but left out of the message when
    ``hide_value`` is true (for example for values that may be secrets).
    """

    def __init__(
        self,
        record_type: str,
        field: str,
        reason: str,
        value: Any = None,
        *,
        hide_value: bool = False,
    ) -> None:
        self.record_type = record_type
        self.field = field
        self.reason = reason
        self.value = value
        shown = "" if hide_value else f" (got {_short_repr(value)})"
        super().__init__(f"{record_type}.{field}: {reason}{shown}")


class RecordValidationError(UsageError, ValueError):
    """A record failed validation; ``.errors`` lists every failing field at once."""

    def __init__(self, record_type: str, errors: Sequence[FieldError]) -> None:
        self.record_type = record_type
        self.errors = tuple(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        count = len(self.errors)
        super().__init__(f"invalid {record_type} ({count} field{'s' if count != 1 else ''}):\n{lines}")

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the failing fields, in declaration order."""
        return tuple(e.field for e in self.errors)


class InputFileError(UsageError, ValueError):
    """An input file (for example a screening JSON file that DataSynchronizer reads) is
    unreadable or does not match its schema; nothing of it was written.

    ``.path`` is the file, ``.problems`` every ``(json_path, reason)`` found (``json_path``
    like ``$.results[3].fundamental.score``), and ``.json_path``/``.reason`` the first.

    .. versionadded:: 0.1
    """

    def __init__(self, path: str, problems: Sequence[tuple[str, str]]) -> None:
        self.path = path
        self.problems = tuple(problems)
        self.json_path, self.reason = self.problems[0] if self.problems else ("$", "invalid")
        shown = "; ".join(f"{where}: {why}" for where, why in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{path}: {shown}{more}")


class OutputExistsError(UsageError, FileExistsError):
    """Output files exist and overwriting was not asked for (``storekit rollback`` without
    ``--force``); nothing was written. ``.paths`` lists them.

    .. versionadded:: 0.1
    """

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        shown = ", ".join(self.paths[:5]) + (f" (and {len(self.paths) - 5} more)" if len(self.paths) > 5 else "")
        super().__init__(f"{shown} already exist(s); nothing was written (use --force to overwrite)")

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BackendError(StorekitError):
    """The backend failed. The driver's exception is in ``.orig``."""

    def __init__(self, message: str, *, backend: str = "", orig: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.backend = backend
        self.orig = orig


class BackendUnavailableError(BackendError):
    """The backend cannot be reached (connection refused, timed out, closed)."""


class QueueFullError(BackendError):
    """A write-behind queue stayed full for the whole timeout (the backend does not keep
    up, or cannot be reached); the record was not queued. ``.pending`` is the queue size."""

    def __init__(self, message: str, *, pending: int = 0, orig: Optional[BaseException] = None) -> None:
        super().__init__(message, orig=orig)
        self.pending = pending


class IntegrityError(BackendError, ValueError):
    """A write broke a constraint: a duplicate key on append, or a dangling reference."""


class AggregateOverflowError(BackendError, ValueError):
    """An integer aggregate does not fit in a signed 64-bit integer."""


class SchemaVersionError(BackendError):
    """The store's recorded schema version does not match this library."""


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
