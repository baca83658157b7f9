"""Validation happens before anything is written: a batch with a bad record writes
nothing, whatever the backend."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterator

import pytest

from storekit import RecordValidationError, Store
from storekit.records import LearningMetric, ScreeningHistory

__all__ = [
    "test_a_batch_with_a_non_record_writes_nothing",
    "test_a_batch_with_an_invalid_record_writes_nothing",
    "test_an_append_with_an_invalid_record_writes_nothing",
]

DAY = dt.date(2026, 1, 10)


def screening(code: str, **kw: Any) -> ScreeningHistory:
    return ScreeningHistory(stock_code=code, stock_name=f"종목{code}", screening_date=DAY, **kw)


def test_a_batch_with_an_invalid_record_writes_nothing(storekit_store: Store) -> None:
    def batch() -> Iterator[object]:
        yield LearningMetric(date=DAY, metric_type="performance", metric_name="avg_max_gain", value=1.0)
        yield screening("000001")
        yield screening("000002", overall_score=math.nan)  # fails while being made

    with pytest.raises(RecordValidationError, match="overall_score"):
        storekit_store.put_many(batch())  # type: ignore[arg-type]
    assert storekit_store.count(ScreeningHistory) == 0
    assert storekit_store.count(LearningMetric) == 0


def test_a_batch_with_a_non_record_writes_nothing(storekit_store: Store) -> None:
    with pytest.raises(TypeError, match="not a storekit record"):
        storekit_store.put_many([screening("000001"), {"stock_code": "000002"}])  # type: ignore[list-item]
    assert storekit_store.count(ScreeningHistory) == 0


def test_an_append_with_an_invalid_record_writes_nothing(storekit_store: Store) -> None:
    def batch() -> Iterator[ScreeningHistory]:
        yield screening("000001")
        yield screening("000002", overall_score=math.inf * 0)  # NaN

    with pytest.raises(RecordValidationError, match="overall_score"):
        storekit_store.append(batch())
    assert storekit_store.count(ScreeningHistory) == 0
