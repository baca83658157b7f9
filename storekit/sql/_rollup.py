"""The per-minute rollup of ``api_calls`` (schema version 4) and the statistics read from it.

``storekit_api_calls_rollup`` holds, per endpoint, UTC minute and (``success``, ``error_message``)
group, the number of calls and the sums, minimum and maximum of their response times and
sizes. The database keeps it exact on every write path: triggers on ``api_calls``
(SQLite: row triggers; PostgreSQL: statement triggers over the transition tables), whose
DDL is the dialect's :meth:`SQLFacts.api_call_rollup_ddl`. Inserts add to a group; a
delete or a change of a row subtracts its count and marks the group *stale* (a minimum,
a maximum and a floating sum cannot be subtracted exactly), and a group whose count
reaches 0 is deleted. :func:`api_call_totals` reads the groups of the whole minutes of a
period, the calls of the two partial minutes at its ends and the calls of stale groups,
in one statement. ``docs/explanation/api-call-rollup.rst`` gives the reasons.

A backend without the rollup (a dialect whose facts give no DDL) keeps the plain
aggregate over ``api_calls``; so does every non-SQL backend.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

__all__ = ["ROLLUP_SOURCE", "ROLLUP_TABLE", "api_call_totals", "ensure_rollup"]

ROLLUP_SOURCE = "api_calls"
ROLLUP_TABLE = "storekit_api_calls_rollup"

_MINUTE = dt.timedelta(minutes=1)
_32 = sa.literal_column("32", sa.Integer())
_LOW32 = sa.literal_column("4294967295", sa.BigInteger())
_UTC = dt.timezone.utc


def ensure_rollup(connection: sa.engine.Connection, facts: Any) -> bool:
    """Create the rollup (table, triggers, rows of the calls stored) if ``api_calls``
    exists without it and the dialect has one; return whether it was created."""
    statements = facts.api_call_rollup_ddl(connection)
    if not statements:
        return False
    inspector = sa.inspect(connection)
    if inspector.has_table(ROLLUP_TABLE) or not inspector.has_table(ROLLUP_SOURCE):
        return False
    for statement in statements:
        connection.exec_driver_sql(statement)
    return True


def has_rollup(connection: sa.engine.Connection) -> bool:
    return bool(sa.inspect(connection).has_table(ROLLUP_TABLE))


def _floor(value: dt.datetime) -> dt.datetime:
    value = value.astimezone(_UTC)
    return value.replace(second=0, microsecond=0)


def _ceil(value: dt.datetime) -> dt.datetime:
    floor = _floor(value)
    return floor if floor == value else floor + _MINUTE


def _rollup_table(calls: sa.Table) -> sa.TableClause:
    return sa.table(
        ROLLUP_TABLE,
        sa.column("endpoint", calls.c.endpoint.type),
        sa.column("minute", calls.c.timestamp.type),
        sa.column("minute_last", calls.c.timestamp.type),
        sa.column("outcome", sa.Integer()),
        sa.column("error_null", sa.Integer()),
        sa.column("error_message", calls.c.error_message.type),
        sa.column("calls", sa.BigInteger()),
        sa.column("sum_response_time", calls.c.response_time.type),
        sa.column("min_response_time", calls.c.response_time.type),
        sa.column("max_response_time", calls.c.response_time.type),
        sa.column("request_size_hi", sa.BigInteger()),
        sa.column("request_size_lo", sa.BigInteger()),
        sa.column("response_size_hi", sa.BigInteger()),
        sa.column("response_size_lo", sa.BigInteger()),
        sa.column("stale", sa.Integer()),
    )


def _group_of(c: Any) -> List[Any]:
    """The rollup's group key of ``api_calls`` rows, as the triggers compute it."""
    # constants inline, not bound: PostgreSQL matches a SELECT expression to its GROUP BY
    # expression only when both are the same text
    one, zero = sa.literal_column("1", sa.Integer()), sa.literal_column("0", sa.Integer())
    return [
        c.endpoint,
        sa.func.coalesce(sa.cast(c.success, sa.Integer()), sa.literal_column("-1", sa.Integer())),
        sa.case((c.error_message.is_(None), one), else_=zero),
        sa.func.coalesce(c.error_message, sa.literal_column("''", c.error_message.type)),
    ]


def _raw_totals(c: Any) -> List[Any]:
    """The rollup's values of ``api_calls`` rows (int sums as 32-bit halves, which
    cannot overflow: the SQLite facts' ``int_sum_expr``)."""
    return [
        sa.func.count(),
        sa.func.sum(c.response_time),
        sa.func.min(c.response_time),
        sa.func.max(c.response_time),
        sa.func.sum(c.request_size.op(">>")(_32)),
        sa.func.sum(c.request_size.op("&")(_LOW32)),
        sa.func.sum(c.response_size.op(">>")(_32)),
        sa.func.sum(c.response_size.op("&")(_LOW32)),
    ]


_NAMES = ("endpoint", "outcome", "error_null", "error_message", "n", "s", "mn", "mx", "qh", "ql", "ph", "pl")


