"""Every hard value survives each backend's bulk write path: on PostgreSQL, COPY into a
staging table then ``INSERT ... SELECT ... ON CONFLICT`` (forced here for every batch with
the ``copy_min_rows`` option), on insert and on update."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store, open_store
from storekit.records import Record, all_record_types, spec_of
from storekit.testing import assert_same_record, records

# Types without references or extra unique constraints: any batch with distinct keys is valid.
STANDALONE = [t for t in all_record_types() if not spec_of(t).references and not spec_of(t).unique]


@pytest.fixture(scope="module")
def copy_store(pg_url: str) -> Iterator[Store]:
    url = pg_url.replace("schema=", "schema=copy_")
    with open_store(url, options={"copy_min_rows": 1}) as store:
        assert store.backend.facts.copy_min_rows == 1  # type: ignore[attr-defined]
        yield store


@pytest.mark.parametrize("record_type", STANDALONE, ids=lambda t: t.__name__)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_batch_through_copy_reads_back_exactly_on_insert_and_update(
    copy_store: Store, record_type: type, data: st.DataObject
) -> None:
    key = spec_of(record_type).key_getter
    batch: List[Record] = data.draw(st.lists(records(record_type), min_size=1, max_size=8, unique_by=key))
    copy_store.delete(record_type)
    copy_store.put_many(batch)  # insert path
    _assert_holds(copy_store, record_type, {key(r): r for r in batch})
    more: List[Record] = data.draw(st.lists(records(record_type), max_size=8, unique_by=key))
    copy_store.put_many(batch + more)  # existing keys (update path) and new ones together
    expected = {key(r): r for r in batch}
    expected.update({key(r): r for r in more})
    _assert_holds(copy_store, record_type, expected)


def _assert_holds(store: Store, record_type: type, expected: Dict[Any, Record]) -> None:
    key = spec_of(record_type).key_getter
    found = {key(r): r for r in store.find(record_type)}
    assert found.keys() == expected.keys()
    for k, rec in expected.items():
        assert_same_record(found[k], rec)
