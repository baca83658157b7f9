"""The persistence methods of DataSynchronizer (``data/learning/learning_data.db``).

It reads the screener's and the daily selector's JSON files into
:class:`~storekit.records.ScreeningHistory` and :class:`~storekit.records.SelectionHistory`,
keeps :class:`~storekit.records.PerformanceTracking` (``source='learning'``) and appends
:class:`~storekit.records.LearningMetric` rows: the records ``storekit migrate`` makes of
the legacy tables. See ``docs/modules/data_synchronizer.rst`` for the call-by-call guide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import attrs

from ..errors import FieldError, InputFileError, RecordValidationError
from ..query import Agg, Eq, In, Range
from ..records import (
    LearningMetric,
    PerformanceTracking,
    Record,
    ScreeningHistory,
    SelectionHistory,
    SyncedFile,
    spec_of,
)
from . import _data_synchronizer_stats as joins
from ._base import DomainStore
from ._data_synchronizer_json import (
    SCREENING,
    SELECTION_LAYOUTS,
    Layout,
    Problem,
    field_where,
    find_items,
    item_values,
)
from ._data_synchronizer_stats import Moments
from ._unified_db_values import number

__all__ = ["DataSynchronizer", "FileOutcome", "SyncReport", "default_data_dir"]

log = logging.getLogger("storekit.domain.data_synchronizer")

PathLike = Union[str, "os.PathLike[str]"]
Prices = Union[Mapping[str, float], Callable[[str], Optional[float]]]

DATA_DIR_ENV = "STOREKIT_DATA_DIR"

_KINDS: Mapping[str, Tuple[str, str]] = {
    # kind: (sub-directory, file-name prefix)
    "screening": ("watchlist", "screening_results_"),
    "selection": ("daily_selection", "daily_selection_"),
}

METRIC_TYPE = "performance"


def default_data_dir() -> Path:
    """The application's ``data/`` directory: ``$STOREKIT_DATA_DIR``, else ``data``
    relative to the current directory (where the legacy code looked)."""
    return Path(os.environ.get(DATA_DIR_ENV) or "data")


@attrs.frozen
class FileOutcome:
    """What one sync made of one input file.

    ``status`` is ``synced`` (parsed and written), ``unchanged`` (already synced, not
    parsed again) or ``failed`` (invalid: nothing of it written; ``problems`` lists
    every ``(json_path, reason)``, also when it failed on an earlier run and has not
    changed since).
    """

    path: str
    status: str
    rows: int = 0
    problems: Tuple[Problem, ...] = ()

    @property
    def error(self) -> Optional[InputFileError]:
        """The typed error of a failed file, else ``None``."""
        return InputFileError(self.path, self.problems) if self.status == "failed" else None


@attrs.frozen
class SyncReport:
    """What one sync of one kind of file did: every file in the window, in name order."""

    kind: str
    files: Tuple[FileOutcome, ...]

    @property
    def rows(self) -> int:
        """Records written by this sync (unchanged files add none)."""
        return sum(f.rows for f in self.files)

    @property
    def failed(self) -> Tuple[FileOutcome, ...]:
        """The files that are invalid, with their problems."""
        return tuple(f for f in self.files if f.status == "failed")


def _file_date(name: str, prefix: str) -> Optional[dt.date]:
    """The date in a file name (legacy: ``name.split('_')[2]``, first 8 characters)."""
    if not (name.startswith(prefix) and name.endswith(".json")):
        return None
    part = name.split("_")[2].split(".")[0]
    try:
        return dt.datetime.strptime(part, "%Y%m%d").date()
    except ValueError:
        return None


def _parse_json(data: bytes) -> Any:
    """The JSON document in ``data`` (UTF-8, a BOM allowed; ``Infinity``/``NaN`` are
    read as floats)."""
    return json.loads(data.decode("utf-8-sig"))


def _price(prices: Optional[Prices], code: str) -> Optional[float]:
    if prices is None:
        return None
    value = prices(code) if callable(prices) else prices.get(code)
    return number(value, "PerformanceTracking", "current_price")  # type: ignore[no-any-return]


def _read_records(
    kind: str, data: bytes, day: dt.date, layouts: Sequence[Layout], problems: List[Problem]
) -> List[Record]:
    """The records of one file; every problem found is appended to ``problems``."""
    try:
        document = _parse_json(data)
    except UnicodeDecodeError as exc:
        problems.append(("$", f"not UTF-8 text (byte {exc.start})"))
        return []
    except json.JSONDecodeError as exc:
        problems.append(("$", f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"))
        return []
    layout, items = find_items(document, layouts, problems)
    if layout is None:
        return []
    records: List[Record] = []
    fast = layout.fast
    record_type = ScreeningHistory if kind == "screening" else SelectionHistory
    for index, item in enumerate(items):
        values = fast(item)
        where = ""
        if values is None:
            where = f"{layout.items_where}[{index}]"
            before = len(problems)
            values = item_values(item, where, layout.values, problems)
            if len(problems) > before:  # the field checks too, to report every problem at once
                problems.extend(_check_fields(record_type, layout, values, where))
                continue
        try:
            if kind == "screening":
                records.append(ScreeningHistory(**values, screening_date=day))
            else:
                if values["predicted_direction"] is None:
                    values["predicted_direction"] = "unknown"  # the legacy default
                records.append(SelectionHistory(**values, selection_date=day))
        except RecordValidationError as exc:
            where = where or f"{layout.items_where}[{index}]"
            for error in exc.errors:
                problems.append((where + field_where(layout, error.field), error.reason))
    return records


def _check_fields(record_type: type, layout: Layout, values: Dict[str, Any], where: str) -> List[Problem]:
    """The record's field checks (such as the stock code's form) on the values that
    have the right JSON type."""
    spec = spec_of(record_type)
    found = []
    for name, value in values.items():
        if value is None:
            continue
        for check in spec.field(name).checks:
            reason = check(value)
            if reason is not None:
                found.append((where + field_where(layout, name), reason))
                break
    return found


@attrs.frozen
class _Parsed:
    """A parsed file: its path, its SyncedFile (status ``synced``), its records and the
    problems found (the records are written only when there are none)."""

    path: Path
    identity: SyncedFile
    records: List[Record]
    problems: Tuple[Problem, ...]


class DataSynchronizer(DomainStore):
    """The persistence methods of DataSynchronizer (``data/learning/learning_data.db``).

    ``data_dir`` is where the JSON inputs are (``watchlist/`` and ``daily_selection/``
    under it): each sync method takes it, else this attribute, else
    :func:`default_data_dir`.
    """

    data_dir: Optional[Path] = None

    def _dir(self, data_dir: Optional[PathLike]) -> Path:
        if data_dir is not None:
            return Path(data_dir)
        return self.data_dir if self.data_dir is not None else default_data_dir()

    # -- JSON files -------------------------------------------------------------------

    def sync_files(
        self,
        kind: str,
        days_back: int = 30,
        *,
        data_dir: Optional[PathLike] = None,
        today: Optional[dt.date] = None,
        layouts: Sequence[str] = ("data.selected_stocks", "selected_stocks"),
        force: bool = False,
    ) -> SyncReport:
        """Sync the ``kind`` files (``screening`` or ``selection``) dated within
        ``days_back`` days of ``today`` (default: the local date), in name order.

        Each valid file is written in one transaction together with its
        :class:`~storekit.records.SyncedFile`; an invalid file writes nothing but its
        ``failed`` status and is reported with every problem; the sync goes on with
        the next file. A file already synced (same size and mtime, or same SHA-256) is
        not parsed again unless ``force``. ``layouts`` are the selection layouts read,
        by list path (``selected_stocks`` alone reproduces the legacy reader).
        """
        if not isinstance(kind, str) or kind not in _KINDS:  # a typed error (issue 7): unhashable kinds too
            raise RecordValidationError(
                "SyncedFile", [FieldError("SyncedFile", "kind", "must be one of screening, selection", kind)]
            )
        subdir, prefix = _KINDS[kind]
        base = self._dir(data_dir)
        cutoff = (today or dt.date.today()) - dt.timedelta(days=days_back)
        chosen = SELECTION_LAYOUTS if kind == "selection" else (SCREENING,)
        if kind == "selection":
            chosen = tuple(layout for layout in chosen if layout.name in layouts)
            if not chosen:
                reason = f"must name at least one of {[x.name for x in SELECTION_LAYOUTS]}"
                raise RecordValidationError(
                    "DataSynchronizer", [FieldError("DataSynchronizer", "layouts", reason, layouts)]
                )
        directory = base / subdir
        names = sorted(os.listdir(directory)) if directory.is_dir() else []
        outcomes: List[FileOutcome] = []
        for name in names:
            day = _file_date(name, prefix)
            if day is not None and day >= cutoff:
                outcomes.append(self._write(self._read(kind, base, directory / name, day, chosen, force)))
        return SyncReport(kind, tuple(outcomes))

    def _read(
        self, kind: str, base: Path, path: Path, day: dt.date, layouts: Sequence[Layout], force: bool
    ) -> Union[FileOutcome, _Parsed]:
        """The outcome of a file that needs no parsing, else what parsing it gave."""
        rel = path.relative_to(base).as_posix()
        try:
            stat = path.stat()
            known = None if force else self._store.get(SyncedFile, rel)
            if known is not None and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                return self._known(known, path)
            data = path.read_bytes()
        except OSError as exc:
            return FileOutcome(str(path), "failed", problems=(("$", f"cannot read the file: {exc.strerror}"),))
        digest = hashlib.sha256(data).hexdigest()
        if known is not None and known.sha256 == digest:  # touched, not changed
            self._store.put(attrs.evolve(known, size=len(data), mtime_ns=stat.st_mtime_ns))  # type: ignore[misc]
            return self._known(known, path)
        identity = SyncedFile(
            path=rel, kind=kind, size=len(data), mtime_ns=stat.st_mtime_ns, sha256=digest, status="synced"
        )
        problems: List[Problem] = []
        records = _read_records(kind, data, day, layouts, problems)
        return _Parsed(path, identity, records, tuple(problems))

    def _write(self, job: Union[FileOutcome, _Parsed]) -> FileOutcome:
        """Write a parsed file (its records and its SyncedFile, in one transaction)."""
        if isinstance(job, FileOutcome):
            outcome = job
        else:
            records, problems = job.records, job.problems
            if problems:
                status = attrs.evolve(job.identity, status="failed", problems=[list(p) for p in problems])  # type: ignore[misc]
                self._store.put(status)
                outcome = FileOutcome(str(job.path), "failed", problems=tuple(problems))
            else:
                self._store.put_many([*records, attrs.evolve(job.identity, rows=len(records))])  # type: ignore[misc]
                outcome = FileOutcome(str(job.path), "synced", rows=len(records))
        if outcome.status == "failed":
            log.warning("%s", outcome.error)
        return outcome

    @staticmethod
    def _known(known: SyncedFile, path: Path) -> FileOutcome:
        if known.status == "failed":
            problems = tuple((str(p[0]), str(p[1])) for p in known.problems or ())
            return FileOutcome(str(path), "failed", problems=problems)
        return FileOutcome(str(path), "unchanged")

    def sync_screening_results(
        self, days_back: int = 30, *, data_dir: Optional[PathLike] = None, today: Optional[dt.date] = None
    ) -> int:
        """Sync ``watchlist/screening_results_*.json``; return the records written.

        Invalid files are logged (warning) and skipped; :meth:`sync_files` returns
        the full report."""
        return self.sync_files("screening", days_back, data_dir=data_dir, today=today).rows

    def sync_selection_results(
        self,
        days_back: int = 30,
        *,
        data_dir: Optional[PathLike] = None,
        today: Optional[dt.date] = None,
        layouts: Sequence[str] = ("data.selected_stocks", "selected_stocks"),
    ) -> int:
        """Sync ``daily_selection/daily_selection_*.json`` (both layouts); return the
        records written. Invalid files are logged (warning) and skipped."""
        report = self.sync_files("selection", days_back, data_dir=data_dir, today=today, layouts=layouts)
        return report.rows

    # -- performance tracking --------------------------------------------------------

    def update_performance_tracking(
        self,
        max_days_back: int = 30,
        prices: Optional[Prices] = None,
        *,
        today: Optional[dt.date] = None,
        batch_size: int = 1000,
    ) -> int:
        """Update the learning performance row of every selection of the last
        ``max_days_back`` days with an entry price above zero; return the rows written.

        ``prices`` gives the current price by stock code (a mapping or a function). A
        stock without one keeps the prices it had (a new row has none: its
        ``current_price`` and ``price_change_pct`` stay ``None``); storekit never
        invents a price. ``max_gain``/``max_loss`` are the running extremes of
        ``price_change_pct`` (percent, starting from 0), ``is_active`` is
        ``days_tracked <= max_days_back``.
        """
        today = today or dt.date.today()
        cutoff = today - dt.timedelta(days=max_days_back)
        written = 0
        for page in self._store.pages(
            SelectionHistory,
            Range("selection_date", ge=cutoff),
            Range("entry_price", gt=0.0),
            order_by=("stock_code", "selection_date"),
            size=batch_size,
        ):
            codes = sorted({s.stock_code for s in page})
            existing = {
                (p.stock_code, p.tracking_date): p
                for p in self._store.find(
                    PerformanceTracking,
                    joins.LEARNING,
                    In("stock_code", codes),
                    Range("tracking_date", ge=cutoff),
                )
            }
            out = [
                self._tracked(s, existing.get((s.stock_code, s.selection_date)), prices, today, max_days_back)
                for s in page
            ]
            written += self._store.put_many(out)
        return written

    @staticmethod
    def _tracked(
        selection: SelectionHistory,
        old: Optional[PerformanceTracking],
        prices: Optional[Prices],
        today: dt.date,
        max_days_back: int,
    ) -> PerformanceTracking:
        entry = float(selection.entry_price or 0.0)
        days = (today - selection.selection_date).days
        current = _price(prices, selection.stock_code)
        if current is None:
            current = old.current_price if old else None
            change = old.price_change_pct if old else None
            max_gain = old.max_gain if old else None
            max_loss = old.max_loss if old else None
        else:
            change = (current - entry) / entry * 100
            max_gain = max(old.max_gain if old and old.max_gain is not None else 0.0, change)
            max_loss = min(old.max_loss if old and old.max_loss is not None else 0.0, change)
        return PerformanceTracking(
            source="learning",
            stock_code=selection.stock_code,
            tracking_date=selection.selection_date,
            entry_price=entry,
            current_price=current,
            price_change_pct=change,
            days_tracked=days,
            max_gain=max_gain,
            max_loss=max_loss,
            is_active=days <= max_days_back,
        )

    # -- learning metrics ------------------------------------------------------------

    def calculate_learning_metrics(self, *, today: Optional[dt.date] = None) -> Dict[str, Union[float, int, str]]:
        """Compute the learning metrics from the active learning performance rows and
        store them for ``today`` (replacing that day's earlier run); return them.

        ``screening_*``: passed screenings joined to their performance row (same stock,
        screening day = selection day); ``selection_*`` and ``avg_max_*``: all active
        rows; ``best_sector``/``worst_sector`` (text) and their performance: the sectors
        with at least 3 joined rows, by average ``price_change_pct``.
        """
        metrics: Dict[str, Union[float, int, str]] = {}
        screening = self.screening_performance_summary()
        if screening["count"]:
            metrics["screening_avg_performance"] = screening["avg"] or 0.0
            metrics["screening_win_rate"] = screening["win_rate"]
            metrics["screening_sample_count"] = screening["count"]
        selection = self._selection_summary()
        if selection["count"]:
            metrics["selection_avg_performance"] = selection["avg"] or 0.0
            metrics["selection_win_rate"] = selection["win_rate"]
            metrics["selection_sample_count"] = selection["count"]
            metrics["avg_max_gain"] = selection["avg_max_gain"] or 0.0
            metrics["avg_max_loss"] = selection["avg_max_loss"] or 0.0
        sectors = self.sector_performance(min_count=3)
        if sectors:
            metrics["best_sector"] = sectors[0]["sector"]
            metrics["best_sector_performance"] = sectors[0]["avg_performance"]
            if len(sectors) > 1:
                metrics["worst_sector"] = sectors[-1]["sector"]
                metrics["worst_sector_performance"] = sectors[-1]["avg_performance"]
        day = today or dt.date.today()
        rows = [
            LearningMetric(
                date=day,
                metric_type=METRIC_TYPE,
                metric_name=name,
                value=None if isinstance(value, str) else float(value),
                value_text=value if isinstance(value, str) else None,
            )
            for name, value in metrics.items()
        ]
        with self._store.transaction():
            self._store.delete(LearningMetric, Eq("date", day), Eq("metric_type", METRIC_TYPE))
            self._store.put_many(rows)
        return metrics

    def screening_performance_summary(self) -> Dict[str, Any]:
        """Passed screenings joined to their active learning performance row:
        ``count`` (joined rows), ``avg`` (mean ``price_change_pct``, ``None`` if none
        is known), ``win_rate`` (percent of joined rows with a gain)."""
        count = wins = known = 0
        total = 0.0
        for _, perf in joins.inner(
            joins.screening_performance(self._store, [Eq("passed", True)], [Eq("is_active", True)])
        ):
            count += 1
            if perf.price_change_pct is not None:
                known += 1
                total += perf.price_change_pct
                wins += perf.price_change_pct > 0
        return {
            "count": count,
            "avg": total / known if known else None,
            "win_rate": wins * 100.0 / count if count else 0.0,
        }

    def _selection_summary(self) -> Dict[str, Any]:
        where = [joins.LEARNING, Eq("is_active", True)]
        (row,) = self._store.aggregate(
            PerformanceTracking,
            Agg("count"),
            Agg("avg", "price_change_pct"),
            Agg("avg", "max_gain"),
            Agg("avg", "max_loss"),
            where=where,
        )
        wins = self._store.count(PerformanceTracking, *where, Range("price_change_pct", gt=0.0))
        count = int(row["count"])
        return {
            "count": count,
            "avg": row["avg_price_change_pct"],
            "win_rate": wins * 100.0 / count if count else 0.0,
            "avg_max_gain": row["avg_max_gain"],
            "avg_max_loss": row["avg_max_loss"],
        }

    def sector_performance(self, min_count: int = 3) -> List[Dict[str, Any]]:
        """Per sector (screenings with a sector joined to their active learning
        performance row), best average first: ``sector``, ``total_stocks``,
        ``avg_performance``, ``win_rate`` (percent), ``best_performance``,
        ``worst_performance``, ``volatility`` (population standard deviation of
        ``price_change_pct``). Sectors with fewer than ``min_count`` rows, or no known
        ``price_change_pct``, are left out; equal averages order by sector name."""
        acc: Dict[str, Moments] = {}
        for screening, perf in joins.inner(joins.screening_performance(self._store, (), [Eq("is_active", True)])):
            if screening.sector is None:
                continue
            acc.setdefault(screening.sector, Moments()).add(perf.price_change_pct)
        rows: List[Dict[str, Any]] = [
            {
                "sector": sector,
                "total_stocks": m.rows,
                "avg_performance": m.mean,
                "win_rate": m.wins * 100.0 / m.rows,
                "best_performance": m.high,
                "worst_performance": m.low,
                "volatility": m.pstdev,
            }
            for sector, m in acc.items()
            if m.rows >= min_count and m.mean is not None
        ]
        rows.sort(key=lambda r: r["sector"])
        rows.sort(key=lambda r: r["avg_performance"], reverse=True)
        return rows

    # -- the whole run -----------------------------------------------------------------

    def run_full_sync(
        self,
        *,
        data_dir: Optional[PathLike] = None,
        prices: Optional[Prices] = None,
        today: Optional[dt.date] = None,
    ) -> Dict[str, int]:
        """Sync both kinds of files, update performance tracking and compute the
        learning metrics: ``{'screening_synced', 'selection_synced',
        'performance_updated', 'metrics_calculated'}``, or ``{'error': str}`` if a
        step raised (as the legacy method did; the exception is logged)."""
        try:
            results = {
                "screening_synced": self.sync_screening_results(data_dir=data_dir, today=today),
                "selection_synced": self.sync_selection_results(data_dir=data_dir, today=today),
                "performance_updated": self.update_performance_tracking(prices=prices, today=today),
            }
            results["metrics_calculated"] = len(self.calculate_learning_metrics(today=today))
            return results
        except Exception as exc:  # the legacy contract: a dict, never an exception
            log.error("full data sync failed: %s", exc, exc_info=True)
            return {"error": str(exc)}  # type: ignore[dict-item]
