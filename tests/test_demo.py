"""`storekit demo`: the main job on generated legacy files, into the embedded default."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from storekit import open_store
from storekit.cli import main
from storekit.records import LegacyRow, ScreeningHistory


def test_demo_migrates_the_sample_installs_into_the_embedded_store_and_reruns_add_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "STOREKIT_URL", "STOREKIT_SQLITE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--legacy-dir", str(tmp_path / "legacy")])
    assert first.exit_code == 0, first.output
    assert "sparse legacy install" in first.output and "full legacy install" in first.output
    store_file = tmp_path / "data" / "storekit.db"
    with open_store(f"sqlite:///{store_file}") as store:
        screened = store.count(ScreeningHistory)
        ledger = store.count(LegacyRow)
    assert screened > 0 and ledger > 0
    again = runner.invoke(main, ["demo", "--legacy-dir", str(tmp_path / "legacy")])
    assert again.exit_code == 0, again.output
    with open_store(f"sqlite:///{store_file}") as store:
        assert store.count(ScreeningHistory) == screened
        assert store.count(LegacyRow) == ledger
    assert again.output.count("legacy rows are accounted for") == 2


def test_demo_fails_when_verify_finds_a_row_changed_behind_its_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "STOREKIT_URL", "STOREKIT_SQLITE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["demo", "--legacy-dir", str(tmp_path / "legacy")]).exit_code == 0
    store_file = tmp_path / "data" / "storekit.db"
    with sqlite3.connect(store_file) as conn:
        changed = conn.execute("UPDATE screening_history SET stock_name = stock_name || '!'").rowcount
    assert changed > 0
    again = runner.invoke(main, ["demo", "--legacy-dir", str(tmp_path / "legacy")])
    assert again.exit_code == 1, again.output
    assert "stock_name" in again.output
