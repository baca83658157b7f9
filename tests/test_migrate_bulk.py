"""The bulk lane of ``storekit migrate`` stores exactly what the per-row path stores.

Hypothesis writes legacy ``api_calls`` tables full of valid, borderline and invalid values
(timestamps around DST changes and at the ends of the calendar, every float edge, text with
COPY's special characters, NUL, invalid UTF-8, numbers where text belongs and the
reverse); each table is migrated twice into fresh stores of the same backend, once through
the bulk lane and once row by row, and the stored records (floats bit for bit), the
quarantine (row and reason) and what the ledger says of every legacy row must be equal.
``storekit verify`` must accept the bulk lane's store. On both backends.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import struct
import uuid
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import storekit.migrate._bulk as bulk
import storekit.migrate._run as run
from storekit.legacy import legacy_file
from storekit.migrate import migrate
from storekit.migrate._bulk import ledger_status
from storekit.migrate._store_rows import StoreRows
from storekit.migrate._verify import verify
from storekit.records import ApiCall, QuarantinedRow
from storekit.store import Store, open_store

FILE, TABLE = "api_tracking.db", "api_calls"
_NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
COLUMNS = (
    "id",
    "timestamp",
    "endpoint",
    "method",
    "response_time",
    "request_size",
    "response_size",
    "status_code",
    "success",
    "error_message",
    "user_agent",
    "ip_address",
    "session_id",
)


class Raw:
    """A value written with SQL (``CAST(x'..' AS TEXT)``: TEXT that is not UTF-8)."""

    def __init__(self, sql: str) -> None:
        self.sql = sql


def _stamp(d: dt.datetime, sep: str, frac: bool) -> str:
    return d.isoformat(sep, timespec="microseconds" if frac else "seconds")


_NAIVE = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59))
_AROUND_DST = st.sampled_from(
    [
        # Asia/Seoul's DST of 1987-88 and the 1950s, and zone changes of other zones' kind
        dt.datetime(1987, 5, 10, 2, 0),
        dt.datetime(1987, 10, 11, 2, 30),
        dt.datetime(1988, 5, 8, 2, 59, 59),
        dt.datetime(1954, 3, 21, 0, 0),
        dt.datetime(1961, 8, 10, 0, 0),
        dt.datetime(1908, 4, 1, 0, 15),
        dt.datetime(2026, 3, 8, 2, 30),
        dt.datetime(2026, 11, 1, 1, 30),
    ]
).flatmap(lambda d: st.integers(-3600, 3600).map(lambda s: d + dt.timedelta(seconds=s)))
_TIMESTAMP = st.one_of(
    st.builds(_stamp, st.one_of(_NAIVE, _AROUND_DST), st.just("T"), st.booleans()),
    st.builds(_stamp, _NAIVE, st.just(" "), st.booleans()),  # the wrong separator
    st.sampled_from(
        [
            "2026-02-30T10:00:00",
            "2026-01-01T24:00:00",
            "2026-01-01T10:60:00",
            "2026-01-01T10:00:60",
            "2026-01-01T10:00:00.12345",
            "2026-01-01T10:00:00.1234567",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59.999999",
            "\uff12\uff10\uff12\uff16-01-01T10:00:00",  # full-width digits
            "2026-01-01T10:00:00\t",
            "",
            "abc",
        ]
    ),
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
)
_SPECIAL_TEXT = st.sampled_from(
    ["\\", "\\N", "a\\Nb", "\t", "a\nb", "\r", "\x00", "a\x00", "", " ", "\u00e9\uac00", "\U0001f600"]
)
_TEXT = st.one_of(
    st.text(max_size=12),
    _SPECIAL_TEXT,
    st.builds(lambda a, b: a + b, st.text(max_size=4), _SPECIAL_TEXT),
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.binary(max_size=4),
    st.just(Raw("CAST(x'ff61' AS TEXT)")),
)
_REAL = st.one_of(
    st.floats(allow_nan=False),
    st.sampled_from([0.0, -0.0, math.inf, -math.inf, 5e-324, -5e-324, 1.7976931348623157e308, 0.1, 1e16]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(["12.5", "timeout", "", "1e999"]),
    st.none(),
)
_INT = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([3.0, 3.5, -0.0, "7", "x", b"\x01"]),
    st.none(),
)
_BOOL = st.one_of(st.sampled_from([0, 1, 2, -1, 1.0, 0.0, "1", "true", b"\x01"]), st.none())


@st.composite
def legacy_rows(draw: Any) -> List[Tuple[Any, ...]]:
    ids = draw(st.lists(st.integers(min_value=1, max_value=2**40), min_size=1, max_size=40, unique=True))
    rows = []
    for legacy_id in sorted(ids):
        endpoint = draw(st.one_of(st.just("/uapi/x"), _TEXT))
        method = draw(st.one_of(st.just("GET"), _TEXT))
        rows.append(
            (
                legacy_id,
                draw(st.one_of(st.just("2026-01-05T18:30:00.005805"), _TIMESTAMP)),
                endpoint,
                method,
                draw(st.one_of(st.just(90.5), _REAL)),
                draw(_INT),
                draw(_INT),
                draw(_INT),
                draw(_BOOL),
                draw(_TEXT),
                draw(_TEXT),
                draw(_TEXT),
                draw(_TEXT),
            )
        )
    return rows


def _write_legacy(root: Path, rows: List[Tuple[Any, ...]]) -> None:
    root.mkdir(parents=True)
    conn = sqlite3.connect(str(root / FILE))
    try:
        # without NOT NULL, so that a NULL where the record needs a value is tried too
        conn.execute(legacy_file(FILE).table(TABLE).ddl.replace(" NOT NULL", ""))
        for row in rows:
            marks = ", ".join(v.sql if isinstance(v, Raw) else "?" for v in row)
            values = [v for v in row if not isinstance(v, Raw)]
            conn.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})", values)
        conn.commit()
    finally:
        conn.close()


def _exact(value: Any) -> Any:
    """Floats by their bits (``-0.0`` is not ``0.0``), everything else as it is."""
    return ("float", struct.pack(">d", value)) if isinstance(value, float) else value


def _snapshot(store: Store, ids: List[int]) -> Tuple[Any, ...]:
    records = [tuple(map(_exact, r)) for r in StoreRows(store).rows(ApiCall)]
    if store.backend.name == "sqlite":  # and the stored text itself (its order is the order)
        with store.backend.engine.connect() as conn:  # type: ignore[attr-defined]
            raw = conn.exec_driver_sql("SELECT * FROM api_calls ORDER BY id").all()
        records += [tuple(map(_exact, r)) for r in raw]
    quarantine = {(q.legacy_id, q.reason, repr(sorted(q.row.items()))) for q in store.find(QuarantinedRow)}
    ledger = {i: ledger_status(store, FILE, TABLE, i) for i in ids}
    return records, quarantine, ledger


@pytest.fixture(params=["sqlite", "postgresql"])
def store_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of fresh store URLs of one backend (PostgreSQL schemas dropped at the end)."""
    made: List[str] = []

    def new() -> str:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
        else:
            base = str(request.getfixturevalue("pg_url"))
            schema = f"sk_bulk_{uuid.uuid4().hex[:10]}"
            url = sa.engine.make_url(base).update_query_dict({"schema": schema}).render_as_string(hide_password=False)
        made.append(url)
        return url

    yield new
    if request.param == "postgresql" and made:
        base = sa.engine.make_url(made[0]).difference_update_query(["schema"])
        engine = sa.create_engine(base.set(drivername="postgresql+psycopg2"))
        with engine.begin() as conn:
            for url in made:
                schema = sa.engine.make_url(url).query["schema"]
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _migrate(root: Path, url: str, lane: bool, monkeypatch: pytest.MonkeyPatch, zone: str) -> Tuple[Any, ...]:
    monkeypatch.setattr(run, "BULK", lane)
    with open_store(url) as store:
        report = migrate(root, store, zone=zone)
        ids = [r[0] for r in sqlite3.connect(str(root / FILE)).execute(f"SELECT id FROM {TABLE}")]
        snap = _snapshot(store, ids)
        checked = verify(root, store, zone_name=zone)
        findings = sorted(str(f.as_dict()) for t in checked.tables for f in t.findings)
    return report.as_dict()["tables"], snap, findings


