"""A password in the URL never shows in errors, reprs or logs."""

from __future__ import annotations

import logging
import os
import traceback

import pytest

from storekit import BackendUnavailableError, open_store
from storekit.config import redact_url

SECRET = "s3cr3t-Pa55word"


def test_unreachable_postgresql_error_does_not_contain_the_password(caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql://trader:{SECRET}@127.0.0.1:1/hantu"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BackendUnavailableError) as info:
        open_store(url, options={"connect_timeout": 2})
    text = "".join(traceback.format_exception(info.type, info.value, info.tb))
    assert "127.0.0.1" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert SECRET not in text
    assert SECRET not in caplog.text


def test_store_repr_and_url_hide_the_password(tmp_path: os.PathLike[str]) -> None:
    with open_store(f"sqlite:///{tmp_path}/x.db") as store:
        assert "x.db" in repr(store)
    assert SECRET not in redact_url(f"postgresql://u:{SECRET}@h/db")
    assert SECRET not in redact_url(f"weird://u:{SECRET}@h:notaport/db?")
