"""store.strategy_reporter: StrategyReporter's persistence on both backends; the
performance history equals a plain Python selection over the same rows."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storekit import Store, records
from storekit.domain.strategy_reporter import StrategyComparison, StrategyPerformance

TODAY = dt.date.today()
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


class Int64:
    """Stands in for numpy.int64, which is not an ``int`` and which sqlite3 could not bind."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __int__(self) -> int:
        return self.value

    def __eq__(self, other: object) -> bool:
        return other == self.value

    def __hash__(self) -> int:
        return hash(self.value)


def performance(name: str = "momentum_strategy", **kw: Any) -> StrategyPerformance:
    return StrategyPerformance(name, day(30).isoformat(), day(0).isoformat(), **kw)


def test_a_daily_return_is_stored_with_its_active_return_and_replaced(storekit_store: Store) -> None:
    sr = storekit_store.strategy_reporter
    sr.record_daily_strategy_return("momentum_strategy", day(1).isoformat(), 1.5, 4.0, 1_000_000.0, 0.5)
    sr.record_daily_strategy_return("momentum_strategy", day(1), 2.0, 4.5, 1_005_000.0, 0.25)
    [row] = sr.get_daily_strategy_returns("momentum_strategy", day(5), day(0).isoformat())
    assert (row.daily_return, row.active_return, row.date) == (2.0, 1.75, day(1))
    sr.record_daily_strategy_return("value_strategy", day(1), None, None, None, 0.25)
    assert storekit_store.get(records.DailyStrategyReturn, "value_strategy", day(1)).active_return is None  # type: ignore[union-attr]


def test_a_performance_with_numpy_like_integers_is_stored(storekit_store: Store) -> None:
    sr = storekit_store.strategy_reporter
    stored = sr.save_strategy_performance(
        performance(total_return=12.5, total_trades=Int64(20), profitable_trades=Int64(12), monthly_returns=[1.0, -0.5])
    )
    assert (stored.total_trades, stored.date, stored.monthly_returns) == (20, TODAY, [1.0, -0.5])
    [back] = sr.get_strategy_performance_history("momentum_strategy")
    assert back == performance(total_return=12.5, total_trades=20, profitable_trades=12, monthly_returns=[1.0, -0.5])


def test_a_comparison_is_appended(storekit_store: Store) -> None:
    sr = storekit_store.strategy_reporter
    comparison = StrategyComparison(
        comparison_date=TODAY,
        period_days=30,
        strategies=["momentum_strategy", "value_strategy"],
        best_performer="momentum_strategy",
        risk_adjusted_ranking=[("momentum_strategy", 1.2), ("value_strategy", 0.4)],
        statistical_significance={"momentum_strategy": True},
    )
    first = sr.save_strategy_comparison(comparison)
    sr.save_strategy_comparison(comparison)
    assert storekit_store.count(records.StrategyComparison) == 2
    assert first.risk_adjusted_ranking == [["momentum_strategy", 1.2], ["value_strategy", 0.4]]


@st.composite
def performances(draw: st.DrawFn) -> List[Tuple[str, int, float]]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(["momentum_strategy", "value_strategy"]), st.integers(0, 45)),
            unique=True,
            max_size=12,
        )
    )
    return [(name, days_ago, draw(st.floats(-50, 50))) for name, days_ago in keys]


@fixture_ok
@given(rows=performances(), days=st.sampled_from([7, 30]))
def test_the_history_equals_a_python_selection(
    storekit_store: Store, rows: List[Tuple[str, int, float]], days: int
) -> None:
    storekit_store.delete(records.StrategyPerformance)
    sr = storekit_store.strategy_reporter
    for name, days_ago, total in rows:
        sr.save_strategy_performance(performance(name, total_return=total), date=day(days_ago))
    got = sr.get_strategy_performance_history("momentum_strategy", days)
    want = sorted(
        ((days_ago, total) for name, days_ago, total in rows if name == "momentum_strategy" and days_ago <= days),
    )
    assert [p.total_return for p in got] == [total for _, total in want]


def test_a_strategys_performance_is_calculated_from_its_daily_returns(storekit_store: Store) -> None:
    sr = storekit_store.strategy_reporter
    start = dt.date(2025, 1, 30)
    series = [
        (start, 1.0, 0.5),
        (dt.date(2025, 1, 31), -2.0, -1.0),
        (dt.date(2025, 3, 3), 3.0, 1.0),
        (dt.date(2025, 3, 4), 0.0, 0.0),
    ]
    cumulative = 0.0
    for d, daily, bench in series:
        cumulative += daily
        sr.record_daily_strategy_return("value_strategy", d, daily, cumulative, 1e6, bench)
    sr.record_daily_strategy_return("momentum_strategy", start, 50.0, 50.0, 1e6, 0.0)  # another strategy: not read
    assert sr.calculate_strategy_performance("value_strategy", "2024-01-01", "2024-12-31") is None
    perf = sr.calculate_strategy_performance("value_strategy", start.isoformat(), "2025-03-31")
    assert perf is not None
    daily = [d / 100 for _, d, _ in series]
    assert (perf.period_start, perf.period_end, perf.total_return) == ("2025-01-30", "2025-03-31", cumulative)
    assert (perf.total_trades, perf.profitable_trades, perf.losing_trades) == (3, 2, 1)
    assert perf.win_rate == pytest.approx(2 / 3 * 100)
    assert perf.avg_win == pytest.approx((1.0 + 3.0) / 2) and perf.avg_loss == pytest.approx(-2.0)
    assert perf.profit_factor == pytest.approx(1.0)
    value, peak, worst = 1.0, 1.0, 0.0
    for d in daily:
        value *= 1 + d
        peak = max(peak, value)
        worst = min(worst, value / peak - 1)
    assert perf.max_drawdown == pytest.approx(worst * 100)
    assert perf.annualized_return == pytest.approx(((1 + cumulative / 100) ** (252 / 4) - 1) * 100)
    mean = sum(daily) / 4
    assert perf.volatility == pytest.approx(math.sqrt(sum((d - mean) ** 2 for d in daily) / 4) * math.sqrt(252) * 100)
    assert perf.monthly_returns == [pytest.approx(-1.0), 0.0, pytest.approx(3.0)]  # January, an empty February, March
    assert perf.quarterly_returns == [pytest.approx(2.0)]
    assert perf.market_correlation is not None and -1.0 <= perf.market_correlation <= 1.0
    stored = sr.save_strategy_performance(perf)
    assert stored.total_trades == 3
