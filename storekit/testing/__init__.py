"""storekit's testing kit: hypothesis strategies derived from the record declarations,
strict record comparison, and the in-memory reference model of the backend contract.

Needs the ``test`` extra (hypothesis).

.. versionadded:: 0.1
"""

from .compare import assert_same_record, record_diff, same_record, same_value, value_diff
from .reference import ReferenceBackend
from .strategies import invalid_values, parents_of, records, values_for

__all__ = [
    "ReferenceBackend",
    "assert_same_record",
    "invalid_values",
    "parents_of",
    "record_diff",
    "records",
    "same_record",
    "same_value",
    "value_diff",
    "values_for",
]
