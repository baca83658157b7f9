"""storekit's whole conformance suite, run on the memory backend."""

from storekit.testing.suite import *  # noqa: F403
