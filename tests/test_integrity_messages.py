"""An IntegrityError names the record type being written and, where the database says
it (PostgreSQL's DETAIL), the key or reference that failed, on every write path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from storekit import IntegrityError, open_store
from storekit.records import Price, Stock

DAY = dt.date(2026, 1, 10)


def _stock(i: int, code: str = "") -> Stock:
    return Stock(id=i, code=code or f"{i:06d}", name="종목", market="KOSPI")


def _price(stock_id: int) -> Price:
    return Price(stock_id=stock_id, date=DAY, open_price=1.0, high_price=1.0, low_price=1.0, close_price=1.0, volume=1)


@pytest.mark.parametrize("rows", [1, 300], ids=["one row", "a COPY-sized batch"])
def test_postgresql_integrity_errors_name_the_type_and_the_key(pg_schema_url: str, rows: int) -> None:
    with open_store(pg_schema_url) as store:
        store.put(_stock(1))
        batch = [_stock(i) for i in range(2, rows + 1)] + [_stock(1, code="999999")]
        with pytest.raises(IntegrityError, match=r"appending Stock records: .*Key \(id\)=\(1\) already exists"):
            store.append(batch)
        with pytest.raises(IntegrityError, match=r"writing Price records: .*Key \(stock_id\)=\(99\) is not present"):
            store.put_many([_price(99)] * rows)
        assert store.count(Stock) == 1 and store.count(Price) == 0


def test_sqlite_integrity_errors_name_the_type(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        store.put(_stock(1))
        with pytest.raises(IntegrityError, match=r"appending Stock records: UNIQUE constraint failed: stocks\.id"):
            store.append([_stock(1, code="999999")])
        with pytest.raises(IntegrityError, match="writing Price records: FOREIGN KEY constraint failed"):
            store.put(_price(99))
        assert store.count(Stock) == 1 and store.count(Price) == 0
