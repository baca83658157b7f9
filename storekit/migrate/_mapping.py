"""The mapping from every legacy table to its record type, as data.

The mapping is derived: a legacy column maps to the record field of the same name,
converted according to the column's legacy format (:mod:`storekit.legacy.schema`).
Small per-table overrides cover the rest: renamed columns, the discriminator
constants of shared record types, ``learning_metrics.value`` (numbers and text), and
the legacy ``id`` (kept as the record ``id`` where the record is keyed by ``id``,
kept only in the ledger where the record has a natural key).
"""

from __future__ import annotations

from typing import Any, Dict, Final, List, Mapping, Optional, Tuple

import attrs

from ..legacy.schema import LEGACY_FILES, MAIN_DB, LegacyTable, legacy_file
from ..records import DailySelection, all_record_types, spec_of

__all__ = [
    "FORMAT_DOC",
    "ColumnMap",
    "TableMapping",
    "all_mappings",
    "mapping_for",
    "mapping_rows",
    "migration_order",
]

FORMAT_DOC: Final[Mapping[str, str]] = {
    "yyyymmdd": "'YYYYMMDD' text → date",
    "iso_date": "'YYYY-MM-DD' text → date",
    "local_iso_T": "local 'YYYY-MM-DDTHH:MM:SS[.ffffff]' → aware timestamp in the --timezone zone",
    "sqlite_adapter": "local 'YYYY-MM-DD HH:MM:SS[.ffffff]' → aware timestamp in the --timezone zone",
    "utc_sql": "CURRENT_TIMESTAMP 'YYYY-MM-DD HH:MM:SS' → aware UTC timestamp",
    "json_ascii": "JSON text → JSON value",
    "json_utf8": "JSON text → JSON value",
    "bool01": "0/1 → bool",
    "real": "REAL → float, bit for bit (INTEGER → float)",
    "int": "INTEGER → int",
    "text": "TEXT → str",
    "real_or_text": "REAL → value (float); TEXT → value_text (str)",
}
"""How each conversion is described in the docs."""


@attrs.frozen
class ColumnMap:
    """One legacy column: the record field it fills and the conversion (a legacy format,
    or ``real_or_text`` for ``learning_metrics.value``)."""

    column: str
    field: str
    conversion: str
    split: Optional[Tuple[str, str]] = None
    """For ``real_or_text``: the (number field, text field)."""


@attrs.frozen
class TableMapping:
    """How one legacy table becomes records."""

    file: str
    table: str
    record_type: type
    columns: Tuple[ColumnMap, ...]
    constants: Tuple[Tuple[str, Any], ...] = ()
    """Fields set to a constant (the discriminator of shared record types)."""
    ledger_only: Tuple[str, ...] = ()
    """Legacy columns kept only in the ledger (the legacy ``id`` of natural-key records)."""
    note: str = ""

    @property
    def known_columns(self) -> Tuple[str, ...]:
        return tuple(c.column for c in self.columns) + self.ledger_only

    def column(self, name: str) -> ColumnMap:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)


_RENAMES: Final[Mapping[Tuple[str, str], Mapping[str, str]]] = {
    ("accuracy_tracking.db", "performance_tracking"): {
        "selection_date": "tracking_date",
        "last_updated": "updated_at",
    },
}

_NOTES: Final[Mapping[Tuple[str, str], str]] = {
    ("accuracy_tracking.db", "daily_selections"): (
        "The record id is derived from (selection_date, stock_code) as "
        "DailySelection.from_accuracy_tracker does; the legacy id is kept in the ledger."
    ),
    ("learning/learning_data.db", "learning_metrics"): (
        "value holds numbers and, for best_sector/worst_sector, text: numbers go to value, text to value_text."
    ),
}


def _sources() -> Dict[Tuple[str, str], Tuple[type, Optional[Tuple[str, str]]]]:
    out: Dict[Tuple[str, str], Tuple[type, Optional[Tuple[str, str]]]] = {}
    for record_type in all_record_types():
        for source in spec_of(record_type).legacy:
            out[(source.file, source.table)] = (record_type, source.discriminator)
    return out


