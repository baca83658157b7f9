"""Typed records for every table the trading application keeps.

Each record type is declared once (see :mod:`storekit.records._declare` for the type
policy); :func:`all_record_types` lists them all.
"""

from __future__ import annotations

from typing import Tuple

from ._declare import (
    FieldSpec,
    Json,
    Kind,
    LegacySource,
    Record,
    RecordSpec,
    Reference,
    field,
    record,
    registered_record_types,
    spec_of,
)
from ._ids import derived_id, new_id, utc_now
from .learning import LearningMetric, PerformanceTracking, ScreeningHistory, SelectionHistory

__all__ = [
    "FieldSpec",
    "Json",
    "Kind",
    "LearningMetric",
    "LegacySource",
    "PerformanceTracking",
    "Record",
    "RecordSpec",
    "Reference",
    "ScreeningHistory",
    "SelectionHistory",
    "all_record_types",
    "derived_id",
    "field",
    "new_id",
    "record",
    "spec_of",
    "utc_now",
]


def all_record_types() -> Tuple[type, ...]:
    """Every record class storekit declares, in declaration order."""
    return registered_record_types()
