"""The persistence methods of EnhancedAdaptiveSystem (reads ``learning_data.db``).

Its analyses join :class:`~storekit.records.ScreeningHistory` and
:class:`~storekit.records.SelectionHistory` to the learning
:class:`~storekit.records.PerformanceTracking` rows. Each join is two ordered streams
merged in constant memory; filters, ordering and counts run in the database. See
``docs/modules/enhanced_adaptive_system.rst``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Tuple

import attrs

from ..query import Agg, Eq, Range
from ..records import PerformanceTracking, ScreeningHistory, SelectionHistory
from . import _data_synchronizer_stats as joins
from ._base import DomainStore
from ._data_synchronizer_stats import Moments

__all__ = ["EnhancedAdaptiveSystem", "ScreeningAccuracy", "SelectionAccuracy"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@attrs.frozen
class ScreeningAccuracy:
    """Screening accuracy of the latest screening day (legacy dataclass of the same name).

    Rates are fractions (0-1). ``date`` is the screening day.
    """

    date: dt.date
    total_screened: int
    passed_screening: int
    actual_positive_performance: int
    false_positive_rate: float
    true_positive_rate: float
    precision: float
    recall: float
    f1_score: float


@attrs.frozen
class SelectionAccuracy:
    """Selection accuracy over a period (legacy dataclass of the same name).

    ``win_rate`` is a fraction (0-1); returns are percent. ``date`` is the latest
    selection day of the period.
    """

    date: dt.date
    total_selected: int
    profitable_count: int
    loss_count: int
    win_rate: float
    avg_return: float
    best_return: float
    worst_return: float
    sharpe_ratio: float


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _pstdev(values: List[float]) -> float:
    mean = _mean(values)
    return (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 if values else 0.0


class EnhancedAdaptiveSystem(DomainStore):
    """The persistence methods of EnhancedAdaptiveSystem (reads ``learning_data.db``)."""

    def analyze_screening_accuracy(
        self, days_back: int = 30, *, today: Optional[dt.date] = None
    ) -> Optional[ScreeningAccuracy]:
        """Accuracy of the latest screening day within ``days_back`` days: each
        screening of that day left-joined to its learning performance row (same stock,
        ``tracking_date`` = screening day); a passed screening with a gain is a true
        positive. ``None`` when there is no screening in the period."""
        cutoff = (today or dt.date.today()) - dt.timedelta(days=days_back)
        (row,) = self._store.aggregate(
            ScreeningHistory, Agg("max", "screening_date"), where=[Range("screening_date", ge=cutoff)]
        )
        latest: Optional[dt.date] = row["max_screening_date"]
        if latest is None:
            return None
        total = passed = tp = fp = fn = 0
        for screening, perf in joins.screening_performance(
            self._store, [Eq("screening_date", latest)], [Eq("tracking_date", latest)]
        ):
            total += 1
            passed += screening.passed is True
            change = perf.price_change_pct if perf is not None else None
            if change is None or screening.passed is None:
                continue
            if screening.passed:
                tp += change > 0
                fp += change <= 0
            else:
                fn += change > 0
        if passed:
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            fpr, tpr = fp / passed, tp / passed
        else:
            precision = recall = f1 = fpr = tpr = 0.0
        return ScreeningAccuracy(latest, total, passed, tp, fpr, tpr, precision, recall, f1)

    def _per_selection_day(self, cutoff: dt.date) -> Dict[dt.date, Moments]:
        days: Dict[dt.date, Moments] = {}
        pairs = joins.selection_performance(
            self._store,
            [Range("selection_date", ge=cutoff)],
            [Eq("is_active", True), Range("tracking_date", ge=cutoff)],
        )
        for selection, perf in joins.inner(pairs):
            days.setdefault(selection.selection_date, Moments()).add(perf.price_change_pct)
        return days

    def analyze_selection_accuracy(
        self, days_back: int = 30, *, today: Optional[dt.date] = None
    ) -> Optional[SelectionAccuracy]:
        """Accuracy of the selections of the last ``days_back`` days joined to their
        active learning performance row. Counts are over all joined rows;
        ``avg_return`` and ``sharpe_ratio`` (mean over population standard deviation)
        are over the daily average returns, as the legacy method computed them.
        ``None`` when nothing joins."""
        cutoff = (today or dt.date.today()) - dt.timedelta(days=days_back)
        days = self._per_selection_day(cutoff)
        total = sum(m.rows for m in days.values())
        if not total:
            return None
        profitable = sum(m.wins for m in days.values())
        losses = sum(m.n - m.wins for m in days.values())
        averages = [m.mean for m in days.values() if m.mean is not None]
        highs = [m.high for m in days.values() if m.high is not None]
        lows = [m.low for m in days.values() if m.low is not None]
        avg = _mean(averages)
        std = _pstdev(averages)
        sharpe = avg / std if len(averages) > 1 and std > 0 else 0.0
        return SelectionAccuracy(
            date=max(days),
            total_selected=total,
            profitable_count=profitable,
            loss_count=losses,
            win_rate=profitable / total,
            avg_return=avg,
            best_return=max(highs, default=0.0),
            worst_return=min(lows, default=0.0),
            sharpe_ratio=sharpe,
        )

    def analyze_sector_performance_detailed(self) -> Dict[str, Any]:
        """Sector performance of screenings joined to their active learning performance
        row, sectors with at least 3 rows: ``status``, ``total_sectors``,
        ``sector_performance`` ({sector: {total_stocks, avg_performance, volatility,
        win_rate, best_performance, worst_performance, risk_adjusted_return}}),
        ``best_sectors``/``worst_sectors`` (top 3 each), ``analysis_date``;
        ``{'status': 'no_data'}`` when no sector qualifies."""
        rows = self._store.data_synchronizer.sector_performance(min_count=3)
        if not rows:
            return {"status": "no_data"}
        sectors: Dict[str, Dict[str, Any]] = {}
        for row in rows:
            avg = row["avg_performance"]
            sectors[row["sector"]] = {
                "total_stocks": row["total_stocks"],
                "avg_performance": avg,
                "volatility": row["volatility"],
                "win_rate": row["win_rate"],
                "best_performance": row["best_performance"],
                "worst_performance": row["worst_performance"],
                "risk_adjusted_return": abs(avg),
            }
        ranked = list(sectors.items())  # best average first
        return {
            "status": "success",
            "total_sectors": len(sectors),
            "sector_performance": sectors,
            "best_sectors": [{"sector": s, **v} for s, v in ranked[:3]],
            "worst_sectors": [{"sector": s, **v} for s, v in reversed(ranked[-3:])],
            "analysis_date": dt.datetime.now().isoformat(),
        }

    def analyze_temporal_patterns(self) -> Dict[str, Any]:
        """Performance of selections joined to their active learning performance row,
        by weekday of the selection day (best average first) and by month (``'YYYYMM'``,
        the 6 latest, newest first): ``{total_selections, avg_performance, win_rate}``
        each (win rate in percent)."""
        weekdays: Dict[int, Moments] = {}
        months: Dict[str, Moments] = {}
        for selection, perf in joins.inner(joins.selection_performance(self._store, (), [Eq("is_active", True)])):
            day = selection.selection_date
            weekdays.setdefault(day.weekday(), Moments()).add(perf.price_change_pct)
            months.setdefault(day.strftime("%Y%m"), Moments()).add(perf.price_change_pct)

        def summary(m: Moments) -> Dict[str, Any]:
            return {"total_selections": m.rows, "avg_performance": m.mean, "win_rate": m.wins * 100.0 / m.rows}

        def by_average(item: Tuple[int, Moments]) -> Tuple[bool, float, int]:
            mean = item[1].mean
            return (mean is None, -(mean if mean is not None else 0.0), item[0])

        return {
            "status": "success",
            "day_of_week_patterns": {DAY_NAMES[d]: summary(m) for d, m in sorted(weekdays.items(), key=by_average)},
            "monthly_patterns": {k: summary(months[k]) for k in sorted(months, reverse=True)[:6]},
            "analysis_date": dt.datetime.now().isoformat(),
        }

    # -- health and maintenance (the database parts) ---------------------------------

    def check_database_health(self) -> Dict[str, Any]:
        """Row counts of the learning tables and the latest screening day:
        ``{status, table_counts, latest_screening_date, total_records}``."""
        counts = {
            "screening_history": self._store.count(ScreeningHistory),
            "selection_history": self._store.count(SelectionHistory),
            "performance_tracking": self._store.count(PerformanceTracking, joins.LEARNING),
        }
        (row,) = self._store.aggregate(ScreeningHistory, Agg("max", "screening_date"))
        return {
            "status": True,
            "table_counts": counts,
            "latest_screening_date": row["max_screening_date"],
            "total_records": sum(counts.values()),
        }

    def check_performance_metrics(self) -> Dict[str, Any]:
        """Summary of the active learning performance rows: ``avg_return``,
        ``total_tracking``, ``win_rate`` (percent) and the legacy
        ``performance_score`` (``win_rate * 0.6 + avg_return * 40``)."""
        where = [joins.LEARNING, Eq("is_active", True)]
        (row,) = self._store.aggregate(PerformanceTracking, Agg("count"), Agg("avg", "price_change_pct"), where=where)
        total = int(row["count"])
        wins = self._store.count(PerformanceTracking, *where, Range("price_change_pct", gt=0.0))
        avg = row["avg_price_change_pct"] or 0.0
        win_rate = wins * 100.0 / total if total else 0.0
        return {
            "avg_return": avg,
            "total_tracking": total,
            "win_rate": win_rate,
            "performance_score": win_rate * 0.6 + avg * 40,
        }

    def cleanup_old_data(self, cleanup_days: int = 90, *, today: Optional[dt.date] = None) -> Dict[str, Any]:
        """Mark the learning performance rows tracked before ``today - cleanup_days``
        inactive: ``{status, deleted_records (rows changed), cutoff_date}``."""
        cutoff = (today or dt.date.today()) - dt.timedelta(days=cleanup_days)
        changed = 0
        for page in self._store.pages(
            PerformanceTracking,
            joins.LEARNING,
            Eq("is_active", True),
            Range("tracking_date", lt=cutoff),
            order_by=("stock_code", "tracking_date"),
        ):
            changed += self._store.put_many(attrs.evolve(p, is_active=False) for p in page)  # type: ignore[misc]
        return {"status": "completed", "deleted_records": changed, "cutoff_date": cutoff}

    def check_data_integrity(self) -> Dict[str, Any]:
        """Selections without a learning performance row (duplicate screenings cannot
        exist: the key forbids them): ``{status, issues_found, issues}``."""
        missing = sum(1 for _, perf in joins.selection_performance(self._store) if perf is None)
        issues = [f"selections without performance data: {missing}"] if missing else []
        return {"status": "completed", "issues_found": len(issues), "issues": issues}
