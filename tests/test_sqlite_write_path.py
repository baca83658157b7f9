"""SQLite's bulk write path stores exactly what the column types write.

The bulk writer converts with fast forms (:func:`storekit.sql.types.utc_text`,
:data:`storekit.sql.types.DATE_TEXT`, booleans as 1/0 ints) instead of the types' bind
processors; these tests hold them to the processors' output, and check the stored values
and their SQLite storage classes in a real file. Appends go in multi-row ``INSERT``
statements: every row is written, and a duplicate key still fails the whole call.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zoneinfo
from pathlib import Path
from typing import Any, List, Optional

import pytest
import storekit_sqlite
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event as sa_event

from storekit import open_store
from storekit.errors import IntegrityError
from storekit.records import ApiCall
from storekit.records.learning import ScreeningHistory
from storekit.sql import ISODate, UTCTimestampText
from storekit.sql.types import DATE_TEXT, utc_text

UTC = dt.timezone.utc
ZONES = [zoneinfo.ZoneInfo(name) for name in ("Asia/Seoul", "America/New_York", "Europe/London", "Australia/Lord_Howe")]

# any fixed offset datetime allows: whole hours, minutes, seconds, even microseconds
fixed_offsets = st.timedeltas(
    min_value=dt.timedelta(hours=-24) + dt.timedelta(microseconds=1),
    max_value=dt.timedelta(hours=24) - dt.timedelta(microseconds=1),
).map(dt.timezone)
timezones = st.one_of(st.just(UTC), fixed_offsets, st.sampled_from(ZONES))
# years 2-9998: what validation lets through (the UTC value then stays within 1-9999)
instants = st.datetimes(min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31, 23, 59, 59, 999999))


class Stamp(dt.datetime):
    """A datetime subclass (validation accepts them)."""


def reference(value: dt.datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@given(instants, timezones, st.booleans())
def test_utc_text_is_the_utc_isoformat(naive: dt.datetime, tz: dt.tzinfo, fold: bool) -> None:
    value = naive.replace(tzinfo=tz, fold=int(fold))
    assert utc_text(value) == reference(value)
    assert UTCTimestampText().process_bind_param(value, None) == reference(value)


@given(instants, timezones)
def test_utc_text_of_a_datetime_subclass_is_the_utc_isoformat(naive: dt.datetime, tz: dt.tzinfo) -> None:
    value = Stamp.combine(naive.date(), naive.time(), tz)
    assert utc_text(value) == reference(value)


def test_utc_text_at_the_edges() -> None:
    kst = dt.timezone(dt.timedelta(hours=9), "KST")
    for value in (
        dt.datetime(1970, 1, 1, tzinfo=UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(1970, 1, 1, 8, 59, 59, 999999, tzinfo=kst),  # the day before in UTC
        dt.datetime(2, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=23, minutes=59))),
        dt.datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone(-dt.timedelta(hours=23, minutes=59))),
        dt.datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(0), "Z")),  # a UTC that is not UTC
    ):
        assert utc_text(value) == reference(value), value


def test_a_utc_value_out_of_range_raises_as_astimezone_does() -> None:
    early = dt.datetime(1, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    for convert in (utc_text, reference):
        try:
            convert(early)
        except OverflowError:
            continue
        raise AssertionError(f"{convert.__name__} did not raise")


@given(st.dates())
def test_date_text_is_the_isoformat(day: dt.date) -> None:
    assert DATE_TEXT[day] == day.isoformat() == ISODate().process_bind_param(day, None)


def _stored(path: Path) -> List[Any]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT stock_code, screening_date, typeof(screening_date), passed, typeof(passed),"
            " created_at, typeof(created_at), overall_score FROM screening_history ORDER BY stock_code"
        ).fetchall()
    finally:
        conn.close()


def test_the_bulk_path_stores_what_the_types_write(tmp_path: Path) -> None:
    kst = dt.timezone(dt.timedelta(hours=9), "KST")
    seoul = zoneinfo.ZoneInfo("Asia/Seoul")
    day = dt.date(2024, 1, 2)
    created = [
        dt.datetime(2024, 1, 2, 15, 40, 0, 123456, tzinfo=kst),
        dt.datetime(2024, 1, 2, 8, 0, tzinfo=kst),  # the day before in UTC
        dt.datetime(2024, 1, 2, 15, 40, tzinfo=seoul),
        dt.datetime(2024, 1, 2, 6, 40, tzinfo=UTC),
        None,
    ]
    passed = [True, False, None, True, False]
    records = [
        ScreeningHistory(
            stock_code=f"00000{i}",
            stock_name="삼성전자",
            screening_date=day + dt.timedelta(days=i),
            passed=passed[i],
            created_at=created[i],
            overall_score=float(i),
        )
        for i in range(len(created))
    ]
    path = tmp_path / "bulk.db"
    with open_store(f"sqlite:///{path}", record_types=[ScreeningHistory]) as store:
        assert store.put_many(records) == len(records)
        assert [store.get(ScreeningHistory, r.stock_code, r.screening_date) for r in records] == records
    boolean = {True: (1, "integer"), False: (0, "integer"), None: (None, "null")}
    assert _stored(path) == [
        (
            r.stock_code,
            r.screening_date.isoformat(),
            "text",
            *boolean[r.passed],
            None if r.created_at is None else reference(r.created_at),
            "null" if r.created_at is None else "text",
            r.overall_score,
        )
        for r in records
    ]


def test_of_records_with_the_same_key_in_one_put_many_the_last_is_stored(tmp_path: Path) -> None:
    # several write chunks (2730 rows each on SQLite), with the repeats in different chunks
    day = dt.date(2024, 1, 2)
    batch = [
        ScreeningHistory(stock_code=f"{i % 4000:06d}", stock_name="종목", screening_date=day, overall_score=float(i))
        for i in range(12_001)
    ]
    path = tmp_path / "repeats.db"
    with open_store(f"sqlite:///{path}", record_types=[ScreeningHistory]) as store:
        assert store.put_many(batch) == len(batch)
        stored = {r.stock_code: r.overall_score for r in store.find(ScreeningHistory)}
    last = {r.stock_code: r.overall_score for r in batch}  # a dict keeps the last value of a key
    assert len(stored) == 4000
    assert stored == last


def _calls(n: int, start: int = 0) -> List[ApiCall]:
    t0 = dt.datetime(2026, 1, 12, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    return [
        ApiCall(
            id=10_000 + i,
            timestamp=t0 + dt.timedelta(milliseconds=37 * i),
            endpoint=f"/uapi/{i % 3}",
            method="GET",
            response_time=i / 7,
            request_size=i if i % 5 else None,
            success=[True, False, None][i % 3],
            error_message="실패 😀" if i % 3 == 1 else None,
        )
        for i in range(start, start + n)
    ]


def _largest_statement(monkeypatch: pytest.MonkeyPatch, record_type: type, rows: int) -> None:
    """Statements of at most ``rows`` rows of ``record_type`` (through MAX_PARAMETERS)."""
    monkeypatch.setattr(storekit_sqlite, "MAX_PARAMETERS", rows * len(record_type.__attrs_attrs__))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "largest",
    [
        1,  # every row alone
        50,  # 24 statements of 50; the 34 left as 32 and 2
        None,  # the shipped size, 2,520 rows: the 1234 rows as 1024, 128, 64, 16 and 2
    ],
)
def test_append_in_multi_row_statements_writes_every_row_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, largest: Optional[int]
) -> None:
    if largest is not None:
        _largest_statement(monkeypatch, ApiCall, largest)
    calls = _calls(1234)
    with open_store(f"sqlite:///{tmp_path / 'calls.db'}", fallback=None, record_types=[ApiCall]) as store:
        assert store.append(calls) == len(calls)
        assert list(store.find(ApiCall, order_by=["id"])) == calls


def test_a_duplicate_key_in_a_multi_row_append_raises_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _largest_statement(monkeypatch, ApiCall, 10)
    with open_store(f"sqlite:///{tmp_path / 'calls.db'}", fallback=None, record_types=[ApiCall]) as store:
        store.append(_calls(5))
        batch = _calls(30, start=100)
        batch[17] = _calls(1, start=3)[0]  # already stored, in the second statement of the call
        with pytest.raises(IntegrityError):
            store.append(batch)
        assert [c.id for c in store.find(ApiCall, order_by=["id"])] == [10_000 + i for i in range(5)]


def test_writes_of_any_size_use_the_largest_statement_then_powers_of_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few fixed sizes, so that sqlite3 compiles each once per connection and finds it in
    its cache after; and no long run of single-row statements for what a write leaves."""
    _largest_statement(monkeypatch, ScreeningHistory, 40)
    rows_per_statement: List[int] = []

    def trace(sql: str) -> None:
        if sql.startswith("INSERT INTO screening_history"):
            rows_per_statement.append(sql.count("), (") + 1)

    day = dt.date(2024, 1, 2)
    with open_store(f"sqlite:///{tmp_path / 'sizes.db'}", record_types=[ScreeningHistory]) as store:
        engine = store.backend.engine  # type: ignore[attr-defined]
        sa_event.listen(engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(trace))
        engine.dispose()
        sizes = (1, 5, 6, 39, 40, 41, 95, 163)
        written: List[List[int]] = []
        for n in sizes:
            batch = [ScreeningHistory(stock_code=f"{i:06d}", stock_name="종목", screening_date=day) for i in range(n)]
            before = len(rows_per_statement)
            assert store.put_many(batch) == n
            written.append(rows_per_statement[before:])
        assert len(list(store.find(ScreeningHistory))) == max(sizes)
    assert written == [
        [1],
        [4, 1],
        [4, 2],
        [32, 4, 2, 1],
        [40],
        [40, 1],
        [40, 40, 8, 4, 2, 1],
        [40, 40, 40, 40, 2, 1],
    ]
    assert set(rows_per_statement) <= {40, 32, 16, 8, 4, 2, 1}


