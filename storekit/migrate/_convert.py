"""Converters from legacy SQLite values to typed values, one per legacy format.

Each converter takes the value as :mod:`sqlite3` hands it back (``None``, ``int``,
``float``, ``str`` or ``bytes``) and returns the typed value, or raises
:class:`Quarantine` with the reason when the value cannot be typed. ``NULL`` is always
``None`` (whether ``None`` is acceptable is the record's business).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Callable, Dict, Final, Optional

try:  # Python 3.9+ has zoneinfo; the backport is only a fallback
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    from backports.zoneinfo import ZoneInfo  # type: ignore[import-not-found,no-redef]

__all__ = ["CONVERTERS", "DEFAULT_ZONE", "Converter", "Quarantine", "Writer", "converter_for", "writer_for", "zone"]

DEFAULT_ZONE: Final = "Asia/Seoul"

Converter = Callable[[Any], Any]


class Quarantine(Exception):
    """The value (or row) cannot be typed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def zone(name: str) -> dt.tzinfo:
    """The IANA zone ``name`` (``ValueError`` when unknown)."""
    try:
        return ZoneInfo(name)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
        raise ValueError(f"unknown time zone {name!r}") from exc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Quarantine(f"expected {what} text, got {type(value).__name__} {_short(value)}")
    return value


_YYYYMMDD = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{6}))?")


def _date(match: Optional[re.Match[str]], value: str) -> dt.date:
    if match is None:
        raise Quarantine(f"{_short(value)} is not a date in the legacy format")
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise Quarantine(f"{_short(value)} is not a real date ({exc})") from None


def yyyymmdd(value: Any) -> Optional[dt.date]:
    """``'20260110'`` (or ``'2026-01-10'``) → date."""
    if value is None:
        return None
    text = _text(value, "date")
    match = _YYYYMMDD.fullmatch(text) or _ISO_DATE.fullmatch(text)
    return _date(match, text)


def iso_date(value: Any) -> Optional[dt.date]:
    """``'2026-01-10'`` (or ``'20260110'``) → date."""
    return yyyymmdd(value)


def _naive(value: Any, sep: str) -> dt.datetime:
    text = _text(value, "timestamp")
    match = _STAMP.fullmatch(text)
    if match is None or (sep == "T" and text[10] != "T"):
        raise Quarantine(f"{_short(text)} is not a timestamp in the legacy format")
    y, mo, d, h, mi, s, frac = match.groups()
    try:
        return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), int(frac or 0))
    except ValueError as exc:
        raise Quarantine(f"{_short(text)} is not a real date and time ({exc})") from None


