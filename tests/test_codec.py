"""The codec reads the same text forms on every Python version, and its errors say for
each bad value where it is, what is wrong with it and what it was.

Run on every supported Python (nox): each version must accept and reject exactly what
the version-independent reference below does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional, Union

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from storekit import Codec, RecordValidationError, make_converter
from storekit.records import AlertStatistics, ScreeningHistory
from storekit.sql import UTCTimestampText

CODEC = Codec()
CONVERTER = make_converter()
STORED_AS = UTCTimestampText().process_bind_param  # the text SQLite stores a timestamp as
UTC = dt.timezone.utc
KST = dt.timezone(dt.timedelta(hours=9))
_US = dt.timedelta(microseconds=1)
DATE_FORM = "expected date text 'YYYY-MM-DD'"
TIMESTAMP_FORM = "expected timestamp text 'YYYY-MM-DDTHH:MM[:SS[.fff|.ffffff]][+HH:MM[:SS]]'"


def _row(record_type: type = ScreeningHistory, **kw: Any) -> Dict[str, Any]:
    if record_type is AlertStatistics:
        row = Codec.to_row(AlertStatistics(date=dt.date(2026, 1, 10)))
    else:
        row = Codec.to_row(
            ScreeningHistory(stock_code="005930", stock_name="삼성전자", screening_date=dt.date(2026, 1, 10))
        )
    row.update(kw)
    return row


def _errors(row: Dict[str, Any], record_type: type = ScreeningHistory) -> RecordValidationError:
    with pytest.raises(RecordValidationError) as info:
        CODEC.from_row(row, record_type)
    return info.value


# -- errors name the path, the reason and the value ------------------------------------------


def test_from_row_error_lines_name_path_reason_and_value() -> None:
    error = _errors(_row(screening_date="2026-13-10", passed=2))
    # the example of docs/explanation/type-policy.rst, "Reading back"
    assert str(error) == (
        "invalid ScreeningHistory (2 fields):\n"
        "  - ScreeningHistory.$.screening_date: invalid date: month must be in 1..12 (got '2026-13-10')\n"
        "  - ScreeningHistory.$.passed: expected a bool or 0/1 (got 2)"
    )
    assert [(e.field, e.reason, e.value) for e in error.errors] == [
        ("$.screening_date", "invalid date: month must be in 1..12", "2026-13-10"),
        ("$.passed", "expected a bool or 0/1", 2),
    ]


@pytest.mark.parametrize(
    ("record_type", "column", "value", "reason"),
    [
        (ScreeningHistory, "overall_score", "abc", "expected a number, not str"),
        (ScreeningHistory, "stock_name", 5, "expected text, not int"),
        (ScreeningHistory, "passed", "yes", "expected a bool or 0/1, not str"),
        (ScreeningHistory, "passed", -1, "expected a bool or 0/1"),
        (ScreeningHistory, "screening_date", dt.datetime(2026, 1, 10, tzinfo=UTC), "expected a date, not a datetime"),
        (ScreeningHistory, "screening_date", 20260110, "expected a date or 'YYYY-MM-DD', not int"),
        (ScreeningHistory, "screening_date", "20260110", DATE_FORM),
        (ScreeningHistory, "screening_date", "2026-02-30", "invalid date: day is out of range for month"),
        (ScreeningHistory, "created_at", 1768035600, "expected a datetime or timestamp text, not int"),
        (ScreeningHistory, "created_at", "2026-01-10T09:00:00Z", TIMESTAMP_FORM),
        (ScreeningHistory, "created_at", "2026-13-10T09:00:00+00:00", "invalid timestamp: month must be in 1..12"),
        (AlertStatistics, "total_alerts", True, "expected an int, not bool"),
    ],
)
def test_from_row_error_gives_the_hooks_reason_and_the_value(
    record_type: type, column: str, value: Any, reason: str
) -> None:
    (error,) = _errors(_row(record_type, **{column: value}), record_type).errors
    assert (error.field, error.value) == (f"$.{column}", value)
    assert error.reason.startswith(reason)
    assert str(error) == f"{record_type.__name__}.$.{column}: {error.reason} (got {value!r})"


def test_from_row_error_shows_a_long_value_cut_to_80_characters() -> None:
    value = "2026-01-10" + "x" * 10_000
    (error,) = _errors(_row(screening_date=value)).errors
    assert error.value == value  # kept whole on the error, for code that handles it
    assert str(error) == f"ScreeningHistory.$.screening_date: {DATE_FORM} (got {repr(value)[:77]}...)"


def test_from_row_error_names_a_missing_field_without_a_value() -> None:
    row = _row()
    del row["stock_name"]
    (error,) = _errors(row).errors
    assert str(error) == "ScreeningHistory.$.stock_name: required field missing"


def test_from_row_error_names_the_extra_fields() -> None:
    (error,) = _errors(_row(nope=1, also=2)).errors
    assert str(error) == "ScreeningHistory.$: extra fields found (got ['also', 'nope'])"


def test_from_row_reports_every_bad_field_at_once() -> None:
    error = _errors(_row(overall_score="abc", screening_date="2026-W02-6", passed="yes", created_at="now"))
    assert error.fields == ("$.screening_date", "$.overall_score", "$.passed", "$.created_at")
    assert all("(got " in str(e) for e in error.errors)


def test_from_row_still_rejects_naive_timestamp_text() -> None:
    (error,) = _errors(_row(created_at="2026-01-10T09:00:00")).errors
    assert error.field == "$.created_at"
    assert error.reason.startswith("timestamp must be timezone-aware")


# -- the accepted text forms -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day"),
    [("2026-01-10", dt.date(2026, 1, 10)), ("0001-01-01", dt.date.min), ("9999-12-31", dt.date.max)],
)
def test_date_text_yyyy_mm_dd_is_read(text: str, day: dt.date) -> None:
    assert CONVERTER.structure(text, dt.date) == day


@pytest.mark.parametrize(
    "text",
    [
        "20260110",  # basic format: read by fromisoformat from Python 3.11 on
        "2026-W02-6",  # ISO week date: likewise
        "2026W026",
        "2026-010",  # ordinal date
        "2026-1-10",
        "26-01-10",
        "+2026-01-10",
        " 2026-01-10",
        "2026-01-10\n",
        "2026/01/10",
        "2026-01-10T00:00",
        "\uff12\uff10\uff12\uff16-01-10",  # full-width digits
        "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0661\u0660",  # Arabic-Indic digits
        "",
    ],
)
def test_date_text_of_any_other_form_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{DATE_FORM}$"):
        CONVERTER.structure(text, dt.date)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-10T09:00:00.123456+00:00", dt.datetime(2026, 1, 10, 9, 0, 0, 123456, UTC)),  # as SQLite stores it
        ("2026-01-10 09:00:00.123456+00:00", dt.datetime(2026, 1, 10, 9, 0, 0, 123456, UTC)),
        ("2026-01-10T09:00+09:00", dt.datetime(2026, 1, 10, 9, 0, tzinfo=KST)),
        ("2026-01-10T09:00:59+09:00", dt.datetime(2026, 1, 10, 9, 0, 59, tzinfo=KST)),
        ("2026-01-10T09:00:00.123+09:00", dt.datetime(2026, 1, 10, 9, 0, 0, 123000, KST)),
        ("2026-01-10T23:59:59.999999-00:00", dt.datetime(2026, 1, 10, 23, 59, 59, 999999, UTC)),
        (
            "2026-01-10T09:00-05:30",
            dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        ),
        ("2026-01-10T09:00+05:30:15", dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(seconds=19815)))),
        ("2026-01-10T09:00+23:59:59", dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(seconds=86399)))),
        ("2026-01-10T09:00:00", dt.datetime(2026, 1, 10, 9, 0)),  # naive: record validation rejects it
    ],
)
def test_timestamp_text_of_the_documented_forms_is_read(text: str, expected: dt.datetime) -> None:
    value = CONVERTER.structure(text, dt.datetime)
    assert (value, value.utcoffset()) == (expected, expected.utcoffset())


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-10T09:00:00Z",  # read by fromisoformat from Python 3.11 on
        "2026-01-10T09:00:00.1+00:00",  # likewise: fractions of other than 3 or 6 digits
        "2026-01-10T09:00:00.1234+00:00",
        "2026-01-10T09:00:00.1234567+00:00",
        "2026-01-10T09+00:00",  # likewise: an hour without minutes
        "2026-01-10T0900+00:00",
        "20260110T090000+0000",
        "2026-W02-6T09:00+00:00",
        "2026-01-10T09:00:00+0900",
        "2026-01-10T09:00:00+09",
        "2026-01-10T09:00:00+09:00:00.123456",  # an offset fraction, which Python reads...
        "2000-01-01T00:00:00+00:00:00.000001",  # ...but turns into UTC when under a second
        "2026-01-10T09:00:00.123456+09:00:00.1",
        "2026-01-10t09:00+00:00",  # 3.9 takes any separator; storekit 'T' or a space
        "2026-01-10_09:00+00:00",
        "2026-01-10T24:00:00+00:00",
        "2026-01-10T09:60+00:00",
        "2026-01-10T09:00:60+00:00",  # no leap seconds
        "2026-01-10T09:00:00+24:00",
        "2026-01-10T09:00:00+09:60",
        "2026-01-10",  # a date is not a timestamp
        "2026-01-10T",
        "2026-01-10T09:00:00+00:00 ",
        "\uff12\uff10\uff12\uff16-01-10T09:00+00:00",
        "",
    ],
)
def test_timestamp_text_of_any_other_form_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"^expected timestamp text "):
        CONVERTER.structure(text, dt.datetime)


# -- properties ------------------------------------------------------------------------


@given(st.dates())
def test_any_date_reads_back_from_its_isoformat(day: dt.date) -> None:
    assert CONVERTER.structure(day.isoformat(), dt.date) == day


# any fixed offset: in whole seconds (``+HH:MM:SS``), and down to the microsecond
_OFFSETS = st.integers(-86399, 86399).map(lambda s: dt.timedelta(seconds=s))
_ANY_OFFSETS = st.timedeltas(min_value=dt.timedelta(hours=-24) + _US, max_value=dt.timedelta(hours=24) - _US)
_AWARE = st.datetimes(timezones=st.builds(dt.timezone, _OFFSETS))
_ANY_AWARE = st.datetimes(timezones=st.builds(dt.timezone, _ANY_OFFSETS))
_TIMESPECS = st.sampled_from(["auto", "minutes", "seconds", "milliseconds", "microseconds"])


@given(st.datetimes(dt.datetime(2, 1, 1), dt.datetime(9998, 12, 31), timezones=st.builds(dt.timezone, _ANY_OFFSETS)))
def test_any_timestamp_reads_back_from_its_storage_text(value: dt.datetime) -> None:
    read = CONVERTER.structure(STORED_AS(value, None), dt.datetime)
    assert (read, read.utcoffset()) == (value, dt.timedelta(0))


def _truncated(value: dt.datetime, timespec: str) -> dt.datetime:
    if timespec == "minutes":
        return value.replace(second=0, microsecond=0)
    if timespec == "seconds":
        return value.replace(microsecond=0)
    if timespec == "milliseconds":
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


@given(_AWARE | st.datetimes(), st.sampled_from(["T", " "]), _TIMESPECS)
def test_any_timestamp_reads_back_from_its_isoformat(value: dt.datetime, sep: str, timespec: str) -> None:
    read = CONVERTER.structure(value.isoformat(sep, timespec), dt.datetime)
    expected = _truncated(value, timespec)
    assert (read, read.tzinfo is None, read.utcoffset()) == (expected, value.tzinfo is None, value.utcoffset())


# A reference for the rule written without regular expressions or fromisoformat: it
# gives the value a text must read as, "form" (not one of the forms) or "range" (the
# form, but no such day). The codec must agree with it on any Python.

_Expected = Union[dt.date, dt.datetime, str]


def _number(text: str, width: int, top: int = 9999) -> Optional[int]:
    if len(text) != width or any(c not in "0123456789" for c in text):
        return None
    number = int(text)
    return number if number <= top else None


def _reference_date(text: str) -> _Expected:
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return "form"
    year, month, day = _number(text[:4], 4), _number(text[5:7], 2, 99), _number(text[8:], 2, 99)
    if year is None or month is None or day is None:
        return "form"
    try:
        return dt.date(year, month, day)
    except ValueError:
        return "range"


def _clock(text: str, fractions: tuple[int, ...]) -> Optional[tuple[int, int, int, int, str]]:
    """``HH:MM[:SS[.fraction]]`` at the start of ``text``: the parts and the rest of the text."""
    hour, minute = _number(text[:2], 2, 23), _number(text[3:5], 2, 59)
    if hour is None or minute is None or text[2:3] != ":":
        return None
    second, micro, rest = 0, 0, text[5:]
    if rest.startswith(":"):
        second_ = _number(rest[1:3], 2, 59)
        if second_ is None:
            return None
        second, rest = second_, rest[3:]
        if rest.startswith("."):
            digits = len(rest) - len(rest[1:].lstrip("0123456789")) - 1
            if digits not in fractions:
                return None
            micro, rest = int(rest[1 : 1 + digits]) * 10 ** (6 - digits), rest[1 + digits :]
    return hour, minute, second, micro, rest


def _reference_timestamp(text: str) -> _Expected:
    day = _reference_date(text[:10])
    clock = _clock(text[11:], (3, 6))
    if day == "form" or text[10:11] not in ("T", " ") or clock is None:
        return "form"
    hour, minute, second, micro, rest = clock
    tz: Optional[dt.timezone] = None
    if rest:
        offset = _clock(rest[1:], ()) if rest[0] in "+-" else None  # no fraction
        if offset is None or offset[4]:
            return "form"
        sign = -1 if rest[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=offset[0], minutes=offset[1], seconds=offset[2]))
    if not isinstance(day, dt.date):
        return day
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, micro, tz)


_CHARS = "0123456789-:.+ TtZW\u0663"


def _mutate(text: str, at: int, how: str, char: str) -> str:
    at %= len(text) + 1
    if how == "delete":
        return text[:at] + text[at + 1 :]
    if how == "insert":
        return text[:at] + char + text[at:]
    return text[:at] + char + text[at + 1 :]


def _near(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Texts of the forms, texts one edit away from them, and strings of their characters."""
    edits = st.tuples(
        texts, st.integers(0, 40), st.sampled_from(["delete", "insert", "replace"]), st.sampled_from(_CHARS)
    )
    return st.one_of(texts, edits.map(lambda e: _mutate(*e)), st.text(_CHARS, max_size=40))


