"""How a record type is declared, and what is derived from the declaration.

A record is an attrs class that subclasses :class:`Record` and is decorated with
:func:`record`. The decorator reads the field annotations once and derives a
:class:`RecordSpec`: the storage kind of every field, nullability, the natural
key, indexes, references and the legacy tables the record comes from. Table
definitions, codecs, validation and hypothesis strategies are all built from
that spec, never written again per table.

Annotation rules (the whole type policy):

=====================  =============  ==========================================
annotation             kind           what is accepted
=====================  =============  ==========================================
``str``                ``text``       any str without NUL and without lone surrogates
``int``                ``int``        a signed 64-bit int (``bool`` is not an int here)
``float``              ``float``      a finite or infinite float, ``-0.0`` kept; ints
                                      are converted; NaN is rejected (use ``None``)
``bool``               ``bool``       ``True``/``False``
``datetime.date``      ``date``       a date (not a datetime)
``datetime.datetime``  ``timestamp``  a timezone-aware datetime whose UTC value lies
                                      in years 1-9999; stored as an instant
``Json``               ``json``       dict (str keys), list, str, int, finite float
                                      (not ``-0.0``), bool or ``None``, nested
``uuid.UUID``          ``uuid``       a UUID
``Optional[X]``        as ``X``       ``None`` also accepted; stored as NULL
=====================  =============  ==========================================
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import operator
import re
import sys
import uuid
from typing import (
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import attrs
from typing_extensions import dataclass_transform

from ..errors import FieldError, RecordValidationError

__all__ = [
    "Check",
    "FieldSpec",
    "Index",
    "Json",
    "Kind",
    "LegacySource",
    "Record",
    "RecordSpec",
    "Reference",
    "field",
    "record",
    "registered_record_types",
    "spec_of",
]

Json = Any
"""Annotation for a JSON field: any JSON value (stored as JSONB on PostgreSQL)."""

Check = Callable[[Any], Optional[str]]
"""A field check: returns ``None`` when the value is fine, else the reason."""

R = TypeVar("R", bound="Record")

INT64_MIN: int = -(2**63)
INT64_MAX: int = 2**63 - 1


class Kind(str, enum.Enum):
    """The storage kind of a field, derived from its annotation."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    JSON = "json"
    UUID = "uuid"


_KIND_BY_TYPE: Dict[Any, Kind] = {
    str: Kind.TEXT,
    int: Kind.INT,
    float: Kind.FLOAT,
    bool: Kind.BOOL,
    _dt.date: Kind.DATE,
    _dt.datetime: Kind.TIMESTAMP,
    uuid.UUID: Kind.UUID,
    Any: Kind.JSON,
}

_METADATA_KEY = "storekit"


@attrs.frozen
class _FieldOptions:
    checks: Tuple[Check, ...] = ()
    choices: Optional[Tuple[str, ...]] = None
    doc: str = ""


def field(
    *,
    default: Any = attrs.NOTHING,
    factory: Optional[Callable[[], Any]] = None,
    check: Union[Check, Sequence[Check], None] = None,
    choices: Optional[Iterable[str]] = None,
    doc: str = "",
) -> Any:
    """Declare a record field with storekit options.

    ``check`` is one check or several; ``choices`` closes the set of accepted
    strings (the closed sets the legacy code has); ``doc`` documents the field in
    the generated records reference.
    """
    checks: Tuple[Check, ...]
    if check is None:
        checks = ()
    elif callable(check):
        checks = (check,)
    else:
        checks = tuple(check)
    options = _FieldOptions(checks=checks, choices=tuple(choices) if choices is not None else None, doc=doc)
    if factory is not None:
        return attrs.field(factory=factory, metadata={_METADATA_KEY: options})
    return attrs.field(default=default, metadata={_METADATA_KEY: options})


