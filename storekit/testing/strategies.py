"""Hypothesis strategies derived from the record declarations.

Every strategy here is computed from :func:`storekit.records.spec_of`: the kind,
nullability, closed set (``choices``) and checks of each field. A new record type
is covered without writing anything for it, unless it has a cross-field rule that
derives one field from others (see ``_DERIVED``).

The strategies go for the values that break storage layers, never around them:
Korean and emoji text, empty strings, ``±inf``, ``-0.0``, ``5e-324``, the extremes
of int64, ``date.min``/``date.max``, timestamps in many UTC offsets right at the
year 1 and year 9999 bounds, nested JSON with Korean keys, huge JSON ints and
floats such as ``1e16``, ``1e300`` and ``1e-7``. They only produce what the type
policy of :mod:`storekit.records._declare` accepts;
:func:`invalid_values` produces what it must reject.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import sys
import uuid
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Sequence, Tuple, Type, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from ..errors import RecordValidationError
from ..records import (
    DailySelection,
    Feedback,
    FieldSpec,
    Kind,
    Record,
    all_record_types,
    spec_of,
)
from ..records._declare import _KIND_CHECKS, INT64_MAX, INT64_MIN, Check, stock_code

__all__ = ["invalid_values", "parents_of", "records", "values_for"]

R = TypeVar("R", bound=Record)

_UTC = dt.timezone.utc

# -- valid values, per kind -------------------------------------------------------------

_HARD_TEXT = (
    "",
    " ",
    "삼성전자",
    "SK하이닉스 우선주",
    "📈🚀💹",
    "한글과 emoji 📉 mixed",
    "e\u0301",  # a combining accent: not the same text as "\u00e9"
    "\u00e9",
    "ẞ",
    "İ",
    "\ufeffBOM",
    "\u2028line separator",
    "\U0010ffff",
    "a'b\"c\\d%s?:x",
    "'; DROP TABLE stocks; --",
    "line\nbreak\r\n\ttab",
    "\x01\x1f\x7f",
)
_TEXT: SearchStrategy[str] = st.one_of(
    st.sampled_from(_HARD_TEXT),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
    st.text(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1, max_size=8),
)

_HARD_STOCK_CODES = ("005930", "000660", "37550L", "000000", "ZZZZZZ", "0000A0")
_STOCK_CODES: SearchStrategy[str] = st.one_of(
    st.sampled_from(_HARD_STOCK_CODES),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=6, max_size=6),
)

_HARD_INTS = (
    0, 1, -1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
    2**31, -(2**31) - 1, 2**53 + 1, -(2**53) - 1,
)
_INTS: SearchStrategy[int] = st.one_of(
    st.sampled_from(_HARD_INTS), st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
)

_HARD_FLOATS = (
    0.0, -0.0, math.inf, -math.inf, 5e-324, -5e-324, sys.float_info.min,
    sys.float_info.max, -sys.float_info.max, 1e16, 1e300, -1e300, 1e-7, 0.1, 1 / 3,
    2.0**53, 2.0**63, -(2.0**63), 123456.789,
)
_FLOATS: SearchStrategy[float] = st.one_of(
    st.sampled_from(_HARD_FLOATS), st.floats(allow_nan=False)
)

_HARD_DATES = (dt.date.min, dt.date.max, dt.date(1970, 1, 1), dt.date(2000, 2, 29),
               dt.date(1582, 10, 10))
_DATES: SearchStrategy[dt.date] = st.one_of(st.sampled_from(_HARD_DATES), st.dates())

_FIXED_OFFSETS = (
    dt.timedelta(0),
    dt.timedelta(hours=9),
    -dt.timedelta(hours=5, minutes=30),
    dt.timedelta(hours=14),
    -dt.timedelta(hours=12),
    dt.timedelta(hours=5, minutes=45),
)
_FIXED_ZONES: Tuple[dt.tzinfo, ...] = tuple(dt.timezone(o) for o in _FIXED_OFFSETS)
_MIN_INSTANT = dt.datetime.min.replace(tzinfo=_UTC)
_MAX_INSTANT = dt.datetime.max.replace(tzinfo=_UTC)
_HARD_INSTANTS = (
    _MIN_INSTANT,
    _MAX_INSTANT,
    # local 0001-01-01 00:00 in the zones west of UTC, local 9999-12-31 23:59:59.999999 east
    *(_MIN_INSTANT - o for o in _FIXED_OFFSETS if o < dt.timedelta(0)),
    *(_MAX_INSTANT - o for o in _FIXED_OFFSETS if o > dt.timedelta(0)),
    dt.datetime(1970, 1, 1, tzinfo=_UTC),
    dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=_UTC),
    dt.datetime(2026, 3, 8, 7, 30, tzinfo=_UTC),  # New York's spring-forward gap
    dt.datetime(2026, 11, 1, 5, 30, tzinfo=_UTC),  # New York's repeated hour (fold=1)
    dt.datetime(2026, 1, 10, 0, 0, 0, 1, tzinfo=_UTC),
)
_INSTANTS: SearchStrategy[dt.datetime] = st.one_of(
    st.sampled_from(_HARD_INSTANTS), st.datetimes(timezones=st.just(_UTC))
)
_ZONES: SearchStrategy[dt.tzinfo] = st.one_of(
    st.sampled_from(_FIXED_ZONES),
    st.sampled_from(("Asia/Seoul", "America/New_York", "Pacific/Kiritimati")).map(ZoneInfo),
    st.timezones(),
)


def _shown_in(instant: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    try:
        return instant.astimezone(zone)
    except OverflowError:  # the local time of this instant falls outside years 1-9999
        return instant


_TIMESTAMPS: SearchStrategy[dt.datetime] = st.builds(_shown_in, _INSTANTS, _ZONES)

_UUIDS: SearchStrategy[uuid.UUID] = st.one_of(
    st.sampled_from((uuid.UUID(int=0), uuid.UUID(int=2**128 - 1))), st.uuids()
)


def _positive_zero(value: float) -> float:
    return value + 0.0  # -0.0 + 0.0 is 0.0: JSON cannot keep the sign of zero


_HARD_JSON_FLOATS = (1e16, 1e300, 1e-7, 5e-324, sys.float_info.max, 0.1, 1.0, -1.5,
                     2.0**63, 1e22, 123456789.125)
_JSON_SCALARS: SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from((0, -1, INT64_MAX, INT64_MIN, 2**64, -(2**64), 10**30, 2**53 + 1)),
    st.integers(),
    st.sampled_from(_HARD_JSON_FLOATS),
    st.floats(allow_nan=False, allow_infinity=False).map(_positive_zero),
    _TEXT,
)
_JSON: SearchStrategy[Any] = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(("종목코드", "수익률", "", "a.b")), inner, max_size=4),
        st.dictionaries(_TEXT, inner, max_size=4),
    ),
    max_leaves=8,
)

_BY_KIND: Mapping[Kind, SearchStrategy[Any]] = {
    Kind.TEXT: _TEXT,
    Kind.INT: _INTS,
    Kind.FLOAT: _FLOATS,
    Kind.BOOL: st.booleans(),
    Kind.DATE: _DATES,
    Kind.TIMESTAMP: _TIMESTAMPS,
    Kind.JSON: _JSON,
    Kind.UUID: _UUIDS,
}

_BY_CHECK: Mapping[Check, SearchStrategy[Any]] = {stock_code: _STOCK_CODES}
"""Checks whose accepted values are generated directly rather than filtered for."""


def _passes(checks: Sequence[Check]) -> Callable[[Any], bool]:
    return lambda value: all(check(value) is None for check in checks)


@functools.cache
def values_for(field: FieldSpec) -> SearchStrategy[Any]:
    """Every value ``field`` accepts, the hard ones often; ``None`` when it is nullable."""
    base = _present_values(field)
    if field.nullable and field.kind is not Kind.JSON:  # JSON's own None is its null
        return st.one_of(st.none(), base)
    return base


@functools.cache
def _present_values(field: FieldSpec) -> SearchStrategy[Any]:
    """:func:`values_for` without the SQL NULL."""
    met = None  # the check the strategy meets by construction
    if field.choices is not None:
        base: SearchStrategy[Any] = st.sampled_from(field.choices)
    else:
        met = next((c for c in field.checks if c in _BY_CHECK), None)
        base = _BY_KIND[field.kind] if met is None else _BY_CHECK[met]
    unmet = [c for c in field.checks if c is not met]
    if unmet:
        base = base.filter(_passes(unmet))
    return base


# -- records ----------------------------------------------------------------------------

_KEEP_DEFAULT = object()
"""In a ``_DERIVED`` result: leave the field to the declaration's default."""


