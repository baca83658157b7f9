"""The records reference and the column-type table, generated from the declarations."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Dict, Iterable, List, Tuple

import attrs
from sphinx.util.docstrings import prepare_docstring

from ._util import GeneratedDirective, import_object, literal, plain


def _default_text(attribute: Any) -> str:
    default = attribute.default
    if default is attrs.NOTHING:
        return "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        name = getattr(default.factory, "__name__", "")
        if default.takes_self or name.startswith("_") or name == "<lambda>":
            return "computed"
        return literal(f"{name}()")
    return literal(repr(default))


def _check_text(check: Any) -> str:
    doc = inspect.getdoc(check) or getattr(check, "__name__", "a check")
    return plain(doc.strip().splitlines()[0].rstrip("."))


def _kind_text(kind: Any) -> str:
    return f":ref:`{kind.value} <kind-{kind.value}>`"


def _legacy_text(source: Any) -> str:
    text = literal(f"data/{source.file}:{source.table}")
    if source.discriminator is not None:
        field, value = source.discriminator
        text += f" (as ``{field} = {value!r}``)"
    return text


def _groups(record_types: Iterable[type]) -> List[Tuple[str, List[type]]]:
    from storekit.records import spec_of

    groups: Dict[str, List[type]] = {}
    for record_type in record_types:
        spec = spec_of(record_type)
        title = f"data/{spec.legacy[0].file}" if spec.legacy else "Records without a legacy table"
        groups.setdefault(title, []).append(record_type)
    return list(groups.items())


def _extra_members(record_type: type) -> List[str]:
    """Public methods and properties a record type defines beyond its fields."""
    fields = {a.name for a in attrs.fields(record_type)}
    out = []
    for name, value in vars(record_type).items():
        if name.startswith("_") or name in fields:
            continue
        if isinstance(value, (classmethod, staticmethod, property)) or inspect.isfunction(value):
            out.append(name)
    return out


def record_lines(record_type: type) -> List[str]:
    from storekit.records import spec_of

    spec = spec_of(record_type)
    name = spec.name
    lines = [f".. py:class:: {name}", "   :module: storekit.records", ""]
    body: List[str] = []
    if spec.doc:
        body += prepare_docstring(spec.doc)
    facts = [
        ("Table", literal(spec.table)),
        ("Natural key", ", ".join(literal(k) for k in spec.key)),
        ("Legacy sources", "; ".join(_legacy_text(s) for s in spec.legacy) or "none"),
    ]
    if spec.indexes:
        facts.append(("Indexes", "; ".join("(" + ", ".join(map(literal, i)) + ")" for i in spec.indexes)))
    if spec.unique:
        facts.append(("Unique", "; ".join("(" + ", ".join(map(literal, u)) + ")" for u in spec.unique)))
    if spec.references:
        facts.append(
            (
                "References",
                "; ".join(
                    ", ".join(map(literal, r.fields))
                    + f" → {literal(r.target)} ("
                    + ", ".join(map(literal, r.target_fields))
                    + ")"
                    for r in spec.references
                ),
            )
        )
    body += [""] + [f":{label}: {value}" for label, value in facts] + [""]
    body += [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: auto",
        "",
        "   * - Field",
        "     - Kind",
        "     - Nullable",
        "     - Default",
        "     - Choices",
        "     - Notes",
    ]
    attributes = {a.name: a for a in attrs.fields(record_type)}
    for f in spec.fields:
        shown = f"**{f.name}**" if f.name in spec.key else f.name
        notes = [plain(f.doc)] if f.doc else []
        notes += [f"*check:* {_check_text(c)}" for c in f.checks]
        choices = ", ".join(literal(c) for c in f.choices) if f.choices else ""
        body += [
            f"   * - {shown}",
            f"     - {_kind_text(f.kind)}",
            f"     - {'yes' if f.nullable else 'no'}",
            f"     - {_default_text(attributes[f.name])}",
            f"     - {choices}",
            f"     - {'; '.join(notes)}",
        ]
    body.append("")
    for member in _extra_members(record_type):
        body += [f".. automethod:: storekit.records.{name}.{member}", ""]
    lines += ["   " + line if line else "" for line in body]
    return lines


class RecordsDirective(GeneratedDirective):
    """``.. storekit-records::``: the generated records reference."""

    def generate(self) -> List[str]:
        from storekit.records import all_record_types, spec_of

        record_types = all_record_types()
        for record_type in record_types:
            self.depend_on_module(importlib.import_module(record_type.__module__))
        lines = [
            ".. list-table:: Every record type",
            "   :header-rows: 1",
            "   :widths: auto",
            "",
            "   * - Record",
            "     - Table",
            "     - Natural key",
            "     - Legacy sources",
        ]
        for record_type in record_types:
            spec = spec_of(record_type)
            lines += [
                f"   * - :class:`~storekit.records.{spec.name}`",
                f"     - {literal(spec.table)}",
                f"     - {', '.join(literal(k) for k in spec.key)}",
                f"     - {'; '.join(_legacy_text(s) for s in spec.legacy)}",
            ]
        lines.append("")
        for title, members in _groups(record_types):
            heading = literal(title)
            lines += [heading, "-" * len(heading), ""]
            for record_type in members:
                lines += [*record_lines(record_type), ""]
        return lines


# -- column types ---------------------------------------------------------------------


def _dialect_for(facts: Any) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    dialects = {"sqlite": sqlite.dialect, "postgresql": postgresql.psycopg2.dialect}
    try:
        return dialects[facts.name]()
    except KeyError:
        raise ValueError(f"no dialect known for SQL facts named {facts.name!r}") from None


class ColumnTypesDirective(GeneratedDirective):
    """``.. storekit-column-types:: storekit_sqlite:SQLiteFacts ...``."""

    required_arguments = 1
    optional_arguments = 10
    titles_allowed = False

    def generate(self) -> List[str]:
        from storekit.records import Kind

        facts = []
        for dotted in self.arguments:
            cls = import_object(dotted)
            self.depend_on_module(importlib.import_module(cls.__module__))
            facts.append(cls())
        lines = [
            ".. list-table:: Declared column type per kind",
            "   :header-rows: 1",
            "   :widths: auto",
            "",
            "   * - Kind",
        ] + [f"     - {f.name}" for f in facts]
        for kind in Kind:
            lines.append(f"   * - {_kind_text(kind)}")
            for f in facts:
                compiled = f.column_type(kind).compile(dialect=_dialect_for(f))
                lines.append(f"     - {literal(compiled)}")
        return [*lines, ""]