def local_timestamp(tz: dt.tzinfo, sep: str = "") -> Converter:
    """Local ``'2026-01-10T09:15:02.123456'`` (``sep='T'``) or ``'2026-01-10 09:15:02.123456'``
    (any separator) → aware datetime in ``tz``."""

    def convert(value: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        return _naive(value, sep).replace(tzinfo=tz)

    return convert


def utc_sql(value: Any) -> Optional[dt.datetime]:
    """``CURRENT_TIMESTAMP`` text ``'2026-01-10 00:15:02'`` → aware UTC datetime."""
    if value is None:
        return None
    return _naive(value, "").replace(tzinfo=dt.timezone.utc)


def json_text(value: Any) -> Any:
    """JSON text → the parsed value (the record's JSON policy checks what it holds)."""
    if value is None:
        return None
    text = _text(value, "JSON")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise Quarantine(f"invalid JSON ({exc})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def bool01(value: Any) -> Optional[bool]:
    """INTEGER 0/1 → bool; anything else quarantines."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return value == 1
    raise Quarantine(f"expected 0 or 1, got {type(value).__name__} {_short(value)}")


def real(value: Any) -> Optional[float]:
    """REAL → float, bit for bit (an INTEGER becomes a float); text quarantines."""
    if value is None:
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise Quarantine(f"integer {value} is too large for a float") from None
    raise Quarantine(f"expected a REAL, got {type(value).__name__} {_short(value)}")


def integer(value: Any) -> Optional[int]:
    """INTEGER → int; a float with an integral value is accepted, anything else quarantines."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise Quarantine(f"expected an INTEGER, got {type(value).__name__} {_short(value)}")


def text(value: Any) -> Optional[str]:
    """TEXT → str (a NUL is rejected by record validation); a number or BLOB quarantines."""
    if value is None:
        return None
    return _text(value, "TEXT")


def converter_for(fmt: str, tz: dt.tzinfo) -> Converter:
    """The converter of legacy format ``fmt`` with local times in ``tz``."""
    if fmt == "local_iso_T":
        return local_timestamp(tz, "T")
    if fmt == "sqlite_adapter":
        return local_timestamp(tz)
    try:
        return CONVERTERS[fmt]
    except KeyError:
        raise ValueError(f"no converter for legacy format {fmt!r}") from None


CONVERTERS: Final[Dict[str, Converter]] = {
    "yyyymmdd": yyyymmdd,
    "iso_date": iso_date,
    "utc_sql": utc_sql,
    "json_ascii": json_text,
    "json_utf8": json_text,
    "bool01": bool01,
    "real": real,
    "int": integer,
    "text": text,
}
"""The zone-independent converters (the local timestamp ones come from :func:`converter_for`)."""


# -- the way back: typed values as the legacy code writes them (``storekit rollback``) ----------

Writer = Callable[[Any], Any]
"""A typed value (``None`` passes through) → the SQLite value the legacy code writes."""


def _yyyymmdd_text(value: dt.date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _local(tz: dt.tzinfo) -> Callable[[dt.datetime], dt.datetime]:
    return lambda value: value.astimezone(tz).replace(tzinfo=None)


def writer_for(fmt: str, tz: dt.tzinfo, *, sqlalchemy: bool = False, notnull: bool = False) -> Writer:
    """The inverse of :func:`converter_for`: a typed value → the value the legacy code
    writes in format ``fmt`` (local times in ``tz``).

    ``datetime.isoformat`` gives what ``datetime.now().isoformat()`` and sqlite3's adapter
    wrote (no fraction when the microseconds are 0); ``sqlalchemy=True`` (the main DB)
    writes SQLAlchemy's ``DateTime`` text, always with six fraction digits.
    ``CURRENT_TIMESTAMP`` text has whole seconds, so a fraction is dropped. A JSON
    ``None`` is SQL ``NULL``, except in a ``NOT NULL`` column (``notnull=True``), where the
    legacy code can only have written ``json.dumps(None)``, ``'null'``.
    """
    simple: Dict[str, Callable[[Any], Any]] = {
        "yyyymmdd": _yyyymmdd_text,
        "iso_date": lambda d: d.isoformat(),
        "utc_sql": lambda t: t.astimezone(dt.timezone.utc).isoformat(" ", timespec="seconds")[:19],
        "json_ascii": json.dumps,
        "json_utf8": lambda v: json.dumps(v, ensure_ascii=False),
        "bool01": int,
    }
    local = _local(tz)
    if fmt == "local_iso_T":
        simple[fmt] = lambda t: local(t).isoformat()
    elif fmt == "sqlite_adapter" and sqlalchemy:
        simple[fmt] = lambda t: local(t).isoformat(" ", timespec="microseconds")
    elif fmt == "sqlite_adapter":
        simple[fmt] = lambda t: local(t).isoformat(" ")
    if fmt in ("real", "int", "text"):
        return _identity
    try:
        write = simple[fmt]
    except KeyError:
        raise ValueError(f"no writer for legacy format {fmt!r}") from None

    empty = "null" if notnull and fmt in ("json_ascii", "json_utf8") else None

    def convert(value: Any) -> Any:
        return empty if value is None else write(value)

    return convert


def _identity(value: Any) -> Any:
    return value
