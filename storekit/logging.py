"""Logging without secrets: a filter that redacts passwords and tokens from log records.

The application logs with ``exc_info=True``, and a formatted traceback can carry a
database URL, a DSN or a token. Attach :class:`RedactingFilter` to the handlers that
write logs (or call :func:`install_redaction` once, after logging is configured) and
every record they emit has its message, its traceback and its stack redacted by
:func:`storekit.config.redact_text`::

    import logging
    from storekit.logging import install_redaction

    logging.basicConfig(level=logging.INFO)
    install_redaction()  # every handler of the root logger

Attach it to handlers, not loggers: a logger's filters never see the records that
reach it from its child loggers (``storekit.sql`` from ``storekit``, ``sqlalchemy.pool``
from ``sqlalchemy``), a handler's filters see them all.

.. versionadded:: 0.1
"""

from __future__ import annotations

import logging
from typing import List

from .config import redact_text

__all__ = ["RedactingFilter", "install_redaction"]

_formatter = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Redacts secrets from a record before any handler formats it; never drops a record.

    The message is formatted (``msg % args``) and redacted; the traceback of ``exc_info``
    is formatted once, redacted into ``exc_text`` (which every :class:`logging.Formatter`
    prints), and ``exc_info`` is cleared, so no formatter can render the raw exception
    again; ``stack_info`` is redacted too. Applying it twice is harmless.

    .. versionadded:: 0.1
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_storekit_redacted", False):
            try:
                message = record.getMessage()
            except Exception:  # bad arguments: logging would print them raw in handleError
                message = f"{record.msg} {record.args!r} (message arguments did not match)"
            record.msg = redact_text(message)
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = _formatter.formatException(record.exc_info)
            record.exc_info = None
            if record.exc_text:
                record.exc_text = redact_text(record.exc_text)
            if record.stack_info:
                record.stack_info = redact_text(record.stack_info)
            setattr(record, "_storekit_redacted", True)  # noqa: B010  (LogRecord declares no such field)
        return True


def install_redaction(*handlers: logging.Handler) -> List[logging.Handler]:
    """Add a :class:`RedactingFilter` to ``handlers`` (default: every handler of the root
    logger) that do not have one yet; return the handlers it was added to.

    Call it after logging is configured: a handler added later needs its own call.

    .. versionadded:: 0.1
    """
    targets = list(handlers) or list(logging.getLogger().handlers)
    added = []
    for handler in targets:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
            added.append(handler)
    return added
