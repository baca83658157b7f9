"""One engine and pool per database per process."""

from __future__ import annotations

from pathlib import Path

from storekit import open_store
from storekit.records import ScreeningHistory


def test_stores_on_one_url_share_one_engine_until_the_last_closes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    first = open_store(url)
    second = open_store(url)
    other = open_store(f"sqlite:///{tmp_path}/other.db")
    try:
        assert first.backend.engine is second.backend.engine  # type: ignore[attr-defined]
        assert other.backend.engine is not first.backend.engine  # type: ignore[attr-defined]
        first.close()
        first.close()  # idempotent
        assert second.count(ScreeningHistory) == 0  # still usable
    finally:
        second.close()
        other.close()
    with open_store(url) as third:
        assert third.backend.engine is not second.backend.engine  # type: ignore[attr-defined]