@attrs.frozen
class FieldSpec:
    """One field of a record, as derived from its declaration."""

    name: str
    kind: Kind
    nullable: bool
    has_default: bool
    checks: Tuple[Check, ...] = ()
    choices: Optional[Tuple[str, ...]] = None
    doc: str = ""


@attrs.frozen
class LegacySource:
    """A legacy table the record comes from: file path relative to ``data/``, table name."""

    file: str
    table: str
    discriminator: Optional[Tuple[str, str]] = None
    """For shared record types: the (field, value) that marks rows of this source."""


@attrs.frozen
class Reference:
    """A foreign key: ``fields`` of this record reference ``target``'s key fields."""

    fields: Tuple[str, ...]
    target: str
    target_fields: Tuple[str, ...]


def _names(value: Iterable[str]) -> Tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Index:
    """An index declared with columns it also stores (a covering index), for
    ``@record(indexes=[...])`` next to plain field tuples.

    ``fields`` are searched and ordered as in a plain index; ``include`` are only stored,
    so a query reading nothing else answers from the index without visiting the table.
    PostgreSQL stores them with ``INCLUDE``; SQLite appends them to the indexed columns.
    The index keeps the name of a plain index on ``fields``.

    .. versionadded:: 0.1
    """

    fields: Tuple[str, ...] = attrs.field(converter=_names)
    include: Tuple[str, ...] = attrs.field(default=(), converter=_names)


@attrs.frozen
class RecordSpec:
    """Everything storekit derives from one record declaration."""

    cls: type
    table: str
    key: Tuple[str, ...]
    fields: Tuple[FieldSpec, ...]
    indexes: Tuple[Tuple[str, ...], ...] = ()
    unique: Tuple[Tuple[str, ...], ...] = ()
    references: Tuple[Reference, ...] = ()
    legacy: Tuple[LegacySource, ...] = ()
    doc: str = ""
    covering: Tuple[Index, ...] = ()
    """The indexes of :attr:`indexes` declared with included columns (:class:`Index`)."""
    partition_by: Optional[str] = None
    """The date or timestamp field a database that partitions tables splits this table
    by (PostgreSQL: monthly range partitions; SQLite ignores it). See
    ``docs/how-to/operations.rst``, "Partitioned tables"."""

    def include_of(self, index: Sequence[str]) -> Tuple[str, ...]:
        """The columns index ``index`` (its fields) also stores; ``()`` for a plain index."""
        for declared in self.covering:
            if declared.fields == tuple(index):
                return declared.include
        return ()

    @property
    def name(self) -> str:
        """The record class name."""
        return str(self.cls.__name__)

    @property
    def field_names(self) -> Tuple[str, ...]:
        """Field names in declaration order (the column order of derived tables)."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        """The :class:`FieldSpec` called ``name``; ``KeyError`` if there is none."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def key_getter(self) -> Callable[[Any], Any]:
        """A fast function from a record to a hashable value identifying its key
        (the key value itself for one-field keys, else the tuple)."""
        return operator.attrgetter(*self.key)

    def key_of(self, rec: Any) -> Tuple[Any, ...]:
        """The natural key values of ``rec``, in key order."""
        return tuple(getattr(rec, k) for k in self.key)


class Record:
    """Base class of every record type; validation runs after ``__init__``."""

    __slots__ = ()
    __storekit__: ClassVar[RecordSpec]

    def __attrs_post_init__(self) -> None:
        validate(self)

    @property
    def key(self) -> Tuple[Any, ...]:
        """The natural key of this record, as a tuple in declaration order."""
        return self.__storekit__.key_of(self)


_REGISTRY: List[type] = []


def registered_record_types() -> Tuple[type, ...]:
    """Every record type declared so far, in declaration order."""
    return tuple(_REGISTRY)


