"""The AccuracyTracker join, streamed: its selections (``DailySelection``,
``source='accuracy_tracker'``) and their price performance (``PerformanceTracking``,
``source='accuracy'``), both read from the database in (date, stock code) order and
merged in constant memory. AccuracyAnalyzer reads the same join."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Sequence, Tuple

from ..query import Eq, Filter, Range
from ..records import DailySelection, PerformanceTracking
from ._data_synchronizer_stats import merge_join

if TYPE_CHECKING:
    from ..store import Store

SELECTIONS = Eq("source", "accuracy_tracker")
PERFORMANCE = Eq("source", "accuracy")


def _selection_key(s: DailySelection) -> Tuple[dt.date, str]:
    return s.selection_date, s.stock_code or ""


def _performance_key(p: PerformanceTracking) -> Tuple[dt.date, str]:
    return p.tracking_date, p.stock_code


def date_range(field: str, start: Optional[dt.date], end: Optional[dt.date]) -> List[Filter]:
    """``start <= field <= end`` (either bound may be open)."""
    if start is None and end is None:
        return []
    return [Range(field, ge=start, le=end)]


def selections_with_performance(
    store: Store,
    start: Optional[dt.date] = None,
    end: Optional[dt.date] = None,
    performance_where: Sequence[Filter] = (),
) -> Iterator[Tuple[DailySelection, Optional[PerformanceTracking]]]:
    """Every selection between ``start`` and ``end`` (inclusive) with its performance
    row, or ``None`` (``daily_selections LEFT JOIN performance_tracking``)."""
    left = store.find(
        DailySelection,
        SELECTIONS,
        *date_range("selection_date", start, end),
        order_by=("selection_date", "stock_code"),
    )
    right = store.find(
        PerformanceTracking,
        PERFORMANCE,
        *date_range("tracking_date", start, end),
        *performance_where,
        order_by=("tracking_date", "stock_code"),
    )
    return merge_join(left, right, _selection_key, _performance_key)


def performance_with_selections(
    store: Store,
    start: Optional[dt.date] = None,
    end: Optional[dt.date] = None,
    performance_where: Sequence[Filter] = (),
) -> Iterator[Tuple[PerformanceTracking, Optional[DailySelection]]]:
    """Every performance row between ``start`` and ``end`` (inclusive) matching
    ``performance_where``, with its selection, or ``None``."""
    left = store.find(
        PerformanceTracking,
        PERFORMANCE,
        *date_range("tracking_date", start, end),
        *performance_where,
        order_by=("tracking_date", "stock_code"),
    )
    right = store.find(
        DailySelection,
        SELECTIONS,
        *date_range("selection_date", start, end),
        order_by=("selection_date", "stock_code"),
    )
    return merge_join(left, right, _performance_key, _selection_key)


def not_null(field: str) -> Filter:
    """``field IS NOT NULL`` for a float field (a range never matches NULL)."""
    return Range(field, ge=float("-inf"))


class TopN:
    """The ``n`` smallest items by ``key`` of a stream, in bounded memory."""

    def __init__(self, n: int, key: Any) -> None:
        self.n = n
        self.key = key
        self._items: List[Any] = []

    def add(self, item: Any) -> None:
        self._items.append(item)
        if len(self._items) > 8 * self.n:
            self._items = sorted(self._items, key=self.key)[: self.n]

    def result(self) -> List[Any]:
        return sorted(self._items, key=self.key)[: self.n]
