"""Fault injection with the real PostgreSQL server: connections cut under running
writers (a TCP proxy the test controls, tests/_fallback_proxy.py; the shared server is
never stopped), writing processes killed with SIGKILL during an outage and started
again, and four processes writing to the SQLite fallback at once.

The writers (tests/_fallback_writer.py) print ``ack <id>`` after each write returns;
every write is an API call plus an increment of one shared counter, in one transaction.
At the end PostgreSQL must hold every acknowledged call, nothing but acknowledged calls
(and, for a killed process, at most the one write it was making), and the counter must
equal the number of calls it holds: no write lost, none applied twice.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Set

from storekit import open_store
from storekit.records import ApiCall, NotificationStats

sys.path.insert(0, str(Path(__file__).parent))
from _fallback_proxy import Proxy

WRITER = str(Path(__file__).parent / "_fallback_writer.py")
DAY = dt.date(2026, 1, 10)
WAIT = 120.0
"""The most any step may take before the test gives up (a bound, never an assertion on speed)."""


class Writer:
    """One writing process and the ids it acknowledged."""

    def __init__(self, primary: str, fallback: str, start: int, count: int, *, sync: bool = False) -> None:
        env = {**os.environ, "STOREKIT_STRICT_PLUGINS": "1", "STOREKIT_FALLBACK_RETRY_MAX": "0.5"}
        args = [sys.executable, WRITER, primary, fallback, str(start), str(count)] + (["--sync"] if sync else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.start = start
        self.acked: List[int] = []
        self.sides: Set[str] = set()
        self.synced = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, _, rest = line.strip().partition(" ")
            with self._changed:
                if kind == "ack":
                    written, side = rest.split()
                    self.acked.append(int(written))
                    self.sides.add(side)
                elif kind == "synced":
                    self.synced = rest
                self._changed.notify_all()

    def wait_acked(self, n: int) -> None:
        deadline = time.monotonic() + WAIT
        with self._changed:
            while len(self.acked) < n:
                assert self.proc.poll() is None or len(self.acked) >= n, self.stderr()
                assert time.monotonic() < deadline, f"only {len(self.acked)} writes acknowledged"
                self._changed.wait(0.2)

    def kill(self) -> int:
        """SIGKILL the writer; return the id of the write it may have been making."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)
        self._reader.join(WAIT)
        return self.start + len(self.acked)

    def finish(self) -> None:
        self.proc.wait(WAIT)
        self._reader.join(WAIT)
        assert self.proc.returncode == 0, self.stderr()

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read()


def primary_holds(url: str) -> Dict[str, object]:
    with open_store(url, fallback=None) as store:
        ids = sorted(c.id for c in store.find(ApiCall))
        counter = store.get(NotificationStats, DAY)
    return {"ids": ids, "counter": 0 if counter is None else counter.total_count}


def test_cutting_the_connection_under_a_running_writer_loses_and_doubles_nothing(
    proxy: Proxy, pg_schema_url: str, tmp_path: Path
) -> None:
    fallback = f"sqlite:///{tmp_path / 'fallback.db'}"
    writer = Writer(proxy.url(pg_schema_url), fallback, 1, 300, sync=True)
    writer.wait_acked(60)
    proxy.cut()
    writer.wait_acked(180)
    proxy.restore()
    writer.finish()
    held = primary_holds(pg_schema_url)
    assert held["ids"] == sorted(writer.acked) == list(range(1, 301))
    assert held["counter"] == 300
    assert writer.sides == {"primary", "fallback"}  # the cut really moved writes
    assert '"pending": 0' in writer.synced


def test_a_writer_killed_during_an_outage_and_started_again_loses_and_doubles_nothing(
    proxy: Proxy, pg_schema_url: str, tmp_path: Path
) -> None:
    fallback = f"sqlite:///{tmp_path / 'fallback.db'}"
    primary = proxy.url(pg_schema_url)
    acked: List[int] = []
    in_flight: List[int] = []
    proxy.cut()  # the outage starts before the first writer opens the store
    for start in (1_000, 2_000):
        writer = Writer(primary, fallback, start, 10_000)
        writer.wait_acked(25)
        in_flight.append(writer.kill())
        acked += writer.acked
        assert writer.sides == {"fallback"}
    proxy.restore()
    last = Writer(primary, fallback, 3_000, 30, sync=True)
    last.finish()
    acked += last.acked
    held = primary_holds(pg_schema_url)
    ids = set(held["ids"])  # type: ignore[call-overload]
    assert set(acked) <= ids
    assert ids - set(acked) <= set(in_flight)
    assert held["counter"] == len(ids)  # each call's increment applied exactly once


def test_four_processes_writing_to_the_fallback_at_once_lose_nothing_and_never_see_a_lock(
    proxy: Proxy, pg_schema_url: str, tmp_path: Path
) -> None:
    """Then three processes replay the shared outbox at the same time: each entry is
    applied once (the replay marks), so the counter is exact."""
    fallback = f"sqlite:///{tmp_path / 'fallback.db'}"
    primary = proxy.url(pg_schema_url)
    proxy.cut()
    writers = [Writer(primary, fallback, k * 10_000, 250) for k in range(1, 5)]
    errors = []
    for w in writers:
        w.proc.wait(WAIT)
        w._reader.join(WAIT)
        errors.append(w.stderr())
        assert w.proc.returncode == 0, errors[-1]
        assert w.sides == {"fallback"}
    assert not any("database is locked" in e for e in errors)
    acked = sorted(i for w in writers for i in w.acked)
    assert len(acked) == 1000
    proxy.restore()
    replayers = [Writer(primary, fallback, 0, 0, sync=True) for _ in range(3)]  # replaying at once
    for r in replayers:
        r.finish()
        assert '"pending": 0' in r.synced
    with open_store(primary, fallback=fallback, options={"connect_timeout": 3}) as store:
        report = store.sync()
    assert (report.pending, report.conflicts_total, report.serving) == (0, 0, "primary")
    held = primary_holds(pg_schema_url)
    assert held["ids"] == acked
    assert held["counter"] == 1000
