"""A writing process for the fault-injection tests (tests/test_fallback_faults.py).

``python tests/_fallback_writer.py PRIMARY_URL FALLBACK_URL START COUNT [--sync]``

Each write is one transaction: append the API call ``START + k`` and increment the shared
counter (NotificationStats of 2026-01-10) by one. After the transaction returns, the
process prints ``ack <id>``, so every printed id is an acknowledged write. With
``--sync`` it replays the outbox at the end and prints ``synced <report as JSON>``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from storekit import open_store
from storekit.records import ApiCall, NotificationStats

DAY = dt.date(2026, 1, 10)
NOW = dt.datetime(2026, 1, 10, 0, 15, 2, tzinfo=dt.timezone.utc)


def main(argv: list[str]) -> None:
    primary, fallback, start, count = argv[1], argv[2], int(argv[3]), int(argv[4])
    with open_store(primary, fallback=fallback, options={"connect_timeout": 3}) as store:
        print(f"open {store.served_by}", flush=True)
        for i in range(start, start + count):
            with store.transaction():
                store.append([ApiCall(id=i, timestamp=NOW, endpoint="/fault", method="POST", response_time=1.5)])
                store.increment(NotificationStats(date=DAY, total_count=1), "total_count")
            print(f"ack {i} {store.served_by}", flush=True)
        if "--sync" in argv:
            report = store.sync()
            print(f"synced {json.dumps(report.as_dict())}", flush=True)


if __name__ == "__main__":
    main(sys.argv)
