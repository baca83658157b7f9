"""``.. storekit-migration-mapping::``: the legacy-table → record mapping of
``storekit migrate``, one table per legacy table, read from :mod:`storekit.migrate`."""

from __future__ import annotations

import importlib
from typing import List

from ._util import GeneratedDirective, literal, plain


class MigrationMappingDirective(GeneratedDirective):
    """Every legacy table's mapping (legacy column, record field, conversion)."""

    def generate(self) -> List[str]:
        from storekit.migrate import all_mappings, mapping_rows
        from storekit.records import spec_of

        for name in ("storekit.migrate._mapping", "storekit.migrate._convert"):
            self.depend_on_module(importlib.import_module(name))
        lines: List[str] = []
        for m in all_mappings():
            title = f"{m.file}: {m.table}"
            spec = spec_of(m.record_type)
            lines += [title, "~" * len(title), ""]
            lines += [f"Into :class:`~storekit.records.{spec.name}` (table {literal(spec.table)}).", ""]
            if m.note:
                lines += [plain(m.note), ""]
            lines += [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: auto",
                "",
                "   * - Legacy column",
                "     - Record field",
                "     - Conversion",
            ]
            for column, field, conversion in mapping_rows(m.file, m.table):
                lines += [f"   * - {literal(column)}", f"     - {literal(field)}", f"     - {plain(conversion)}"]
            lines.append("")
        return lines
