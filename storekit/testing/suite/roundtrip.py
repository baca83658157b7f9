"""Round trips: every record type comes back from the backend exactly as written.

The records come from :mod:`storekit.testing.strategies` (derived from the
declarations), with their parents for references, so a new record type is covered
here without a line of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storekit import Eq, Store
from storekit.records import Kind, Record, all_record_types, spec_of

from ..compare import assert_same_record
from ..strategies import parents_of, records

__all__ = ["test_a_written_record_reads_back_the_same"]

RECORD_TYPES = all_record_types()


def _name(record_type: type) -> str:
    return record_type.__name__


def _delete(store: Store, written: List[Record]) -> None:
    """Delete the tables of ``written`` (parents first in it), children first."""
    with store.transaction():
        for record_type in dict.fromkeys(type(r) for r in reversed(written)):
            store.delete(record_type)


def _assert_utc(rec: Record) -> None:
    for f in spec_of(rec).fields:
        value = getattr(rec, f.name)
        if f.kind is Kind.TIMESTAMP and value is not None:
            assert value.utcoffset() == dt.timedelta(0), f"{f.name} read back as {value!r}, not UTC"


# storekit_store empties the store once per test; each example deletes what it wrote, so
# the next starts from empty tables too. (Not an argument: hypothesis warns about
# function-scoped fixtures that are not reset between examples, which is the intent here.)
@pytest.mark.usefixtures("storekit_store")
@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=_name)
@given(data=st.data())
def test_a_written_record_reads_back_the_same(
    storekit_session_store: Store, record_type: type, data: st.DataObject
) -> None:
    store = storekit_session_store
    rec: Record = data.draw(records(record_type), label="record")
    parents = data.draw(parents_of(rec), label="parents")
    written = [*parents, rec]
    try:
        store.put_many(written)  # parents first
        spec = spec_of(record_type)

        got = store.get(record_type, *rec.key)
        assert got is not None, "get by key found nothing"
        assert_same_record(rec, got, "get")
        _assert_utc(got)

        by_key = list(store.find(record_type, *[Eq(k, v) for k, v in zip(spec.key, rec.key)]))
        assert len(by_key) == 1, by_key
        assert_same_record(rec, by_key[0], "find by key")

        every_field = [Eq(f.name, getattr(rec, f.name)) for f in spec.fields if f.kind is not Kind.JSON]
        by_value = list(store.find(record_type, *every_field))
        assert len(by_value) == 1, f"find with Eq on every field found {len(by_value)}"
        assert_same_record(rec, by_value[0], "find by every field")

        for parent in parents:
            assert_same_record(parent, store.get(type(parent), *parent.key), "parent")
    finally:
        _delete(store, written)