def _labelled(columns: List[Any]) -> List[Any]:
    return [col.label(name) for col, name in zip(columns, _NAMES)]


def api_call_totals(
    connection: sa.engine.Connection,
    calls: sa.Table,
    endpoint: Optional[str],
    start: dt.datetime,
    end: dt.datetime,
) -> List[Dict[str, Any]]:
    """The calls of ``endpoint`` (``None``: every endpoint) with ``start <= timestamp <=
    end``, grouped by ``(endpoint, success, error_message)``: ``count``,
    ``sum_response_time``, ``min_response_time``, ``max_response_time``,
    ``sum_request_size`` and ``sum_response_size`` (sums of the non-NULL sizes, 0 when
    none), ordered by the group. One statement: one snapshot on every database."""
    first, last = _ceil(start), _floor(end)
    whole = first < last  # else no whole minute inside: the calls themselves
    params: Dict[str, Any] = {"start": start, "end": end, "first": first, "last": last}
    if endpoint is not None:
        params["endpoint"] = endpoint
    out: List[Dict[str, Any]] = []
    for row in connection.execute(_statement(calls, endpoint is not None, whole), params):
        if not row.n:
            continue
        out.append(
            {
                "endpoint": row.endpoint,
                "success": None if row.outcome == -1 else bool(row.outcome),
                "error_message": None if row.error_null else row.error_message,
                "count": int(row.n),
                "sum_response_time": float(row.s),
                "min_response_time": float(row.mn),
                "max_response_time": float(row.mx),
                "sum_request_size": (int(row.qh or 0) << 32) + int(row.ql or 0),
                "sum_response_size": (int(row.ph or 0) << 32) + int(row.pl or 0),
            }
        )
    return out


@functools.lru_cache(maxsize=64)
def _statement(calls: sa.Table, one_endpoint: bool, whole: bool) -> sa.Select[Any]:
    """The statement of :func:`api_call_totals`, built once (its parameters bound at
    execution): building it costs more than running it on a rollup."""
    c = calls.c
    rollup = _rollup_table(calls)
    r = rollup.c
    ts = calls.c.timestamp.type
    start, end = sa.bindparam("start", type_=ts), sa.bindparam("end", type_=ts)
    first, last = sa.bindparam("first", type_=ts), sa.bindparam("last", type_=ts)
    endpoint = sa.bindparam("endpoint", type_=calls.c.endpoint.type)
    where_endpoint = [c.endpoint == endpoint] if one_endpoint else []
    group = _group_of(c)

    def raw(*where: Any) -> sa.Select[Any]:
        return sa.select(*_labelled([*group, *_raw_totals(c)])).where(*where_endpoint, *where).group_by(*group)

    if not whole:
        parts = [raw(c.timestamp >= start, c.timestamp <= end)]
    else:
        rollup_endpoint = [r.endpoint == endpoint] if one_endpoint else []
        rollup_group = [r.endpoint, r.outcome, r.error_null, r.error_message]
        totals = (
            sa.select(
                *_labelled(
                    [
                        *rollup_group,
                        sa.func.sum(r.calls),
                        sa.func.sum(r.sum_response_time),
                        sa.func.min(r.min_response_time),
                        sa.func.max(r.max_response_time),
                        sa.func.sum(r.request_size_hi),
                        sa.func.sum(r.request_size_lo),
                        sa.func.sum(r.response_size_hi),
                        sa.func.sum(r.response_size_lo),
                    ]
                )
            )
            .where(*rollup_endpoint, r.minute >= first, r.minute < last, r.stale == sa.literal_column("0"))
            .group_by(*rollup_group)
        )
        stale_join = sa.and_(
            c.endpoint == r.endpoint,
            c.timestamp >= r.minute,
            c.timestamp <= r.minute_last,
            group[1] == r.outcome,
            group[2] == r.error_null,
            group[3] == r.error_message,
        )
        stale = (
            sa.select(*_labelled([*group, *_raw_totals(c)]))
            .select_from(rollup.join(calls, stale_join))
            .where(*rollup_endpoint, r.minute >= first, r.minute < last, r.stale != sa.literal_column("0"))
            .group_by(*group)
        )
        parts = [
            raw(c.timestamp >= start, c.timestamp < first),
            totals,
            stale,
            raw(c.timestamp >= last, c.timestamp <= end),
        ]
    u = sa.union_all(*parts).subquery()
    keys = [u.c.endpoint, u.c.outcome, u.c.error_null, u.c.error_message]
    return (
        sa.select(
            *keys,
            sa.func.sum(u.c.n).label("n"),
            sa.func.sum(u.c.s).label("s"),
            sa.func.min(u.c.mn).label("mn"),
            sa.func.max(u.c.mx).label("mx"),
            sa.func.sum(u.c.qh).label("qh"),
            sa.func.sum(u.c.ql).label("ql"),
            sa.func.sum(u.c.ph).label("ph"),
            sa.func.sum(u.c.pl).label("pl"),
        )
        .group_by(*keys)
        .order_by(*keys)
    )