_TIMESTAMP_TEXTS = st.builds(
    dt.datetime.isoformat, _AWARE | _ANY_AWARE | st.datetimes(), st.sampled_from(["T", " "]), _TIMESPECS
)


def _read(text: str, tp: type) -> _Expected:
    try:
        return CONVERTER.structure(text, tp)
    except ValueError as exc:
        if str(exc).startswith("expected "):
            return "form"
        assert str(exc).startswith("invalid "), exc
        return "range"


@given(_near(st.dates().map(dt.date.isoformat)))
@example("2026-13-10")
@example("20260110")
@example("2026-W02-6")
@example("2026-010")
def test_date_text_is_read_exactly_as_the_reference_rule_says(text: str) -> None:
    assert _read(text, dt.date) == _reference_date(text)


@given(_near(_TIMESTAMP_TEXTS))
@example("2026-01-10T09:00:00Z")
@example("2026-01-10T09:00:00.1+00:00")
@example("2026-13-10T09:00+00:00")
@example("2026-01-10T09:00+05:30:15.000001")
@example("2000-01-01T00:00:00+00:00:00.000001")
def test_timestamp_text_is_read_exactly_as_the_reference_rule_says(text: str) -> None:
    expected, read = _reference_timestamp(text), _read(text, dt.datetime)
    assert read == expected
    if isinstance(read, dt.datetime) and isinstance(expected, dt.datetime):
        assert read.utcoffset() == expected.utcoffset()