def spec_of(record_type: Union[type, Record]) -> RecordSpec:
    """The :class:`RecordSpec` of a record type or instance."""
    cls = record_type if isinstance(record_type, type) else type(record_type)
    try:
        spec = cls.__dict__["__storekit__"]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a storekit record type") from None
    assert isinstance(spec, RecordSpec)
    return spec


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(attrs.field, field))
def record(
    *,
    table: str,
    key: Sequence[str],
    legacy: Sequence[LegacySource] = (),
    indexes: Sequence[Union[Sequence[str], Index]] = (),
    unique: Sequence[Sequence[str]] = (),
    references: Sequence[Reference] = (),
    partition_by: Optional[str] = None,
) -> Callable[[type], type]:
    """Class decorator: make ``cls`` a frozen, keyword-only attrs record.

    ``indexes`` holds field tuples and :class:`Index` declarations (covering indexes);
    ``partition_by`` names a non-null date or timestamp field to partition the table by
    where the database does (:attr:`RecordSpec.partition_by`).
    """
    covering = tuple(i for i in indexes if isinstance(i, Index))
    plain = [i.fields if isinstance(i, Index) else tuple(i) for i in indexes]

    def wrap(cls: type) -> type:
        if not issubclass(cls, Record):
            raise TypeError(f"{cls.__name__} must subclass storekit.records.Record")
        made = attrs.define(frozen=True, kw_only=True, slots=True, field_transformer=_convert_floats)(cls)
        hints = get_type_hints(made)
        fields = tuple(_field_spec(made.__name__, a, hints[a.name]) for a in attrs.fields(made))  # type: ignore[arg-type]
        names = {f.name for f in fields}
        for group in (tuple(key), *plain, *(i.include for i in covering), *map(tuple, unique)):
            unknown = [n for n in group if n not in names]
            if unknown:
                raise TypeError(f"{made.__name__}: unknown field(s) {unknown} in key/index")
        for ref in references:
            if any(n not in names for n in ref.fields):
                raise TypeError(f"{made.__name__}: reference uses unknown fields {ref.fields}")
        if partition_by is not None:
            by = next((f for f in fields if f.name == partition_by), None)
            if by is None or by.nullable or by.kind not in (Kind.DATE, Kind.TIMESTAMP):
                raise TypeError(f"{made.__name__}: partition_by must name a non-null date or timestamp field")
        spec = RecordSpec(
            cls=made,
            table=table,
            key=tuple(key),
            fields=fields,
            indexes=tuple(plain),
            unique=tuple(tuple(u) for u in unique),
            references=tuple(references),
            legacy=tuple(legacy),
            doc=(made.__doc__ or "").strip(),
            covering=covering,
            partition_by=partition_by,
        )
        made.__storekit__ = spec
        _REGISTRY.append(made)
        return made

    return wrap


def _field_spec(owner: str, attribute: Any, hint: Any) -> FieldSpec:
    nullable = False
    tp = hint
    if get_origin(tp) is Union:
        args = [a for a in get_args(tp) if a is not type(None)]
        nullable = len(args) < len(get_args(tp))
        if len(args) != 1:
            raise TypeError(f"{owner}.{attribute.name}: unions other than Optional[X] are not supported")
        tp = args[0]
    if tp is Any:
        nullable = True  # JSON null and SQL NULL are both ``None``
    try:
        kind = _KIND_BY_TYPE[tp]
    except (KeyError, TypeError):
        raise TypeError(f"{owner}.{attribute.name}: unsupported annotation {hint!r}") from None
    options: _FieldOptions = attribute.metadata.get(_METADATA_KEY, _FieldOptions())
    return FieldSpec(
        name=attribute.name,
        kind=kind,
        nullable=nullable,
        has_default=attribute.default is not attrs.NOTHING,
        checks=options.checks,
        choices=options.choices,
        doc=options.doc,
    )


def _to_float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # left as it is, for validation to reject with the field's name
            return value
    return value


def _convert_floats(cls: type, attributes: List[Any]) -> List[Any]:
    hints = get_type_hints(cls)
    out = []
    for a in attributes:
        hint = hints.get(a.name)
        if hint is float or hint == Optional[float]:
            a = a.evolve(converter=_to_float)
        out.append(a)
    return out


