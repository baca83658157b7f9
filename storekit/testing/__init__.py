"""storekit's testing kit: the backend conformance suite and its pytest plugin,
hypothesis strategies derived from the record declarations, strict record
comparison, and the in-memory reference model of the backend contract.

The import path ``storekit.testing`` (with :mod:`storekit.testing.suite` and
:mod:`storekit.testing.plugin`) is public API, versioned by :data:`KIT_VERSION`.
Everything but :func:`requires` and :data:`KIT_VERSION` needs the ``test`` extra
(hypothesis) and is imported on first use, so that the pytest plugin stays
importable, and inert, wherever storekit is installed.

.. versionadded:: 0.1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, List

from .plugin import requires

if TYPE_CHECKING:
    from .compare import assert_same_record, record_diff, same_record, same_value, value_diff
    from .reference import ReferenceBackend
    from .strategies import invalid_values, parents_of, records, values_for

__all__ = [
    "KIT_VERSION",
    "ReferenceBackend",
    "assert_same_record",
    "invalid_values",
    "parents_of",
    "record_diff",
    "records",
    "requires",
    "same_record",
    "same_value",
    "value_diff",
    "values_for",
]

KIT_VERSION = "1"
"""The version of the kit's interface: the ``storekit_url`` fixture, the kit's fixtures,
:func:`requires`, the suite's import path and the report's format. It changes when a
backend's tests would have to change."""

_LAZY = {
    "ReferenceBackend": "reference",
    "assert_same_record": "compare",
    "record_diff": "compare",
    "same_record": "compare",
    "same_value": "compare",
    "value_diff": "compare",
    "invalid_values": "strategies",
    "parents_of": "strategies",
    "records": "strategies",
    "values_for": "strategies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(__all__)
