"""store.accuracy_tracker on both backends: the records the migration writes, prices
only from the caller, every analysed target date kept, and analyses equal to a plain
Python computation over the same rows."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store
from storekit.errors import RecordValidationError
from storekit.records import DailyAccuracy, DailySelection, PerformanceTracking

TODAY = dt.date(2026, 11, 27)
CODES = ["000010", "000020", "000030", "000040", "00005K"]
SECTORS = ["반도체", "IT", None]
MINE = (DailyAccuracy, DailySelection, PerformanceTracking)
SLOW_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
ret = st.one_of(st.none(), st.sampled_from([-5.0, 0.0, 5.0, 7.5]), st.floats(-40, 40, allow_nan=False))


def _clear(store: Store) -> None:
    with store.transaction():
        for record_type in MINE:
            store.delete(record_type)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def test_a_recorded_selection_is_the_record_the_migration_writes(storekit_store: Store) -> None:
    tracker = storekit_store.accuracy_tracker
    tracker.record_daily_selection("2026-11-20", "005930", "삼성전자", "반도체", 71000.0, "reason", 0.8)
    tracker.record_daily_selection(dt.date(2026, 11, 20), "005930", "삼성전자", "반도체", 72000.0)
    (row,) = storekit_store.find(DailySelection)
    expected = DailySelection.from_accuracy_tracker(dt.date(2026, 11, 20), "005930")
    assert (row.id, row.source, row.selection_price, row.selection_reason, row.confidence_score) == (
        expected.id,
        "accuracy_tracker",
        72000.0,
        "",
        0.0,
    )


@pytest.mark.parametrize("bad", ["20261120", "2026-13-01", "11/20/2026", 20261120, None])
def test_a_date_that_is_not_yyyy_mm_dd_is_a_typed_error_and_nothing_is_written(storekit_store: Store, bad: Any) -> None:
    with pytest.raises(RecordValidationError) as info:
        storekit_store.accuracy_tracker.record_daily_selection(bad, "005930", "a", "b", 1.0)
    assert info.value.fields == ("selection_date",)
    assert storekit_store.count(DailySelection) == 0


def test_performance_prices_come_from_the_caller_never_from_the_future(storekit_store: Store) -> None:
    tracker = storekit_store.accuracy_tracker
    day = dt.date(2026, 11, 13)  # a Friday; +1 day is a Saturday
    tracker.record_daily_selection(day, "005930", "삼성전자", "반도체", 100.0)
    tracker.record_daily_selection(day, "000660", "SK하이닉스", "반도체", 0.0)
    asked: List[Tuple[str, dt.date]] = []

    def get_price(code: str, when: dt.date) -> Optional[float]:
        asked.append((code, when))
        return None if when.weekday() >= 5 else 100.0 + (when - day).days

    today = dt.date(2026, 11, 24)
    assert tracker.update_performance_data(get_price, today=today) == 2
    assert max(when for _, when in asked) <= today
    samsung = storekit_store.get(PerformanceTracking, "accuracy", "005930", day)
    assert samsung is not None
    assert (samsung.price_1d, samsung.price_7d, samsung.price_30d) == (103.0, 107.0, None)  # Monday's close
    assert samsung.return_1d == pytest.approx(3.0) and samsung.return_30d is None
    hynix = storekit_store.get(PerformanceTracking, "accuracy", "000660", day)
    assert hynix is not None and hynix.price_7d == 107.0 and hynix.return_7d is None  # no selection price
    # updated less than a day ago: not asked again
    assert tracker.update_performance_data(get_price, today=today) == 0


@st.composite
def tracked_day(draw: Any) -> Tuple[List[DailySelection], List[PerformanceTracking]]:
    day = dt.date(2026, 11, 20)
    codes = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=5))
    selections = [
        DailySelection.from_accuracy_tracker(day, c, stock_name="n" + c, sector=draw(st.sampled_from(SECTORS)))
        for c in codes
    ]
    other = DailySelection.from_accuracy_tracker(day + dt.timedelta(days=1), "000010", sector="IT")
    perf_codes = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=5))
    perfs = [
        PerformanceTracking(
            source="accuracy",
            stock_code=c,
            tracking_date=day,
            return_1d=draw(ret),
            return_7d=draw(ret),
            return_30d=draw(ret),
        )
        for c in perf_codes
    ]
    perfs.append(
        PerformanceTracking(source="accuracy", stock_code="000010", tracking_date=other.selection_date, return_7d=99.0)
    )
    return [*selections, other], perfs


def _expected_day(
    selections: List[DailySelection], perfs: List[PerformanceTracking], day: dt.date
) -> Optional[Dict[str, Any]]:
    by_code = {p.stock_code: p for p in perfs if p.tracking_date == day}
    rows = [(s, by_code.get(s.stock_code or "")) for s in selections if s.selection_date == day]
    if not rows:
        return None
    out: Dict[str, Any] = {"date": day, "total_predictions": len(rows)}
    for h in ("1d", "7d", "30d"):
        values = [getattr(p, f"return_{h}") for _, p in rows if p is not None and getattr(p, f"return_{h}") is not None]
        positive = sum(1 for v in values if v > 0)
        out[f"positive_{h}"] = positive
        out[f"positive_rate_{h}"] = positive / len(values) * 100 if values else 0.0
        out[f"avg_return_{h}"] = sum(values) / len(values) if values else 0.0
        if h != "30d":
            strong = sum(1 for v in values if v >= 5.0)
            out[f"strong_positive_{h}"] = strong
            out[f"strong_positive_rate_{h}"] = strong / len(values) * 100 if values else 0.0
    with7 = [(s, p.return_7d) for s, p in rows if p is not None and p.return_7d is not None]
    sectors: Dict[str, List[float]] = {}
    for s, v in with7:
        if s.sector is not None:
            sectors.setdefault(s.sector, []).append(v)
    out["sector_accuracy"] = {k: sum(1 for v in vs if v > 0) / len(vs) * 100 for k, vs in sectors.items()}
    perf = [
        {"stock_code": s.stock_code, "stock_name": s.stock_name, "sector": s.sector, "return_7d": v} for s, v in with7
    ]
    out["top_performers"] = sorted(perf, key=lambda p: (-p["return_7d"], p["stock_code"]))[:5]
    out["worst_performers"] = sorted(perf, key=lambda p: (p["return_7d"], p["stock_code"]))[:5]
    return out


@SLOW_OK
@given(rows=tracked_day())
def test_the_accuracy_of_a_day_equals_a_plain_python_computation(
    storekit_store: Store, rows: Tuple[List[DailySelection], List[PerformanceTracking]]
) -> None:
    _clear(storekit_store)
    selections, perfs = rows
    storekit_store.put_many([*selections, *perfs])
    day = dt.date(2026, 11, 20)
    got = storekit_store.accuracy_tracker.analyze_accuracy_for_date(day.isoformat())
    expected = _expected_day(selections, perfs, day)
    if expected is None:
        assert got is None
        return
    assert got is not None
    produced = got.to_dict()
    produced["date"] = got.date
    assert produced.keys() == expected.keys()
    for key, value in expected.items():
        if key in ("top_performers", "worst_performers"):
            assert [p["stock_code"] for p in produced[key]] == [p["stock_code"] for p in value]
            assert all(_close(a["return_7d"], b["return_7d"]) for a, b in zip(produced[key], value))
        elif key == "sector_accuracy":
            assert produced[key].keys() == value.keys()
            assert all(_close(produced[key][k], v) for k, v in value.items())
        else:
            assert _close(produced[key], value), (key, produced[key], value)


NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)


@st.composite
def pending_rows(draw: Any) -> Tuple[List[DailySelection], List[PerformanceTracking]]:
    keys = draw(st.lists(st.tuples(st.sampled_from(CODES), st.integers(0, 40)), unique=True, max_size=12))
    selections = [DailySelection.from_accuracy_tracker(TODAY - dt.timedelta(days=d), c) for c, d in keys]
    perf_keys = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    perfs = [
        PerformanceTracking(
            source="accuracy",
            stock_code=c,
            tracking_date=TODAY - dt.timedelta(days=d),
            updated_at=draw(st.sampled_from([None, NOW - dt.timedelta(hours=2), NOW - dt.timedelta(hours=30)])),
        )
        for c, d in perf_keys
    ]
    return selections, perfs


@SLOW_OK
@given(rows=pending_rows())
def test_the_selections_to_update_equal_a_plain_python_computation(
    storekit_store: Store, rows: Tuple[List[DailySelection], List[PerformanceTracking]]
) -> None:
    _clear(storekit_store)
    selections, perfs = rows
    storekit_store.put_many([*selections, *perfs])
    got = list(storekit_store.accuracy_tracker.selections_to_update(today=TODAY, now=NOW))
    updated = {(p.stock_code, p.tracking_date): p.updated_at for p in perfs}
    expected = sorted(
        (s.selection_date, s.stock_code)
        for s in selections
        if s.selection_date >= TODAY - dt.timedelta(days=35)
        and (
            (s.stock_code, s.selection_date) not in updated
            or updated[(s.stock_code, s.selection_date)] is None
            or updated[(s.stock_code, s.selection_date)] < NOW - dt.timedelta(days=1)  # type: ignore[operator]
        )
    )
    assert [(s.selection_date, s.stock_code) for s in got] == expected


def test_every_analysed_target_date_is_kept(storekit_store: Store) -> None:
    tracker = storekit_store.accuracy_tracker
    for days in (1, 7, 30):
        day = TODAY - dt.timedelta(days=days)
        tracker.record_daily_selection(day, "005930", "삼성전자", "반도체", 100.0)
        tracker.record_performance(day, "005930", price_1d=101.0, price_7d=90.0 + days)
    results = tracker.run_daily_accuracy_analysis(today=TODAY)
    assert [r.date for r in results] == [TODAY - dt.timedelta(days=d) for d in (1, 7, 30)]
    stored = sorted((a.analysis_date, a.target_date) for a in storekit_store.find(DailyAccuracy))
    assert stored == [(TODAY, TODAY - dt.timedelta(days=d)) for d in (30, 7, 1)]
    recent = tracker.get_recent_accuracy(30, today=TODAY)
    assert [r.date for r in recent] == [TODAY - dt.timedelta(days=d) for d in (1, 7, 30)]
    assert recent[0] == results[0]


def _accuracy_row(analysis: dt.date, target: dt.date, rate7: Optional[float], rate1: Optional[float]) -> DailyAccuracy:
    return DailyAccuracy(analysis_date=analysis, target_date=target, positive_rate_7d=rate7, positive_rate_1d=rate1)


rate = st.one_of(st.none(), st.sampled_from([0.0, 50.0, 100.0]), st.floats(0, 100, allow_nan=False))


@st.composite
def accuracy_rows(draw: Any) -> List[DailyAccuracy]:
    keys = draw(st.lists(st.tuples(st.integers(0, 45), st.sampled_from([1, 7, 30])), unique=True, max_size=20))
    return [
        _accuracy_row(TODAY - dt.timedelta(days=a), TODAY - dt.timedelta(days=a + t), draw(rate), draw(rate))
        for a, t in keys
    ]


@SLOW_OK
@given(rows=accuracy_rows())
def test_the_accuracy_trend_equals_a_plain_python_computation(storekit_store: Store, rows: List[DailyAccuracy]) -> None:
    _clear(storekit_store)
    storekit_store.put_many(rows)
    got = storekit_store.accuracy_tracker.analyze_accuracy_trend(30, today=TODAY)
    window = sorted(
        (r for r in rows if r.analysis_date >= TODAY - dt.timedelta(days=30)),
        key=lambda r: (r.analysis_date, r.target_date),
    )
    series = [r for r in window if r.positive_rate_7d is not None]
    if len(window) < 7 or not series:
        assert got is None
        return
    ys = [float(r.positive_rate_7d) for r in series]  # type: ignore[arg-type]
    n = len(ys)
    mean = sum(ys) / n
    xm = (n - 1) / 2
    sxx = sum((i - xm) ** 2 for i in range(n))
    slope = sum((i - xm) * (y - mean) for i, y in enumerate(ys)) / sxx if sxx else 0.0
    std = (sum((y - mean) ** 2 for y in ys) / n) ** 0.5
    ones = [r.positive_rate_1d for r in window if r.positive_rate_1d is not None]
    assert got is not None
    assert got.period_days == len(window)
    assert _close(got.avg_accuracy_7d, mean) and _close(got.accuracy_volatility, std)
    assert _close(got.avg_accuracy_1d, sum(ones) / len(ones) if ones else 0.0)
    if abs(abs(slope) - 0.5) > 1e-6:
        assert got.trend_direction == ("improving" if slope > 0.5 else "declining" if slope < -0.5 else "stable")
    assert _close(got.consistency_score, max(0.0, 1 - std / 50))
    assert got.best_accuracy == max(ys) and got.worst_accuracy == min(ys)
    assert got.best_day == [r.target_date for r in series if r.positive_rate_7d == max(ys)][-1]
    assert got.worst_day == [r.target_date for r in series if r.positive_rate_7d == min(ys)][-1]


def test_a_rising_accuracy_is_improving(storekit_store: Store) -> None:
    storekit_store.put_many(
        _accuracy_row(TODAY - dt.timedelta(days=10 - i), TODAY - dt.timedelta(days=17 - i), 40.0 + 5 * i, 50.0)
        for i in range(8)
    )
    trend = storekit_store.accuracy_tracker.analyze_accuracy_trend(30, today=TODAY)
    assert trend is not None and trend.trend_direction == "improving"
    assert trend.best_day == TODAY - dt.timedelta(days=10)


def test_the_report_is_written_as_json(storekit_store: Store, tmp_path: Path) -> None:
    storekit_store.put(_accuracy_row(TODAY, TODAY - dt.timedelta(days=7), 60.0, 55.0))
    path = tmp_path / "accuracy_report.json"
    storekit_store.accuracy_tracker.export_accuracy_report(30, str(path), today=TODAY)
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["total_analysis_days"] == 1 and report["trend_analysis"] is None
    assert report["daily_results"][0]["date"] == (TODAY - dt.timedelta(days=7)).isoformat()
