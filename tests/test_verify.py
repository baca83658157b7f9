"""``storekit verify`` on both backends: content, not counts. A value changed or a row
deleted behind storekit's back (raw SQL on the store) is found with its file, table,
legacy id and column; everything accounted for exits 0."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from pathlib import Path
from typing import Dict, Iterator

import pytest
from _legacy_roundtrip import clear, execute, open_private
from click.testing import CliRunner

from storekit.cli import main
from storekit.legacy.generate import generate_legacy_dir
from storekit.migrate import migrate, verify
from storekit.store import Store

API = ("api_tracking.db", "api_calls")


@pytest.fixture(scope="module")
def store(storekit_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from open_private(storekit_url, tmp_path_factory.mktemp("verify"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("legacy") / "data"
    generate_legacy_dir(root, "hostile", seed=5, rows=20)
    return root


@pytest.fixture
def migrated(store: Store, hostile: Path) -> Store:
    clear(store)
    migrate(hostile, store)
    return store


def _sha(root: Path) -> Dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.db"))}


def _first_id(root: Path, file: str, table: str) -> int:
    with sqlite3.connect(str(root / file)) as conn:
        return int(conn.execute(f"SELECT MIN(rowid) FROM {table}").fetchone()[0])


def test_everything_migrated_is_accounted_for_and_files_untouched(migrated: Store, hostile: Path) -> None:
    before = _sha(hostile)
    report = verify(hostile, migrated)
    assert report.ok and report.findings == []
    assert report.rows == sum(t.source_rows for t in report.tables) > 0
    assert sum(t.quarantined for t in report.tables) > 0
    assert _sha(hostile) == before


def test_a_value_changed_in_sql_is_found_with_file_table_id_and_column(migrated: Store, hostile: Path) -> None:
    legacy_id = _first_id(hostile, *API)
    execute(migrated, "UPDATE api_calls SET endpoint = 'changed' WHERE id = :id", id=legacy_id)
    report = verify(hostile, migrated)
    assert not report.ok
    [finding] = report.findings
    assert (finding.file, finding.table, finding.legacy_id, finding.column) == (*API, legacy_id, "endpoint")
    assert finding.found == "'changed'"


def test_a_float_changed_in_its_last_bit_is_found(migrated: Store, hostile: Path) -> None:
    legacy_id = _first_id(hostile, *API)
    with sqlite3.connect(str(hostile / API[0])) as conn:
        value = conn.execute("SELECT response_time FROM api_calls WHERE id = ?", (legacy_id,)).fetchone()[0]

    execute(
        migrated, "UPDATE api_calls SET response_time = :v WHERE id = :id", v=math.nextafter(value, 1e9), id=legacy_id
    )
    [finding] = verify(hostile, migrated).findings
    assert (finding.legacy_id, finding.column) == (legacy_id, "response_time")


def test_a_row_deleted_in_sql_is_missing(migrated: Store, hostile: Path) -> None:
    file = "learning/learning_data.db"
    with sqlite3.connect(str(hostile / file)) as conn:
        legacy_id, code, day = conn.execute(
            "SELECT id, stock_code, screening_date FROM screening_history ORDER BY id LIMIT 1"
        ).fetchone()
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    execute(migrated, "DELETE FROM screening_history WHERE stock_code = :c AND screening_date = :d", c=code, d=iso)
    [finding] = verify(hostile, migrated).findings
    assert (finding.file, finding.table, finding.legacy_id, finding.column) == (
        file,
        "screening_history",
        legacy_id,
        None,
    )
    assert finding.problem.startswith("missing")


def test_a_deleted_or_altered_quarantined_row_is_found(migrated: Store, hostile: Path) -> None:
    execute(migrated, "DELETE FROM storekit_quarantine WHERE \"table\" = 'api_calls'")
    execute(
        migrated,
        "UPDATE storekit_quarantine SET reason = '' WHERE \"table\" = 'system_alerts'",
    )
    findings = verify(hostile, migrated).findings
    assert {(f.table, f.problem.split(":")[0]) for f in findings} == {
        ("api_calls", "missing"),
        ("system_alerts", "quarantined without a reason"),
    }


def test_nothing_migrated_means_every_row_missing(store: Store, hostile: Path) -> None:
    clear(store)
    report = verify(hostile, store)
    assert not report.ok
    assert sum(t.unaccounted for t in report.tables) == report.rows


def test_the_generic_read_path_finds_the_same(migrated: Store, hostile: Path) -> None:
    legacy_id = _first_id(hostile, *API)
    execute(migrated, "UPDATE api_calls SET method = 'PUT' WHERE id = :id", id=legacy_id)
    fast = verify(hostile, migrated).findings
    assert fast and fast == verify(hostile, migrated, generic=True).findings


def test_a_table_no_mapping_knows_is_not_accounted_for(migrated: Store, hostile: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(hostile, copy)
    with sqlite3.connect(str(copy / API[0])) as conn:
        conn.execute("CREATE TABLE api_notes (note TEXT)")
    report = verify(copy, migrated)
    assert report.unknown_tables == ["api_tracking.db:api_notes"] and not report.ok


def test_cli_exit_codes_and_json(migrated: Store, hostile: Path) -> None:
    url = migrated.backend.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(hostile), "--against", url, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    legacy_id = _first_id(hostile, *API)
    execute(migrated, "DELETE FROM api_calls WHERE id = :id", id=legacy_id)
    bad = runner.invoke(main, ["verify", str(hostile), "--against", url, "--json"])
    assert bad.exit_code == 1
    body = json.loads(bad.output)
    [finding] = [f for t in body["tables"] for f in t["findings"]]
    assert (finding["file"], finding["table"], finding["legacy_id"]) == (*API, legacy_id)
    text = runner.invoke(main, ["verify", str(hostile), "--against", url])
    assert text.exit_code == 1 and f"id {legacy_id}" in text.output
    usage = runner.invoke(main, ["verify", str(hostile), "--against", url, "--timezone", "Mars/Olympus"])
    assert usage.exit_code == 2


def test_a_zero_whose_sign_changed_is_found(migrated: Store, hostile: Path) -> None:
    file, table = "strategy_performance.db", "daily_strategy_returns"
    with sqlite3.connect(str(hostile / file)) as conn:
        strategy, day = conn.execute(f"SELECT strategy_name, date FROM {table} WHERE daily_return = 0").fetchone()
        legacy_id = conn.execute(f"SELECT id FROM {table} WHERE strategy_name = ? AND date = ?", (strategy, day))
        legacy_id = legacy_id.fetchone()[0]
    # PostgreSQL parses a bound -0.0 as -(0.0), a numeric 0: send the float8 text instead
    pg = migrated.backend.name == "postgresql"
    zero = "CAST(:z AS DOUBLE PRECISION)" if pg else ":z"
    sql = f"UPDATE {table} SET daily_return = {zero} WHERE strategy_name = :s AND date = :d"
    execute(migrated, sql, z="-0" if pg else -0.0, s=strategy, d=day)
    [finding] = verify(hostile, migrated).findings
    assert (finding.file, finding.legacy_id, finding.column) == (file, legacy_id, "daily_return")


def test_a_local_time_in_a_dst_gap_is_accounted_for(store: Store, tmp_path: Path) -> None:
    """1987-05-10 02:30 never happened in Seoul (summer time began at 02:00). It is stored
    as the instant zoneinfo gives it, and verify sees that instant, not a change (Python's
    == never equates a time in a gap with a time of another zone)."""
    from storekit.legacy.generate import write_api_calls

    root = tmp_path / "data"
    path = write_api_calls(root / "api_tracking.db", 3, seed=1)
    with sqlite3.connect(str(path)) as conn:
        conn.execute(
            "UPDATE api_calls SET timestamp = '1987-05-10T02:30:00' WHERE rowid = (SELECT MIN(rowid) FROM api_calls)"
        )
    conn.close()
    clear(store)
    report = migrate(root, store)
    assert report.migrated == 3 and report.quarantined == 0
    result = verify(root, store)
    assert result.findings == [] and result.ok
