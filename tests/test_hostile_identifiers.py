"""No SQL is built from values: hostile values and identifiers thrown at every public
path, on a real SQLite file and the real PostgreSQL server.

What shows it: (1) every SQL text storekit sends (through SQLAlchemy, and the template
psycopg2's ``execute_values`` fills) is captured, and no value ever appears in one (the
COPY path's few statements go to the raw cursor uncaptured; its rows travel as COPY data);
(2) a canary table that the payloads try to drop is intact, with its row; (3) every
hostile value comes back exactly as written, through each write path (row-by-row
``VALUES``, and COPY with ``copy_min_rows=1``); (4) hostile identifiers (field names,
schema names, role names, URLs) are refused with a typed error before any SQL runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from storekit import Agg, ConfigurationError, Eq, In, QueryError, Range, RecordValidationError, Store, open_store
from storekit.cli import main
from storekit.records import RecoveryRule

CANARY = "hostile_canary"
MARK = "zz_hostile_marker"
"""In every hostile value, so a captured SQL text that contains it was built from a value."""

HOSTILE_TEXT = [
    f"'; DROP TABLE {CANARY}; -- {MARK}",
    f'"); DROP TABLE {CANARY}; -- {MARK}',
    f"Robert'); DELETE FROM {CANARY} WHERE 'a'='a {MARK}",
    f"{MARK} \\'; DROP TABLE {CANARY}; --",
    f"{MARK} back\\slash \\\\ \\N \\. end",  # COPY's escape, NULL marker and end-of-data marker
    f"{MARK} %s %(name)s %% ? :name $1 {{0}}",  # every driver's and SQLAlchemy's placeholder syntax
    f"{MARK}\ttab\nnewline\rreturn",
    f"{MARK} 작전 ''quoted'' \"double\" `back` ;",
    f"{MARK} E'\\x00' U&'\\0000' chr(0)",  # NUL spelled out, not a NUL
]
HOSTILE_JSON: Dict[str, Any] = {
    f"'; DROP TABLE {CANARY}; -- {MARK}": [f"{MARK} \\u0000 escaped", {"%s": "%(x)s", "\\": '"'}],
    MARK: f"$$; DROP TABLE {CANARY}; $$",
}


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-copy"])
def hostile_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store whose schema also holds the canary table (one row), and whose every SQL
    text is recorded in ``store.sent`` (a list)."""
    options: Dict[str, Any] = {}
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/hostile.db"
        admin_url = sa.engine.make_url(url)
        schema = None
    else:
        schema = f"sk_hostile_{uuid.uuid4().hex[:10]}"
        base = sa.engine.make_url(request.getfixturevalue("pg_url"))
        url = base.update_query_dict({"schema": schema}).render_as_string(hide_password=False)
        admin_url = base.difference_update_query(["schema"]).set(drivername="postgresql+psycopg2")
        if request.param == "postgresql-copy":
            options["copy_min_rows"] = 1
    store = open_store(url, options=options)
    admin = sa.create_engine(admin_url)
    table = f'"{schema}".{CANARY}' if schema else CANARY
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (x int)")
        conn.exec_driver_sql(f"INSERT INTO {table} VALUES (1)")
    sent: List[str] = []

    @sa.event.listens_for(store.backend.engine, "before_cursor_execute")  # type: ignore[attr-defined]
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    store.sent = sent  # type: ignore[attr-defined]
    with _recording_execute_values(sent):
        yield store
    store.close()
    with admin.begin() as conn:
        assert conn.exec_driver_sql(f"SELECT x FROM {table}").scalars().all() == [1], "the canary was touched"
        if schema:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()
    built_from_values = [s for s in sent if MARK in s or CANARY in s]
    assert not built_from_values, built_from_values


