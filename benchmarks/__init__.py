"""storekit benchmarks: each one measures storekit against a baseline run in the same
process, on the same data, and prints the ratio (``baseline_time / storekit_time``;
1.0 means storekit is as fast as the baseline).

Run ``python -m benchmarks --help`` (or ``nox -s bench``). PostgreSQL comes from
``STOREKIT_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
every benchmark works in its own schemas and drops them at the end.
"""

GOAL = 0.8
"""Issue 2's target: storekit at least 0.8 of the raw driver's speed (raw/storekit time)."""