def _feedback_id(values: Dict[str, Any]) -> Dict[str, Any]:
    date = values["prediction_date"]
    return {"prediction_id": f"{values['stock_code']}_{date.isoformat()}_{values['model_name']}"}


def _daily_selection_id(values: Dict[str, Any]) -> Dict[str, Any]:
    # accuracy_tracker rows use the id their default derives from the date and stock code
    return {"id": _KEEP_DEFAULT} if values["source"] == "accuracy_tracker" else {}


_DERIVED: Mapping[type, Callable[[Dict[str, Any]], Dict[str, Any]]] = {
    Feedback: _feedback_id,
    DailySelection: _daily_selection_id,
}
"""Cross-field rules that compute one field from others; every other rule of a
``__validate__`` is met by the generic repair in :func:`records`."""

_REPAIR_ROUNDS = 8


def records(record_type: Type[R], **fields: SearchStrategy[Any]) -> SearchStrategy[R]:
    """Valid records of ``record_type``; ``fields`` overrides the strategy of named fields.

    Field values are drawn from :func:`values_for`. When a cross-field rule
    (``__validate__``) rejects the draw, each field it names is repaired: a nullable
    field holding a value is set to ``None``, a missing value is drawn again
    without ``None``, any other value is redrawn; when it names a field given in
    ``fields``, all the other fields are drawn again. After a bounded number of
    rounds the example is rejected.
    """
    spec = spec_of(record_type)
    unknown = sorted(set(fields) - set(spec.field_names))
    if unknown:
        raise TypeError(f"{spec.name} has no field(s) {', '.join(unknown)}")
    strategies = {f.name: fields.get(f.name, values_for(f)) for f in spec.fields}
    present = {
        f.name: _not_none(fields[f.name]) if f.name in fields else _present_values(f) for f in spec.fields
    }
    return _records(record_type, strategies, present, frozenset(fields))


