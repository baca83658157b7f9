"""The persistence methods of AccuracyAnalyzer (read-only).

The legacy analyzer read ``daily_performance`` from ``data/performance.db``, a table no
code ever created. Here it reads what AccuracyTracker records, the same facts under
their stored names: a row is a :class:`~storekit.records.PerformanceTracking` row
(``source='accuracy'``) with its :class:`~storekit.records.DailySelection`
(``source='accuracy_tracker'``) for sector, name and price. Returns are percent. See
``docs/modules/accuracy_analyzer.rst``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

import attrs

from ..errors import QueryError
from . import _accuracy_tracker_stats as stats
from ._base import DomainStore
from ._data_synchronizer_stats import Moments
from .accuracy_tracker import DateLike, as_date

__all__ = ["AccuracyAnalyzer", "AccuracyMetrics"]

RETURN_PERIODS = ("1d", "7d", "30d")
STRONG_RETURN = 5.0
"""Percent: a return above this is a strong positive."""
RISK_FREE_RATE = 3.0
"""Percent a year; the daily rate is this / 252."""
OTHER_SECTOR = "기타"
"""The sector of a row whose selection has none (the legacy default)."""


@attrs.frozen
class AccuracyMetrics:
    """Accuracy over a period (legacy dataclass of the same name). Accuracies are
    fractions (0-1), returns percent, ``max_drawdown`` a fraction."""

    period: str
    total_predictions: int
    correct_predictions: int
    accuracy: float
    positive_return_count: int
    positive_accuracy: float
    strong_positive_count: int
    strong_positive_accuracy: float
    avg_return_1d: float
    avg_return_7d: float
    avg_return_30d: float
    sharpe_ratio: Optional[float] = None
    max_drawdown: Optional[float] = None
    sector_accuracy: Optional[Dict[str, float]] = None

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict (``sector_accuracy`` ``{}`` when unset)."""
        out = attrs.asdict(self)
        out["sector_accuracy"] = self.sector_accuracy or {}
        return out


def _empty(period: str) -> AccuracyMetrics:
    return AccuracyMetrics(period, 0, 0, 0.0, 0, 0.0, 0, 0.0, 0.0, 0.0, 0.0)


class _Drawdown:
    """Maximum drawdown of the compounded daily mean 7-day return, fed date by date."""

    def __init__(self) -> None:
        self.day: Optional[dt.date] = None
        self.total = 0.0
        self.n = 0
        self.value = 1.0
        self.peak: Optional[float] = None
        self.max = 0.0
        self.days = 0

    def add(self, day: dt.date, return_7d: Optional[float]) -> None:
        if day != self.day:
            self._close()
            self.day = day
        if return_7d is not None:
            self.total += return_7d
            self.n += 1

    def _close(self) -> None:
        if self.n:
            self.value *= 1 + self.total / self.n / 100
            self.peak = self.value if self.peak is None else max(self.peak, self.value)
            if self.peak:
                self.max = max(self.max, (self.peak - self.value) / self.peak)
            self.days += 1
        self.total, self.n = 0.0, 0

    def result(self) -> Optional[float]:
        self._close()
        return self.max if self.days else None


