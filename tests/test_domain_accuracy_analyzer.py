"""store.accuracy_analyzer on both backends: analyses of AccuracyTracker's records equal
a plain Python computation over the same rows."""

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
from storekit.errors import QueryError, RecordValidationError
from storekit.records import DailySelection, PerformanceTracking

START = dt.date(2026, 11, 1)
DAYS = [START + dt.timedelta(days=n) for n in (0, 1, 3, 8, 20, 31)]
CODES = ["000010", "000020", "000030", "000040"]
SECTORS = ["반도체", "IT", None]
MINE = (DailySelection, PerformanceTracking)
SLOW_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
ret = st.one_of(st.none(), st.sampled_from([-5.0, 0.0, 5.0, 7.5]), st.floats(-40, 40, allow_nan=False))

Rows = Tuple[List[DailySelection], List[PerformanceTracking]]


@st.composite
def tracked(draw: Any) -> Rows:
    def keys() -> List[Tuple[str, dt.date]]:
        drawn: List[Tuple[str, dt.date]] = draw(
            st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(DAYS)), unique=True, max_size=16)
        )
        return drawn

    selections = [DailySelection.from_accuracy_tracker(d, c, sector=draw(st.sampled_from(SECTORS))) for c, d in keys()]
    perfs = [
        PerformanceTracking(
            source="accuracy",
            stock_code=c,
            tracking_date=d,
            return_1d=draw(ret),
            return_7d=draw(ret),
            return_30d=draw(ret),
        )
        for c, d in keys()
    ]
    return selections, perfs


def _load(store: Store, rows: Rows) -> None:
    with store.transaction():
        for record_type in MINE:
            store.delete(record_type)
    store.put_many([r for part in rows for r in part])


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _expected(rows: Rows, start: dt.date, end: dt.date, period: str) -> Dict[str, Any]:
    selections, perfs = rows
    sectors = {(s.stock_code, s.selection_date): s.sector for s in selections}
    data = sorted(
        (p for p in perfs if start <= p.tracking_date <= end and getattr(p, f"return_{period}") is not None),
        key=lambda p: (p.tracking_date, p.stock_code),
    )
    if not data:
        return {"total_predictions": 0, "accuracy": 0.0, "sharpe_ratio": None, "max_drawdown": None}
    returns = [float(getattr(p, f"return_{period}")) for p in data]
    positive = sum(1 for r in returns if r > 0)
    strong = sum(1 for r in returns if r > 5.0)
    mean = _mean(returns)
    std = (sum((r - mean) ** 2 for r in returns) / len(returns)) ** 0.5
    daily: Dict[dt.date, List[float]] = {}
    for p in data:
        if p.return_7d is not None:
            daily.setdefault(p.tracking_date, []).append(p.return_7d)
    drawdown: Optional[float] = None
    if daily:
        value, peak, drawdown = 1.0, None, 0.0
        for day in sorted(daily):
            value *= 1 + _mean(daily[day]) / 100
            peak = value if peak is None else max(peak, value)
            drawdown = max(drawdown, (peak - value) / peak) if peak else drawdown
    by_sector: Dict[str, List[float]] = {}
    for p, r in zip(data, returns):
        sector = sectors.get((p.stock_code, p.tracking_date)) or "기타"
        by_sector.setdefault(sector, []).append(r)

    def avg(field: str) -> float:
        return _mean([getattr(p, field) for p in data if getattr(p, field) is not None])

    return {
        "total_predictions": len(returns),
        "correct_predictions": positive,
        "accuracy": positive / len(returns),
        "positive_return_count": positive,
        "positive_accuracy": positive / len(returns),
        "strong_positive_count": strong,
        "strong_positive_accuracy": strong / len(returns),
        "avg_return_1d": avg("return_1d"),
        "avg_return_7d": avg("return_7d"),
        "avg_return_30d": avg("return_30d"),
        "sharpe_ratio": (mean - 3.0 / 252) / std if len(returns) >= 2 and std > 0 else None,
        "max_drawdown": drawdown,
        "sector_accuracy": {k: sum(1 for v in vs if v > 0) / len(vs) for k, vs in by_sector.items()},
    }


