"""The pieces of the legacy layout (columns, tables, files, write formats) and the parser
that turns LEGACY.md's DDL text into them. The layout itself is declared in
:mod:`storekit.legacy._ddl`; :mod:`storekit.legacy.schema` is the public face."""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, replace
from typing import Any, Final, List, Literal, Mapping, Optional, Sequence, Tuple, Union

Format = Literal[
    "yyyymmdd", "iso_date", "local_iso_T", "utc_sql", "sqlite_adapter",
    "json_ascii", "json_utf8", "bool01", "real", "int", "text",
]
"""How the legacy code writes a column's values:

``yyyymmdd``        ``'20260110'`` (learning_data.db business dates)
``iso_date``        ``'2026-01-10'`` (``strftime('%Y-%m-%d')``, SQLAlchemy ``Date``)
``local_iso_T``     ``'2026-01-10T09:15:02.123456'`` (``datetime.now().isoformat()``, local time)
``utc_sql``         ``'2026-01-10 00:15:02'`` (``CURRENT_TIMESTAMP`` / ``datetime('now')``, UTC)
``sqlite_adapter``  ``'2026-01-10 09:15:02.123456'`` (a local ``datetime`` bound through sqlite3's
                    default adapter, or SQLAlchemy's ``DateTime``)
``json_ascii``      ``json.dumps(value)`` (non-ASCII as ``\\uXXXX``)
``json_utf8``       ``json.dumps(value, ensure_ascii=False)`` (Korean kept raw)
``bool01``          INTEGER 0 or 1
``real``            a float (REAL; NUMERIC columns hand back integral values as INTEGER)
``int``             an INTEGER
``text``            free TEXT
"""

FORMATS: Final[Tuple[Format, ...]] = (
    "yyyymmdd", "iso_date", "local_iso_T", "utc_sql", "sqlite_adapter",
    "json_ascii", "json_utf8", "bool01", "real", "int", "text",
)

FORMAT_PATTERNS: Final[Mapping[Format, re.Pattern[str]]] = {
    "yyyymmdd": re.compile(r"\d{8}"),
    "iso_date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "local_iso_T": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?"),
    "utc_sql": re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"),
    "sqlite_adapter": re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?"),
}
"""Full-match patterns of the text formats (the value must also be a real calendar date/time)."""

_STRPTIME: Final[Mapping[Format, Tuple[str, ...]]] = {
    "yyyymmdd": ("%Y%m%d",),
    "iso_date": ("%Y-%m-%d",),
    "local_iso_T": ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"),
    "utc_sql": ("%Y-%m-%d %H:%M:%S",),
    "sqlite_adapter": ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"),
}


def format_problem(fmt: Format, value: Any) -> Optional[str]:
    """Why a non-NULL ``value`` read back from SQLite is not in format ``fmt``, or ``None``.

    The JSON formats require exactly what ``json.dumps`` (with default separators) would
    have written for the parsed value, so ``\\uXXXX`` escapes mark ``json_ascii`` and raw
    non-ASCII text marks ``json_utf8``; ``NaN``/``Infinity`` pass, as ``json.dumps`` writes them.
    """
    if fmt in ("real",):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected a REAL, got {type(value).__name__} {value!r:.60}"
    if fmt in ("int", "bool01"):
        if not isinstance(value, int) or isinstance(value, bool):
            return f"expected an INTEGER, got {type(value).__name__} {value!r:.60}"
        if fmt == "bool01" and value not in (0, 1):
            return f"expected 0 or 1, got {value}"
        return None
    if not isinstance(value, str):
        return f"expected TEXT, got {type(value).__name__} {value!r:.60}"
    if fmt == "text":
        return None
    if fmt in ("json_ascii", "json_utf8"):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            return f"invalid JSON ({exc})"
        if json.dumps(parsed, ensure_ascii=fmt == "json_ascii") != value:
            flag = "" if fmt == "json_ascii" else ", ensure_ascii=False"
            return f"not the text json.dumps(value{flag}) writes"
        return None
    if not FORMAT_PATTERNS[fmt].fullmatch(value):
        return f"{value!r:.60} does not match {fmt} ({FORMAT_PATTERNS[fmt].pattern})"
    for pattern in _STRPTIME[fmt]:
        try:
            _dt.datetime.strptime(value, pattern)
            return None
        except ValueError:
            continue
    return f"{value!r} is not a real {'date' if 'date' in fmt or fmt == 'yyyymmdd' else 'date and time'}"


