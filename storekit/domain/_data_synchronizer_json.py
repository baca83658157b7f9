"""The schemas of DataSynchronizer's input JSON files (LEGACY.md section 7), as data,
and the one validator that reads them.

A schema lists, for each record field, where its value sits in a list item (a key
path), the JSON type it must have and whether it is required. Objects on the way may
be missing or ``null`` (the value is then ``None``); anything of the wrong type is a
problem reported with its JSON path (``$.results[3].fundamental.score``). Unknown
keys are ignored: the screener writes many more than are stored.

Numbers follow the type policy: ``Infinity``/``-Infinity`` (which Python's ``json``
reads as floats) are kept, ``NaN`` is refused (a missing number is ``null``), and
``true``/``false`` are not numbers.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import attrs

Problem = Tuple[str, str]


@attrs.frozen
class Value:
    """One stored value: the record field, its key path in the item, its JSON type."""

    field: str
    path: Tuple[str, ...]
    kind: str  # "string" | "number" | "boolean"
    required: bool = False

    @property
    def where(self) -> str:
        return "".join(f".{key}" for key in self.path)


@attrs.frozen
class Layout:
    """Where a file keeps its list of items, and the values of one item."""

    name: str
    items: Tuple[str, ...]
    values: Tuple[Value, ...]
    fast: Callable[[Any], Optional[Dict[str, Any]]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "fast", _compile(self.values))

    @property
    def items_where(self) -> str:
        return "$" + "".join(f".{key}" for key in self.items)


_FAST_CHECK = {
    "string": "type({v}) is not str",
    "boolean": "type({v}) is not bool",
    # int becomes float below; NaN (v != v) and everything else take the slow path
    "number": "type({v}) is not float and type({v}) is not int or {v} != {v}",
}


def _compile(values: Sequence[Value]) -> Callable[[Any], Optional[Dict[str, Any]]]:
    """The values of a valid item, fast: a function generated once per layout that
    returns ``None`` at the first doubt, and then :func:`item_values` runs, which is
    the reference and words the problems. Same rules, no loop per value."""
    lines = ["def fast(item):", "    if type(item) is not dict: return None"]
    nodes: Dict[Tuple[str, ...], str] = {(): "item"}
    out = []
    for i, spec in enumerate(values):
        for depth in range(1, len(spec.path)):
            prefix = spec.path[:depth]
            if prefix in nodes:
                continue
            parent, name = nodes[prefix[:-1]], f"n{len(nodes)}"
            nodes[prefix] = name
            get = f"{parent}.get({prefix[-1]!r})"
            lines.append(f"    {name} = {get} if {parent} is not None else None")
            lines.append(f"    if {name} is not None and type({name}) is not dict: return None")
        parent, v = nodes[spec.path[:-1]], f"v{i}"
        lines.append(f"    {v} = {parent}.get({spec.path[-1]!r}) if {parent} is not None else None")
        check = _FAST_CHECK[spec.kind].format(v=v)
        if spec.required:
            lines.append(f"    if {v} is None or {check}: return None")
        else:
            lines.append(f"    if {v} is not None and ({check}): return None")
        if spec.kind == "number":
            lines.append(f"    if type({v}) is int: {v} = float({v})")
        out.append(f"{spec.field!r}: {v}")
    lines.append(f"    return {{{', '.join(out)}}}")
    namespace: Dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    fast: Callable[[Any], Optional[Dict[str, Any]]] = namespace["fast"]
    return fast


SCREENING = Layout(
    "screening_results",
    ("results",),
    (
        Value("stock_code", ("stock_code",), "string", required=True),
        Value("stock_name", ("stock_name",), "string", required=True),
        Value("sector", ("sector",), "string"),
        Value("overall_score", ("overall_score",), "number"),
        Value("fundamental_score", ("fundamental", "score"), "number"),
        Value("technical_score", ("technical", "score"), "number"),
        Value("passed", ("overall_passed",), "boolean"),
        Value("roe", ("fundamental", "details", "roe", "value"), "number"),
        Value("per", ("fundamental", "details", "per", "value"), "number"),
        Value("pbr", ("fundamental", "details", "pbr", "value"), "number"),
    ),
)
"""``data/watchlist/screening_results_YYYYMMDD_HHMMSS.json`` (StockScreener)."""

SELECTION_DAILY_UPDATER = Layout(
    "data.selected_stocks",
    ("data", "selected_stocks"),
    (
        Value("stock_code", ("stock_code",), "string", required=True),
        Value("stock_name", ("stock_name",), "string", required=True),
        Value("final_score", ("price_attractiveness",), "number"),
        Value("predicted_direction", ("predicted_direction",), "string"),
        Value("confidence", ("confidence",), "number"),
        Value("reason", ("selection_reason",), "string"),
        Value("entry_price", ("entry_price",), "number"),
    ),
)
"""``data/daily_selection/daily_selection_YYYYMMDD.json`` as DailyUpdater writes it."""

SELECTION_LEGACY = Layout(
    "selected_stocks",
    ("selected_stocks",),
    (
        Value("stock_code", ("stock_code",), "string", required=True),
        Value("stock_name", ("stock_name",), "string", required=True),
        Value("final_score", ("final_score",), "number"),
        Value("predicted_direction", ("predicted_direction",), "string"),
        Value("confidence", ("confidence",), "number"),
        Value("reason", ("reason",), "string"),
        Value("entry_price", ("current_price",), "number"),
    ),
)
"""The top-level ``selected_stocks`` layout the legacy DataSynchronizer expected."""

SELECTION_LAYOUTS: Tuple[Layout, ...] = (SELECTION_DAILY_UPDATER, SELECTION_LEGACY)

_TYPE_NAMES = {"string": "a string", "number": "a number", "boolean": "true or false"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _typed(value: Any, kind: str) -> Tuple[Any, Optional[str]]:
    """The value as stored, or the reason it cannot be."""
    if kind == "string":
        if type(value) is str:
            return value, None
    elif kind == "number":
        if type(value) is float:
            if math.isnan(value):
                return None, "NaN is not a number storekit stores (use null)"
            return value, None
        if type(value) is int:
            return float(value), None
    elif type(value) is bool:
        return value, None
    return None, f"expected {_TYPE_NAMES[kind]}, got {_json_type(value)}"


def item_values(item: Any, where: str, values: Sequence[Value], problems: List[Problem]) -> Dict[str, Any]:
    """The record fields of one list item at JSON path ``where``; problems are appended."""
    if not isinstance(item, dict):
        problems.append((where, f"expected an object, got {_json_type(item)}"))
        return {}
    out: Dict[str, Any] = {}
    for spec in values:
        node: Any = item
        for depth, key in enumerate(spec.path):
            if node is None:
                break
            if not isinstance(node, dict):
                at = where + "".join(f".{k}" for k in spec.path[:depth])
                problems.append((at, f"expected an object, got {_json_type(node)}"))
                node = None
                break
            node = node.get(key)
        if node is None:
            if spec.required:
                problems.append((where + spec.where, "required"))
            out[spec.field] = None
            continue
        value, reason = _typed(node, spec.kind)
        if reason is not None:
            problems.append((where + spec.where, reason))
        out[spec.field] = value
    return out


def find_items(document: Any, layouts: Sequence[Layout], problems: List[Problem]) -> Tuple[Optional[Layout], List[Any]]:
    """The layout of ``document`` (the first of ``layouts`` whose first key it has) and
    its list of items; a problem when no layout matches or the list is not a list."""
    if not isinstance(document, dict):
        problems.append(("$", f"expected an object, got {_json_type(document)}"))
        return None, []
    for layout in layouts:
        if layout.items[0] not in document:
            continue
        node: Any = document
        for depth, key in enumerate(layout.items):
            if not isinstance(node, dict):
                where = "$" + "".join(f".{k}" for k in layout.items[:depth])
                problems.append((where, f"expected an object, got {_json_type(node)}"))
                return layout, []
            if key not in node:
                problems.append(("$" + "".join(f".{k}" for k in layout.items[: depth + 1]), "required"))
                return layout, []
            node = node[key]
        if not isinstance(node, list):
            problems.append((layout.items_where, f"expected an array, got {_json_type(node)}"))
            return layout, []
        return layout, node
    names = " or ".join(layout.items_where for layout in layouts)
    problems.append((layouts[0].items_where, f"required (the file has no {names})"))
    return None, []


def field_where(layout: Layout, field: str) -> str:
    """The key path of a record field in an item of ``layout`` (``""`` if it has none)."""
    for spec in layout.values:
        if spec.field == field:
            return spec.where
    return ""