@SLOW_OK
@given(rows=tracked(), period=st.sampled_from(["1d", "7d", "30d"]), span=st.sampled_from([(0, 8), (1, 31), (3, 3)]))
def test_analyze_accuracy_equals_a_plain_python_computation(
    storekit_store: Store, rows: Rows, period: str, span: Tuple[int, int]
) -> None:
    _load(storekit_store, rows)
    start, end = START + dt.timedelta(days=span[0]), START + dt.timedelta(days=span[1])
    got = storekit_store.accuracy_analyzer.analyze_accuracy(start.isoformat(), end.isoformat(), period).to_dict()
    expected = _expected(rows, start, end, period)
    assert got["period"] == f"{start} ~ {end}"
    for key, value in expected.items():
        if key == "sector_accuracy":
            assert got[key].keys() == value.keys()
            assert all(_close(got[key][k], v) for k, v in value.items())
        elif value is None:
            assert got[key] is None, key
        else:
            assert _close(got[key], value), (key, got[key], value)


@SLOW_OK
@given(rows=tracked())
def test_compare_periods_and_the_trend_are_analyses_of_each_window(storekit_store: Store, rows: Rows) -> None:
    _load(storekit_store, rows)
    analyzer = storekit_store.accuracy_analyzer
    periods = [("2026-11-01", "2026-11-08"), ("2026-11-09", "2026-12-02")]
    compared = analyzer.compare_periods(periods)
    assert list(compared) == ["2026-11-01~2026-11-08", "2026-11-09~2026-12-02"]
    for (start, end), metrics in zip(periods, compared.values()):
        expected = _expected(rows, dt.date.fromisoformat(start), dt.date.fromisoformat(end), "7d")
        assert metrics.total_predictions == expected["total_predictions"]
        assert _close(metrics.accuracy, expected["accuracy"])
    trend = analyzer.get_accuracy_trend("2026-11-01", "2026-11-30", window_days=10)
    assert [w["window_start"] for w in trend] == ["2026-11-01", "2026-11-08", "2026-11-15", "2026-11-22", "2026-11-29"]
    assert trend[-1]["window_end"] == "2026-11-30"
    for window in trend:
        start, end = dt.date.fromisoformat(window["window_start"]), dt.date.fromisoformat(window["window_end"])
        expected = _expected(rows, start, end, "7d")
        assert window["total_predictions"] == expected["total_predictions"]
        assert _close(window["accuracy"], expected["accuracy"])


def test_bad_arguments_are_typed_errors(storekit_store: Store) -> None:
    analyzer = storekit_store.accuracy_analyzer
    with pytest.raises(QueryError, match="return_period"):
        analyzer.analyze_accuracy("2026-11-01", "2026-11-30", "14d")
    with pytest.raises(RecordValidationError, match="start_date"):
        analyzer.analyze_accuracy("20261101", "2026-11-30")


def test_the_report_is_written_as_json(storekit_store: Store, tmp_path: Path) -> None:
    storekit_store.put_many(
        [
            DailySelection.from_accuracy_tracker(START, "005930", sector="반도체"),
            PerformanceTracking(source="accuracy", stock_code="005930", tracking_date=START, return_7d=6.5),
        ]
    )
    metrics = storekit_store.accuracy_analyzer.analyze_accuracy("2026-11-01", "2026-11-30")
    assert metrics.sector_accuracy == {"반도체": 1.0} and metrics.strong_positive_count == 1
    path = tmp_path / "report.json"
    assert storekit_store.accuracy_analyzer.save_accuracy_report(metrics, str(path))
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["accuracy_metrics"]["total_predictions"] == 1
    assert report["analysis_summary"]["success_rate"] == "100.0%"
    assert not storekit_store.accuracy_analyzer.save_accuracy_report(metrics, str(tmp_path / "no" / "dir.json"))
