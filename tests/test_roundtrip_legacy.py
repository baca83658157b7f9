"""The proof of issue 4: legacy files migrated and rolled back equal the originals row by
row, as the legacy code reads them, on both backends; rows written after the migration
land where the legacy module would have written them; the hostile profile goes through
migrate → verify → rollback unchanged."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import struct
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from _legacy_roundtrip import clear, differences, open_private, read_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit.legacy import MAIN_DB, LegacyColumn, LegacyTable, create_legacy_file, legacy_file
from storekit.legacy._gen_common import Gen
from storekit.legacy.generate import HOSTILE_CASES, generate_legacy_dir
from storekit.migrate import mapping_for, migrate, migration_order, rollback, verify
from storekit.records import (
    ApiCall,
    DailySelection,
    Feedback,
    PerformanceTracking,
    ScreeningHistory,
    SystemAlert,
    spec_of,
)
from storekit.store import Store

KST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(scope="module")
def store(storekit_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from open_private(storekit_url, tmp_path_factory.mktemp("roundtrip"))


# -- hypothesis-generated legacy files ---------------------------------------------------------

_LOCAL = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2035, 12, 31))
_CODES = st.sampled_from(["005930", "000660", "37550L", "950130"])
_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0.0 or str(x) == "0.0"),
    _TEXT,
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=6,
)
_REAL = st.floats(allow_nan=False)


def _value(table: LegacyTable, column: LegacyColumn) -> st.SearchStrategy[Any]:
    """A value of ``column`` in the format the legacy code writes it (the generator's
    formatters, not storekit's), biased towards what the record accepts."""
    fmt = column.format
    mapping = mapping_for(table.file, table.name)
    field = next((c.field for c in mapping.columns if c.column == column.name), None)
    spec = spec_of(mapping.record_type)
    choices = spec.field(field).choices if field and field in spec.field_names else None
    if fmt == "yyyymmdd":
        value: st.SearchStrategy[Any] = _LOCAL.map(lambda t: Gen.yyyymmdd(t.date()))
    elif fmt == "iso_date":
        value = _LOCAL.map(lambda t: Gen.iso_date(t.date()))
    elif fmt == "local_iso_T":
        value = _LOCAL.map(Gen.local_iso_t)
    elif fmt == "sqlite_adapter":
        value = _LOCAL.map(Gen.sqlalchemy_dt if table.file == MAIN_DB else Gen.adapter)
    elif fmt == "utc_sql":
        value = _LOCAL.map(Gen.utc_sql)
    elif fmt == "json_ascii":
        value = _JSON.map(json.dumps)
    elif fmt == "json_utf8":
        value = _JSON.map(lambda v: json.dumps(v, ensure_ascii=False))
    elif fmt == "bool01":
        value = st.sampled_from([0, 1])
    elif fmt == "real":
        value = _REAL if not column.alt_formats else st.one_of(_REAL, _TEXT.filter(lambda s: not _numeric(s)))
    elif fmt == "int":
        value = st.integers(-(2**63), 2**63 - 1)
    elif choices:
        value = st.sampled_from(choices)
    elif "code" in column.name:
        value = _CODES
    else:
        value = _TEXT.map(lambda s: s or "x")
    if column.notnull or column.pk:
        return value
    return st.one_of(st.none(), value)


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _written_columns(table: LegacyTable) -> List[LegacyColumn]:
    return [c for c in table.columns if not (c.name == "id" and c.pk)]


@st.composite
def legacy_tables(draw: st.DrawFn) -> Dict[Tuple[str, str], List[Tuple[Any, ...]]]:
    """Rows for one to three legacy tables, columns in legacy order (ids assigned by SQLite)."""
    chosen = draw(st.lists(st.sampled_from(migration_order()), min_size=1, max_size=3, unique=True))
    out: Dict[Tuple[str, str], List[Tuple[Any, ...]]] = {}
    for file, name in chosen:
        table = legacy_file(file).table(name)
        row = st.tuples(*[_value(table, c) for c in _written_columns(table)])
        out[(file, name)] = draw(st.lists(row, max_size=6))
    return out


def _write_legacy_dir(root: Path, tables: Dict[Tuple[str, str], List[Tuple[Any, ...]]]) -> None:
    for (file, name), rows in tables.items():
        path = root / file
        if not path.exists():
            create_legacy_file(path, file)
        table = legacy_file(file).table(name)
        columns = [c.name for c in _written_columns(table)]
        conn = sqlite3.connect(str(path))
        with conn:  # UNIQUE duplicates are dropped, as the legacy INSERT OR REPLACE would
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT OR IGNORE INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows)
        conn.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(tables=legacy_tables())
