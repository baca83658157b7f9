"""The backend conformance suite.

A backend's test module runs all of it with one line::

    from storekit.testing.suite import *  # noqa: F401,F403

given a session-scoped ``storekit_url`` fixture (in its ``conftest.py``) returning the
URL of an empty store of the backend. The tests use the fixtures of
:mod:`storekit.testing.plugin`; those that need an optional capability are marked with
:func:`storekit.testing.requires` and skipped, with the backend's stated reason, on a
backend that does not declare it.

Modules: :mod:`~storekit.testing.suite.roundtrip` (every record type, hypothesis),
:mod:`~storekit.testing.suite.operations` (the generic operations),
:mod:`~storekit.testing.suite.increments` (atomic increments, ``Query.offset``),
:mod:`~storekit.testing.suite.validation` (validation before write),
:mod:`~storekit.testing.suite.transactions`, :mod:`~storekit.testing.suite.references`,
:mod:`~storekit.testing.suite.persistence` (by capability) and
:mod:`~storekit.testing.suite.stateful` (equivalence with the reference model).

Only test functions are exported, so the star import adds nothing else to a module.

.. versionadded:: 0.1
"""

from __future__ import annotations

from .increments import *  # noqa: F403
from .increments import __all__ as _increments
from .operations import *  # noqa: F403
from .operations import __all__ as _operations
from .persistence import *  # noqa: F403
from .persistence import __all__ as _persistence
from .references import *  # noqa: F403
from .references import __all__ as _references
from .roundtrip import *  # noqa: F403
from .roundtrip import __all__ as _roundtrip
from .stateful import *  # noqa: F403
from .stateful import __all__ as _stateful
from .transactions import *  # noqa: F403
from .transactions import __all__ as _transactions
from .validation import *  # noqa: F403
from .validation import __all__ as _validation

__all__ = sorted(
    [*_roundtrip, *_operations, *_increments, *_validation, *_transactions, *_references, *_persistence, *_stateful]
)
