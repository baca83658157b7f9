"""The legacy layout (storekit.legacy.schema) against the real files the legacy modules
wrote, and the generated legacy directories (storekit.legacy.generate) against the layout.

The real sample files and LEGACY.md live in ``../shared/legacy`` beside the repository
(``STOREKIT_LEGACY_DIR`` overrides); the tests that need them skip when they are absent.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import sqlalchemy as sa

from storekit.legacy import FORMATS, LEGACY_FILES, MAIN_DB, create_legacy_file, format_problem, legacy_file
from storekit.legacy.generate import (
    HOSTILE_CASES,
    HOSTILE_ID_BASE,
    PROFILES,
    LegacyDirSummary,
    generate_legacy_dir,
    hostile_case,
    write_api_calls,
)
from storekit.legacy.schema import LegacyFile, LegacyTable

LEGACY_DIR = Path(os.environ.get("STOREKIT_LEGACY_DIR", Path(__file__).resolve().parents[2] / "shared" / "legacy"))
SAMPLES = LEGACY_DIR / "samples" / "written-by-legacy-modules"
LEGACY_MD = LEGACY_DIR / "LEGACY.md"
NEVER_CREATED = ("notification_history.db", "system_alerts.db", "error_recovery.db", "api_tracking.db",
                 "performance_tracking.db", "accuracy_tracking.db", "strategy_performance.db")

Row = Tuple[Any, ...]


def _connect(path: Path) -> sqlite3.Connection:
    assert path.exists(), path
    return sqlite3.connect(str(path))


def _describe(path: Path) -> Dict[str, Any]:
    """Everything PRAGMA says about a file's tables, plus the sqlite_master order."""
    conn = _connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out: Dict[str, Any] = {"order": conn.execute("SELECT type, name FROM sqlite_master ORDER BY rowid").fetchall()}
        for t in tables:
            indexes = sorted(
                (name, unique, origin, partial, tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{name}')")))
                for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list('{t}')"))
            out[t] = (conn.execute(f"PRAGMA table_info('{t}')").fetchall(), indexes,
                      conn.execute(f"PRAGMA foreign_key_list('{t}')").fetchall())
        return out
    finally:
        conn.close()


def _rows(path: Path, table: str) -> Tuple[List[str], List[Row]]:
    conn = _connect(path)
    try:
        cur = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        conn.close()


def _scalar(path: Path, sql: str, *params: Any) -> Any:
    conn = _connect(path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


# --- the layout against the real legacy files ----------------------------------------------


@pytest.mark.parametrize("layout", [f for f in LEGACY_FILES if f.path != MAIN_DB], ids=lambda f: f.path)
def test_ddl_matches_the_files_the_legacy_modules_wrote(layout: LegacyFile, tmp_path: Path) -> None:
    sample = SAMPLES / layout.path
    if not sample.exists():
        pytest.skip(f"no sample of {layout.path} in {SAMPLES}")
    created = tmp_path / layout.path
    create_legacy_file(created, layout.path)
    want, got = _describe(sample), _describe(created)
    assert set(got) == set(want)
    for table in layout.table_names:  # columns, types, notnull, defaults, pk; indexes; foreign keys
        assert got[table] == want[table], table
    assert got["order"] == want["order"]  # and in the legacy creation order


def test_ddl_is_legacy_md_verbatim() -> None:
    if not LEGACY_MD.exists():
        pytest.skip(f"{LEGACY_MD} is absent")
    text = LEGACY_MD.read_text(encoding="utf-8")
    checked = 0
    for layout in LEGACY_FILES:
        if layout.path == MAIN_DB:
            layout = legacy_file(MAIN_DB, main_db_layout="f3f30f6")  # 5.1 is the snapshot's main DB
        for table in layout.tables:
            for statement in (table.ddl, *(i.sql for i in table.indexes)):
                assert statement + ";" in text, statement
            checked += 1
    assert checked == 36  # 26 tables of the plan + feedback.db's 2 + the main DB's 8


def _sqlalchemy_main_tables() -> sa.MetaData:
    """The 3f63b64 models of the two main-DB tables whose DDL LEGACY.md does not print."""
    md = sa.MetaData()
    sa.Table("stocks", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("daily_selections", md, sa.Column("id", sa.Integer, primary_key=True))
    f, i, s, dtm = sa.Float, sa.Integer, sa.String, sa.DateTime
    sa.Table(
        "trade_history", md, sa.Column("id", i, primary_key=True),
        sa.Column("stock_id", i, sa.ForeignKey("stocks.id"), nullable=False), sa.Column("order_id", s(50), unique=True),
        sa.Column("order_datetime", dtm, nullable=False), sa.Column("order_type", s(20), nullable=False),
        sa.Column("side", s(10), nullable=False), sa.Column("filled_datetime", dtm),
        sa.Column("quantity", i, nullable=False), sa.Column("filled_quantity", i, default=0), sa.Column("price", f),
        sa.Column("filled_price", f), sa.Column("amount", f), sa.Column("commission", f, default=0),
        sa.Column("tax", f, default=0), sa.Column("strategy", s(50)), sa.Column("signal_source", s(50)),
        sa.Column("daily_selection_id", i, sa.ForeignKey("daily_selections.id")), sa.Column("entry_price", f),
        sa.Column("target_price", f), sa.Column("stop_loss_price", f), sa.Column("expected_return", f),
        sa.Column("predicted_probability", f), sa.Column("predicted_class", i), sa.Column("model_name", s(50)),
        sa.Column("status", s(20), default="pending"), sa.Column("error_message", sa.Text),
        sa.Index("ix_trade_history_order_datetime", "order_datetime"), sa.Index("ix_trade_history_status", "status"),
        sa.Index("ix_trade_history_strategy", "strategy"),
    )
    sa.Table(
        "feedback_data", md, sa.Column("id", i, primary_key=True),
        sa.Column("prediction_id", s(100), unique=True, nullable=False), sa.Column("stock_code", s(20), nullable=False),
        sa.Column("prediction_date", sa.Date, nullable=False), sa.Column("predicted_probability", f, nullable=False),
        sa.Column("predicted_class", i, nullable=False), sa.Column("model_name", s(50), nullable=False),
        sa.Column("actual_return_7d", f), sa.Column("actual_class", i), sa.Column("prediction_error", f),
        sa.Column("absolute_error", f), sa.Column("feedback_date", sa.Date), sa.Column("is_processed", i, default=0),
        sa.Column("factor_scores", sa.Text), sa.Column("created_at", dtm), sa.Column("updated_at", dtm),
        sa.Index("ix_feedback_prediction_id", "prediction_id"), sa.Index("ix_feedback_stock_code", "stock_code"),
        sa.Index("ix_feedback_prediction_date", "prediction_date"), sa.Index("ix_feedback_model_name", "model_name"),
    )
    return md


def test_main_db_tables_not_in_legacy_md_match_sqlalchemy_create_all(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'sa.db'}")
    try:
        _sqlalchemy_main_tables().create_all(engine)
    finally:
        engine.dispose()
    create_legacy_file(tmp_path / "ours.db", MAIN_DB)
    want, got = _describe(tmp_path / "sa.db"), _describe(tmp_path / "ours.db")
    for table in ("trade_history", "feedback_data"):
        assert got[table] == want[table], table


# --- the layout itself ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", LEGACY_FILES, ids=lambda f: f.path)
def test_column_descriptors_agree_with_the_created_file(layout: LegacyFile, tmp_path: Path) -> None:
    create_legacy_file(tmp_path / "x.db", layout.path)
    info = _describe(tmp_path / "x.db")
    for table in layout.tables:
        pragma = info[table.name][0]
        assert [r[1] for r in pragma] == list(table.column_names)
        for (_, _, type_, notnull, default, pk), col in zip(pragma, table.columns):
            assert (type_, bool(notnull), default, bool(pk)) == (col.type, col.notnull, col.default, col.pk), col
            assert col.format in FORMATS


def test_layout_variants(tmp_path: Path) -> None:
    old = create_legacy_file(tmp_path / "feedback.db", "feedback.db", factor_scores_appended=True)
    assert old.table("feedback_data").column_names[-1] == "factor_scores"
    assert [r[1] for r in _describe(tmp_path / "feedback.db")["feedback_data"][0]][-3:] == [
        "created_at", "updated_at", "factor_scores"]
    sql = _scalar(tmp_path / "feedback.db", "SELECT sql FROM sqlite_master WHERE name = 'feedback_data'")
    assert sql.endswith("updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP\n, factor_scores TEXT)")  # ALTER TABLE

    snapshot = create_legacy_file(tmp_path / "main.db", MAIN_DB, main_db_layout="f3f30f6")
    assert "feedback_data" not in snapshot.table_names
    assert len(snapshot.table("trade_history").columns) == 19
    assert len(legacy_file(MAIN_DB).table("trade_history").columns) == 26
    upgraded = create_legacy_file(tmp_path / "upgraded.db", MAIN_DB, main_db_layout="upgraded")
    assert upgraded.table_names == (*snapshot.table_names, "feedback_data")
    assert upgraded.table("trade_history") == snapshot.table("trade_history")
    with pytest.raises(FileExistsError):
        create_legacy_file(tmp_path / "main.db", MAIN_DB)
    with pytest.raises(KeyError, match="not a legacy file"):
        legacy_file("nope.db")


@pytest.mark.parametrize(("fmt", "good", "bad"), [
    ("yyyymmdd", "20260110", ["2026-01-10", "abc", "20260230", 20260110]),
    ("iso_date", "2026-01-10", ["20260110", "2026-02-30", "2026-1-10"]),
    ("local_iso_T", "2026-01-10T09:15:02.123456", ["2026-01-10 09:15:02", "2026-01-10T09:15:02.12"]),
    ("utc_sql", "2026-01-10 00:15:02", ["2026-01-10T00:15:02", "2026-01-10 00:15:02.000001"]),
    ("sqlite_adapter", "2026-01-10 09:15:02.123456", ["2026-01-10T09:15:02.123456", "2026-01-10"]),
    ("json_ascii", '{"k": "\\ubc18\\ub3c4\\uccb4"}', ['{"k": "반도체"}', '{"k": 1', '{"k":1}']),
    ("json_utf8", '{"k": "반도체", "n": [1, 2.5]}', ['{"k": "\\ubc18"}', "{'k': 1}"]),
    ("bool01", 1, [2, "1", 1.0]),
    ("real", math.inf, ["1.5", None]),
    ("int", 3, [3.0, "3"]),
    ("text", "", [b"x", 1]),
])
def test_format_problem(fmt: Any, good: Any, bad: List[Any]) -> None:
    assert format_problem(fmt, good) is None
    for value in bad:
        assert format_problem(fmt, value) is not None, value


# --- generated directories -------------------------------------------------------------------

SEED, ROWS = 7, 30


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, LegacyDirSummary]:
    root = tmp_path_factory.mktemp("legacy")
    return {p: generate_legacy_dir(root / p / "data", p, SEED, rows=ROWS) for p in PROFILES}


def _layout_of(profile: str, path: str) -> LegacyFile:
    if profile != "hostile":
        return legacy_file(path)
    return legacy_file(path, factor_scores_appended=True, main_db_layout="upgraded")


def _values(root: Path, layout: LegacyFile) -> Iterator[Tuple[LegacyTable, str, Any, Any]]:
    """(table, column, row id, value) for every cell of the layout's columns."""
    for table in layout.tables:
        names, rows = _rows(root / layout.path, table.name)
        key = "id" if "id" in names else names[0]
        for row in rows:
            cells = dict(zip(names, row))
            for col in table.columns:
                if col.name in cells:
                    yield table, col.name, cells[key], cells[col.name]


def test_sparse_is_a_realistic_install(generated: Dict[str, LegacyDirSummary]) -> None:
    s = generated["sparse"]
    assert set(s.row_counts) == {"learning/learning_data.db", "feedback.db", "model_performance.db", MAIN_DB,
                                 "performance.db"}
    assert (s.root / "performance.db").stat().st_size == 0
    for path in NEVER_CREATED:
        assert not (s.root / path).exists()
    learning = s.row_counts["learning/learning_data.db"]
    assert learning == {"screening_history": ROWS, "selection_history": 0, "performance_tracking": 0,
                        "learning_metrics": 0}
    for path in ("feedback.db", "model_performance.db", MAIN_DB):
        assert set(s.row_counts[path]) == set(legacy_file(path, main_db_layout="f3f30f6").table_names)
        assert not any(s.row_counts[path].values()), path
    screening = s.root / "learning/learning_data.db"
    assert _scalar(screening, "SELECT max(id) FROM screening_history") > ROWS  # re-syncs left id gaps


@pytest.mark.parametrize("profile", ["full", "hostile"])
def test_every_table_exists_with_rows(generated: Dict[str, LegacyDirSummary], profile: str) -> None:
    s = generated[profile]
    assert set(s.row_counts) == {f.path for f in LEGACY_FILES} | {"performance.db"}
    for layout in LEGACY_FILES:
        counts = s.row_counts[layout.path]
        assert set(counts) == set(layout.table_names), layout.path
        assert all(counts.values()), (layout.path, counts)
    assert s.row_counts["api_tracking.db"]["api_calls"] == ROWS + (profile == "hostile")


def test_full_has_exactly_the_legacy_schema(generated: Dict[str, LegacyDirSummary], tmp_path: Path) -> None:
    root = generated["full"].root
    for layout in LEGACY_FILES:
        create_legacy_file(tmp_path / layout.path, layout.path)
        assert _describe(root / layout.path) == _describe(tmp_path / layout.path), layout.path


def test_full_values_are_in_the_legacy_formats(generated: Dict[str, LegacyDirSummary]) -> None:
    root = generated["full"].root
    seen: Set[str] = set()
    for layout in LEGACY_FILES:
        for table, column, row_id, value in _values(root, layout):
            col = table.column(column)
            assert col.problem(value) is None, (layout.path, table.name, row_id, column, value, col.problem(value))
            if value is not None and format_problem(col.format, value) is None:
                seen.add(col.format)
    assert seen == set(FORMATS)  # every format is exercised by real values


def test_full_has_the_legacy_quirks(generated: Dict[str, LegacyDirSummary]) -> None:
    root = generated["full"].root
    learning, recovery = root / "learning/learning_data.db", root / "error_recovery.db"
    assert _scalar(learning, "SELECT count(*) FROM screening_history WHERE per = 9e999") > 0
    assert _scalar(learning, "SELECT count(*) FROM screening_history WHERE sector = ''") > 0
    assert _scalar(learning, "SELECT count(*) FROM learning_metrics WHERE typeof(value) = 'text' "
                             "AND metric_name IN ('best_sector', 'worst_sector')") >= 2
    assert _scalar(learning, "SELECT max(n) FROM (SELECT count(*) n FROM learning_metrics GROUP BY metric_name)") > 1
    assert _scalar(learning, "SELECT max(id) - count(*) FROM screening_history") > 0
    assert _scalar(recovery, "SELECT min(id) FROM recovery_rules") > 4  # re-added at every start
    # HIGH/CRITICAL events twice (before and after recovery), LOW/MEDIUM once
    doubled = _rows(recovery, "error_events")[1]
    per_event: Dict[Tuple[Any, ...], List[Row]] = {}
    for row in doubled:
        per_event.setdefault((row[1], row[5]), []).append(row)
    for rows in per_event.values():
        assert len(rows) == (2 if rows[0][3] in ("high", "critical") else 1)
        assert [r[9] for r in rows] == ([0, 1] if len(rows) == 2 else [0])
    alerts = root / "system_alerts.db"
    assert _scalar(alerts, "SELECT sum(sent) FROM system_alerts") == 0
    assert _scalar(alerts, "SELECT sum(total_alerts) FROM alert_statistics") > _scalar(
        alerts, "SELECT count(*) FROM system_alerts")  # an overwritten alert is still counted
    notes = root / "notification_history.db"
    assert _scalar(notes, "SELECT sum(total_count) FROM notification_stats") == _scalar(
        notes, "SELECT count(*) FROM notification_history")
    assert _scalar(notes, "SELECT count(*) FROM notification_history WHERE response_data LIKE '%\\u%'") > 0
    assert _scalar(root / "feedback.db", "SELECT count(*) FROM feedback_data WHERE factor_scores LIKE '%기술적%'") > 0
    assert _scalar(root / "performance_tracking.db",
                   "SELECT count(*) FROM performance_comparisons WHERE improvement_suggestions LIKE '%개선%'") > 0


def test_hostile_cases_are_present_as_described(generated: Dict[str, LegacyDirSummary], tmp_path: Path) -> None:
    s = generated["hostile"]
    assert s.hostile_cases == HOSTILE_CASES
    assert len({c.name for c in HOSTILE_CASES}) == len(HOSTILE_CASES)
    for case in HOSTILE_CASES:
        path = s.root / case.file
        if case.legacy_id is None:
            continue
        assert case.legacy_id >= HOSTILE_ID_BASE
        value = _scalar(path, f"SELECT {case.column} FROM {case.table} WHERE id = ?", case.legacy_id)
        assert value == case.value and type(value) is type(case.value), case.name
    code_type = "SELECT typeof(stock_code) FROM selection_history WHERE id = ?"
    assert _scalar(s.root / "learning/learning_data.db", code_type, hostile_case("int_stock_code").legacy_id) == "text"
    assert math.copysign(1.0, hostile_case("negative_zero").value) == -1.0
    info = _describe(s.root / "feedback.db")["feedback_data"][0]
    assert info[-1][1] == "factor_scores"
    main = _describe(s.root / MAIN_DB)
    assert "feedback_data" in main
    assert "model_name" not in [r[1] for r in main["trade_history"][0]]
    create_legacy_file(tmp_path / "upgraded.db", MAIN_DB, main_db_layout="upgraded")
    assert main == _describe(tmp_path / "upgraded.db")
    assert "debt_ratio" in [r[1] for r in _describe(s.root / "learning/learning_data.db")["screening_history"][0]]


def test_only_hostile_cases_break_the_formats(generated: Dict[str, LegacyDirSummary]) -> None:
    root = generated["hostile"].root
    listed = {(c.file, c.table, c.legacy_id, c.column): c.name for c in HOSTILE_CASES}
    broken = set()
    for layout in LEGACY_FILES:
        for table, column, row_id, value in _values(root, _layout_of("hostile", layout.path)):
            if table.column(column).problem(value) is not None:
                assert (layout.path, table.name, row_id, column) in listed, (layout.path, table.name, row_id, column)
                broken.add(listed[(layout.path, table.name, row_id, column)])
    assert broken == {"bad_date", "impossible_date", "invalid_json", "text_in_real"}


def _dump(root: Path) -> Dict[str, List[str]]:
    dumps = {}
    for path in sorted(root.rglob("*.db")):
        conn = sqlite3.connect(str(path))
        try:
            dumps[path.relative_to(root).as_posix()] = list(conn.iterdump())
        finally:
            conn.close()
    return dumps


def test_generation_is_deterministic_for_a_seed(tmp_path: Path, generated: Dict[str, LegacyDirSummary]) -> None:
    again = generate_legacy_dir(tmp_path / "again", "hostile", SEED, rows=ROWS)
    other = generate_legacy_dir(tmp_path / "other", "hostile", SEED + 1, rows=ROWS)
    first = _dump(generated["hostile"].root)
    assert _dump(again.root) == first
    assert again.row_counts == generated["hostile"].row_counts
    assert _dump(other.root) != first
    with pytest.raises(FileExistsError):
        generate_legacy_dir(tmp_path / "again", "full", SEED)
    with pytest.raises(ValueError, match="profile"):
        generate_legacy_dir(tmp_path / "x", "huge", SEED)  # type: ignore[arg-type]


def test_write_api_calls(tmp_path: Path) -> None:
    n = 20_000
    path = write_api_calls(tmp_path / "api_tracking.db", n, seed=3, chunk=7_000)
    create_legacy_file(tmp_path / "empty.db", "api_tracking.db")
    assert _describe(path) == _describe(tmp_path / "empty.db")
    assert _scalar(path, "SELECT count(*) FROM api_calls") == n
    assert _scalar(path, "SELECT seq FROM sqlite_sequence WHERE name = 'api_calls'") == n
    table = legacy_file("api_tracking.db").table("api_calls")
    for _, column, row_id, value in _values(path.parent, LegacyFile(path.name, (table,), "")):
        assert table.column(column).problem(value) is None, (row_id, column, value)
    stamps = [r[1] for r in _rows(path, "api_calls")[1]]
    assert stamps == sorted(stamps) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", stamps[0])
    again = write_api_calls(tmp_path / "again.db", n, seed=3)
    assert list(sqlite3.connect(str(again)).iterdump()) == list(sqlite3.connect(str(path)).iterdump())