class AccuracyAnalyzer(DomainStore):
    """The persistence methods of AccuracyAnalyzer (read-only)."""

    def analyze_accuracy(self, start_date: DateLike, end_date: DateLike, return_period: str = "7d") -> AccuracyMetrics:
        """Accuracy of the selections from ``start_date`` to ``end_date`` (inclusive)
        whose ``return_period`` return (``'1d'``, ``'7d'`` or ``'30d'``) is known.

        A return above 0 is correct, above 5 % a strong positive; the Sharpe ratio is
        ``(mean - 3 % / 252) / population std`` (``None`` under 2 returns or with no
        spread); the maximum drawdown compounds each day's mean 7-day return; sector
        accuracy is per selection sector. Empty metrics when nothing matches."""
        if return_period not in RETURN_PERIODS:
            raise QueryError(f"return_period must be one of {', '.join(RETURN_PERIODS)}, not {return_period!r}")
        start = as_date(start_date, "AccuracyAnalyzer", "start_date")
        end = as_date(end_date, "AccuracyAnalyzer", "end_date")
        period = f"{start_date} ~ {end_date}"
        field = f"return_{return_period}"
        returns = Moments()
        strong = 0
        averages = {name: Moments() for name in RETURN_PERIODS}
        sectors: Dict[str, List[int]] = {}
        drawdown = _Drawdown()
        for perf, selection in stats.performance_with_selections(self._store, start, end, [stats.not_null(field)]):
            value: float = getattr(perf, field)
            returns.add(value)
            strong += value > STRONG_RETURN
            for name in RETURN_PERIODS:
                averages[name].add(getattr(perf, f"return_{name}"))
            sector = selection.sector if selection is not None and selection.sector is not None else OTHER_SECTOR
            counts = sectors.setdefault(sector, [0, 0])
            counts[0] += value > 0
            counts[1] += 1
            drawdown.add(perf.tracking_date, perf.return_7d)
        if not returns.n:
            return _empty(period)
        accuracy = returns.wins / returns.n
        spread = returns.pstdev
        sharpe = ((returns.mean or 0.0) - RISK_FREE_RATE / 252) / spread if returns.n >= 2 and spread > 0 else None
        return AccuracyMetrics(
            period=period,
            total_predictions=returns.n,
            correct_predictions=returns.wins,
            accuracy=accuracy,
            positive_return_count=returns.wins,
            positive_accuracy=accuracy,
            strong_positive_count=strong,
            strong_positive_accuracy=strong / returns.n,
            avg_return_1d=averages["1d"].mean or 0.0,
            avg_return_7d=averages["7d"].mean or 0.0,
            avg_return_30d=averages["30d"].mean or 0.0,
            sharpe_ratio=sharpe,
            max_drawdown=drawdown.result(),
            sector_accuracy={s: p / n for s, (p, n) in sectors.items()},
        )

    def compare_periods(
        self, periods: Sequence[Tuple[DateLike, DateLike]], return_period: str = "7d"
    ) -> Dict[str, AccuracyMetrics]:
        """:meth:`analyze_accuracy` of each ``(start, end)``, keyed ``'start~end'``."""
        return {f"{s}~{e}": self.analyze_accuracy(s, e, return_period) for s, e in periods}

    def get_accuracy_trend(
        self, start_date: DateLike, end_date: DateLike, window_days: int = 30
    ) -> List[Dict[str, Any]]:
        """Windows of ``window_days`` days (cut at ``end_date``) starting every 7 days
        from ``start_date``: ``{date, window_start, window_end, accuracy,
        total_predictions, avg_return_7d}`` each (dates ``'YYYY-MM-DD'``)."""
        start = as_date(start_date, "AccuracyAnalyzer", "start_date")
        end = as_date(end_date, "AccuracyAnalyzer", "end_date")
        trend: List[Dict[str, Any]] = []
        current = start
        while current <= end:
            window_end = min(current + dt.timedelta(days=window_days), end)
            metrics = self.analyze_accuracy(current.isoformat(), window_end.isoformat())
            trend.append(
                {
                    "date": current.isoformat(),
                    "window_start": current.isoformat(),
                    "window_end": window_end.isoformat(),
                    "accuracy": metrics.accuracy,
                    "total_predictions": metrics.total_predictions,
                    "avg_return_7d": metrics.avg_return_7d,
                }
            )
            current += dt.timedelta(days=7)
        return trend

    def save_accuracy_report(self, metrics: AccuracyMetrics, filepath: str) -> bool:
        """Write ``metrics`` and a summary to ``filepath`` as JSON; ``False`` (logged
        by the caller's habit) if the file cannot be written."""
        report = {
            "accuracy_metrics": metrics.to_dict(),
            "generated_at": dt.datetime.now().isoformat(),
            "analysis_summary": {
                "total_selections": metrics.total_predictions,
                "success_rate": f"{metrics.accuracy:.1%}",
                "strong_success_rate": f"{metrics.strong_positive_accuracy:.1%}",
                "average_7d_return": f"{metrics.avg_return_7d:.2f}%",
                "risk_adjusted_return": f"{metrics.sharpe_ratio:.3f}" if metrics.sharpe_ratio else "N/A",
            },
        }
        try:
            with open(filepath, "w", encoding="utf-8") as f:
                json.dump(report, f, ensure_ascii=False, indent=2)
        except OSError:
            return False
        return True