@st.composite
def _records(
    draw: DrawFn,
    record_type: Type[R],
    strategies: Dict[str, SearchStrategy[Any]],
    present: Dict[str, SearchStrategy[Any]],
    fixed: FrozenSet[str],
) -> R:
    spec = spec_of(record_type)
    derive = _DERIVED.get(record_type)
    values = {name: draw(strategy) for name, strategy in strategies.items()}
    for _ in range(_REPAIR_ROUNDS):
        kwargs = dict(values)
        if derive is not None:
            for name, value in derive(values).items():
                if name in fixed:
                    continue
                if value is _KEEP_DEFAULT:
                    del kwargs[name]
                else:
                    kwargs[name] = value
        try:
            return record_type(**kwargs)
        except RecordValidationError as exc:
            if fixed.intersection(exc.fields):  # the rule needs other values around a given one
                values.update({n: draw(s) for n, s in strategies.items() if n not in fixed})
                continue
            for name in exc.fields:
                current = values[name]
                if current is not None and spec.field(name).nullable:
                    values[name] = None
                elif current is None:
                    values[name] = draw(present[name])
                else:
                    values[name] = draw(strategies[name])
    reject()


@functools.cache
def _not_none(strategy: SearchStrategy[Any]) -> SearchStrategy[Any]:
    return strategy.filter(lambda v: v is not None)


def _type_by_table() -> Dict[str, type]:
    return {spec_of(t).table: t for t in all_record_types()}


def parents_of(record: Record) -> SearchStrategy[List[Record]]:
    """The records ``record``'s references need, ancestors first (write them in order).

    Derived from ``spec.references``: for every reference whose fields are set, a
    generated record of the target type with those key values, and its own
    parents. Unique constraints hold among the parents. A parent that cannot
    have the referenced key (a rule of the target forbids it) rejects the example.
    """
    return _parents(record)


@st.composite
def _parents(draw: DrawFn, record: Record) -> List[Record]:
    out: List[Record] = []
    _add_parents(draw, record, out, _type_by_table())
    return out


def _add_parents(draw: DrawFn, child: Record, out: List[Record], tables: Dict[str, type]) -> None:
    for ref in spec_of(child).references:
        values = tuple(getattr(child, name) for name in ref.fields)
        if any(v is None for v in values):
            continue
        target = tables[ref.target]
        if any(
            type(p) is target and tuple(getattr(p, n) for n in ref.target_fields) == values
            for p in out
        ):
            continue
        pinned = {name: st.just(v) for name, v in zip(ref.target_fields, values)}
        parent = draw(records(target, **pinned).filter(lambda p: not _breaks_unique(p, out)))
        _add_parents(draw, parent, out, tables)
        if _breaks_unique(parent, out):  # a grandparent took a unique value meanwhile
            reject()
        out.append(parent)


def _breaks_unique(candidate: Record, others: Sequence[Record]) -> bool:
    spec = spec_of(candidate)
    for group in spec.unique:
        values = tuple(getattr(candidate, n) for n in group)
        if any(v is None for v in values):
            continue
        for other in others:
            if (
                type(other) is type(candidate)
                and other.key != candidate.key
                and tuple(getattr(other, n) for n in group) == values
            ):
                return True
    return False


# -- invalid values ---------------------------------------------------------------------


class _NoOffset(dt.tzinfo):
    """A tzinfo that knows no offset: a datetime carrying it is still naive."""

    def utcoffset(self, value: Any) -> None:
        return None

    def dst(self, value: Any) -> None:
        return None

    def tzname(self, value: Any) -> str:
        return "unknown"


