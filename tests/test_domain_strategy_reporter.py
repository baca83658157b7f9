"""store.strategy_reporter: StrategyReporter's persistence on both backends; the
performance history equals a plain Python selection over the same rows."""

from __future__ import annotations

import datetime as dt
from typing import Any, List, Tuple

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
