"""``storekit migrate`` on both backends: every legacy row ends migrated or quarantined,
quarantine keeps the row exactly, reruns add nothing, the source files are untouched."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from click.testing import CliRunner

from storekit import Store
from storekit.cli import main
from storekit.legacy.generate import HOSTILE_CASES, generate_legacy_dir
from storekit.migrate import MigrationReport, migrate, migration_order, untag_value
from storekit.migrate._bulk import ledger_counts, ledger_status
from storekit.migrate._convert import Quarantine, bool01, iso_date, json_text, real, utc_sql, yyyymmdd
from storekit.query import Eq
from storekit.records import (
    ApiCall,
    DailySelection,
    LearningMetric,
    LegacyRow,
    QuarantinedRow,
    ScreeningHistory,
    all_record_types,
    spec_of,
)
from storekit.store import open_store

SAMPLES = Path("/work/shared/legacy/samples/written-by-legacy-modules")
KST = dt.timezone(dt.timedelta(hours=9))


def _url(backend: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'store.db'}"
    base = str(request.getfixturevalue("pg_url"))
    return f"{base}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = _url(request.param, request, tmp_path)
    with open_store(url) as store:
        yield store
    if request.param == "postgresql":
        import sqlalchemy as sa

        schema = sa.engine.make_url(url).query["schema"]
        engine = sa.create_engine(sa.engine.make_url(url.split("?")[0]).set(drivername="postgresql+psycopg2"))
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("legacy") / "data"
    generate_legacy_dir(root, "hostile", seed=7, rows=30)
    return root


def _copy(src: Path, tmp: Path) -> Path:
    dst = tmp / "data"
    shutil.copytree(src, dst)
    return dst


def _sha(root: Path) -> Dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.db"))}


def _source_counts(root: Path) -> Dict[Tuple[str, str], int]:
    out = {}
    for p in root.rglob("*.db"):
        if p.stat().st_size == 0:
            continue
        conn = sqlite3.connect(str(p))
        sql = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        names = [r[0] for r in conn.execute(sql)]
        for n in names:
            out[(p.relative_to(root).as_posix(), n)] = conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0]
        conn.close()
    return out


def _check_complete(root: Path, report: MigrationReport, store: Store) -> None:
    counts = _source_counts(root)
    for t in report.tables:
        assert t.source_rows == counts[(t.file, t.table)]
        assert t.migrated + t.quarantined + t.already_present == t.source_rows, t
        ledger = ledger_counts(store, t.file, t.table)
        assert ledger["migrated"] + ledger["quarantined"] == t.source_rows
        quarantined = store.count(QuarantinedRow, Eq("file", t.file), Eq("table", t.table))
        assert quarantined == store.count(
            LegacyRow, Eq("file", t.file), Eq("table", t.table), Eq("status", "quarantined")
        )
    migrated = {(t.file, t.table) for t in report.tables}
    assert {k for k in counts if k[0] != "performance.db"} == migrated


# -- converters ---------------------------------------------------------------------------


def test_converters() -> None:
    assert yyyymmdd("20260110") == dt.date(2026, 1, 10)
    assert iso_date("2026-01-10") == dt.date(2026, 1, 10)
    for bad in ("abc", "2026011", "20260230", "2026-02-30", 20260110):
        with pytest.raises(Quarantine):
            yyyymmdd(bad)
    assert utc_sql("2026-01-10 00:15:02") == dt.datetime(2026, 1, 10, 0, 15, 2, tzinfo=dt.timezone.utc)
    assert bool01(1) is True and bool01(0) is False and bool01(None) is None
    with pytest.raises(Quarantine):
        bool01(2)
    assert real(3) == 3.0 and isinstance(real(3), float)
    neg = real(-0.0)
    assert neg is not None and math.copysign(1.0, neg) < 0
    with pytest.raises(Quarantine):
        real("timeout")
    assert json_text('{"a": [1, "한"]}') == {"a": [1, "한"]}
    with pytest.raises(Quarantine):
        json_text('{"a": 1')


# -- whole directories ----------------------------------------------------------------------


def test_hostile_dir_migrates_completely(target: Store, hostile_dir: Path, tmp_path: Path) -> None:
    root = _copy(hostile_dir, tmp_path)
    before = _sha(root)
    report = migrate(root, target)
    assert _sha(root) == before
    _check_complete(root, report, target)
    for case in HOSTILE_CASES:
        if case.legacy_id is None:
            continue
        status = ledger_status(target, case.file, case.table, case.legacy_id)
        expected = "quarantined" if case.expect == "quarantine" else "migrated"
        assert status == expected, (case.name, status)
        if case.expect == "quarantine":
            q = target.get(QuarantinedRow, case.file, case.table, case.legacy_id)
            assert q is not None and q.reason
            conn = sqlite3.connect(str(root / case.file))
            conn.row_factory = sqlite3.Row
            legacy = conn.execute(f"SELECT * FROM {case.table} WHERE rowid = ?", (case.legacy_id,)).fetchone()
            conn.close()
            decoded = {k: untag_value(v) for k, v in q.row.items()}
            assert decoded == dict(legacy), case.name
            assert sorted(q.row) == sorted(legacy.keys())  # JSONB does not keep key order
    extra = target.get(LegacyRow, "learning/learning_data.db", "screening_history", 900_002)
    assert extra is not None and extra.extra == {"debt_ratio": ["real", "30.2"]}
    by_table = {(t.file, t.table): t for t in report.tables}
    assert by_table[("learning/learning_data.db", "screening_history")].extra_columns == ("debt_ratio",)
    assert "model_name" in by_table[("db/stock_data.db", "trade_history")].missing_columns

    # a second run adds nothing
    sizes = {T: target.count(T) for T in all_record_types()}
    again = migrate(root, target)
    assert sum(t.migrated + t.quarantined for t in again.tables) == 0
    assert all(t.already_present == t.source_rows for t in again.tables)
    assert {T: target.count(T) for T in all_record_types()} == sizes
    assert _sha(root) == before


def test_typed_values(target: Store, tmp_path: Path) -> None:
    root = tmp_path / "data"
    generate_legacy_dir(root, "full", seed=3, rows=20)
    report = migrate(root, target)
    _check_complete(root, report, target)
    assert report.quarantined == 0
    conn = sqlite3.connect(str(root / "learning/learning_data.db"))
    code, day = conn.execute(
        "SELECT stock_code, screening_date FROM screening_history WHERE per = 9e999 LIMIT 1"
    ).fetchone()
    row = target.get(ScreeningHistory, code, dt.date(int(day[:4]), int(day[4:6]), int(day[6:])))
    assert row is not None and row.per == math.inf
    texts = conn.execute("SELECT id, value FROM learning_metrics WHERE typeof(value) = 'text'").fetchall()
    conn.close()
    assert texts
    for legacy_id, value in texts:
        metric = target.get(LearningMetric, legacy_id)
        assert metric is not None and metric.value is None and metric.value_text == value
    conn = sqlite3.connect(str(root / "api_tracking.db"))
    legacy_id, stamp, rt = conn.execute("SELECT id, timestamp, response_time FROM api_calls LIMIT 1").fetchone()
    conn.close()
    call = target.get(ApiCall, legacy_id)
    assert call is not None and call.response_time == rt
    naive = dt.datetime.fromisoformat(stamp)
    assert call.timestamp == naive.replace(tzinfo=KST)
    assert call.timestamp.astimezone(dt.timezone.utc) == (naive - dt.timedelta(hours=9)).replace(tzinfo=dt.timezone.utc)
    conn = sqlite3.connect(str(root / "accuracy_tracking.db"))
    sel_date, code, created = conn.execute(
        "SELECT selection_date, stock_code, created_at FROM daily_selections LIMIT 1"
    ).fetchone()
    conn.close()
    sel = next(
        iter(
            target.find(
                DailySelection,
                Eq("source", "accuracy_tracker"),
                Eq("stock_code", code),
                Eq("selection_date", dt.date.fromisoformat(sel_date)),
            )
        )
    )
    assert sel.created_at == dt.datetime.fromisoformat(created).replace(tzinfo=dt.timezone.utc)
    expected = DailySelection.from_accuracy_tracker(dt.date.fromisoformat(sel_date), code, created_at=sel.created_at)
    assert sel.id == expected.id


def test_only_dry_run_and_absent(tmp_path: Path) -> None:
    root = tmp_path / "data"
    generate_legacy_dir(root, "sparse", seed=1, rows=10)
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        report = migrate(root, store, only=["api_tracking.db", "learning/learning_data.db:screening_history"])
        assert report.absent_files == ["api_tracking.db"]
        assert [(t.file, t.table) for t in report.tables] == [("learning/learning_data.db", "screening_history")]
        dry = migrate(root, store, dry_run=True)
        assert store.count(LegacyRow) == report.tables[0].source_rows
        assert "system_alerts.db" in dry.absent_files
        with pytest.raises(ValueError):
            migrate(root, store, only=["nope.db"])


def test_cli_json_and_exit_codes(hostile_dir: Path, tmp_path: Path) -> None:
    root = _copy(hostile_dir, tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["migrate", str(root), "--to", url, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) >= {"tables", "absent_files"}
    first: Dict[str, Any] = payload["tables"][0]
    assert {"file", "table", "source_rows", "migrated", "quarantined", "already_present"} <= set(first)
    assert sum(t["quarantined"] for t in payload["tables"]) > 0
    strict = runner.invoke(main, ["migrate", str(root), "--to", url, "--json", "--strict", "--dry-run"])
    assert strict.exit_code == 1
    human = runner.invoke(main, ["migrate", str(root), "--to", url])
    assert human.exit_code == 0, human.output
    assert "storekit migrate" in human.output and "api_calls" in human.output
    assert runner.invoke(main, ["migrate", str(tmp_path / "missing"), "--to", url]).exit_code == 2
    assert runner.invoke(main, ["migrate", str(root), "--to", url, "--only", "x.db"]).exit_code == 2
    assert runner.invoke(main, ["migrate", str(root), "--to", url, "--timezone", "Mars/X"]).exit_code == 2


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} is absent")
def test_real_samples_migrate_without_quarantine(target: Store, tmp_path: Path) -> None:
    root = _copy(SAMPLES, tmp_path)
    before = _sha(root)
    report = migrate(root, target)
    problems: List[Any] = [(q.file, q.table, q.legacy_id, q.reason) for q in target.find(QuarantinedRow)]
    assert problems == []
    assert report.quarantined == 0
    assert all(t.migrated + t.already_present == t.source_rows for t in report.tables)
    assert _sha(root) == before


def test_ledger_record_types_are_declared() -> None:
    assert spec_of(LegacyRow).key == ("file", "table", "legacy_id")
    assert spec_of(QuarantinedRow).table == "storekit_quarantine"


class _Stop(Exception):
    pass


def test_interrupted_run_resumes_without_duplicates(
    target: Store, hostile_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storekit.migrate._bulk as bulk
    import storekit.migrate._run as run

    root = _copy(hostile_dir, tmp_path)
    monkeypatch.setattr(run, "BATCH_ROWS", 7)
    monkeypatch.setattr(bulk, "READ_ROWS", 5)
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 7)
    batches = 0

    def stop_after_some(event: str, report: Any) -> None:
        nonlocal batches
        if event == "batch":
            batches += 1
            if batches == 23:
                raise _Stop

    with pytest.raises(_Stop):
        migrate(root, target, progress=stop_after_some)
    partial = sum(sum(ledger_counts(target, f, t).values()) for f, t in migration_order())
    assert partial > 0
    report = migrate(root, target)
    assert sum(t.already_present for t in report.tables) == partial
    _check_complete(root, report, target)


def test_key_collisions_are_quarantined_not_overwritten(target: Store, hostile_dir: Path, tmp_path: Path) -> None:
    from storekit.migrate import mapping_for
    from storekit.records import Feedback

    root = _copy(hostile_dir, tmp_path)
    report = migrate(root, target)
    migrated = sum(t.migrated for t in report.tables if mapping_for(t.file, t.table).record_type is Feedback)
    assert target.count(Feedback) == migrated
    reasons = [q.reason for q in target.find(QuarantinedRow, Eq("table", "feedback_data"))]
    assert all("already in the store" in r for r in reasons)


def test_unknown_table_and_unreadable_file(tmp_path: Path) -> None:
    root = tmp_path / "data"
    generate_legacy_dir(root, "sparse", seed=2, rows=5)
    conn = sqlite3.connect(str(root / "feedback.db"))
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()
    url = f"sqlite:///{tmp_path / 's.db'}"
    with open_store(url) as store:
        report = migrate(root, store)
    assert report.unknown_tables == ["feedback.db:notes"]
    (root / "api_tracking.db").write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(main, ["migrate", str(root), "--to", url, "--json"])
    assert result.exit_code == 2


def test_existing_record_with_a_legacy_id_is_not_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "data"
    generate_legacy_dir(root, "full", seed=4, rows=12)
    conn = sqlite3.connect(str(root / "api_tracking.db"))
    legacy_id = conn.execute("SELECT id FROM api_calls ORDER BY id LIMIT 1 OFFSET 3").fetchone()[0]
    conn.close()
    mine = ApiCall(
        id=legacy_id,
        timestamp=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        endpoint="/x",
        method="GET",
        response_time=1.0,
    )
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.put(mine)
        report = migrate(root, store, only=["api_tracking.db"])
        assert report.tables[0].quarantined == 1
        assert store.get(ApiCall, legacy_id) == mine
        q = store.get(QuarantinedRow, "api_tracking.db", "api_calls", legacy_id)
        assert q is not None and "already in the store" in q.reason