@dataclass(frozen=True)
class LegacyColumn:
    """One legacy column: its DDL pieces and how the legacy code writes it."""

    name: str
    type: str
    """The declared type as written (``TEXT``, ``NUMERIC(10, 2)``, ...)."""
    constraints: str
    """The rest of the column definition (``NOT NULL UNIQUE``, ``DEFAULT CURRENT_TIMESTAMP``)."""
    format: Format
    alt_formats: Tuple[Format, ...] = ()
    """Other formats the legacy code also writes here (``learning_metrics.value`` text)."""
    note: str = ""
    pk: bool = False
    """Part of the primary key (a column or a table ``PRIMARY KEY`` constraint)."""

    @property
    def definition(self) -> str:
        return " ".join(p for p in (self.name, self.type, self.constraints) if p)

    @property
    def notnull(self) -> bool:
        return "NOT NULL" in self.constraints.upper()

    @property
    def default(self) -> Optional[str]:
        """The ``DEFAULT`` expression as ``PRAGMA table_info`` reports it, or ``None``."""
        match = re.search(r"\bDEFAULT\s+(\S+)", self.constraints, re.IGNORECASE)
        return match.group(1) if match else None

    def problem(self, value: Any) -> Optional[str]:
        """Why ``value`` (as read back from SQLite) is not what the legacy code writes here."""
        if value is None:
            return "NULL in a NOT NULL column" if self.notnull else None
        first = format_problem(self.format, value)
        if first is None or any(format_problem(f, value) is None for f in self.alt_formats):
            return None
        return first


@dataclass(frozen=True)
class LegacyIndex:
    """One explicitly created index (``UNIQUE`` constraints' auto-indexes are not listed)."""

    name: str
    table: str
    columns: Tuple[str, ...]
    sql: str


@dataclass(frozen=True)
class LegacyTable:
    """One legacy table of one legacy file."""

    file: str
    name: str
    columns: Tuple[LegacyColumn, ...]
    table_constraints: Tuple[str, ...]
    indexes: Tuple[LegacyIndex, ...]
    writer: str
    """The legacy code that writes it (LEGACY.md section 2 and 4)."""
    written: bool = True
    """False for tables the legacy code creates but never writes."""
    added_columns: Tuple[str, ...] = ()
    """Columns added after ``CREATE TABLE`` by ``ALTER TABLE ... ADD COLUMN`` (they are last)."""

    @property
    def column_names(self) -> Tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> LegacyColumn:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.file}:{self.name} has no column {name!r}")

    @property
    def ddl(self) -> str:
        """The ``CREATE TABLE`` statement (without the columns added later by ``ALTER TABLE``)."""
        parts = [c.definition for c in self.columns if c.name not in self.added_columns]
        body = ",\n  ".join([*parts, *self.table_constraints])
        return f"CREATE TABLE {self.name} (\n  {body}\n)"

    @property
    def alter_statements(self) -> Tuple[str, ...]:
        return tuple(
            f"ALTER TABLE {self.name} ADD COLUMN {self.column(n).definition}" for n in self.added_columns
        )

    @property
    def create_statements(self) -> Tuple[str, ...]:
        """Every statement that creates the table as the legacy code did, indexes included."""
        return (self.ddl, *self.alter_statements, *(i.sql for i in self.indexes))


@dataclass(frozen=True)
class LegacyFile:
    """One legacy SQLite file, its path relative to the application's ``data/`` directory."""

    path: str
    tables: Tuple[LegacyTable, ...]
    writer: str
    indexes_last: bool = False
    """True when the legacy code created the indexes after all the tables (feedback.db)."""

    @property
    def table_names(self) -> Tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    def table(self, name: str) -> LegacyTable:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"{self.path} has no table {name!r} (tables: {', '.join(self.table_names)})")

    @property
    def create_statements(self) -> Tuple[str, ...]:
        """Every statement, in the legacy creation order, that creates this file's schema."""
        if not self.indexes_last:
            return tuple(s for t in self.tables for s in t.create_statements)
        tables = tuple(s for t in self.tables for s in (t.ddl, *t.alter_statements))
        return tables + tuple(i.sql for t in self.tables for i in t.indexes)


