"""Joins of the learning tables, streamed: both sides are read in key order from the
database and merged, so memory stays constant whatever the table sizes.

The backend contract has no join, so a join is two ordered :meth:`Store.find` streams
merged here; every filter and the ordering run in the database. Text orders by code
point and dates by date on every backend, which is the order Python compares them in.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Tuple, TypeVar

from ..query import Eq, Filter
from ..records import PerformanceTracking, ScreeningHistory, SelectionHistory

if TYPE_CHECKING:
    from ..store import Store

L = TypeVar("L")
R = TypeVar("R")
Key = Tuple[Any, ...]


def merge_join(
    left: Iterator[L],
    right: Iterator[R],
    left_key: Callable[[L], Key],
    right_key: Callable[[R], Key],
) -> Iterator[Tuple[L, Optional[R]]]:
    """Left outer join of two streams sorted ascending by key, keys unique on the right:
    every left item with the right item of the same key, or ``None``."""
    pending: Optional[R] = next(right, None)
    for item in left:
        key = left_key(item)
        while pending is not None and right_key(pending) < key:
            pending = next(right, None)
        if pending is not None and right_key(pending) == key:
            yield item, pending
        else:
            yield item, None


def _code_date(field: str) -> Callable[[Any], Tuple[str, dt.date]]:
    def key(record: Any) -> Tuple[str, dt.date]:
        return record.stock_code, getattr(record, field)

    return key


LEARNING = Eq("source", "learning")


def screening_performance(
    store: Store,
    screening_where: Sequence[Filter] = (),
    performance_where: Sequence[Filter] = (),
) -> Iterator[Tuple[ScreeningHistory, Optional[PerformanceTracking]]]:
    """``screening_history LEFT JOIN performance_tracking ON stock_code AND
    screening_date = tracking_date`` (learning rows), filtered on each side."""
    left = store.find(ScreeningHistory, *screening_where, order_by=("stock_code", "screening_date"))
    right = store.find(PerformanceTracking, LEARNING, *performance_where, order_by=("stock_code", "tracking_date"))
    return merge_join(left, right, _code_date("screening_date"), _code_date("tracking_date"))


def selection_performance(
    store: Store,
    selection_where: Sequence[Filter] = (),
    performance_where: Sequence[Filter] = (),
) -> Iterator[Tuple[SelectionHistory, Optional[PerformanceTracking]]]:
    """``selection_history LEFT JOIN performance_tracking ON stock_code AND
    selection_date = tracking_date`` (learning rows), filtered on each side."""
    left = store.find(SelectionHistory, *selection_where, order_by=("stock_code", "selection_date"))
    right = store.find(PerformanceTracking, LEARNING, *performance_where, order_by=("stock_code", "tracking_date"))
    return merge_join(left, right, _code_date("selection_date"), _code_date("tracking_date"))


def inner(pairs: Iterator[Tuple[L, Optional[R]]]) -> Iterator[Tuple[L, R]]:
    """The pairs of a left join that have a right side (the inner join)."""
    for left, right in pairs:
        if right is not None:
            yield left, right


class Moments:
    """Streaming count, mean (sum / n, as SQL's ``AVG``), population variance
    (Welford), extremes and wins (values above zero) of a column, where ``None``
    counts as a row but not as a value (SQL's ``COUNT(*)`` against ``AVG``)."""

    __slots__ = ("_m2", "_mean", "high", "low", "n", "rows", "total", "wins")

    def __init__(self) -> None:
        self.rows = 0
        self.n = 0
        self.total = 0.0
        self._mean = 0.0
        self._m2 = 0.0
        self.high: Optional[float] = None
        self.low: Optional[float] = None
        self.wins = 0

    def add(self, value: Optional[float]) -> None:
        self.rows += 1
        if value is None:
            return
        self.n += 1
        self.total += value
        delta = value - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (value - self._mean)
        self.high = value if self.high is None else max(self.high, value)
        self.low = value if self.low is None else min(self.low, value)
        self.wins += value > 0

    @property
    def mean(self) -> Optional[float]:
        return self.total / self.n if self.n else None

    @property
    def pstdev(self) -> float:
        return (self._m2 / self.n) ** 0.5 if self.n else 0.0
