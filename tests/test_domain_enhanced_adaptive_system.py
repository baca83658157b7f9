"""store.enhanced_adaptive_system on both backends: every analysis equals a plain Python
computation of the legacy SQL over the same rows."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Dict, List, Optional, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store
from storekit.records import PerformanceTracking, ScreeningHistory, SelectionHistory

TODAY = dt.date(2026, 11, 27)
CODES = ["000010", "000020", "000030", "000040"]
DAYS = [TODAY - dt.timedelta(days=n) for n in (1, 2, 5, 12, 40, 75)]
SECTORS = ["반도체", "IT", None]
pct = st.one_of(st.none(), st.sampled_from([-3.0, 0.0, 2.5]), st.floats(-30, 30, allow_nan=False))
MINE = (PerformanceTracking, ScreeningHistory, SelectionHistory)
SLOW_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

Rows = Tuple[List[ScreeningHistory], List[SelectionHistory], List[PerformanceTracking]]


def _keys(draw: Any) -> List[Tuple[str, dt.date]]:
    pairs: List[Tuple[str, dt.date]] = draw(
        st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(DAYS)), unique=True, max_size=16)
    )
    return pairs


@st.composite
def learning_rows(draw: Any) -> Rows:
    screenings = [
        ScreeningHistory(
            stock_code=c,
            stock_name="n",
            screening_date=d,
            sector=draw(st.sampled_from(SECTORS)),
            passed=draw(st.one_of(st.none(), st.booleans())),
        )
        for c, d in _keys(draw)
    ]
    selections = [SelectionHistory(stock_code=c, stock_name="n", selection_date=d) for c, d in _keys(draw)]
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
        for c, d in _keys(draw)
    ]
    return screenings, selections, perfs


def _load(store: Store, rows: Rows) -> None:
    with store.transaction():
        for record_type in MINE:
            store.delete(record_type)
    store.put_many([r for part in rows for r in part])


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _same(got: Dict[str, Any], expected: Dict[str, Any]) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert _close(got[key], value), (key, got[key], value)


def _perf_by_key(perfs: List[PerformanceTracking], active_only: bool) -> Dict[Tuple[str, dt.date], PerformanceTracking]:
    return {(p.stock_code, p.tracking_date): p for p in perfs if p.is_active or not active_only}


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@SLOW_OK
@given(rows=learning_rows())
def test_screening_accuracy_equals_the_legacy_left_join_in_python(storekit_store: Store, rows: Rows) -> None:
    _load(storekit_store, rows)
    got = storekit_store.enhanced_adaptive_system.analyze_screening_accuracy(30, today=TODAY)
    screenings, _, perfs = rows
    recent = [s for s in screenings if s.screening_date >= TODAY - dt.timedelta(days=30)]
    if not recent:
        assert got is None
        return
    latest = max(s.screening_date for s in recent)
    by_key = _perf_by_key(perfs, active_only=False)
    day = [(s, by_key.get((s.stock_code, latest))) for s in recent if s.screening_date == latest]

    def change(p: Optional[PerformanceTracking]) -> Optional[float]:
        return p.price_change_pct if p is not None else None

    passed = sum(1 for s, _ in day if s.passed is True)
    tp = sum(1 for s, p in day if s.passed is True and change(p) is not None and change(p) > 0)  # type: ignore[operator]
    fp = sum(1 for s, p in day if s.passed is True and change(p) is not None and change(p) <= 0)  # type: ignore[operator]
    fn = sum(1 for s, p in day if s.passed is False and change(p) is not None and change(p) > 0)  # type: ignore[operator]
    precision = tp / (tp + fp) if passed and tp + fp else 0.0
    recall = tp / (tp + fn) if passed and tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    assert got is not None
    assert (got.date, got.total_screened, got.passed_screening, got.actual_positive_performance) == (
        latest,
        len(day),
        passed,
        tp,
    )
    assert _close(got.precision, precision) and _close(got.recall, recall) and _close(got.f1_score, f1)
    assert _close(got.true_positive_rate, tp / passed if passed else 0.0)
    assert _close(got.false_positive_rate, fp / passed if passed else 0.0)


@SLOW_OK
@given(rows=learning_rows())
def test_selection_accuracy_equals_the_legacy_join_in_python(storekit_store: Store, rows: Rows) -> None:
    _load(storekit_store, rows)
    got = storekit_store.enhanced_adaptive_system.analyze_selection_accuracy(30, today=TODAY)
    _, selections, perfs = rows
    by_key = _perf_by_key(perfs, active_only=True)
    joined = [
        (s.selection_date, by_key[(s.stock_code, s.selection_date)].price_change_pct)
        for s in selections
        if s.selection_date >= TODAY - dt.timedelta(days=30) and (s.stock_code, s.selection_date) in by_key
    ]
    if not joined:
        assert got is None
        return
    per_day: Dict[dt.date, List[Optional[float]]] = {}
    for day, value in joined:
        per_day.setdefault(day, []).append(value)
    averages = [_mean([v for v in vs if v is not None]) for vs in per_day.values() if any(v is not None for v in vs)]
    known = [v for _, v in joined if v is not None]
    avg = _mean(averages)
    std = (sum((a - avg) ** 2 for a in averages) / len(averages)) ** 0.5 if averages else 0.0
    assert got is not None
    assert (got.date, got.total_selected) == (max(per_day), len(joined))
    assert got.profitable_count == sum(1 for v in known if v > 0)
    assert got.loss_count == sum(1 for v in known if v <= 0)
    assert _close(got.win_rate, got.profitable_count / len(joined))
    assert _close(got.avg_return, avg)
    assert _close(got.best_return, max(known, default=0.0)) and _close(got.worst_return, min(known, default=0.0))
    assert _close(got.sharpe_ratio, avg / std if len(averages) > 1 and std > 0 else 0.0)


def _summary(values: List[Optional[float]]) -> Dict[str, Any]:
    known = [v for v in values if v is not None]
    return {
        "total_selections": len(values),
        "avg_performance": _mean(known) if known else None,
        "win_rate": sum(1 for v in known if v > 0) * 100.0 / len(values),
    }


@SLOW_OK
@given(rows=learning_rows())
def test_sector_performance_equals_the_legacy_grouping_in_python(storekit_store: Store, rows: Rows) -> None:
    _load(storekit_store, rows)
    got = storekit_store.enhanced_adaptive_system.analyze_sector_performance_detailed()
    screenings, _, perfs = rows
    by_key = _perf_by_key(perfs, active_only=True)
    sectors: Dict[str, List[Optional[float]]] = {}
    for s in screenings:
        p = by_key.get((s.stock_code, s.screening_date))
        if p is not None and s.sector is not None:
            sectors.setdefault(s.sector, []).append(p.price_change_pct)
    expected = {}
    for sector, values in sectors.items():
        known = [v for v in values if v is not None]
        if len(values) < 3 or not known:
            continue
        mean = _mean(known)
        expected[sector] = {
            "total_stocks": len(values),
            "avg_performance": mean,
            "volatility": (sum((v - mean) ** 2 for v in known) / len(known)) ** 0.5,
            "win_rate": sum(1 for v in known if v > 0) * 100.0 / len(values),
            "best_performance": max(known),
            "worst_performance": min(known),
            "risk_adjusted_return": abs(mean),
        }
    if not expected:
        assert got == {"status": "no_data"}
        return
    assert got["status"] == "success" and got["total_sectors"] == len(expected)
    assert got["sector_performance"].keys() == expected.keys()
    for sector, values in expected.items():
        _same(got["sector_performance"][sector], values)
    averages = [v["avg_performance"] for v in got["sector_performance"].values()]
    assert averages == sorted(averages, reverse=True)
    assert [b["sector"] for b in got["best_sectors"]] == list(got["sector_performance"])[:3]


@SLOW_OK
@given(rows=learning_rows())
def test_temporal_patterns_equal_the_legacy_grouping_in_python(storekit_store: Store, rows: Rows) -> None:
    _load(storekit_store, rows)
    got = storekit_store.enhanced_adaptive_system.analyze_temporal_patterns()
    _, selections, perfs = rows
    by_key = _perf_by_key(perfs, active_only=True)
    weekdays: Dict[str, List[Optional[float]]] = {}
    months: Dict[str, List[Optional[float]]] = {}
    for s in selections:
        p = by_key.get((s.stock_code, s.selection_date))
        if p is not None:
            weekdays.setdefault(s.selection_date.strftime("%A"), []).append(p.price_change_pct)
            months.setdefault(s.selection_date.strftime("%Y%m"), []).append(p.price_change_pct)
    assert got["day_of_week_patterns"].keys() == weekdays.keys()
    for name, values in weekdays.items():
        _same(got["day_of_week_patterns"][name], _summary(values))
    known = [v["avg_performance"] for v in got["day_of_week_patterns"].values() if v["avg_performance"] is not None]
    assert known == sorted(known, reverse=True)
    assert list(got["monthly_patterns"]) == sorted(months, reverse=True)[:6]
    for month, summary in got["monthly_patterns"].items():
        _same(summary, _summary(months[month]))
    every = _perf_by_key(perfs, active_only=False)
    missing = sum(1 for s in selections if (s.stock_code, s.selection_date) not in every)
    assert storekit_store.enhanced_adaptive_system.check_data_integrity()["issues_found"] == (1 if missing else 0)
    if missing:
        assert str(missing) in storekit_store.enhanced_adaptive_system.check_data_integrity()["issues"][0]


def test_health_counts_and_integrity(storekit_store: Store) -> None:
    day = TODAY - dt.timedelta(days=2)
    storekit_store.put_many(
        [
            ScreeningHistory(stock_code="005930", stock_name="a", screening_date=day),
            SelectionHistory(stock_code="005930", stock_name="a", selection_date=day),
            SelectionHistory(stock_code="000660", stock_name="b", selection_date=day),
            PerformanceTracking(
                source="learning",
                stock_code="005930",
                tracking_date=day,
                entry_price=1.0,
                price_change_pct=4.0,
                is_active=True,
            ),
            PerformanceTracking(source="accuracy", stock_code="005930", tracking_date=day),
        ]
    )
    system = storekit_store.enhanced_adaptive_system
    health = system.check_database_health()
    assert health["table_counts"] == {"screening_history": 1, "selection_history": 2, "performance_tracking": 1}
    assert (health["latest_screening_date"], health["total_records"]) == (day, 4)
    metrics = system.check_performance_metrics()
    assert (metrics["avg_return"], metrics["total_tracking"], metrics["win_rate"]) == (4.0, 1, 100.0)
    assert system.check_data_integrity()["issues_found"] == 1


def test_cleanup_marks_only_old_active_learning_rows_inactive(storekit_store: Store) -> None:
    old, recent = TODAY - dt.timedelta(days=91), TODAY - dt.timedelta(days=89)
    storekit_store.put_many(
        PerformanceTracking(source="learning", stock_code=c, tracking_date=d, entry_price=1.0, is_active=True)
        for c in CODES
        for d in (old, recent)
    )
    result = storekit_store.enhanced_adaptive_system.cleanup_old_data(90, today=TODAY)
    assert result["deleted_records"] == len(CODES) and result["cutoff_date"] == TODAY - dt.timedelta(days=90)
    states = {(p.tracking_date, p.is_active) for p in storekit_store.find(PerformanceTracking)}
    assert states == {(old, False), (recent, True)}