def test_the_parameter_limit_without_getlimit_is_probed_on_this_build() -> None:
    """Python before 3.11 cannot ask a connection its limit; storekit tries a statement."""
    probe = storekit_sqlite._build_allows.__wrapped__
    getlimit = getattr(sqlite3.connect(":memory:"), "getlimit", None)
    if getlimit is not None:  # the connection's own answer to hold the probe to
        limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        assert probe(limit) == limit
        assert probe(limit + 1) == 999
        assert probe(storekit_sqlite.MAX_PARAMETERS) == (storekit_sqlite.MAX_PARAMETERS if limit >= 32766 else 999)
    else:  # SQLite's default limit is 32,766 since 3.32, 999 before
        assert probe(storekit_sqlite.MAX_PARAMETERS) == (32766 if sqlite3.sqlite_version_info >= (3, 32) else 999)
    assert probe(1_000_000) == 999  # more than builds allow (the default 32,766; Debian 250,000)


def test_the_memos_of_the_fast_forms_stay_bounded() -> None:
    from storekit.sql import types

    start = dt.datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC)
    for i in range(types._CACHE_LIMIT + 10):  # as many distinct days, dates and clock times
        value = start + dt.timedelta(days=i, seconds=i % 86_400)
        assert utc_text(value) == reference(value)
        assert DATE_TEXT[value.date()] == value.date().isoformat()
    for memo in (types._day_text, types._clock_text, types.DATE_TEXT, types._epoch_in):
        assert len(memo) <= types._CACHE_LIMIT
