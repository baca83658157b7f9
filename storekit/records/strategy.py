"""Records of ``data/strategy_performance.db`` (StrategyReporter)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ._declare import Json, LegacySource, Record, field, record
from ._ids import new_id, utc_now

STRATEGY_DB = "strategy_performance.db"


@record(
    table="strategy_performance",
    key=("strategy_name", "date", "period_start", "period_end"),
    legacy=[LegacySource(STRATEGY_DB, "strategy_performance")],
)
class StrategyPerformance(Record):
    """A strategy's performance over a period (StrategyReporter; never written in practice)."""

    strategy_name: str
    date: dt.date
    period_start: dt.date
    period_end: dt.date
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
    monthly_returns: Json = field(default=None, doc="list of floats")
    quarterly_returns: Json = field(default=None, doc="list of floats")
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="strategy_comparisons",
    key=("id",),
    legacy=[LegacySource(STRATEGY_DB, "strategy_comparisons")],
)
class StrategyComparison(Record):
    """A comparison of strategies (StrategyReporter; never written in practice)."""

    id: int = field(factory=new_id)
    comparison_date: dt.date
    period_days: Optional[int] = None
    strategies: Json = field(default=None, doc="list of strategy names")
    best_performer: Optional[str] = None
    worst_performer: Optional[str] = None
    performance_spread: Optional[float] = None
    risk_adjusted_ranking: Json = field(default=None, doc="list of [name, sharpe]")
    correlation_matrix: Json = field(default=None, doc="{s1: {s2: float}}")
    statistical_significance: Json = field(default=None, doc="{strategy: bool}")
    bull_market_performance: Json = field(default=None, doc="{strategy: float}")
    bear_market_performance: Json = field(default=None, doc="{strategy: float}")
    sideways_market_performance: Json = field(default=None, doc="{strategy: float}")
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="market_regimes",
    key=("date",),
    legacy=[LegacySource(STRATEGY_DB, "market_regimes")],
)
class MarketRegime(Record):
    """The market regime of one day (created by StrategyReporter, never written)."""

    date: dt.date
    regime_type: str
    market_return: Optional[float] = None
    volatility: Optional[float] = None
    confidence: Optional[float] = None
    created_at: Optional[dt.datetime] = field(factory=utc_now)


@record(
    table="daily_strategy_returns",
    key=("strategy_name", "date"),
    legacy=[LegacySource(STRATEGY_DB, "daily_strategy_returns")],
    partition_by="date",
)
class DailyStrategyReturn(Record):
    """A strategy's return on one day (StrategyReporter.record_daily_strategy_return)."""

    strategy_name: str
    date: dt.date
    daily_return: Optional[float] = field(default=None, doc="percent")
    cumulative_return: Optional[float] = field(default=None, doc="percent")
    portfolio_value: Optional[float] = None
    benchmark_return: Optional[float] = field(default=None, doc="percent")
    active_return: Optional[float] = field(default=None, doc="percent: daily minus benchmark")
    created_at: Optional[dt.datetime] = field(factory=utc_now)