# -- validation ------------------------------------------------------------------------


def validate(rec: Record) -> None:
    """Check every field of ``rec``; raise one error listing all failing fields."""
    cls = type(rec)
    fast = _FAST.get(cls)
    if fast is None:
        fast = _FAST[cls] = _compile_fast(spec_of(rec))
    if fast(rec):
        return
    spec = spec_of(rec)
    errors: List[FieldError] = []
    for f in spec.fields:
        value = getattr(rec, f.name)
        reason = _check_value(f, value)
        if reason is not None:
            errors.append(FieldError(spec.name, f.name, reason, value))
    if not errors:
        extra = getattr(rec, "__validate__", None)
        if extra is not None:
            for name, reason in extra():
                errors.append(FieldError(spec.name, name, reason, getattr(rec, name, None)))
    if errors:
        raise RecordValidationError(spec.name, errors)


_FAST: Dict[type, Callable[[Any], bool]] = {}

_FAST_KIND: Mapping[Kind, str] = {
    # True when ``v`` (not None) is certainly valid for the kind; anything else, including
    # subclasses of the exact types, takes the full check, which also words the error.
    Kind.TEXT: "type(v) is str and '\\x00' not in v and (v.isascii() or _utf8(v))",
    Kind.INT: "type(v) is int and _INT64_MIN <= v <= _INT64_MAX",
    Kind.FLOAT: "type(v) is float and v == v",
    Kind.BOOL: "type(v) is bool",
    Kind.DATE: "type(v) is _date",
    # a datetime.timezone (UTC included) always has an offset: no utcoffset() call for it
    Kind.TIMESTAMP: "type(v) is _datetime and 1 < v.year < 9999 and (type(v.tzinfo) is _timezone or "
    "v.utcoffset() is not None)",
    Kind.JSON: "_check_json(v) is None",
    Kind.UUID: "type(v) is _UUID",
}


def _utf8(value: str) -> bool:
    return _text_problem(value) is None


def _compile_fast(spec: RecordSpec) -> Callable[[Any], bool]:
    """A validator for the common case, generated once per record type: True when every
    field is valid (then :func:`validate` is done), False to run the full check.

    The same rules as :func:`_check_value`, with no call per field on the hot path."""
    env: Dict[str, Any] = {
        "_INT64_MIN": INT64_MIN,
        "_INT64_MAX": INT64_MAX,
        "_date": _dt.date,
        "_datetime": _dt.datetime,
        "_timezone": _dt.timezone,
        "_UUID": uuid.UUID,
        "_utf8": _utf8,
        "_check_json": _check_json,
    }
    lines = ["def fast(rec):"]
    for i, f in enumerate(spec.fields):
        conds = [f"({_FAST_KIND[f.kind]})"]
        if f.choices is not None:
            env[f"_choices{i}"] = frozenset(f.choices)
            conds.append(f"v in _choices{i}")
        for j, check in enumerate(f.checks):
            env[f"_check{i}_{j}"] = check
            conds.append(f"_check{i}_{j}(v) is None")
        ok = " and ".join(conds)
        none = "True" if f.nullable else "False"
        lines += [f"    v = rec.{f.name}", f"    if not ({none} if v is None else {ok}):", "        return False"]
    if getattr(spec.cls, "__validate__", None) is not None:
        lines.append("    return not any(True for _ in rec.__validate__())")
    else:
        lines.append("    return True")
    exec(compile("\n".join(lines), f"<storekit fast validator of {spec.name}>", "exec"), env)
    fast: Callable[[Any], bool] = env["fast"]
    return fast


def _check_value(f: FieldSpec, value: Any) -> Optional[str]:
    if value is None:
        return None if f.nullable else "a value is required (None given)"
    reason = _KIND_CHECKS[f.kind](value)
    if reason is not None:
        return reason
    if f.choices is not None and value not in f.choices:
        return f"must be one of {', '.join(f.choices)}"
    for check in f.checks:
        reason = check(value)
        if reason is not None:
            return reason
    return None


