"""The redaction rules and the logging filter, on their own (no database)."""

from __future__ import annotations

import io
import logging
from typing import Iterator

import pytest

from storekit.config import REDACTED, add_secret, known_secrets, redact_text
from storekit.logging import RedactingFilter, install_redaction

SECRET = "Tr4der-Passw0rd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://trader:pw1234@db:5432/hantu", "postgresql://trader:***@db:5432/hantu"),
        ("see postgresql+psycopg2://u:p@ss@h/db?x=1 now", "see postgresql+psycopg2://u:***@h/db?x=1 now"),
        ("'postgres://u:pw@h'", "'postgres://u:***@h'"),
        ("host=h password=abc user=x", "host=h password=*** user=x"),
        ("{'password': 'abc', 'port': 1}", "{'password': '***', 'port': 1}"),
        ('PGPASSWORD="a b" then', 'PGPASSWORD="***" then'),
        ("db?password=abc&sslmode=require", "db?password=***&sslmode=require"),
    ],
)
def test_redact_text_hides_url_passwords_and_password_pairs(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://trader@db:5432/hantu",
        'password authentication failed for user "trader"',
        "https://example.com/a:b@c",
        'connection to server at "127.0.0.1", port 1 failed',
    ],
)
def test_redact_text_leaves_text_without_secrets_alone(text: str) -> None:
    assert redact_text(text) == text


def test_added_secrets_are_redacted_also_percent_encoded() -> None:
    secret = "a/b c@d-k3y"
    add_secret(secret)
    text = redact_text(f"raw {secret} url a%2Fb%20c%40d-k3y form a%2Fb+c%40d-k3y")
    assert text == f"raw {REDACTED} url {REDACTED} form {REDACTED}"


def test_secret_environment_variables_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SECRET", "kis-app-secret-value")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:telegram-token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://trader:env-db-pass@h/db")
    assert {"kis-app-secret-value", "123456:telegram-token", "env-db-pass"} <= known_secrets()
    assert "kis-app-secret-value" not in redact_text("token kis-app-secret-value sent")


def test_short_values_are_not_redacted_as_literals() -> None:
    add_secret("ab")
    assert redact_text("about a cab") == "about a cab"


@pytest.fixture
def logger_and_stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    install_redaction(handler)
    parent = logging.getLogger("test_redaction_app")
    parent.addHandler(handler)
    parent.setLevel(logging.DEBUG)
    parent.propagate = False
    yield logging.getLogger("test_redaction_app.child"), stream
    parent.removeHandler(handler)


def test_filter_redacts_message_args_and_exc_info_traceback_of_child_loggers(
    logger_and_stream: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = logger_and_stream
    add_secret(SECRET)
    url = f"postgresql://trader:{SECRET}@db/hantu"
    log.info("connecting to %s", url)
    try:
        raise RuntimeError(f"cannot connect with dsn 'host=db password={SECRET}'")
    except RuntimeError:
        log.error("sync failed for %r", {"url": url}, exc_info=True)
    log.warning("stack", stack_info=True, extra={"password_in_stack": SECRET})
    output = stream.getvalue()
    assert SECRET not in output
    assert "postgresql://trader:***@db/hantu" in output
    assert "Traceback (most recent call last)" in output
    assert "RuntimeError: cannot connect with dsn 'host=db password=***'" in output


def test_filter_clears_exc_info_so_no_formatter_renders_the_raw_exception() -> None:
    add_secret(SECRET)
    try:
        raise ValueError(SECRET)
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), _exc_info())
    assert RedactingFilter().filter(record) is True
    assert record.exc_info is None
    assert record.exc_text is not None and "ValueError: ***" in record.exc_text
    assert SECRET not in logging.Formatter().format(record)
    RedactingFilter().filter(record)  # a second filter (another handler) changes nothing
    assert "ValueError: ***" in (record.exc_text or "")


def test_install_redaction_defaults_to_root_handlers_and_is_idempotent() -> None:
    root = logging.getLogger()
    handler = logging.NullHandler()
    root.addHandler(handler)
    try:
        assert handler in install_redaction()
        assert handler not in install_redaction()
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)


def _exc_info() -> tuple[type[BaseException], BaseException, object]:
    import sys

    info = sys.exc_info()
    assert info[0] is not None and info[1] is not None
    return info[0], info[1], info[2]


def test_a_record_whose_arguments_do_not_match_is_still_redacted_and_never_raises() -> None:
    add_secret(SECRET)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s and %d", (f"postgresql://u:{SECRET}@h",), None)
    assert RedactingFilter().filter(record) is True
    assert SECRET not in logging.Formatter().format(record)
    assert "did not match" in record.getMessage()