def _build(layout: LegacyTable, record_type: type, discriminator: Optional[Tuple[str, str]]) -> TableMapping:
    spec = spec_of(record_type)
    fields = set(spec.field_names)
    renames = _RENAMES.get((layout.file, layout.name), {})
    derived_id = record_type is DailySelection and discriminator == ("source", "accuracy_tracker")
    columns: List[ColumnMap] = []
    ledger_only: List[str] = []
    for col in layout.columns:
        name = renames.get(col.name, col.name)
        if col.name == "id" and (spec.key != ("id",) or derived_id):
            ledger_only.append(col.name)
        elif col.alt_formats == ("text",) and col.format == "real" and f"{name}_text" in fields:
            columns.append(ColumnMap(col.name, name, "real_or_text", (name, f"{name}_text")))
        elif name in fields:
            columns.append(ColumnMap(col.name, name, col.format))
        else:
            raise TypeError(f"{layout.file}:{layout.name}.{col.name} has no field in {spec.name}")
    return TableMapping(
        file=layout.file,
        table=layout.name,
        record_type=record_type,
        columns=tuple(columns),
        constants=(discriminator,) if discriminator else (),
        ledger_only=tuple(ledger_only),
        note=_NOTES.get((layout.file, layout.name), ""),
    )


def _all() -> Dict[Tuple[str, str], TableMapping]:
    sources = _sources()
    out: Dict[Tuple[str, str], TableMapping] = {}
    for file in LEGACY_FILES:
        # the widest layout of each file, so every column any install has is mapped
        for table in legacy_file(file.path, main_db_layout="3f63b64").tables:
            record_type, discriminator = sources[(file.path, table.name)]
            out[(file.path, table.name)] = _build(table, record_type, discriminator)
    return out


_MAPPINGS: Final[Dict[Tuple[str, str], TableMapping]] = _all()


def mapping_for(file: str, table: str) -> TableMapping:
    """The mapping of legacy ``table`` of ``file`` (``KeyError`` if it is not a legacy table)."""
    try:
        return _MAPPINGS[(file, table)]
    except KeyError:
        raise KeyError(f"{file}:{table} is not a legacy table") from None


def all_mappings() -> Tuple[TableMapping, ...]:
    """Every table mapping, in :func:`migration_order`."""
    return tuple(_MAPPINGS[k] for k in migration_order())


def migration_order() -> Tuple[Tuple[str, str], ...]:
    """(file, table) in the order they migrate: the main DB first (its ``stocks`` before the
    tables referencing them), then the other files; within a file, referenced tables first."""
    files = [f.path for f in LEGACY_FILES]
    files.sort(key=lambda p: p != MAIN_DB)
    order: List[Tuple[str, str]] = []
    for path in files:
        tables = [t.name for t in legacy_file(path, main_db_layout="3f63b64").tables]
        targets = {t: {r.target for r in spec_of(_MAPPINGS[(path, t)].record_type).references} for t in tables}
        placed: List[str] = []
        while len(placed) < len(tables):
            for t in tables:
                if t in placed:
                    continue
                pending = {spec_of(_MAPPINGS[(path, o)].record_type).table for o in tables if o not in placed}
                pending.discard(spec_of(_MAPPINGS[(path, t)].record_type).table)
                if not (targets[t] & pending):
                    placed.append(t)
                    break
            else:  # a cycle: keep the legacy order for the rest
                placed.extend(t for t in tables if t not in placed)
        order.extend((path, t) for t in placed)
    return tuple(order)


def mapping_rows(file: str, table: str) -> List[Tuple[str, str, str]]:
    """The mapping of one table as (legacy column, record field, conversion) rows, for docs."""
    m = mapping_for(file, table)
    rows: List[Tuple[str, str, str]] = []
    for c in m.columns:
        field = " / ".join(c.split) if c.split else c.field
        rows.append((c.column, field, FORMAT_DOC.get(c.conversion, c.conversion)))
    for column in m.ledger_only:
        rows.append((column, "(ledger: legacy_id)", "kept in storekit_legacy_rows, not in the record"))
    for name, value in m.constants:
        rows.append(("(none)", name, f"constant {value!r}"))
    return rows
