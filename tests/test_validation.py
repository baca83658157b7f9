"""The type policy is enforced when a record is made, identically for every record type,
so bad input is rejected before anything can be written; and the codec reports every
bad field of a row by its path."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Dict, Optional

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storekit import Codec, RecordValidationError
from storekit.records import (
    ErrorEvent,
    Feedback,
    LearningMetric,
    PerformanceTracking,
    ScreeningHistory,
    SystemAlert,
    all_record_types,
    spec_of,
)
from storekit.testing import invalid_values, records, same_record

RECORD_TYPES = all_record_types()
DAY = dt.date(2026, 1, 10)
KST = dt.timezone(dt.timedelta(hours=9))


def _name(record_type: type) -> str:
    return record_type.__name__


def screening(**kw: Any) -> ScreeningHistory:
    values: Dict[str, Any] = dict(stock_code="005930", stock_name="삼성전자", screening_date=DAY)
    values.update(kw)
    return ScreeningHistory(**values)


# -- every field of every record type -------------------------------------------------------


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=_name)
@given(data=st.data())
def test_invalid_values_are_rejected_all_at_once_naming_each_field(
    record_type: type, data: st.DataObject
) -> None:
    spec = spec_of(record_type)
    rec = data.draw(records(record_type), label="valid record")
    broken = data.draw(
        st.lists(st.sampled_from(spec.fields), min_size=1, max_size=4, unique_by=lambda f: f.name),
        label="fields to break",
    )
    bad = {f.name: data.draw(invalid_values(f), label=f.name) for f in broken}
    with pytest.raises(RecordValidationError) as info:
        attrs.evolve(rec, **bad)
    expected = tuple(f.name for f in spec.fields if f.name in bad)  # declaration order
    assert info.value.fields == expected
    assert all(e.record_type == spec.name for e in info.value.errors)
    for name in expected:
        assert f"{spec.name}.{name}:" in str(info.value)


# -- each rule of the policy, by example -----------------------------------------------------


class NoOffset(dt.tzinfo):
    """A tzinfo that gives no offset: a datetime with it is naive in all but name."""

    def utcoffset(self, value: Optional[dt.datetime]) -> None:
        return None


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("overall_score", math.nan, "NaN"),
        ("overall_score", -math.nan, "NaN"),
        ("overall_score", "1.5", "expected float"),
        ("overall_score", True, "expected float"),
        ("stock_name", "삼성\x00전자", "NUL"),
        ("stock_name", "\ud800", "Unicode"),
        ("stock_name", None, "required"),
        ("created_at", dt.datetime(2026, 1, 10, 9, 0), "timezone-aware"),
        ("created_at", dt.datetime(2026, 1, 10, 9, 0, tzinfo=NoOffset()), "timezone-aware"),
        ("created_at", dt.datetime(1, 1, 1, 8, 0, tzinfo=KST), "outside years 1-9999"),
        ("created_at", dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(-dt.timedelta(hours=5))),
         "outside years 1-9999"),
        ("screening_date", dt.datetime(2026, 1, 10, tzinfo=KST), "expected datetime.date"),
        ("screening_date", "2026-01-10", "expected datetime.date"),
        ("stock_code", "5930", "stock code"),
        ("stock_code", "00593o", "stock code"),
        ("stock_code", "삼성전자00", "stock code"),
        ("passed", 1, "expected bool"),
    ],
)
def test_screening_history_rejects(field: str, value: Any, reason: str) -> None:
    with pytest.raises(RecordValidationError, match=reason) as info:
        screening(**{field: value})
    assert info.value.fields == (field,)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, True, 1.0])
def test_ints_are_signed_64_bit(value: Any) -> None:
    with pytest.raises(RecordValidationError) as info:
        LearningMetric(id=value, date=DAY, metric_type="performance", metric_name="avg_max_gain", value=1.0)
    assert info.value.fields == ("id",)


def test_int64_bounds_are_accepted() -> None:
    for value in (2**63 - 1, -(2**63)):
        assert _learning_metric(id=value).id == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"a": [1, {"b": math.nan}]}, r"at \$\.a\[1\]\.b: JSON numbers must be finite"),
        ([math.inf], "finite"),
        ({"수익률": -0.0}, "-0.0"),
        ({1: "x"}, "keys must be str"),
        ({"k\x00": 1}, "NUL"),
        ({"k": (1, 2)}, "tuple is not a JSON value"),
    ],
)
def test_json_must_be_finite_without_negative_zero(value: Any, reason: str) -> None:
    with pytest.raises(RecordValidationError, match=reason) as info:
        LearningMetric(date=DAY, metric_type="performance", metric_name="avg_max_gain", value=1.0, metadata=value)
    assert info.value.fields == ("metadata",)


def test_closed_sets_are_enforced() -> None:
    with pytest.raises(RecordValidationError, match="must be one of info, warning") as info:
        SystemAlert(alert_id="a", timestamp=dt.datetime.now(KST), level="fatal", category="api",
                    title="t", message="m", component="c")
    assert info.value.fields == ("level",)


def _learning_metric(**kw: Any) -> LearningMetric:
    values: Dict[str, Any] = dict(date=DAY, metric_type="performance", metric_name="avg_max_gain", value=1.0)
    values.update(kw)
    return LearningMetric(**values)


def _error_event(**kw: Any) -> ErrorEvent:
    values: Dict[str, Any] = dict(timestamp=dt.datetime.now(KST), error_type="unknown", severity="low",
                                  component="scheduler", message="m")
    values.update(kw)
    return ErrorEvent(**values)


@pytest.mark.parametrize(
    ("make", "field", "choices", "bad"),
    [
        (_learning_metric, "metric_type", ("performance",), "learning"),
        (_learning_metric, "metric_name", ("screening_win_rate", "best_sector", "worst_sector_performance"),
         "avg_max_gains"),
        (_error_event, "error_type", ("api_timeout", "unknown", "system_disk_full"), "timeout"),
    ],
)
def test_the_legacy_codes_closed_sets_are_enforced(make: Any, field: str, choices: Any, bad: str) -> None:
    for value in choices:  # values LEGACY.md lists are accepted
        assert getattr(make(**{field: value}), field) == value
    with pytest.raises(RecordValidationError, match=f"must be one of .*\\(got {bad!r}\\)") as info:
        make(**{field: bad})
    assert info.value.fields == (field,)


def test_every_failing_field_is_reported_at_once() -> None:
    with pytest.raises(RecordValidationError) as info:
        screening(stock_code="5930", stock_name="a\x00b", overall_score=math.nan,
                  created_at=dt.datetime(2026, 1, 1))
    assert info.value.fields == ("stock_code", "stock_name", "overall_score", "created_at")
    assert "4 fields" in str(info.value)


@pytest.mark.parametrize(
    ("make", "fields"),
    [
        (lambda: LearningMetric(date=DAY, metric_type="performance", metric_name="avg_max_gain"), ("value",)),
        (lambda: _learning_metric(value_text="x"), ("value",)),
        (lambda: _learning_metric(metric_type=""), ("metric_type",)),
        (lambda: PerformanceTracking(source="learning", stock_code="005930", tracking_date=DAY),
         ("entry_price",)),
        (lambda: PerformanceTracking(source="accuracy", stock_code="005930", tracking_date=DAY,
                                     entry_price=1.0, is_active=True),
         ("entry_price", "is_active")),
        (lambda: Feedback(prediction_id="x", stock_code="005930", prediction_date=DAY,
                          predicted_probability=0.5, predicted_class=1, model_name="ensemble"),
         ("prediction_id",)),
    ],
)
def test_cross_field_rules_name_their_fields(make: Any, fields: Any) -> None:
    with pytest.raises(RecordValidationError) as info:
        make()
    assert info.value.fields == fields


# -- the codec ---------------------------------------------------------------------------

CODEC = Codec()


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=_name)
@given(data=st.data())
def test_codec_rows_structure_back_to_the_same_record(record_type: type, data: st.DataObject) -> None:
    rec = data.draw(records(record_type))
    assert same_record(CODEC.from_row(Codec.to_row(rec), record_type), rec)


def _row(**kw: Any) -> Dict[str, Any]:
    row = Codec.to_row(screening())
    row.update(kw)
    return row


def test_codec_names_the_path_of_every_mistyped_field() -> None:
    with pytest.raises(RecordValidationError) as info:
        CODEC.from_row(_row(overall_score="abc", screening_date="2026-13-01", passed="yes"), ScreeningHistory)
    assert set(info.value.fields) == {"$.overall_score", "$.screening_date", "$.passed"}


def test_codec_rejects_unknown_columns() -> None:
    with pytest.raises(RecordValidationError, match="extra"):
        CODEC.from_row(_row(nope=1), ScreeningHistory)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("overall_score", math.nan),
        ("stock_name", "a\x00b"),
        ("created_at", "2026-01-10T09:00:00"),
        ("stock_code", "5930"),
    ],
)
def test_codec_names_the_path_of_a_policy_violation(column: str, value: Any) -> None:
    with pytest.raises(RecordValidationError) as info:
        CODEC.from_row(_row(**{column: value}), ScreeningHistory)
    assert info.value.fields == (f"$.{column}",)
