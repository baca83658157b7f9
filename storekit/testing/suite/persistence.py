"""What outlives one store object: data after closing and reopening
(needs :attr:`storekit.Capability.PERSISTENT`)."""

from __future__ import annotations

import datetime as dt

from storekit import BackendInfo, Capability, Store, open_store
from storekit.records import ScreeningHistory

from ..compare import assert_same_record
from ..plugin import requires

__all__ = ["test_records_survive_reopening_the_store"]

DAY = dt.date(2026, 1, 10)


@requires(Capability.PERSISTENT)
def test_records_survive_reopening_the_store(
    storekit_store: Store, storekit_url: str, storekit_backend_info: BackendInfo
) -> None:
    rec = ScreeningHistory(stock_code="005930", stock_name="삼성전자", screening_date=DAY, overall_score=1.5)
    with open_store(storekit_url) as first:
        assert first.backend.name == storekit_backend_info.name
        first.put(rec)
    with open_store(storekit_url) as second:
        got = second.get(ScreeningHistory, "005930", DAY)
    assert got is not None
    assert_same_record(rec, got, "after reopening")
    assert_same_record(rec, storekit_store.get(ScreeningHistory, "005930", DAY), "in the session's store")