# no shrinking: an example is two migrations and a verify, and a failing one is shown whole
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), phases=_NO_SHRINK)
@given(rows=legacy_rows(), zone=st.sampled_from(["Asia/Seoul", "America/New_York", "Australia/Lord_Howe"]))
def test_bulk_lane_stores_what_the_per_row_path_stores(
    store_urls: Any, tmp_path_factory: pytest.TempPathFactory, rows: List[Tuple[Any, ...]], zone: str
) -> None:
    root = tmp_path_factory.mktemp("bulk") / "data"
    _write_legacy(root, rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "READ_ROWS", 7)  # several batches and chunks
        mp.setattr(bulk, "CHUNK_ROWS", 11)
        mp.setattr(bulk, "BULK_MIN_ROWS", 1)  # and the indexes built after the load
        fast = _migrate(root, store_urls(), True, mp, zone)
        slow = _migrate(root, store_urls(), False, mp, zone)
    assert fast[0] == slow[0]  # the report
    assert fast[1][0] == slow[1][0]  # the records
    assert fast[1][1] == slow[1][1]  # the quarantine
    assert fast[1][2] == slow[1][2]  # the ledger
    assert set(fast[1][2].values()) <= {"migrated", "quarantined"}
    # storekit verify says the same of both (it accepts both, but for a local time in a
    # DST gap, which it compares across zones and Python's == never calls equal)
    assert fast[2] == slow[2]
    assert all("timestamp" in f for f in fast[2]), fast[2][:3]


def test_bulk_lane_is_used_and_rebuilds_the_indexes(store_urls: Any, tmp_path: Path) -> None:
    """The lane runs for api_calls (one ledger row per chunk), drops the secondary indexes
    of a fresh table and creates them again, and a run after one killed between the two
    (indexes missing) creates them."""
    from storekit.legacy.generate import write_api_calls
    from storekit.query import Eq
    from storekit.records import LegacyRow

    root = tmp_path / "data"
    write_api_calls(root / FILE, 3000, seed=5)
    url = store_urls()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "BULK_MIN_ROWS", 1)
        mp.setattr(bulk, "READ_ROWS", 500)
        mp.setattr(bulk, "CHUNK_ROWS", 1000)
        with open_store(url) as store:
            backend: Any = store.backend
            table = backend._tables[ApiCall]
            expected = {ix.name for ix in table.indexes}
            report = migrate(root, store)
            assert report.tables[0].migrated == 3000
            assert store.count(LegacyRow, Eq("file", FILE), Eq("table", TABLE)) == 3
            with backend.engine.connect() as conn:
                assert expected <= {ix["name"] for ix in sa.inspect(conn).get_indexes(table.name)}
            with backend.engine.begin() as conn:  # as a kill right after the load leaves it
                for ix in table.indexes:
                    if not ix.unique:
                        conn.execute(sa.schema.DropIndex(ix))
            again = migrate(root, store)
            assert again.tables[0].already_present == 3000
            with backend.engine.connect() as conn:
                assert expected <= {ix["name"] for ix in sa.inspect(conn).get_indexes(table.name)}
