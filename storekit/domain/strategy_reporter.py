"""The persistence methods of StrategyReporter (``data/strategy_performance.db``).

The rows are :class:`~storekit.records.DailyStrategyReturn`,
:class:`storekit.records.StrategyPerformance` and
:class:`storekit.records.StrategyComparison`, the records ``storekit migrate`` writes
from ``strategy_performance.db``. Report scheduling and the JSON report file stay in
the application. See ``docs/modules/strategy_reporter.rst``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import attrs

from .. import records
from ..query import Eq, Range, desc
from ._base import DomainStore
from ._unified_db_values import as_date, as_float, as_int, as_json, attr, since, today

__all__ = ["STRATEGIES", "StrategyComparison", "StrategyPerformance", "StrategyReporter"]

log = logging.getLogger("storekit.domain.strategy_reporter")

STRATEGIES = (
    "momentum_strategy",
    "value_strategy",
    "growth_strategy",
    "dividend_strategy",
    "technical_strategy",
    "fundamental_strategy",
)
"""The strategy names the legacy reporter tracks."""

_PERFORMANCE_FLOATS = (
    "total_return",
    "annualized_return",
    "volatility",
    "sharpe_ratio",
    "max_drawdown",
    "win_rate",
    "avg_win",
    "avg_loss",
    "profit_factor",
    "calmar_ratio",
    "sortino_ratio",
    "market_correlation",
    "alpha",
    "beta",
    "information_ratio",
)
_PERFORMANCE_INTS = ("total_trades", "profitable_trades", "losing_trades")


@attrs.define
class StrategyPerformance:
    """A strategy's performance over a period (the application's ``StrategyPerformance``).

    ``period_start``/``period_end`` are ``'YYYY-MM-DD'`` text, as legacy returned them.
    """

    strategy_name: str
    period_start: str
    period_end: str
    total_return: Optional[float] = None
    annualized_return: Optional[float] = None
    volatility: Optional[float] = None
    sharpe_ratio: Optional[float] = None
    max_drawdown: Optional[float] = None
    win_rate: Optional[float] = None
    avg_win: Optional[float] = None
    avg_loss: Optional[float] = None
    profit_factor: Optional[float] = None
    total_trades: Optional[int] = None
    profitable_trades: Optional[int] = None
    losing_trades: Optional[int] = None
    calmar_ratio: Optional[float] = None
    sortino_ratio: Optional[float] = None
    market_correlation: Optional[float] = None
    alpha: Optional[float] = None
    beta: Optional[float] = None
    information_ratio: Optional[float] = None
    monthly_returns: List[float] = attrs.field(factory=list)
    quarterly_returns: List[float] = attrs.field(factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """The legacy ``to_dict()``."""
        return attrs.asdict(self)


@attrs.define
class StrategyComparison:
    """A comparison of strategies (the application's ``StrategyComparison``)."""

    comparison_date: Any
    period_days: Optional[int]
    strategies: List[str]
    best_performer: Optional[str] = None
    worst_performer: Optional[str] = None
    performance_spread: Optional[float] = None
    risk_adjusted_ranking: List[Any] = attrs.field(factory=list)
    correlation_matrix: Dict[str, Dict[str, float]] = attrs.field(factory=dict)
    statistical_significance: Dict[str, bool] = attrs.field(factory=dict)
    bull_market_performance: Dict[str, float] = attrs.field(factory=dict)
    bear_market_performance: Dict[str, float] = attrs.field(factory=dict)
    sideways_market_performance: Dict[str, float] = attrs.field(factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        """The legacy ``to_dict()``."""
        return attrs.asdict(self)


def _performance(row: records.StrategyPerformance) -> StrategyPerformance:
    return StrategyPerformance(
        strategy_name=row.strategy_name,
        period_start=row.period_start.isoformat(),
        period_end=row.period_end.isoformat(),
        **{name: getattr(row, name) for name in _PERFORMANCE_FLOATS + _PERFORMANCE_INTS},
        monthly_returns=list(row.monthly_returns or []),
        quarterly_returns=list(row.quarterly_returns or []),
    )


class StrategyReporter(DomainStore):
    """The persistence methods of StrategyReporter (``data/strategy_performance.db``)."""

    def record_daily_strategy_return(
        self,
        strategy_name: str,
        date: Any,
        daily_return: Optional[float],
        cumulative_return: Optional[float],
        portfolio_value: Optional[float],
        benchmark_return: Optional[float],
    ) -> None:
        """Store a strategy's return of one day (percent; replacing that day's earlier
        one). ``active_return`` is ``daily_return - benchmark_return``."""
        daily = as_float(daily_return)
        benchmark = as_float(benchmark_return)
        self._store.put(
            records.DailyStrategyReturn(
                strategy_name=strategy_name,
                date=as_date(date, "DailyStrategyReturn", "date"),
                daily_return=daily,
                cumulative_return=as_float(cumulative_return),
                portfolio_value=as_float(portfolio_value),
                benchmark_return=benchmark,
                active_return=None if daily is None or benchmark is None else daily - benchmark,
            )
        )

    def save_strategy_performance(self, performance: Any, date: Optional[Any] = None) -> records.StrategyPerformance:
        """Store a strategy's performance over its period, as of ``date`` (default today),
        replacing the row of the same strategy, date and period (the legacy private
        ``_save_strategy_performance``, which the report jobs call). numpy numbers are
        accepted. Returns the stored record."""
        name = "StrategyPerformance"
        row = records.StrategyPerformance(
            strategy_name=attr(performance, "strategy_name"),
            date=as_date(date, name, "date") if date is not None else today(),
            period_start=as_date(attr(performance, "period_start"), name, "period_start"),
            period_end=as_date(attr(performance, "period_end"), name, "period_end"),
            **{f: as_float(attr(performance, f)) for f in _PERFORMANCE_FLOATS},
            **{f: as_int(attr(performance, f)) for f in _PERFORMANCE_INTS},
            monthly_returns=as_json(list(attr(performance, "monthly_returns") or []), name, "monthly_returns"),
            quarterly_returns=as_json(list(attr(performance, "quarterly_returns") or []), name, "quarterly_returns"),
        )
        self._store.put(row)
        return row

    def save_strategy_comparison(self, comparison: Any) -> records.StrategyComparison:
        """Append a comparison of strategies (the legacy private ``_save_strategy_comparison``).
        Returns the stored record."""
        name = "StrategyComparison"
        row = records.StrategyComparison(
            comparison_date=as_date(attr(comparison, "comparison_date"), name, "comparison_date"),
            period_days=as_int(attr(comparison, "period_days")),
            strategies=as_json(list(attr(comparison, "strategies") or []), name, "strategies"),
            best_performer=attr(comparison, "best_performer"),
            worst_performer=attr(comparison, "worst_performer"),
            performance_spread=as_float(attr(comparison, "performance_spread")),
            **{
                f: as_json(attr(comparison, f), name, f)
                for f in (
                    "risk_adjusted_ranking",
                    "correlation_matrix",
                    "statistical_significance",
                    "bull_market_performance",
                    "bear_market_performance",
                    "sideways_market_performance",
                )
            },
        )
        self._store.append([row])
        return row

    def get_strategy_performance_history(self, strategy_name: str, days: int = 30) -> List[StrategyPerformance]:
        """A strategy's stored performances dated within the last ``days`` days, newest
        first, streamed from the database."""
        rows = self._store.find(
            records.StrategyPerformance,
            Eq("strategy_name", strategy_name),
            Range("date", ge=since(days)),
            order_by=[desc("date")],
        )
        return [_performance(row) for row in rows]

    def get_daily_strategy_returns(
        self, strategy_name: str, start_date: Any, end_date: Any
    ) -> List[records.DailyStrategyReturn]:
        """A strategy's daily returns from ``start_date`` to ``end_date`` (inclusive), in
        date order: the rows the legacy ``_calculate_strategy_performance`` read."""
        start = as_date(start_date, "DailyStrategyReturn", "date")
        end = as_date(end_date, "DailyStrategyReturn", "date")
        return list(
            self._store.find(
                records.DailyStrategyReturn,
                Eq("strategy_name", strategy_name),
                Range("date", ge=start, le=end),
                order_by=["date"],
            )
        )
