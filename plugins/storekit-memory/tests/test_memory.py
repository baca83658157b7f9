"""What is particular to the memory backend: registration, shared names, isolation, rollback.

Everything the contract requires of every backend is in test_conformance.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Iterator, List

import pytest
import storekit
from storekit import Capability, Eq, open_store
from storekit.errors import BackendUnavailableError, ConfigurationError, IntegrityError
from storekit.records import ErrorLog, Indicator, Stock

from storekit_memory import MemoryBackend

TYPES = [Stock, Indicator, ErrorLog]
AT = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)


def _url() -> str:
    return f"memory://{uuid.uuid4().hex}"


def _stock(id: int = 1, name: str = "Samsung") -> Stock:
    return Stock(id=id, code=f"{id:06d}", name=name, market="KOSPI", updated_at=AT)


def _names(store: storekit.Store) -> List[str]:
    return [s.name for s in store.find(Stock)]


@pytest.fixture
def store() -> Iterator[storekit.Store]:
    with open_store(_url(), record_types=TYPES) as s:
        yield s


def test_the_entry_point_registers_the_backend() -> None:
    info = storekit.get_registry().backend("memory")
    assert info.plugin == "memory"
    assert storekit.get_registry().backend_for_scheme("memory") == info
    assert {Capability.TRANSACTIONS, Capability.FOREIGN_KEYS} <= info.capabilities
    assert set(info.unsupported) == {Capability.PERSISTENT, Capability.CONCURRENT_PROCESSES, Capability.STREAMING}
    assert all(info.unsupported.values())


def test_open_store_gives_a_memory_backend(store: storekit.Store) -> None:
    assert isinstance(store.backend, MemoryBackend)
    assert isinstance(store.backend, storekit.Backend)


def test_stores_of_one_name_share_data_until_the_last_closes() -> None:
    url = _url()
    first = open_store(url, record_types=TYPES)
    second = open_store(url, record_types=TYPES)
    first.put(_stock())
    assert second.get(Stock, 1) == _stock()
    first.close()
    assert second.get(Stock, 1) == _stock()  # one store of the name is still open
    second.close()
    with open_store(url, record_types=TYPES) as again:
        assert again.get(Stock, 1) is None


def test_other_names_and_unnamed_stores_are_private() -> None:
    with open_store(_url(), record_types=TYPES) as a, open_store(_url(), record_types=TYPES) as b:
        a.put(_stock())
        assert b.get(Stock, 1) is None
    with open_store("memory://", record_types=TYPES) as c, open_store("memory://", record_types=TYPES) as d:
        c.put(_stock())
        assert d.get(Stock, 1) is None


def test_a_failing_transaction_rolls_back_every_write(store: storekit.Store) -> None:
    store.put(_stock(1, "kept"))
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.put(_stock(1, "changed"))
        store.put(_stock(2, "new"))
        store.delete(Stock, Eq("id", 1))
        with store.transaction():  # nested: joins the outer transaction
            store.put(_stock(3, "inner"))
        raise RuntimeError("boom")
    assert _names(store) == ["kept"]


def test_a_committed_transaction_keeps_every_write(store: storekit.Store) -> None:
    with store.transaction():
        store.put(_stock(1, "a"))
        store.put_many([_stock(2, "b"), _stock(1, "c")])
    assert _names(store) == ["c", "b"]


def test_a_failing_call_inside_a_transaction_undoes_only_itself(store: storekit.Store) -> None:
    with store.transaction():
        store.put(_stock(1))
        with pytest.raises(IntegrityError, match="duplicate key"):
            store.append([_stock(2), _stock(1)])
    assert [s.id for s in store.find(Stock)] == [1]


def test_constraints_are_enforced(store: storekit.Store) -> None:
    store.put(_stock(1))
    with pytest.raises(IntegrityError, match="unique"):
        store.put(Stock(id=2, code="000001", name="same code", market="KOSPI"))
    indicator = Indicator(id=10, stock_id=1, date=dt.date(2024, 1, 2), name="rsi", value=55.0)
    store.put(indicator)
    with pytest.raises(IntegrityError, match="reference"):
        store.put(Indicator(id=11, stock_id=99, date=dt.date(2024, 1, 2), name="rsi", value=1.0))
    with pytest.raises(IntegrityError, match="still referenced"):
        store.delete(Stock)
    assert store.get(Stock, 1) == _stock(1)  # the failed delete wrote nothing
    assert list(store.find(Indicator)) == [indicator]


def test_readers_wait_for_a_transaction_to_commit(store: storekit.Store) -> None:
    seen: List[int] = []
    entered, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction():
            store.put(_stock(1))
            entered.set()
            release.wait(5)
            store.put(_stock(2))

    thread = threading.Thread(target=writer)
    thread.start()
    assert entered.wait(5)
    reader = threading.Thread(target=lambda: seen.append(len(list(store.find(Stock)))))
    reader.start()
    release.set()
    thread.join(5)
    reader.join(5)
    assert seen == [2]  # never the uncommitted 1


def test_json_values_are_copied_in_and_out(store: storekit.Store) -> None:
    context = {"retries": [1, 2]}
    log = ErrorLog(id=1, level="ERROR", service="api", message="failed", context=context)
    store.put(log)
    context["retries"].append(3)  # the caller's dict, mutated after the write
    got = store.get(ErrorLog, 1)
    assert got is not None and got.context == {"retries": [1, 2]}
    got.context["retries"].clear()  # a reader's copy, mutated
    again = store.get(ErrorLog, 1)
    assert again is not None and again.context == {"retries": [1, 2]}


def test_timestamps_come_back_in_utc(store: storekit.Store) -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    at = dt.datetime(2024, 1, 2, 9, 0, tzinfo=seoul)
    store.put(ErrorLog(id=1, timestamp=at, level="ERROR", service="api", message="m"))
    got = store.get(ErrorLog, 1)
    assert got is not None and got.timestamp == at and got.timestamp.tzinfo == dt.timezone.utc


def test_urls_and_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="no options"):
        open_store(_url(), options={"schema": "x"})
    with pytest.raises(ConfigurationError, match="memory://NAME"):
        open_store("memory://name?x=1")


def test_a_closed_store_is_unavailable_and_close_is_idempotent() -> None:
    s = open_store(_url(), record_types=TYPES)
    s.close()
    s.close()
    with pytest.raises(BackendUnavailableError):
        s.get(Stock, 1)