@contextlib.contextmanager
def _recording_execute_values(sent: List[str]) -> Iterator[None]:
    """psycopg2's execute_values (PostgreSQL's VALUES pages) bypasses SQLAlchemy's events:
    record the SQL template it is given (the values are passed apart from it)."""
    try:
        import psycopg2.extras
    except ImportError:
        yield
        return
    real = psycopg2.extras.execute_values

    def execute_values(cur: Any, sql: Any, argslist: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(sql if isinstance(sql, str) else sql.decode())
        return real(cur, sql, argslist, *args, **kwargs)

    psycopg2.extras.execute_values = execute_values
    try:
        yield
    finally:
        psycopg2.extras.execute_values = real


def _rule(name: str, pattern: str) -> RecoveryRule:
    return RecoveryRule(
        name=name,
        error_pattern=pattern,
        severity_threshold="high",
        recovery_actions=HOSTILE_JSON,
        conditions={"pattern": pattern},
    )


def test_hostile_values_round_trip_through_every_write_and_read_path(hostile_store: Store) -> None:
    store = hostile_store
    rules = [_rule(f"{MARK}-{i} {text}", text) for i, text in enumerate(HOSTILE_TEXT)]

    store.put(rules[0])
    assert store.put_many(rules[1:5]) == 4
    assert store.append(rules[5:]) == len(rules) - 5
    for rule in rules:
        assert store.get(RecoveryRule, rule.name) == rule
    assert sorted(store.find(RecoveryRule), key=lambda r: r.name) == sorted(rules, key=lambda r: r.name)

    for text in HOSTILE_TEXT:
        assert [r.error_pattern for r in store.find(RecoveryRule, Eq("error_pattern", text))] == [text]
    names = [r.name for r in rules[:3]]
    assert {r.name for r in store.find(RecoveryRule, In("name", names))} == set(names)
    lo, hi = sorted(HOSTILE_TEXT)[1], sorted(HOSTILE_TEXT)[-2]
    assert {r.error_pattern for r in store.find(RecoveryRule, Range("error_pattern", ge=lo, le=hi))} == {
        t for t in HOSTILE_TEXT if lo <= t <= hi
    }
    pages = [page for page in store.pages(RecoveryRule, order_by=["-error_pattern"], size=2)]
    assert [r for page in pages for r in page] == sorted(rules, key=lambda r: r.error_pattern, reverse=True)
    grouped = store.aggregate(
        RecoveryRule, Agg("count"), where=[Eq("error_pattern", HOSTILE_TEXT[0])], group_by=["error_pattern"]
    )
    assert grouped == [{"error_pattern": HOSTILE_TEXT[0], "count": 1}]
    highest = Agg("max", "error_pattern")
    assert store.aggregate(RecoveryRule, highest)[0][highest.label] == max(HOSTILE_TEXT)

    counter = RecoveryRule(
        name=rules[0].name, error_pattern=HOSTILE_TEXT[1], severity_threshold="low", recovery_actions=[], max_attempts=2
    )
    store.increment(counter, "max_attempts")
    assert store.get(RecoveryRule, rules[0].name).max_attempts == 5  # type: ignore[union-attr]

    assert store.delete(RecoveryRule, Eq("name", rules[1].name)) == 1
    assert store.delete(RecoveryRule, In("error_pattern", HOSTILE_TEXT[2:4])) == 2
    assert store.count(RecoveryRule) == len(rules) - 3
    sent = store.sent  # type: ignore[attr-defined]
    assert sum(s.lstrip().upper().startswith(("INSERT", "SELECT", "DELETE")) for s in sent) >= 10  # capture works


@pytest.mark.parametrize(
    "field",
    [f"name; DROP TABLE {CANARY}; --", 'name" OR 1=1 --', "name\x00", "1=1", "", "__class__", "NAME"],
)
def test_hostile_field_names_are_refused_before_any_sql(hostile_store: Store, field: str) -> None:
    store = hostile_store
    before = len(store.sent)  # type: ignore[attr-defined]
    for attempt in (
        lambda: list(store.find(RecoveryRule, Eq(field, "x"))),
        lambda: list(store.find(RecoveryRule, order_by=[field])),
        lambda: store.aggregate(RecoveryRule, Agg("count"), group_by=[field]),
        lambda: store.aggregate(RecoveryRule, Agg("sum", field)),
        lambda: store.delete(RecoveryRule, Eq(field, 1)),
        lambda: store.increment(_rule("n", "p"), field),
    ):
        with pytest.raises((QueryError, ValueError, TypeError)):
            attempt()
    assert store.sent[before:] == []  # type: ignore[attr-defined]


def test_nul_is_refused_in_values_and_accepted_nowhere(hostile_store: Store) -> None:
    store = hostile_store
    with pytest.raises(RecordValidationError, match="NUL"):
        store.put(_rule(f"{MARK} nul", f"a\x00b {MARK}"))
    with pytest.raises(RecordValidationError, match="NUL"):
        store.put(RecoveryRule(name=MARK, error_pattern="p", severity_threshold="low", recovery_actions=["\x00"]))
    with pytest.raises((QueryError, ValueError)):
        list(store.find(RecoveryRule, Eq("name", f"a\x00 {MARK}")))
    assert store.count(RecoveryRule) == 0


@pytest.mark.parametrize(
    "schema",
    [
        f"x; DROP TABLE {CANARY}; --",
        'x" CASCADE; --',
        "Upper",
        "x\x00y",
        "x y",
        "a" * 64,
        "public,pg_catalog",
        "1x",
    ],
)
def test_hostile_schema_names_are_refused(pg_url: str, schema: str) -> None:
    with pytest.raises(ConfigurationError, match="schema name"):
        open_store(pg_url, options={"schema": schema})
    url = sa.engine.make_url(pg_url).update_query_dict({"schema": schema}).render_as_string(hide_password=False)
    with pytest.raises(ConfigurationError, match="schema name"):
        open_store(url)
    from storekit.schema import grant, inspect_schema, upgrade

    for call in (lambda: upgrade(url), lambda: inspect_schema(url), lambda: grant("nobody", url)):
        with pytest.raises(ConfigurationError, match="schema name"):
            call()


@pytest.mark.parametrize(
    "role",
    [f'x"; DROP TABLE {CANARY}; --', "x'; DROP ROLE postgres; --", 'pg_read_all_data" TO PUBLIC; --', "a\\b"],
)
def test_hostile_role_names_are_refused_by_grant(pg_url: str, role: str) -> None:
    from storekit.schema import grant, upgrade

    url = sa.engine.make_url(pg_url).update_query_dict({"schema": f"sk_role_{uuid.uuid4().hex[:10]}"})
    text = url.render_as_string(hide_password=False)
    upgrade(text)
    try:
        with pytest.raises(ConfigurationError, match="create it first"):
            grant(role, text)
        result = CliRunner().invoke(main, ["schema", "grant", role, "--url", text])
        assert result.exit_code == 2
    finally:
        engine = sa.create_engine(url.difference_update_query(["schema"]).set(drivername="postgresql+psycopg2"))
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{url.query["schema"]}" CASCADE')
        engine.dispose()


@pytest.mark.parametrize(
    "query",
    [
        f"application_name=%27%3B%20DROP%20TABLE%20{CANARY}%3B%20--",
        "application_name=x%22%3B--&sslmode=prefer",
        "connect_timeout=3&application_name=%00",
    ],
)
def test_odd_url_query_strings_reach_the_driver_as_parameters_not_sql(pg_url: str, query: str) -> None:
    """Query parameters become connection parameters (never SQL); the store opens or fails
    with a typed error, and nothing else happens."""
    schema = f"sk_odd_{uuid.uuid4().hex[:10]}"
    base = sa.engine.make_url(pg_url).difference_update_query(["schema"])
    url = f"{base.render_as_string(hide_password=False)}?schema={schema}&{query}"
    admin = sa.create_engine(base.set(drivername="postgresql+psycopg2"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        conn.exec_driver_sql(f'CREATE TABLE "{schema}".{CANARY} (x int)')
    try:
        try:
            open_store(url).close()
        except (ConfigurationError, ValueError) as exc:  # e.g. libpq refusing a NUL in a parameter
            assert CANARY not in str(exc) or "DROP" in query
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f'"{schema}".{CANARY}'}).scalar_one()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h:notaport/db",
        "'; DROP TABLE t; --",
        "sqlite:////dev/null/\x00x.db",
    ],
)
def test_hostile_urls_are_usage_errors_in_the_cli(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["doctor", "--url", url], ["schema", "upgrade", "--url", url]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (1, 2, 3), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_a_sqlite_url_is_a_path_never_sql(tmp_path: Path) -> None:
    """The part after sqlite:/// is a file name, however it reads."""
    name = f"x.db'; DROP TABLE {CANARY}; --"
    result = CliRunner().invoke(main, ["schema", "upgrade", "--url", f"sqlite:///{tmp_path}/{name}"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))] == [name]


def test_dates_and_numbers_are_never_formatted_into_sql(hostile_store: Store) -> None:
    """Non-text values go through the same binding: a date range and a float filter."""
    from storekit.records import NotificationStats

    store = hostile_store
    store.put(NotificationStats(date=dt.date(2024, 1, 2), total_count=7))
    assert store.count(NotificationStats, Range("date", ge=dt.date(2024, 1, 1))) == 1
    assert store.count(NotificationStats, Eq("total_count", 7)) == 1