_WITH_NUL: SearchStrategy[str] = st.builds(lambda a, b: f"{a}\x00{b}", _TEXT, _TEXT)
_SURROGATES = ("\ud800", "a\udfffb", "\udc00한글")
_NOT_TEXT = (1, 1.5, True, b"bytes", ["list"], uuid.UUID(int=1))
_BAD_STOCK_CODES = ("", "5930", "0059300", "abcdef", "00593o", " 05930", "삼성전자00", "005930\n",
                    "005 30", "\uff1005930")
_BAD_JSON_LEAVES = (
    math.nan, -math.nan, math.inf, -math.inf, -0.0, "a\x00b", "\ud800", b"bytes", (1, 2),
    frozenset({1}), decimal.Decimal("1.5"), dt.date(2026, 1, 1), uuid.UUID(int=1), object(),
)
_BAD_JSON_KEYS = (1, 1.5, None, True, ("t",), "a\x00b", "\udfff")


def _inside_json(bad: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """``bad`` placed somewhere inside otherwise valid JSON."""

    def nest(inner: SearchStrategy[Any]) -> SearchStrategy[Any]:
        return st.one_of(
            st.builds(lambda items, x, i: [*items[:i], x, *items[i:]],
                      st.lists(_JSON, max_size=3), inner, st.integers(0, 3)),
            st.builds(lambda d, k, x: {**d, k: x}, st.dictionaries(_TEXT, _JSON, max_size=3),
                      _TEXT, inner),
        )

    return st.recursive(bad, nest, max_leaves=3)


def _bad_key_json() -> SearchStrategy[Any]:
    return _inside_json(
        st.builds(lambda d, k, x: {**d, k: x}, st.dictionaries(_TEXT, _JSON, max_size=3),
                  st.sampled_from(_BAD_JSON_KEYS), _JSON)
    )


def _invalid_by_kind(kind: Kind) -> SearchStrategy[Any]:
    if kind is Kind.TEXT:
        return st.one_of(_WITH_NUL, st.sampled_from(_SURROGATES), st.sampled_from(_NOT_TEXT))
    if kind is Kind.INT:
        return st.one_of(
            st.sampled_from((INT64_MAX + 1, INT64_MIN - 1, 2**64, -(2**100), True, False, 1.0,
                             "1", decimal.Decimal(1))),
            st.integers(min_value=INT64_MAX + 1),
            st.integers(max_value=INT64_MIN - 1),
        )
    if kind is Kind.FLOAT:  # ints that fit a float are not here: a float field converts them
        return st.sampled_from((math.nan, -math.nan, float("nan"), "1.0", True, False,
                                decimal.Decimal("1.5"), complex(1, 0), 10**400, -(2**1024)))
    if kind is Kind.BOOL:
        return st.sampled_from((0, 1, 1.0, "true", "False", b"\x01"))
    if kind is Kind.DATE:
        return st.one_of(
            st.datetimes(),
            st.datetimes(timezones=st.just(_UTC)),
            st.sampled_from(("2026-01-10", 20260110, dt.time(9, 0))),
        )
    if kind is Kind.TIMESTAMP:
        return st.one_of(
            st.datetimes(),  # naive
            st.datetimes(timezones=st.just(_NoOffset())),
            _DATES,
            st.sampled_from(("2026-01-10T09:00:00+09:00", 1767225600, 1767225600.0)),
            # aware, but the UTC value falls outside years 1-9999
            st.datetimes(max_value=dt.datetime(1, 1, 1, 13, 59, 59),
                         timezones=st.just(dt.timezone(dt.timedelta(hours=14)))),
            st.datetimes(min_value=dt.datetime(9999, 12, 31, 12, 0, 0),
                         timezones=st.just(dt.timezone(-dt.timedelta(hours=12)))),
        )
    if kind is Kind.JSON:
        return st.one_of(_inside_json(st.sampled_from(_BAD_JSON_LEAVES)), _bad_key_json())
    if kind is Kind.UUID:
        return st.sampled_from(("00000000-0000-0000-0000-000000000000", 0, b"\x00" * 16))
    raise AssertionError(f"no invalid values for {kind}")


def invalid_values(field: FieldSpec) -> SearchStrategy[Any]:
    """Values ``field`` must reject: NaN, NUL in text, naive datetimes, ints beyond
    int64, JSON with NaN/inf/-0.0 or non-str keys, wrong types, ``None`` when the
    field is not nullable, strings outside its closed set or failing its checks."""
    options = [_invalid_by_kind(field.kind)]
    if not field.nullable:
        options.append(st.none())
    if field.choices is not None:
        options.append(_TEXT.filter(lambda v: v not in (field.choices or ())))
    if field.checks:
        candidates = (*_BAD_STOCK_CODES, *_HARD_TEXT, *_HARD_INTS, *_HARD_FLOATS)
        failing = [
            v for v in candidates
            if _KIND_CHECKS[field.kind](v) is None and not _passes(field.checks)(v)
        ]
        if failing:
            options.append(st.sampled_from(failing))
    return st.one_of(*options)