# --- the DDL parser used by the declarations ------------------------------------------------

_TABLE_CONSTRAINT = re.compile(r"(UNIQUE|PRIMARY KEY|FOREIGN KEY|CHECK|CONSTRAINT)\b")
_INDEX = re.compile(r"CREATE INDEX (\w+) ON (\w+) ?\(([^)]*)\)")


def _default_format(type_: str, constraints: str) -> Optional[Format]:
    base = type_.split("(")[0].upper()
    if base == "TIMESTAMP":
        return "utc_sql" if "CURRENT_TIMESTAMP" in constraints.upper() else None
    return {
        "INTEGER": "int", "REAL": "real", "FLOAT": "real", "NUMERIC": "real", "BOOLEAN": "bool01",
        "TEXT": "text", "VARCHAR": "text", "DATE": "iso_date", "DATETIME": "sqlite_adapter",
    }.get(base)  # type: ignore[return-value]


def _split_column(line: str) -> Tuple[str, str, str]:
    name, _, rest = line.partition(" ")
    if "(" in rest.split(" ")[0]:  # a parenthesised type such as NUMERIC(10, 2)
        end = rest.index(")") + 1
        return name, rest[:end], rest[end:].strip()
    type_, _, constraints = rest.partition(" ")
    return name, type_, constraints.strip()


_FormatSpec = Union[Format, Tuple[Format, ...]]


def table(
    file: str,
    ddl: str,
    writer: str,
    formats: Optional[Mapping[str, _FormatSpec]] = None,
    notes: Optional[Mapping[str, str]] = None,
    indexes: Sequence[str] = (),
    written: bool = True,
) -> LegacyTable:
    """A table from its LEGACY.md DDL; ``formats`` overrides the formats implied by the types
    (a tuple gives the main format then the alternatives)."""
    formats = dict(formats or {})
    notes = notes or {}
    head, _, body = ddl.strip().partition("(\n")
    name = head.replace("CREATE TABLE", "").strip()
    lines = [ln.strip().rstrip(",") for ln in body.rsplit("\n)", 1)[0].splitlines() if ln.strip()]
    columns: List[LegacyColumn] = []
    constraints: List[str] = []
    for line in lines:
        if _TABLE_CONSTRAINT.match(line):
            constraints.append(line)
            continue
        col, type_, rest = _split_column(line)
        spec = formats.pop(col, None) or _default_format(type_, rest)
        if spec is None:
            raise ValueError(f"{file}:{name}.{col}: no format given and none implied by {type_!r}")
        main, *alt = (spec,) if isinstance(spec, str) else spec
        columns.append(LegacyColumn(col, type_, rest, main, tuple(alt), notes.get(col, "")))
    if formats:
        raise ValueError(f"{file}:{name}: formats for unknown columns {sorted(formats)}")
    pk_columns = {c.name for c in columns if "PRIMARY KEY" in c.constraints.upper()}
    for constraint in constraints:
        if constraint.startswith("PRIMARY KEY"):
            pk_columns.update(c.strip() for c in constraint.split("(", 1)[1].rstrip(")").split(","))
    columns = [replace(c, pk=c.name in pk_columns) for c in columns]
    parsed: List[LegacyIndex] = []
    for sql in indexes:
        match = _INDEX.fullmatch(sql)
        if match is None or match.group(2) != name:
            raise ValueError(f"{file}:{name}: not an index of this table: {sql!r}")
        cols = tuple(c.strip() for c in match.group(3).split(","))
        parsed.append(LegacyIndex(match.group(1), name, cols, sql))
    return LegacyTable(file, name, tuple(columns), tuple(constraints), tuple(parsed), writer, written)


def transaction_script(statements: Sequence[str]) -> str:
    """``statements`` as one script in one transaction (one sync instead of one per statement)."""
    return "BEGIN;\n" + "".join(f"{s};\n" for s in statements) + "COMMIT;\n"
