"""The persistence methods of StrategyReporter (``data/strategy_performance.db``).

The rows are :class:`~storekit.records.DailyStrategyReturn`,
:class:`storekit.records.StrategyPerformance` and
:class:`storekit.records.StrategyComparison`, the records ``storekit migrate`` writes
from ``strategy_performance.db``. Report scheduling and the JSON report file stay in
the application. See ``docs/modules/strategy_reporter.rst``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import attrs

from .. import records
from ..query import Eq, Range, desc
from ._base import DomainStore
from ._unified_db_values import as_date, as_float, as_int, as_json, attr, number, since, today

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
        daily = number(daily_return, "DailyStrategyReturn", "daily_return")
        benchmark = number(benchmark_return, "DailyStrategyReturn", "benchmark_return")
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

    def cleanup_old(self, days: int = 365, *, today: Optional[dt.date] = None) -> int:
        """Delete the daily strategy returns dated more than ``days`` days before ``today``
        (default: the local date); return how many. Not in the legacy reporter.

        On PostgreSQL, where ``daily_strategy_returns`` is partitioned by month, the
        months entirely before the cutoff are dropped whole; elsewhere it is one ``DELETE``.

        .. versionadded:: 0.1
        """
        cutoff = since(days) if today is None else today - dt.timedelta(days=days)
        return self._store.delete(records.DailyStrategyReturn, Range("date", lt=cutoff))

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

    def calculate_strategy_performance(
        self, strategy_name: str, start_date: Any, end_date: Any
    ) -> Optional[StrategyPerformance]:
        """A strategy's performance from its daily returns between the dates (the legacy
        private ``_calculate_strategy_performance``, which always failed), or ``None``
        without returns. Reads only that strategy's rows of the period, in date order;
        see the docs page for the formulas and the fixes."""
        rows = [
            r
            for r in self.get_daily_strategy_returns(strategy_name, start_date, end_date)
            if r.daily_return is not None
        ]
        if not rows:
            return None
        start = as_date(start_date, "DailyStrategyReturn", "date")
        end = as_date(end_date, "DailyStrategyReturn", "date")
        return StrategyPerformance(
            strategy_name=strategy_name,
            period_start=start.isoformat(),
            period_end=end.isoformat(),
            **performance_metrics(rows),
        )

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


RISK_FREE_RATE = 0.03
"""The yearly risk-free rate of the legacy Sharpe, Sortino and alpha."""
TRADING_DAYS = 252


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _pstd(values: Sequence[float]) -> float:
    """Population standard deviation (``numpy.std``)."""
    if not values:
        return 0.0
    m = _mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def _period_sums(rows: Sequence[records.DailyStrategyReturn], months: int) -> List[float]:
    """Sums of ``daily_return`` per calendar period of ``months`` months from the first
    row's period to the last's, empty periods as 0 (pandas ``resample('M'/'Q').sum()``)."""

    def index(day: dt.date) -> int:
        return (day.year * 12 + day.month - 1) // months

    first, last = index(rows[0].date), index(rows[-1].date)
    sums = [0.0] * (last - first + 1)
    for row in rows:
        sums[index(row.date) - first] += row.daily_return or 0.0
    return sums


def performance_metrics(rows: Sequence[records.DailyStrategyReturn]) -> Dict[str, Any]:
    """The legacy strategy metrics of daily returns in date order (percent in, percent
    out): total, annualized, volatility, Sharpe, drawdown, win/loss, Calmar, Sortino,
    benchmark correlation, alpha, beta, information ratio, monthly and quarterly sums."""
    daily = [(r.daily_return or 0.0) / 100 for r in rows]
    n = len(daily)
    total = rows[-1].cumulative_return
    growth = 1 + (total or 0.0) / 100
    annualized = (growth ** (TRADING_DAYS / n) - 1) * 100 if total is not None and growth > 0 else None
    excess = [d - RISK_FREE_RATE / TRADING_DAYS for d in daily]
    sharpe = _mean(excess) / _pstd(excess) * math.sqrt(TRADING_DAYS) if _pstd(excess) > 0 else 0.0
    value = peak = 1.0
    drawdown = 0.0
    for d in daily:
        value *= 1 + d
        peak = max(peak, value)
        if peak > 0:
            drawdown = min(drawdown, (value - peak) / peak)
    max_drawdown = drawdown * 100
    wins = [d for d in daily if d > 0]
    losses = [d for d in daily if d < 0]
    trades = len(wins) + len(losses)
    avg_win = _mean(wins) * 100
    avg_loss = _mean(losses) * 100
    downside = _pstd(losses) * math.sqrt(TRADING_DAYS)
    active = [(r.active_return or 0.0) / 100 for r in rows]
    bench = [d - a for d, a in zip(daily, active)]
    correlation, beta, alpha = _versus_benchmark(daily, bench, annualized)
    return {
        "total_return": total,
        "annualized_return": annualized,
        "volatility": _pstd(daily) * math.sqrt(TRADING_DAYS) * 100,
        "sharpe_ratio": sharpe,
        "max_drawdown": max_drawdown,
        "win_rate": len(wins) / trades * 100 if trades else 0.0,
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "profit_factor": abs(avg_win / avg_loss) if avg_loss else 0.0,
        "total_trades": trades,
        "profitable_trades": len(wins),
        "losing_trades": len(losses),
        "calmar_ratio": annualized / abs(max_drawdown) if annualized is not None and max_drawdown else 0.0,
        "sortino_ratio": (annualized - RISK_FREE_RATE * 100) / downside
        if annualized is not None and downside > 0
        else 0.0,
        "market_correlation": correlation,
        "alpha": alpha,
        "beta": beta,
        "information_ratio": _mean(active) / _pstd(active) * math.sqrt(TRADING_DAYS) if _pstd(active) > 0 else 0.0,
        "monthly_returns": _period_sums(rows, 1),
        "quarterly_returns": _period_sums(rows, 3),
    }


def _versus_benchmark(
    daily: Sequence[float], bench: Sequence[float], annualized: Optional[float]
) -> Tuple[Optional[float], float, Optional[float]]:
    """(correlation, beta, alpha) against the benchmark; correlation ``None`` where numpy's
    would be NaN (a constant series), beta from the population covariance and variance."""
    n = len(daily)
    if n < 2:
        return 0.0, 0.0, 0.0
    md, mb = _mean(daily), _mean(bench)
    cov = sum((d - md) * (b - mb) for d, b in zip(daily, bench)) / n
    var_d = sum((d - md) ** 2 for d in daily) / n
    var_b = sum((b - mb) ** 2 for b in bench) / n
    correlation = max(-1.0, min(1.0, cov / math.sqrt(var_d * var_b))) if var_d > 0 and var_b > 0 else None
    beta = cov / var_b if var_b > 0 else 0.0
    if annualized is None:
        return correlation, beta, None
    alpha = (annualized - RISK_FREE_RATE * 100) - beta * (mb * TRADING_DAYS * 100 - RISK_FREE_RATE * 100)
    return correlation, beta, alpha
