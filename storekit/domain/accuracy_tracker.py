"""The persistence methods of AccuracyTracker (``data/accuracy_tracking.db``).

Selections are :class:`~storekit.records.DailySelection` rows with
``source='accuracy_tracker'``, their prices :class:`~storekit.records.PerformanceTracking`
rows with ``source='accuracy'``, and the daily analyses
:class:`~storekit.records.DailyAccuracy` rows, the records ``storekit migrate`` makes of
the legacy tables. Prices come from the caller (the application asks the KIS API);
storekit never calls the network. See ``docs/modules/accuracy_tracker.rst``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import attrs

from ..errors import FieldError, RecordValidationError
from ..query import Range
from ..records import DailyAccuracy, DailySelection, PerformanceTracking
from . import _accuracy_tracker_stats as stats
from ._base import DomainStore
from ._unified_db_values import number

__all__ = ["AccuracyTracker", "AccuracyTrend", "DailyAccuracyResult"]

DateLike = Union[str, dt.date]
PriceLookup = Callable[[str, dt.date], Optional[float]]
"""``get_price(stock_code, day)``: the close of ``day``, or ``None`` (no trading, unknown)."""

STRONG_RETURN = 5.0
"""A return of at least this many percent is a strong positive."""
HORIZONS = (1, 7, 30)
LOOKAHEAD_DAYS = 7
"""A horizon's price is the first close on or after the day, within this many days."""


def as_date(value: DateLike, record_type: str = "DailySelection", field: str = "selection_date") -> dt.date:
    """A date from a :class:`datetime.date` or ``'YYYY-MM-DD'`` text; anything else is a
    :class:`~storekit.RecordValidationError` naming ``record_type.field``."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value) if len(value) == 10 else _bad(value, record_type, field)
        except ValueError:
            pass
    return _bad(value, record_type, field)


def _bad(value: Any, record_type: str, field: str) -> dt.date:
    raise RecordValidationError(
        record_type, [FieldError(record_type, field, "expected a date or 'YYYY-MM-DD' text", value)]
    )


@attrs.frozen
class DailyAccuracyResult:
    """The accuracy of one day's selections (legacy dataclass of the same name).

    ``date`` is the selection (target) day; rates and returns are percent.
    """

    date: dt.date
    total_predictions: Optional[int]
    positive_1d: Optional[int]
    positive_rate_1d: Optional[float]
    avg_return_1d: Optional[float]
    positive_7d: Optional[int]
    positive_rate_7d: Optional[float]
    avg_return_7d: Optional[float]
    positive_30d: Optional[int]
    positive_rate_30d: Optional[float]
    avg_return_30d: Optional[float]
    strong_positive_1d: Optional[int]
    strong_positive_rate_1d: Optional[float]
    strong_positive_7d: Optional[int]
    strong_positive_rate_7d: Optional[float]
    sector_accuracy: Dict[str, float]
    top_performers: List[Dict[str, Any]]
    worst_performers: List[Dict[str, Any]]

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict (``date`` as ``'YYYY-MM-DD'``, ready for JSON)."""
        out = attrs.asdict(self)
        out["date"] = self.date.isoformat()
        return out


@attrs.frozen
class AccuracyTrend:
    """The trend of the daily accuracies (legacy dataclass of the same name)."""

    period_days: int
    avg_accuracy_1d: float
    avg_accuracy_7d: float
    trend_direction: str
    accuracy_volatility: float
    consistency_score: float
    best_day: dt.date
    best_accuracy: float
    worst_day: dt.date
    worst_accuracy: float
    predicted_next_accuracy: Optional[float] = None


def _json_float(value: float) -> float:
    return value + 0.0  # -0.0 becomes 0.0, which JSON fields take


class _Horizon:
    __slots__ = ("n", "positive", "strong", "total")

    def __init__(self) -> None:
        self.n = self.positive = self.strong = 0
        self.total = 0.0

    def add(self, value: Optional[float]) -> None:
        if value is None:
            return
        self.n += 1
        self.total += value
        self.positive += value > 0
        self.strong += value >= STRONG_RETURN

    def rate(self, count: int) -> float:
        return count / self.n * 100 if self.n else 0.0

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0