def _check_text(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return f"expected str, not {type(value).__name__}"
    return _text_problem(value)


def _text_problem(value: str) -> Optional[str]:
    if "\x00" in value:
        return "text may not contain NUL (U+0000): PostgreSQL cannot store it, so no backend does"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (lone surrogates cannot be stored)"
    return None


def _check_int(value: Any) -> Optional[str]:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"expected int, not {type(value).__name__}"
    if not INT64_MIN <= value <= INT64_MAX:
        return "integer out of the signed 64-bit range"
    return None


_MAX_FLOAT_INT = int(sys.float_info.max)


def _check_float(value: Any) -> Optional[str]:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_FLOAT_INT:
        return "int too large for a float (beyond ±1.8e308)"
    if not isinstance(value, float):
        return f"expected float, not {type(value).__name__}"
    if math.isnan(value):
        return "NaN cannot be stored (SQLite turns it into NULL); use None for a missing value"
    return None


def _check_bool(value: Any) -> Optional[str]:
    return None if isinstance(value, bool) else f"expected bool, not {type(value).__name__}"


def _check_date(value: Any) -> Optional[str]:
    if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
        return f"expected datetime.date, not {type(value).__name__}"
    return None


def _check_timestamp(value: Any) -> Optional[str]:
    if not isinstance(value, _dt.datetime):
        return f"expected datetime.datetime, not {type(value).__name__}"
    if value.tzinfo is None or value.utcoffset() is None:
        return "timestamp must be timezone-aware (naive datetimes are ambiguous)"
    try:
        value.astimezone(_dt.timezone.utc)
    except OverflowError:
        return "timestamp's UTC value falls outside years 1-9999"
    return None


def _check_uuid(value: Any) -> Optional[str]:
    if isinstance(value, uuid.UUID):
        return None
    return f"expected uuid.UUID, not {type(value).__name__}"


def _check_json(value: Any, path: str = "$") -> Optional[str]:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        problem = _text_problem(value)
        return f"at {path}: {problem}" if problem else None
    if isinstance(value, int):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"at {path}: JSON numbers must be finite (got {value!r})"
        if value == 0.0 and math.copysign(1.0, value) < 0:
            return f"at {path}: -0.0 cannot be stored in JSON (PostgreSQL's JSONB drops the sign)"
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            problem = _check_json(item, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                return f"at {path}: JSON object keys must be str, not {type(k).__name__}"
            problem = _text_problem(k)
            if problem:
                return f"at {path} key {k!r}: {problem}"
            problem = _check_json(item, f"{path}.{k}")
            if problem:
                return problem
        return None
    return f"at {path}: {type(value).__name__} is not a JSON value"


_KIND_CHECKS: Mapping[Kind, Callable[[Any], Optional[str]]] = {
    Kind.TEXT: _check_text,
    Kind.INT: _check_int,
    Kind.FLOAT: _check_float,
    Kind.BOOL: _check_bool,
    Kind.DATE: _check_date,
    Kind.TIMESTAMP: _check_timestamp,
    Kind.JSON: _check_json,
    Kind.UUID: _check_uuid,
}


# -- reusable checks ------------------------------------------------------------------

_STOCK_CODE = re.compile(r"[0-9A-Z]{6}")


def stock_code(value: Any) -> Optional[str]:
    """A KRX stock code: exactly 6 characters, digits and upper-case letters, zeros kept."""
    if isinstance(value, str) and _STOCK_CODE.fullmatch(value):
        return None
    return "stock code must be 6 characters of digits or upper-case letters (e.g. '005930', '37550L')"


def non_empty(value: Any) -> Optional[str]:
    """Reject the empty string."""
    return "must not be empty" if value == "" else None


def non_negative(value: Any) -> Optional[str]:
    """Reject negative numbers."""
    return "must not be negative" if value < 0 else None