def test_generated_legacy_files_migrate_and_roll_back_equal(
    tables: Dict[Tuple[str, str], List[Tuple[Any, ...]]], store: Store, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("gen")
    _write_legacy_dir(base / "data", tables)
    clear(store)
    migrate(base / "data", store)
    assert verify(base / "data", store).ok
    rollback(store, base / "out")
    assert differences(base / "data", base / "out") == []


# -- rows written after the migration ---------------------------------------------------------


def test_rows_written_after_migration_land_in_their_legacy_tables(store: Store, tmp_path: Path) -> None:
    generate_legacy_dir(tmp_path / "data", "full", seed=3, rows=6)
    clear(store)
    migrate(tmp_path / "data", store)
    at = dt.datetime(2026, 2, 2, 0, 15, 2, 123456, tzinfo=dt.timezone.utc)  # 09:15:02 in Seoul
    call = ApiCall(timestamp=at, endpoint="/uapi/x", method="GET", response_time=12.5, success=True)
    screening = ScreeningHistory(
        stock_code="005930", stock_name="삼성전자", screening_date=dt.date(2026, 2, 2), passed=False, created_at=at
    )
    tracking = PerformanceTracking(
        source="accuracy", stock_code="000660", tracking_date=dt.date(2026, 2, 2), price_1d=1.5, updated_at=at
    )
    selection = DailySelection.from_accuracy_tracker(dt.date(2026, 2, 2), "000660", stock_name="SK하이닉스")
    alert = SystemAlert(
        alert_id="system_cpu_1",
        timestamp=at,
        level="info",
        category="system",
        title="t",
        message="m",
        component="cpu",
        metrics={"종목": 1.0},
        urgent=True,
    )
    feedback = Feedback(
        prediction_id="005930_2026-02-02_ensemble",
        stock_code="005930",
        prediction_date=dt.date(2026, 2, 2),
        predicted_probability=0.7,
        predicted_class=1,
        model_name="ensemble",
        created_at=at,
        updated_at=at,
    )
    for rec in (call, screening, tracking, selection, alert, feedback):
        store.put(rec)
    report = rollback(store, tmp_path / "out")
    out = tmp_path / "out"

    def row_where(file: str, table: str, **match: Any) -> Dict[str, Any]:
        rows = [r for r in read_table(out / file, file, table).values() if all(r[k][1] == v for k, v in match.items())]
        assert len(rows) == 1, (file, table, match, len(rows))
        return {k: struct.unpack("<d", v[1])[0] if v[0] == "float" else v[1] for k, v in rows[0].items()}

    api = row_where("api_tracking.db", "api_calls", id=call.id)
    assert api["timestamp"] == "2026-02-02T09:15:02.123456" and api["success"] == 1 and api["response_time"] == 12.5
    sh = row_where("learning/learning_data.db", "screening_history", stock_code="005930", screening_date="20260202")
    assert sh["passed"] == 0 and sh["created_at"] == "2026-02-02 00:15:02"
    original_ids = set(
        read_table(tmp_path / "data" / "learning/learning_data.db", "learning/learning_data.db", "screening_history")
    )
    assert sh["id"] > max(original_ids)
    pt = row_where("accuracy_tracking.db", "performance_tracking", stock_code="000660", selection_date="2026-02-02")
    assert pt["price_1d"] == 1.5 and pt["last_updated"] == "2026-02-02 00:15:02"
    ds = row_where("accuracy_tracking.db", "daily_selections", stock_code="000660", selection_date="2026-02-02")
    assert ds["stock_name"] == "SK하이닉스"
    sa_ = row_where("system_alerts.db", "system_alerts", alert_id="system_cpu_1")
    assert sa_["metrics"] == {"종목": 1.0} and sa_["urgent"] == 1 and sa_["timestamp"] == "2026-02-02T09:15:02.123456"
    fb = row_where("feedback.db", "feedback_data", prediction_id="005930_2026-02-02_ensemble")
    assert fb["prediction_date"] == "2026-02-02" and fb["is_processed"] == 0
    with sqlite3.connect(str(out / "db/stock_data.db")) as conn:  # feedback goes to feedback.db only
        sql = "SELECT COUNT(*) FROM feedback_data WHERE prediction_id = ?"
        assert conn.execute(sql, (feedback.prediction_id,)).fetchone()[0] == 0
    written = {(t.file, t.table): t.written_since for t in report.tables}
    assert written[("api_tracking.db", "api_calls")] == 1
    assert written[("learning/learning_data.db", "screening_history")] == 1
    # everything that came from the legacy files is still there, unchanged
    assert [d for d in differences(tmp_path / "data", out) if d[2] != "ids"] == []


def test_an_updated_record_is_rolled_back_under_its_legacy_id(store: Store, tmp_path: Path) -> None:
    generate_legacy_dir(tmp_path / "data", "full", seed=4, rows=5)
    clear(store)
    migrate(tmp_path / "data", store)
    file = "learning/learning_data.db"
    before = read_table(tmp_path / "data" / file, file, "screening_history")
    legacy_id, row = next(iter(before.items()))
    date = dt.datetime.strptime(row["screening_date"][1], "%Y%m%d").date()
    old = store.get(ScreeningHistory, row["stock_code"][1], date)
    assert old is not None
    store.put(ScreeningHistory(**{**_fields(old), "overall_score": 99.25}))
    rollback(store, tmp_path / "out")
    after = read_table(tmp_path / "out" / file, file, "screening_history")
    assert set(after) == set(before)
    assert after[legacy_id]["overall_score"] == ("float", struct.pack("<d", 99.25))


def _fields(rec: Any) -> Dict[str, Any]:
    return {n: getattr(rec, n) for n in spec_of(rec).field_names}


# -- the hostile profile ---------------------------------------------------------------------


def test_hostile_profile_migrates_verifies_and_rolls_back_equal(store: Store, tmp_path: Path) -> None:
    generate_legacy_dir(tmp_path / "data", "hostile", seed=11, rows=12)
    clear(store)
    migrated = migrate(tmp_path / "data", store)
    checked = verify(tmp_path / "data", store)
    assert checked.ok, checked.findings[:5]
    assert sum(t.quarantined for t in checked.tables) == migrated.quarantined
    assert migrated.quarantined == sum(1 for c in HOSTILE_CASES if c.expect == "quarantine")
    report = rollback(store, tmp_path / "out")
    assert report.conflicts == []
    assert sum(t.restored for t in report.tables) == migrated.quarantined
    assert differences(tmp_path / "data", tmp_path / "out") == []


SAMPLES = Path("/work/shared/legacy/samples/written-by-legacy-modules")


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} (files written by the legacy modules) is not here")
def test_files_written_by_the_legacy_modules_roll_back_equal(store: Store, tmp_path: Path) -> None:
    clear(store)
    migrate(SAMPLES, store)
    assert verify(SAMPLES, store).ok
    rollback(store, tmp_path / "out")
    assert differences(SAMPLES, tmp_path / "out") == []