def _performer(selection: DailySelection, return_7d: float) -> Dict[str, Any]:
    return {
        "stock_code": selection.stock_code,
        "stock_name": selection.stock_name,
        "sector": selection.sector,
        "return_7d": _json_float(return_7d),
    }


class AccuracyTracker(DomainStore):
    """The persistence methods of AccuracyTracker (``data/accuracy_tracking.db``)."""

    # -- selections and prices ---------------------------------------------------------

    def record_daily_selection(
        self,
        date: DateLike,
        stock_code: str,
        stock_name: str,
        sector: str,
        selection_price: float,
        selection_reason: str = "",
        confidence_score: float = 0.0,
    ) -> None:
        """Record (or replace) the selection of ``stock_code`` on ``date`` (a date or
        ``'YYYY-MM-DD'``; anything else is a :class:`~storekit.RecordValidationError`)."""
        self._store.put(
            DailySelection.from_accuracy_tracker(
                as_date(date),
                stock_code,
                stock_name=stock_name,
                sector=sector,
                selection_price=selection_price,
                selection_reason=selection_reason,
                confidence_score=confidence_score,
            )
        )

    def selections_to_update(
        self, *, today: Optional[dt.date] = None, now: Optional[dt.datetime] = None
    ) -> Iterator[DailySelection]:
        """Selections of the last 35 days whose performance row is missing or was last
        updated more than a day before ``now``, in (date, stock code) order."""
        today = today or dt.date.today()
        stale = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=1)
        start = today - dt.timedelta(days=35)
        for selection, perf in stats.selections_with_performance(self._store, start):
            if perf is None or perf.updated_at is None or perf.updated_at < stale:
                yield selection

    def record_performance(
        self,
        selection_date: DateLike,
        stock_code: str,
        price_1d: Optional[float] = None,
        price_7d: Optional[float] = None,
        price_30d: Optional[float] = None,
    ) -> PerformanceTracking:
        """Store the closes 1, 7 and 30 days after a recorded selection, with their
        returns in percent against its ``selection_price`` (``None`` where the price,
        or a positive selection price, is unknown); return the row written."""
        day = as_date(selection_date)
        price_1d, price_7d, price_30d = (
            number(p, "PerformanceTracking", f"price_{n}d") for p, n in zip((price_1d, price_7d, price_30d), HORIZONS)
        )
        selection = self._store.get(DailySelection, DailySelection.from_accuracy_tracker(day, stock_code).id)
        base = selection.selection_price if selection is not None else None

        def ret(price: Optional[float]) -> Optional[float]:
            return (price / base - 1) * 100 if price and base else None

        row = PerformanceTracking(
            source="accuracy",
            stock_code=stock_code,
            tracking_date=day,
            price_1d=price_1d,
            return_1d=ret(price_1d),
            price_7d=price_7d,
            return_7d=ret(price_7d),
            price_30d=price_30d,
            return_30d=ret(price_30d),
        )
        self._store.put(row)
        return row

    def update_performance_data(self, get_price: PriceLookup, *, today: Optional[dt.date] = None) -> int:
        """The scheduled price update (legacy ``_update_performance_data``): for every
        :meth:`selections_to_update`, the first close on or after each horizon (1, 7,
        30 days; up to 7 days later, never after ``today``) from
        ``get_price(stock_code, day)``, stored with :meth:`record_performance`.
        Returns the rows written."""
        today = today or dt.date.today()
        pending = list(self.selections_to_update(today=today))  # 35 days of selections
        for selection in pending:
            code = selection.stock_code or ""
            prices = [self._price_after(get_price, code, selection.selection_date, n, today) for n in HORIZONS]
            self.record_performance(selection.selection_date, code, *prices)
        return len(pending)

    @staticmethod
    def _price_after(get_price: PriceLookup, code: str, base: dt.date, days: int, today: dt.date) -> Optional[float]:
        for extra in range(LOOKAHEAD_DAYS):
            day = base + dt.timedelta(days=days + extra)
            if day > today:
                return None
            price = get_price(code, day)
            if price:
                return number(price, "PerformanceTracking", f"price_{days}d")  # type: ignore[no-any-return]
        return None

    # -- daily accuracy ------------------------------------------------------------------

    def analyze_accuracy_for_date(self, target_date: DateLike) -> Optional[DailyAccuracyResult]:
        """The accuracy of the selections of ``target_date`` (legacy
        ``_analyze_accuracy_for_date``), or ``None`` when there were none: positives
        (return above 0), strong positives (at least 5 %), rates and average returns
        over the selections whose return is known, per-sector 7-day accuracy, and the
        5 best and worst by 7-day return (ties by stock code)."""
        day = as_date(target_date, "DailyAccuracy", "target_date")
        total = 0
        h1, h7, h30 = _Horizon(), _Horizon(), _Horizon()
        sectors: Dict[str, List[int]] = {}
        top = stats.TopN(5, key=lambda p: (-p["return_7d"], p["stock_code"]))
        worst = stats.TopN(5, key=lambda p: (p["return_7d"], p["stock_code"]))
        for selection, perf in stats.selections_with_performance(self._store, day, day):
            total += 1
            if perf is None:
                continue
            h1.add(perf.return_1d)
            h7.add(perf.return_7d)
            h30.add(perf.return_30d)
            r7 = perf.return_7d
            if r7 is None:
                continue
            if selection.sector is not None:
                counts = sectors.setdefault(selection.sector, [0, 0])
                counts[0] += r7 > 0
                counts[1] += 1
            top.add(_performer(selection, r7))
            worst.add(_performer(selection, r7))
        if not total:
            return None
        return DailyAccuracyResult(
            date=day,
            total_predictions=total,
            positive_1d=h1.positive,
            positive_rate_1d=h1.rate(h1.positive),
            avg_return_1d=h1.mean,
            positive_7d=h7.positive,
            positive_rate_7d=h7.rate(h7.positive),
            avg_return_7d=h7.mean,
            positive_30d=h30.positive,
            positive_rate_30d=h30.rate(h30.positive),
            avg_return_30d=h30.mean,
            strong_positive_1d=h1.strong,
            strong_positive_rate_1d=h1.rate(h1.strong),
            strong_positive_7d=h7.strong,
            strong_positive_rate_7d=h7.rate(h7.strong),
            sector_accuracy={s: _json_float(p / n * 100) for s, (p, n) in sectors.items()},
            top_performers=top.result(),
            worst_performers=worst.result(),
        )

    def save_accuracy_result(self, analysis_date: DateLike, result: DailyAccuracyResult) -> None:
        """Store ``result`` as the analysis made on ``analysis_date`` (legacy
        ``_save_accuracy_result``); one row per (analysis date, target date)."""
        self._store.put(
            DailyAccuracy(
                analysis_date=as_date(analysis_date, "DailyAccuracy", "analysis_date"),
                target_date=result.date,
                total_predictions=result.total_predictions,
                positive_1d=result.positive_1d,
                positive_rate_1d=result.positive_rate_1d,
                avg_return_1d=result.avg_return_1d,
                positive_7d=result.positive_7d,
                positive_rate_7d=result.positive_rate_7d,
                avg_return_7d=result.avg_return_7d,
                positive_30d=result.positive_30d,
                positive_rate_30d=result.positive_rate_30d,
                avg_return_30d=result.avg_return_30d,
                strong_positive_1d=result.strong_positive_1d,
                strong_positive_rate_1d=result.strong_positive_rate_1d,
                strong_positive_7d=result.strong_positive_7d,
                strong_positive_rate_7d=result.strong_positive_rate_7d,
                sector_accuracy=result.sector_accuracy,
                top_performers=result.top_performers,
                worst_performers=result.worst_performers,
            )
        )

    def run_daily_accuracy_analysis(self, *, today: Optional[dt.date] = None) -> List[DailyAccuracyResult]:
        """The scheduled analysis (legacy ``_run_daily_accuracy_analysis``): analyse
        the selections of 1, 7 and 30 days before ``today`` and store every result
        (the legacy table kept only the last one of each day); return them."""
        today = today or dt.date.today()
        results = []
        with self._store.transaction():
            for days in HORIZONS:
                result = self.analyze_accuracy_for_date(today - dt.timedelta(days=days))
                if result is not None:
                    self.save_accuracy_result(today, result)
                    results.append(result)
        return results

    def get_recent_accuracy(self, days: int = 30, *, today: Optional[dt.date] = None) -> List[DailyAccuracyResult]:
        """The analyses made in the last ``days`` days, newest analysis first (then
        newest target date first)."""
        start = (today or dt.date.today()) - dt.timedelta(days=days)
        rows = self._store.find(
            DailyAccuracy, Range("analysis_date", ge=start), order_by=("-analysis_date", "-target_date")
        )
        return [_result(row) for row in rows]

    def analyze_accuracy_trend(self, days: int = 30, *, today: Optional[dt.date] = None) -> Optional[AccuracyTrend]:
        """The trend of the 7-day positive rate over the analyses of the last ``days``
        days, oldest first (``None`` with fewer than 7 analyses): means of the 1- and
        7-day rates, the least-squares slope per analysis (above 0.5 ``improving``,
        below -0.5 ``declining``, else ``stable``), the population standard deviation
        (``accuracy_volatility``), ``consistency_score = max(0, 1 - volatility / 50)``
        and the best and worst days (the latest one among equals)."""
        start = (today or dt.date.today()) - dt.timedelta(days=days)
        rows = self._store.find(
            DailyAccuracy, Range("analysis_date", ge=start), order_by=("analysis_date", "target_date")
        )
        count = n = n1 = 0
        sum1 = sx = sy = sxy = sxx = 0.0
        mean = m2 = 0.0
        best: Optional[DailyAccuracy] = None
        worst: Optional[DailyAccuracy] = None
        for row in rows:
            count += 1
            if row.positive_rate_1d is not None:
                n1 += 1
                sum1 += row.positive_rate_1d
            y = row.positive_rate_7d
            if y is None:
                continue
            x = float(n)
            n += 1
            sx, sy, sxy, sxx = sx + x, sy + y, sxy + x * y, sxx + x * x
            delta = y - mean
            mean += delta / n
            m2 += delta * (y - mean)
            if best is None or y >= (best.positive_rate_7d or 0.0):
                best = row
            if worst is None or y <= (worst.positive_rate_7d or 0.0):
                worst = row
        if count < 7 or best is None or worst is None:
            return None
        denominator = n * sxx - sx * sx
        slope = (n * sxy - sx * sy) / denominator if denominator else 0.0
        direction = "improving" if slope > 0.5 else "declining" if slope < -0.5 else "stable"
        volatility = (m2 / n) ** 0.5
        return AccuracyTrend(
            period_days=count,
            avg_accuracy_1d=sum1 / n1 if n1 else 0.0,
            avg_accuracy_7d=sy / n,
            trend_direction=direction,
            accuracy_volatility=volatility,
            consistency_score=max(0.0, 1 - volatility / 50),
            best_day=best.target_date,
            best_accuracy=best.positive_rate_7d or 0.0,
            worst_day=worst.target_date,
            worst_accuracy=worst.positive_rate_7d or 0.0,
        )

    def export_accuracy_report(
        self, days: int = 30, file_path: str = "accuracy_report.json", *, today: Optional[dt.date] = None
    ) -> None:
        """Write the recent analyses and their trend to ``file_path`` as JSON (UTF-8,
        dates as ``'YYYY-MM-DD'``)."""
        results = self.get_recent_accuracy(days, today=today)
        trend = self.analyze_accuracy_trend(days, today=today)
        report = {
            "generated_at": dt.datetime.now().isoformat(),
            "period_days": days,
            "total_analysis_days": len(results),
            "daily_results": [r.to_dict() for r in results],
            "trend_analysis": attrs.asdict(trend) if trend else None,
        }
        with open(file_path, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=2, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _result(row: DailyAccuracy) -> DailyAccuracyResult:
    return DailyAccuracyResult(
        date=row.target_date,
        total_predictions=row.total_predictions,
        positive_1d=row.positive_1d,
        positive_rate_1d=row.positive_rate_1d,
        avg_return_1d=row.avg_return_1d,
        positive_7d=row.positive_7d,
        positive_rate_7d=row.positive_rate_7d,
        avg_return_7d=row.avg_return_7d,
        positive_30d=row.positive_30d,
        positive_rate_30d=row.positive_rate_30d,
        avg_return_30d=row.avg_return_30d,
        strong_positive_1d=row.strong_positive_1d,
        strong_positive_rate_1d=row.strong_positive_rate_1d,
        strong_positive_7d=row.strong_positive_7d,
        strong_positive_rate_7d=row.strong_positive_rate_7d,
        sector_accuracy=row.sector_accuracy or {},
        top_performers=row.top_performers or [],
        worst_performers=row.worst_performers or [],
    )
