"""``storekit rollback`` on both backends: the legacy DDL and indexes, the store only read,
existing files never overwritten without --force, quarantine restored or its conflicts
listed, and the CLI's exit codes."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from _legacy_roundtrip import clear, differences, execute, open_private
from click.testing import CliRunner

from storekit.cli import main
from storekit.errors import OutputExistsError
from storekit.legacy import LEGACY_FILES, create_legacy_file
from storekit.legacy.generate import generate_legacy_dir
from storekit.migrate import migrate, rollback
from storekit.migrate._convert import writer_for, zone
from storekit.records import ApiCall, all_record_types
from storekit.store import Store

SEOUL = zone("Asia/Seoul")


@pytest.fixture(scope="module")
def store(storekit_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from open_private(storekit_url, tmp_path_factory.mktemp("rollback"))


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("legacy") / "data"
    generate_legacy_dir(root, "full", seed=9, rows=8)
    return root


@pytest.fixture
def migrated(store: Store, full: Path) -> Store:
    clear(store)
    migrate(full, store)
    return store


def _schema(path: Path) -> List[Tuple[str, str, str]]:
    with sqlite3.connect(str(path)) as conn:
        return conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name != 'sqlite_sequence'").fetchall()


def _store_snapshot(store: Store) -> Dict[str, List[str]]:
    return {t.__name__: sorted(repr(r) for r in store.find(t)) for t in all_record_types()}


def test_files_have_the_legacy_ddl_and_indexes(migrated: Store, tmp_path: Path) -> None:
    report = rollback(migrated, tmp_path / "out")
    assert sorted(report.files) == sorted(f.path for f in LEGACY_FILES)
    for layout in LEGACY_FILES:
        reference = tmp_path / "reference" / layout.path
        create_legacy_file(reference, layout.path)
        assert _schema(tmp_path / "out" / layout.path) == _schema(reference), layout.path


def test_the_store_is_only_read(migrated: Store, tmp_path: Path) -> None:
    before = _store_snapshot(migrated)
    rollback(migrated, tmp_path / "out")
    assert _store_snapshot(migrated) == before


def test_existing_files_are_never_overwritten_without_force(migrated: Store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "db").mkdir(parents=True)
    (out / "db" / "stock_data.db").write_bytes(b"precious")
    with pytest.raises(OutputExistsError) as info:
        rollback(migrated, out)
    assert info.value.paths == (str(out / "db" / "stock_data.db"),)
    assert "stock_data.db" in str(info.value)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["db", "db/stock_data.db"]
    assert (out / "db" / "stock_data.db").read_bytes() == b"precious"
    rollback(migrated, out, force=True)
    assert (out / "db" / "stock_data.db").read_bytes() != b"precious"
    assert not list(out.rglob("*.storekit-rollback"))


def test_full_profile_rolls_back_equal(migrated: Store, full: Path, tmp_path: Path) -> None:
    rollback(migrated, tmp_path / "out")
    assert differences(full, tmp_path / "out") == []


def test_a_quarantined_row_whose_key_a_record_took_is_listed_not_lost(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    create_legacy_file(data / "api_tracking.db", "api_tracking.db")
    with sqlite3.connect(str(data / "api_tracking.db")) as conn:
        conn.execute(
            "INSERT INTO api_calls (id, timestamp, endpoint, method, response_time) VALUES (7, 'x', '/a', 'GET', 1.0)"
        )
    clear(store)
    migrate(data, store)  # quarantined: 'x' is not a timestamp
    at = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    store.put(ApiCall(id=7, timestamp=at, endpoint="/b", method="GET", response_time=2.0))
    report = rollback(store, tmp_path / "out")
    assert len(report.conflicts) == 1 and "api_calls" in report.conflicts[0] and "7" in report.conflicts[0]
    url = store.backend.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["rollback", str(tmp_path / "out2"), "--from", url, "--json"])
    assert result.exit_code == 1
    assert len(json.loads(result.output)["conflicts"]) == 1


def test_cli_exit_codes(migrated: Store, tmp_path: Path) -> None:
    url = migrated.backend.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    runner = CliRunner()
    first = runner.invoke(main, ["rollback", str(tmp_path / "out"), "--from", url])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["rollback", str(tmp_path / "out"), "--from", url])
    assert again.exit_code == 2 and "--force" in again.output
    forced = runner.invoke(main, ["rollback", str(tmp_path / "out"), "--from", url, "--force", "--json"])
    assert forced.exit_code == 0 and json.loads(forced.output)["rows"] > 0


def test_the_store_changed_behind_its_back_is_what_rolls_back(migrated: Store, tmp_path: Path) -> None:
    execute(migrated, "UPDATE api_calls SET method = 'PATCH'")
    rollback(migrated, tmp_path / "out")
    with sqlite3.connect(str(tmp_path / "out" / "api_tracking.db")) as conn:
        assert {m for (m,) in conn.execute("SELECT method FROM api_calls")} == {"PATCH"}


@pytest.mark.parametrize(
    ("fmt", "value", "text"),
    [
        ("yyyymmdd", dt.date(2026, 1, 10), "20260110"),
        ("yyyymmdd", dt.date(999, 1, 2), "09990102"),
        ("iso_date", dt.date(2026, 1, 10), "2026-01-10"),
        ("local_iso_T", dt.datetime(2026, 1, 10, 0, 15, 2, 5, tzinfo=dt.timezone.utc), "2026-01-10T09:15:02.000005"),
        ("local_iso_T", dt.datetime(2026, 1, 10, 0, 15, 2, tzinfo=dt.timezone.utc), "2026-01-10T09:15:02"),
        ("sqlite_adapter", dt.datetime(2026, 1, 10, 0, 15, 2, tzinfo=dt.timezone.utc), "2026-01-10 09:15:02"),
        ("utc_sql", dt.datetime(2026, 1, 10, 9, 15, 2, 999, tzinfo=SEOUL), "2026-01-10 00:15:02"),
        ("json_ascii", {"종목": [1, 2.5]}, '{"\\uc885\\ubaa9": [1, 2.5]}'),
        ("json_utf8", {"종목": None}, '{"종목": null}'),
        ("bool01", True, 1),
        ("real", -0.0, -0.0),
    ],
)
def test_writers_write_what_the_legacy_code_writes(fmt: str, value: object, text: object) -> None:
    assert writer_for(fmt, SEOUL)(value) == text
    assert writer_for(fmt, SEOUL)(None) is None


def test_sqlalchemy_datetimes_keep_six_fraction_digits() -> None:
    at = dt.datetime(2026, 1, 10, 0, 15, 2, tzinfo=dt.timezone.utc)
    assert writer_for("sqlite_adapter", SEOUL, sqlalchemy=True)(at) == "2026-01-10 09:15:02.000000"


def test_verify_inlines_the_same_local_timestamp_writers() -> None:
    from storekit.migrate._verify import _INLINE_WRITERS

    for at in (
        dt.datetime(2026, 1, 10, 0, 15, 2, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 1, 10, 0, 15, 2, 7, tzinfo=dt.timezone.utc),
    ):
        for (fmt, sqlalchemy), expression in _INLINE_WRITERS.items():
            inline = eval(expression.format("at"), {"_tz": SEOUL, "at": at})
            assert inline == writer_for(fmt, SEOUL, sqlalchemy=sqlalchemy)(at)
