"""store.data_synchronizer on both backends: JSON inputs validated against a schema,
unchanged files skipped, prices only from the caller, learning metrics equal to a plain
Python computation over the same rows."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store
from storekit.domain._data_synchronizer_json import SCREENING, SELECTION_LAYOUTS, item_values
from storekit.errors import InputFileError
from storekit.query import Eq
from storekit.records import (
    LearningMetric,
    PerformanceTracking,
    ScreeningHistory,
    SelectionHistory,
    SyncedFile,
)

TODAY = dt.date(2026, 11, 27)
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "legacy" / "samples" / "written-by-legacy-modules"
MINE = (LearningMetric, PerformanceTracking, ScreeningHistory, SelectionHistory, SyncedFile)


def _clear(store: Store) -> None:
    with store.transaction():
        for record_type in MINE:
            store.delete(record_type)


def _result(code: str, **extra: Any) -> Dict[str, Any]:
    item: Dict[str, Any] = {
        "stock_code": code,
        "stock_name": f"종목{code}",
        "sector": "반도체",
        "overall_passed": True,
        "overall_score": 70.0,
        "fundamental": {"score": 60.0, "details": {"roe": {"value": 9.5}, "per": {"value": 12.0}}},
        "technical": {"score": 55.0},
    }
    item.update(extra)
    return item


def _screening_file(data_dir: Path, day: str, results: List[Any], stamp: str = "091500") -> Path:
    path = data_dir / "watchlist" / f"screening_results_{day}_{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "1.0.0", "results": results}, ensure_ascii=False), encoding="utf-8")
    return path


def _selection_file(data_dir: Path, day: str, document: Any) -> Path:
    path = data_dir / "daily_selection" / f"daily_selection_{day}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


# -- JSON inputs -----------------------------------------------------------------------


def test_the_legacy_sample_files_sync_with_both_selection_layouts(storekit_store: Store, tmp_path: Path) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"the legacy samples are not at {SAMPLES}")
    for sub in ("watchlist", "daily_selection"):
        shutil.copytree(SAMPLES / sub, tmp_path / sub)
    sync = storekit_store.data_synchronizer
    assert sync.sync_screening_results(data_dir=tmp_path, today=dt.date(2026, 11, 27)) == 2
    assert sync.sync_selection_results(data_dir=tmp_path, today=dt.date(2026, 11, 27)) == 2
    hynix = storekit_store.get(ScreeningHistory, "000660", dt.date(2026, 11, 26))
    assert hynix is not None and hynix.per == math.inf and hynix.passed is False
    real = storekit_store.get(SelectionHistory, "005930", dt.date(2026, 11, 26))
    assert real is not None
    assert (real.final_score, real.reason, real.entry_price) == (54.4, "볼린저 밴드 하단 접촉", 71000.0)
    legacy = storekit_store.get(SelectionHistory, "000660", dt.date(2026, 11, 25))
    assert legacy is not None and (legacy.predicted_direction, legacy.entry_price) == ("up", 185000.0)


def test_both_selection_layouts_are_read_and_the_legacy_reader_is_reproducible(
    storekit_store: Store, tmp_path: Path
) -> None:
    _selection_file(
        tmp_path,
        "20261126",
        {
            "data": {
                "selected_stocks": [
                    {
                        "stock_code": "091580",
                        "stock_name": "상신이디피",
                        "price_attractiveness": 54.4,
                        "selection_reason": "반등",
                        "entry_price": 11680.0,
                        "confidence": 0.684,
                    }
                ]
            }
        },
    )
    _selection_file(
        tmp_path,
        "20261125",
        {
            "selected_stocks": [
                {
                    "stock_code": "000660",
                    "stock_name": "SK하이닉스",
                    "final_score": 81.2,
                    "confidence": 0.71,
                    "reason": "momentum",
                    "current_price": 185000.0,
                }
            ]
        },
    )
    sync = storekit_store.data_synchronizer
    legacy = sync.sync_files("selection", data_dir=tmp_path, today=TODAY, layouts=("selected_stocks",))
    assert legacy.rows == 1 and [f.status for f in legacy.files] == ["synced", "failed"]
    assert storekit_store.count(SelectionHistory) == 1  # the legacy reader: the real layout gives nothing
    both = sync.sync_files("selection", data_dir=tmp_path, today=TODAY, force=True)
    assert both.rows == 2 and not both.failed
    real = storekit_store.get(SelectionHistory, "091580", dt.date(2026, 11, 26))
    assert real is not None
    assert (real.final_score, real.reason, real.entry_price, real.confidence) == (54.4, "반등", 11680.0, 0.684)
    assert real.predicted_direction == "unknown"  # the legacy default where the file has none


def test_an_invalid_file_names_the_file_and_json_path_and_the_valid_files_still_sync(
    storekit_store: Store, tmp_path: Path
) -> None:
    good = _screening_file(tmp_path, "20261125", [_result("005930"), _result("000660")])
    bad = _screening_file(
        tmp_path, "20261126", [_result("035420"), _result("000270", overall_score="high"), _result("00027")]
    )
    report = storekit_store.data_synchronizer.sync_files("screening", data_dir=tmp_path, today=TODAY)
    assert [(Path(f.path).name, f.status, f.rows) for f in report.files] == [
        (good.name, "synced", 2),
        (bad.name, "failed", 0),
    ]
    (failed,) = report.failed
    error = failed.error
    assert isinstance(error, InputFileError) and isinstance(error, ValueError)
    assert error.path == str(bad)
    assert error.json_path == "$.results[1].overall_score"
    assert "expected a number, got a string" in error.reason
    assert ("$.results[2].stock_code", error.problems[1][1]) == error.problems[1]
    assert str(bad) in str(error) and "$.results[1].overall_score" in str(error)
    # nothing of the invalid file is written, not even its valid items
    assert storekit_store.count(ScreeningHistory, Eq("screening_date", dt.date(2026, 11, 26))) == 0
    assert storekit_store.count(ScreeningHistory, Eq("screening_date", dt.date(2026, 11, 25))) == 2


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (b'{"results": [', "$", "not JSON"),
        (b"\xff\xfe{}", "$", "not UTF-8"),
        (b"[]", "$", "expected an object, got an array"),
        (b'{"total_count": 0}', "$.results", "required"),
        (b'{"results": {"a": 1}}', "$.results", "expected an array"),
        (b'{"results": [7]}', "$.results[0]", "expected an object, got a number"),
        (b'{"results": [{"stock_code": "005930"}]}', "$.results[0].stock_name", "required"),
        (
            b'{"results": [{"stock_code": "005930", "stock_name": "a", "fundamental": 3}]}',
            "$.results[0].fundamental",
            "expected an object",
        ),
        (
            b'{"results": [{"stock_code": "005930", "stock_name": "a", "overall_score": NaN}]}',
            "$.results[0].overall_score",
            "NaN",
        ),
        (
            b'{"results": [{"stock_code": "005930", "stock_name": "a", "overall_passed": 1}]}',
            "$.results[0].overall_passed",
            "expected true or false",
        ),
    ],
)
def test_each_kind_of_invalid_screening_file_is_reported_with_its_json_path(
    storekit_store: Store, tmp_path: Path, content: bytes, where: str, reason: str
) -> None:
    path = tmp_path / "watchlist" / "screening_results_20261126_091500.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    (outcome,) = storekit_store.data_synchronizer.sync_files("screening", data_dir=tmp_path, today=TODAY).files
    assert outcome.status == "failed"
    assert outcome.problems[0][0] == where and reason in outcome.problems[0][1]
    assert storekit_store.count(ScreeningHistory) == 0


def test_every_problem_of_an_item_is_reported_at_once(storekit_store: Store, tmp_path: Path) -> None:
    _screening_file(tmp_path, "20261126", [_result("5930", overall_score="x", technical=[])])
    (outcome,) = storekit_store.data_synchronizer.sync_files("screening", data_dir=tmp_path, today=TODAY).files
    assert [where for where, _ in outcome.problems] == [
        "$.results[0].overall_score",
        "$.results[0].technical",
        "$.results[0].stock_code",
    ]
    assert "stock code must be 6 characters" in outcome.problems[2][1]


def test_the_legacy_int_methods_log_each_invalid_file_and_count_the_valid_rows(
    storekit_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _screening_file(tmp_path, "20261125", [_result("005930")])
    bad = _screening_file(tmp_path, "20261126", [{"stock_code": "005930"}])
    with caplog.at_level("WARNING", logger="storekit.domain.data_synchronizer"):
        assert storekit_store.data_synchronizer.sync_screening_results(data_dir=tmp_path, today=TODAY) == 1
    (message,) = [r.getMessage() for r in caplog.records]
    assert str(bad) in message and "$.results[0].stock_name: required" in message


def test_json_infinity_is_kept_per_the_type_policy(storekit_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "watchlist" / "screening_results_20261126_091500.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        '{"results": [{"stock_code": "000660", "stock_name": "SK하이닉스", "overall_score": -Infinity,'
        ' "fundamental": {"details": {"per": {"value": Infinity}}}}]}',
        encoding="utf-8",
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a BOM is allowed
    assert storekit_store.data_synchronizer.sync_screening_results(data_dir=tmp_path, today=TODAY) == 1
    row = storekit_store.get(ScreeningHistory, "000660", dt.date(2026, 11, 26))
    assert row is not None and row.per == math.inf and row.overall_score == -math.inf
    assert row.fundamental_score is None and row.sector is None  # missing values are None, not 0 or ''


def test_unchanged_files_are_not_parsed_again(
    storekit_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _screening_file(tmp_path, "20261126", [_result("005930")])
    sync = storekit_store.data_synchronizer
    assert sync.sync_screening_results(data_dir=tmp_path, today=TODAY) == 1

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an unchanged file was parsed again")

    monkeypatch.setattr("storekit.domain.data_synchronizer._parse_json", no_parsing)
    report = sync.sync_files("screening", data_dir=tmp_path, today=TODAY)
    assert [(f.status, f.rows) for f in report.files] == [("unchanged", 0)]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched, same content
    assert [f.status for f in sync.sync_files("screening", data_dir=tmp_path, today=TODAY).files] == ["unchanged"]
    known = storekit_store.get(SyncedFile, "watchlist/" + path.name)
    assert known is not None and known.mtime_ns == stat.st_mtime_ns + 5_000_000_000 and known.rows == 1


def test_a_changed_file_is_synced_again(storekit_store: Store, tmp_path: Path) -> None:
    path = _screening_file(tmp_path, "20261126", [_result("005930")])
    sync = storekit_store.data_synchronizer
    sync.sync_screening_results(data_dir=tmp_path, today=TODAY)
    _screening_file(tmp_path, "20261126", [_result("005930", overall_score=99.5), _result("000660")])
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1))
    assert sync.sync_screening_results(data_dir=tmp_path, today=TODAY) == 2
    row = storekit_store.get(ScreeningHistory, "005930", dt.date(2026, 11, 26))
    assert row is not None and row.overall_score == 99.5


def test_a_failed_file_is_reported_again_without_being_parsed(
    storekit_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _screening_file(tmp_path, "20261126", [_result("005930", technical={"score": True})])
    sync = storekit_store.data_synchronizer
    first = sync.sync_files("screening", data_dir=tmp_path, today=TODAY)
    monkeypatch.setattr("storekit.domain.data_synchronizer._parse_json", None)
    second = sync.sync_files("screening", data_dir=tmp_path, today=TODAY)
    assert (
        first.failed[0].problems
        == second.failed[0].problems
        == (("$.results[0].technical.score", "expected a number, got true/false"),)
    )


def test_only_files_dated_within_days_back_are_read(storekit_store: Store, tmp_path: Path) -> None:
    _screening_file(tmp_path, "20261020", [_result("005930")])  # 38 days before TODAY
    _screening_file(tmp_path, "20261101", [_result("000660")])
    (tmp_path / "watchlist" / "screening_results_latest.json").write_text("{}", encoding="utf-8")
    report = storekit_store.data_synchronizer.sync_files("screening", 30, data_dir=tmp_path, today=TODAY)
    assert [Path(f.path).name for f in report.files] == ["screening_results_20261101_091500.json"]


def test_the_data_directory_defaults_to_storekit_data_dir_else_data_in_the_cwd(
    storekit_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _screening_file(tmp_path / "elsewhere", "20261126", [_result("005930")])
    _screening_file(tmp_path / "data", "20261126", [_result("000660"), _result("035420")])
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STOREKIT_DATA_DIR", raising=False)
    sync = storekit_store.data_synchronizer
    assert sync.sync_screening_results(today=TODAY) == 2
    monkeypatch.setenv("STOREKIT_DATA_DIR", str(tmp_path / "elsewhere"))
    assert sync.sync_screening_results(today=TODAY) == 1


# -- performance tracking ----------------------------------------------------------------


def _selection(code: str, day: dt.date, entry: Optional[float] = 100.0) -> SelectionHistory:
    return SelectionHistory(stock_code=code, stock_name="x", selection_date=day, entry_price=entry)


def test_performance_prices_come_from_the_caller_or_stay_unknown(storekit_store: Store) -> None:
    day = TODAY - dt.timedelta(days=3)
    storekit_store.put_many(
        [_selection("005930", day), _selection("000660", day), _selection("035420", day, entry=None)]
    )
    sync = storekit_store.data_synchronizer
    assert sync.update_performance_tracking(today=TODAY) == 2
    rows = {p.stock_code: p for p in storekit_store.find(PerformanceTracking)}
    assert set(rows) == {"005930", "000660"}  # no entry price, no tracking
    assert all(p.current_price is None and p.price_change_pct is None for p in rows.values())
    assert rows["005930"].days_tracked == 3 and rows["005930"].is_active is True

    sync.update_performance_tracking(prices={"005930": 110.0}, today=TODAY)
    sync.update_performance_tracking(prices=lambda code: 95.0 if code == "005930" else None, today=TODAY)
    sync.update_performance_tracking(today=TODAY)  # no price this time: the last known one stays
    samsung = storekit_store.get(PerformanceTracking, "learning", "005930", day)
    assert samsung is not None
    assert (samsung.current_price, samsung.price_change_pct) == (95.0, pytest.approx(-5.0))
    assert (samsung.max_gain, samsung.max_loss) == (pytest.approx(10.0), pytest.approx(-5.0))
    hynix = storekit_store.get(PerformanceTracking, "learning", "000660", day)
    assert hynix is not None and hynix.current_price is None


def test_tracking_is_inactive_after_max_days_back(storekit_store: Store) -> None:
    storekit_store.put(_selection("005930", TODAY - dt.timedelta(days=10)))
    storekit_store.data_synchronizer.update_performance_tracking(max_days_back=10, today=TODAY)
    storekit_store.data_synchronizer.update_performance_tracking(max_days_back=10, today=TODAY + dt.timedelta(days=1))
    (row,) = storekit_store.find(PerformanceTracking)
    assert (row.days_tracked, row.is_active) == (10, True)  # the later run no longer sees it


# -- learning metrics ----------------------------------------------------------------------

CODES = ["000010", "000020", "000030", "000040", "000050"]
DAYS = [dt.date(2026, 11, 2) + dt.timedelta(days=i) for i in range(4)]
SECTORS = ["반도체", "IT", None]
pct = st.one_of(st.none(), st.sampled_from([-3.0, 0.0, 2.5]), st.floats(-30, 30, allow_nan=False))


@st.composite
def learning_rows(draw: Any) -> Tuple[List[ScreeningHistory], List[PerformanceTracking]]:
    keys = draw(st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(DAYS)), unique=True, max_size=14))
    screenings = [
        ScreeningHistory(
            stock_code=c,
            stock_name="n",
            screening_date=d,
            sector=draw(st.sampled_from(SECTORS)),
            passed=draw(st.one_of(st.none(), st.booleans())),
        )
        for c, d in keys
    ]
    pkeys = draw(st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(DAYS)), unique=True, max_size=14))
    perfs = [
        PerformanceTracking(
            source="learning",
            stock_code=c,
            tracking_date=d,
            entry_price=100.0,
            price_change_pct=draw(pct),
            max_gain=draw(pct),
            max_loss=draw(pct),
            is_active=draw(st.booleans()),
        )
        for c, d in pkeys
    ]
    return screenings, perfs


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _expected_metrics(screenings: List[ScreeningHistory], perfs: List[PerformanceTracking]) -> Dict[str, Any]:
    active = [p for p in perfs if p.is_active]
    by_key = {(p.stock_code, p.tracking_date): p for p in active}
    joined = [
        (s, by_key[(s.stock_code, s.screening_date)]) for s in screenings if (s.stock_code, s.screening_date) in by_key
    ]
    out: Dict[str, Any] = {}

    def avg(values: List[Optional[float]]) -> Optional[float]:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else None

    passed = [p for s, p in joined if s.passed is True]
    if passed:
        out["screening_avg_performance"] = avg([p.price_change_pct for p in passed]) or 0.0
        out["screening_win_rate"] = sum(1 for p in passed if (p.price_change_pct or 0) > 0) * 100.0 / len(passed)
        out["screening_sample_count"] = len(passed)
    if active:
        out["selection_avg_performance"] = avg([p.price_change_pct for p in active]) or 0.0
        out["selection_win_rate"] = sum(1 for p in active if (p.price_change_pct or 0) > 0) * 100.0 / len(active)
        out["selection_sample_count"] = len(active)
        out["avg_max_gain"] = avg([p.max_gain for p in active]) or 0.0
        out["avg_max_loss"] = avg([p.max_loss for p in active]) or 0.0
    sectors: Dict[str, List[Optional[float]]] = {}
    for s, p in joined:
        if s.sector is not None:
            sectors.setdefault(s.sector, []).append(p.price_change_pct)
    ranked = [(name, avg(v)) for name, v in sorted(sectors.items()) if len(v) >= 3 and avg(v) is not None]
    ranked.sort(key=lambda r: r[1], reverse=True)  # type: ignore[arg-type, return-value]
    if ranked:
        out["best_sector"], out["best_sector_performance"] = ranked[0]
        if len(ranked) > 1:
            out["worst_sector"], out["worst_sector_performance"] = ranked[-1]
    return out


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=learning_rows())
def test_learning_metrics_equal_a_plain_python_computation(
    storekit_store: Store, rows: Tuple[List[ScreeningHistory], List[PerformanceTracking]]
) -> None:
    _clear(storekit_store)
    screenings, perfs = rows
    storekit_store.put_many([*screenings, *perfs])
    got = storekit_store.data_synchronizer.calculate_learning_metrics(today=TODAY)
    expected = _expected_metrics(screenings, perfs)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        if name not in ("best_sector", "worst_sector"):
            assert _close(got[name], value), (name, got[name], value)
    if "best_sector" in expected:  # equal averages may name either sector
        assert _close(got["best_sector_performance"], expected["best_sector_performance"])
    stored = {
        m.metric_name: (m.value if m.value_text is None else m.value_text) for m in storekit_store.find(LearningMetric)
    }
    assert stored.keys() == got.keys()
    assert all(_close(float(v), float(stored[k])) if not isinstance(v, str) else v == stored[k] for k, v in got.items())


def test_learning_metrics_of_a_day_are_replaced_by_a_rerun_not_duplicated(storekit_store: Store) -> None:
    storekit_store.put(
        PerformanceTracking(
            source="learning",
            stock_code="005930",
            tracking_date=TODAY,
            entry_price=1.0,
            price_change_pct=2.0,
            is_active=True,
        )
    )
    sync = storekit_store.data_synchronizer
    first = sync.calculate_learning_metrics(today=TODAY)
    sync.calculate_learning_metrics(today=TODAY)
    assert storekit_store.count(LearningMetric) == len(first) == 5
    sync.calculate_learning_metrics(today=TODAY + dt.timedelta(days=1))
    assert storekit_store.count(LearningMetric) == 10


def test_run_full_sync_returns_the_legacy_counts(storekit_store: Store, tmp_path: Path) -> None:
    _screening_file(tmp_path, "20261126", [_result("005930"), _result("000660")])
    _selection_file(
        tmp_path,
        "20261126",
        {"data": {"selected_stocks": [{"stock_code": "005930", "stock_name": "삼성전자", "entry_price": 71000.0}]}},
    )
    result = storekit_store.data_synchronizer.run_full_sync(data_dir=tmp_path, prices={"005930": 72000.0}, today=TODAY)
    assert result == {"screening_synced": 2, "selection_synced": 1, "performance_updated": 1, "metrics_calculated": 8}
    again = storekit_store.data_synchronizer.run_full_sync(data_dir=tmp_path, today=TODAY)
    assert (again["screening_synced"], again["selection_synced"]) == (0, 0)


# -- the generated fast path agrees with the reference validator ---------------------------

_KEYS = sorted({key for layout in (SCREENING, *SELECTION_LAYOUTS) for v in layout.values for key in v.path})
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.sampled_from(["005930", "삼성전자", ""]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=2), st.dictionaries(st.sampled_from(_KEYS), inner)),
    max_leaves=12,
)


@given(
    item=st.one_of(
        _json,
        st.dictionaries(st.sampled_from(_KEYS), _json),
        st.dictionaries(st.sampled_from(_KEYS), _json).map(lambda d: {**d, "stock_code": "005930", "stock_name": "a"}),
    ),
    layout=st.sampled_from([SCREENING, *SELECTION_LAYOUTS]),
)
def test_the_fast_item_reader_agrees_with_the_reference_validator(item: Any, layout: Any) -> None:
    problems: List[Tuple[str, str]] = []
    reference = item_values(item, "$", layout.values, problems)
    fast = layout.fast(item)
    if problems:
        assert fast is None
    else:
        assert fast is not None and fast.keys() == reference.keys()
        assert all(fast[k] == reference[k] or (fast[k] != fast[k] and reference[k] != reference[k]) for k in fast)
