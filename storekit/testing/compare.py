"""Strict record comparison for round-trip and equivalence tests.

``==`` on records is too lenient for proving storage lossless: ``-0.0 == 0.0``,
``1 == 1.0 == True``, and two datetimes of the same instant in different zones
may even compare unequal (PEP 495). :func:`same_record` compares field by field:

* floats bit for bit (``-0.0`` is not ``0.0``; ``inf`` matches ``inf``);
* timestamps as instants (the type policy: a timestamp is an instant, and
  backends return it in UTC), both timezone-aware;
* JSON structurally, with the same strictness for floats and the same Python
  types all the way down (``1`` is not ``1.0``, ``True`` is not ``1``);
* everything else by ``==``, with the same type.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any, List

from ..records import Kind, Record, spec_of

__all__ = ["assert_same_record", "record_diff", "same_record", "same_value", "value_diff"]


def _float_bits(value: float) -> bytes:
    return struct.pack("<d", value)


def _instant(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc)


def _json_diff(a: Any, b: Any, path: str, out: List[str]) -> None:
    if type(a) is not type(b):
        out.append(f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})")
    elif isinstance(a, dict):
        for key in sorted(set(a) | set(b), key=repr):
            where = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]"
            if key not in b:
                out.append(f"{where}: only in the first ({a[key]!r})")
            elif key not in a:
                out.append(f"{where}: only in the second ({b[key]!r})")
            else:
                _json_diff(a[key], b[key], where, out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items != {len(b)} items ({a!r} != {b!r})")
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                _json_diff(x, y, f"{path}[{i}]", out)
    elif isinstance(a, float):
        if _float_bits(a) != _float_bits(b):
            out.append(f"{path}: {a!r} != {b!r}")
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")


def value_diff(kind: Kind, a: Any, b: Any, path: str = "$") -> List[str]:
    """The differences between two values of a field of ``kind`` (empty when the same)."""
    if kind is Kind.JSON:
        out: List[str] = []
        _json_diff(a, b, path, out)
        return out
    if type(a) is not type(b):
        return [f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"]
    if a is None:
        return []
    if isinstance(a, float):
        same = _float_bits(a) == _float_bits(b)
    elif isinstance(a, dt.datetime):
        if a.utcoffset() is None or b.utcoffset() is None:
            return [f"{path}: {a!r} or {b!r} is not timezone-aware"]
        same = _instant(a) == _instant(b)
    else:
        same = a == b
    return [] if same else [f"{path}: {a!r} != {b!r}"]


def same_value(kind: Kind, a: Any, b: Any) -> bool:
    """Whether two values of a field of ``kind`` are the same (see the module docstring)."""
    return not value_diff(kind, a, b)


def record_diff(a: Any, b: Any) -> str:
    """A readable list of the differences between two records; ``""`` when the same."""
    if type(a) is not type(b):
        return f"different types: {type(a).__name__} != {type(b).__name__}"
    if not isinstance(a, Record):
        raise TypeError(f"{type(a).__name__} is not a storekit record")
    spec = spec_of(a)
    lines: List[str] = []
    for f in spec.fields:
        lines.extend(value_diff(f.kind, getattr(a, f.name), getattr(b, f.name), f"{spec.name}.{f.name}"))
    return "\n".join(lines)


def same_record(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are records of the same type with the same values."""
    return not record_diff(a, b)


def assert_same_record(a: Any, b: Any, context: str = "") -> None:
    """Fail with the field-by-field differences unless ``same_record(a, b)``."""
    diff = record_diff(a, b)
    if diff:
        where = f" ({context})" if context else ""
        raise AssertionError(f"records differ{where}:\n{diff}\nfirst:  {a!r}\nsecond: {b!r}")
