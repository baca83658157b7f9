"""What the round trips stand on: the strategies cover every record type (with its
parents) and generate the hard values, and ``same_record`` is strict.

The round trips themselves, on every backend, are the conformance kit's
(:mod:`storekit.testing.suite.roundtrip`, run by ``tests/test_conformance.py``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from storekit.records import Kind, LearningMetric, Record, all_record_types, spec_of
from storekit.records._declare import stock_code
from storekit.testing import parents_of, record_diff, records, same_record, values_for

RECORD_TYPES = all_record_types()


def _name(record_type: type) -> str:
    return record_type.__name__


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=_name)
@given(data=st.data())
def test_every_record_type_has_a_working_strategy(record_type: type, data: st.DataObject) -> None:
    rec: Record = data.draw(records(record_type))
    assert type(rec) is record_type
    parents = data.draw(parents_of(rec))
    have = {(spec_of(p).table, p.key) for p in parents}
    for ref in spec_of(rec).references:
        values = tuple(getattr(rec, n) for n in ref.fields)
        if all(v is not None for v in values):
            assert (ref.target, values) in have, f"no parent for {ref}"
    for i, parent in enumerate(parents):  # ancestors first: each parent's own parents precede it
        for ref in spec_of(parent).references:
            values = tuple(getattr(parent, n) for n in ref.fields)
            if all(v is not None for v in values):
                earlier = {(spec_of(p).table, p.key) for p in parents[:i]}
                assert (ref.target, values) in earlier


def _field_of(kind: Kind) -> Any:
    fields = (f for t in RECORD_TYPES for f in spec_of(t).fields)
    return next(f for f in fields if f.kind is kind and not f.checks and f.choices is None)


def _is_negative_zero(x: Any) -> bool:
    return isinstance(x, float) and x == 0.0 and math.copysign(1.0, x) < 0


def _json_has(value: Any, pred: Any) -> bool:
    if pred(value):
        return True
    if isinstance(value, dict):
        return any(_json_has(k, pred) or _json_has(v, pred) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has(v, pred) for v in value)
    return False


HARD_VALUES = {
    "-0.0": (Kind.FLOAT, _is_negative_zero),
    "inf": (Kind.FLOAT, lambda x: x == math.inf),
    "-inf": (Kind.FLOAT, lambda x: x == -math.inf),
    "5e-324": (Kind.FLOAT, lambda x: x == 5e-324),
    "huge float": (Kind.FLOAT, lambda x: x is not None and 1e300 <= abs(x) < math.inf),
    "korean text": (Kind.TEXT, lambda x: isinstance(x, str) and any("가" <= c <= "힣" for c in x)),
    "emoji text": (Kind.TEXT, lambda x: isinstance(x, str) and any(ord(c) >= 0x1F300 for c in x)),
    "empty text": (Kind.TEXT, lambda x: x == ""),
    "int64 max": (Kind.INT, lambda x: x == 2**63 - 1),
    "int64 min": (Kind.INT, lambda x: x == -(2**63)),
    "date.min": (Kind.DATE, lambda x: x == dt.date.min),
    "date.max": (Kind.DATE, lambda x: x == dt.date.max),
    "year 1 at +14:00": (
        Kind.TIMESTAMP,
        lambda x: x is not None and x.year == 1 and x.utcoffset() == dt.timedelta(hours=14),
    ),
    "year 9999 at -05:30": (
        Kind.TIMESTAMP,
        lambda x: x is not None and x.year == 9999
        and x.utcoffset() == -dt.timedelta(hours=5, minutes=30),
    ),
    "+09:00": (Kind.TIMESTAMP, lambda x: x is not None and x.utcoffset() == dt.timedelta(hours=9)),
    "json korean key": (
        Kind.JSON,
        lambda x: _json_has(x, lambda v: isinstance(v, dict) and any("가" <= c <= "힣" for k in v for c in k)),
    ),
    "json int beyond int64": (Kind.JSON, lambda x: _json_has(x, lambda v: type(v) is int and v > 2**63)),
    "json 1e16": (Kind.JSON, lambda x: _json_has(x, lambda v: type(v) is float and v == 1e16)),
    "json 1e-7": (Kind.JSON, lambda x: _json_has(x, lambda v: type(v) is float and v == 1e-7)),
    "json nested list in dict": (
        Kind.JSON,
        lambda x: _json_has(x, lambda v: isinstance(v, dict) and any(isinstance(i, list) for i in v.values())),
    ),
}


FIND = settings(max_examples=5000, database=None, phases=[Phase.generate])
"""Only whether a value is generated matters: no shrinking."""


@pytest.mark.parametrize("name", sorted(HARD_VALUES))
def test_the_strategies_generate_the_hard_values(name: str) -> None:
    kind, wanted = HARD_VALUES[name]
    find(values_for(_field_of(kind)), wanted, settings=FIND)


def test_stock_code_fields_get_six_character_codes() -> None:
    code_field = next(f for t in RECORD_TYPES for f in spec_of(t).fields if stock_code in f.checks)
    find(values_for(code_field), lambda v: v == "37550L", settings=FIND)
    find(values_for(code_field), lambda v: v[0] == "0" and v != "000000", settings=FIND)


def test_same_record_is_strict_about_what_storage_could_lose() -> None:
    at = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    base = LearningMetric(id=1, date=dt.date(2026, 1, 10), metric_type="performance", metric_name="avg_max_gain",
                          value=0.0, metadata={"수익률": [1, 2.0, None]}, created_at=at)
    assert same_record(base, attrs.evolve(base, created_at=at.astimezone(dt.timezone.utc)))  # one instant
    assert same_record(attrs.evolve(base, value=math.inf), attrs.evolve(base, value=math.inf))
    for changed in (
        attrs.evolve(base, value=-0.0),
        attrs.evolve(base, metadata={"수익률": [1.0, 2.0, None]}),  # int became float
        attrs.evolve(base, metadata={"수익률": [True, 2.0, None]}),  # int became bool
        attrs.evolve(base, metadata={"수익률": [1, 2.0]}),
        attrs.evolve(base, created_at=at + dt.timedelta(microseconds=1)),
    ):
        assert not same_record(base, changed)
        assert record_diff(base, changed).startswith("LearningMetric.")
    diff = record_diff(base, attrs.evolve(base, metadata={"수익률": [1.0, 2.0, None]}))
    assert diff == "LearningMetric.metadata.수익률[0]: 1 (int) != 1.0 (float)"
