"""What every legacy-file writer of the generator shares: a seeded random source, a
simulated clock with the legacy value formats, the stock universe, and plain sqlite3
inserts written the way the legacy modules wrote them (parameter binding, text dates)."""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from typing import Any, List, Optional, Sequence, Tuple

KST_OFFSET = dt.timedelta(hours=9)
"""The legacy app ran in Asia/Seoul (no DST): local time = UTC + 9 h."""

DEFAULT_NOW = dt.datetime(2026, 1, 10, 18, 30, 0)
"""The simulated local 'now' (the evening of the legacy snapshot's last trading day)."""

Stock = Tuple[str, str, str, str]
"""(code, name, sector, market)."""

STOCKS: Tuple[Stock, ...] = (
    ("005930", "삼성전자", "반도체", "KOSPI"),
    ("000660", "SK하이닉스", "반도체", "KOSPI"),
    ("035420", "NAVER", "인터넷", "KOSPI"),
    ("035720", "카카오", "인터넷", "KOSPI"),
    ("005380", "현대차", "자동차", "KOSPI"),
    ("000270", "기아", "자동차", "KOSPI"),
    ("051910", "LG화학", "화학", "KOSPI"),
    ("006400", "삼성SDI", "2차전지", "KOSPI"),
    ("373220", "LG에너지솔루션", "2차전지", "KOSPI"),
    ("207940", "삼성바이오로직스", "바이오", "KOSPI"),
    ("068270", "셀트리온", "바이오", "KOSPI"),
    ("105560", "KB금융", "금융", "KOSPI"),
    ("055550", "신한지주", "금융", "KOSPI"),
    ("000590", "CS홀딩스", "홀딩스", "KOSPI"),
    ("37550L", "LS에코에너지", "전기장비", "KOSPI"),
    ("091580", "상신이디피", "건설", "KOSDAQ"),
    ("247540", "에코프로비엠", "2차전지", "KOSDAQ"),
    ("086520", "에코프로", "2차전지", "KOSDAQ"),
    ("263750", "펄어비스", "게임", "KOSDAQ"),
    ("293490", "카카오게임즈", "게임", "KOSDAQ"),
    ("028300", "HLB", "바이오", "KOSDAQ"),
)


class Gen:
    """The seeded random source and simulated clock of one generation run."""

    def __init__(self, seed: int, rows: int, now: dt.datetime = DEFAULT_NOW) -> None:
        self.rng = random.Random(seed)
        self.rows = rows
        self.now = now

    # --- the clock -------------------------------------------------------------------

    def trading_days(self, n: int, end: Optional[dt.date] = None) -> List[dt.date]:
        """The last ``n`` weekdays up to ``end`` (default today), oldest first."""
        day = end or self.now.date()
        days: List[dt.date] = []
        while len(days) < n:
            if day.weekday() < 5:
                days.append(day)
            day -= dt.timedelta(days=1)
        return days[::-1]

    def at(self, day: dt.date, hour: int, minute: int = 0, spread_s: int = 0) -> dt.datetime:
        """A local time on ``day``, plus up to ``spread_s`` random seconds and microseconds."""
        base = dt.datetime(day.year, day.month, day.day, hour, minute)
        extra = self.rng.randint(0, spread_s) if spread_s else 0
        return base + dt.timedelta(seconds=extra, microseconds=self.rng.randint(1, 999_999))

    # --- value formats (see storekit.legacy.schema.Format) --------------------------------

    @staticmethod
    def yyyymmdd(day: dt.date) -> str:
        return day.strftime("%Y%m%d")

    @staticmethod
    def iso_date(day: dt.date) -> str:
        return day.strftime("%Y-%m-%d")

    @staticmethod
    def local_iso_t(at: dt.datetime) -> str:
        """``datetime.now().isoformat()``."""
        return at.isoformat()

    @staticmethod
    def utc_sql(at: dt.datetime) -> str:
        """What ``CURRENT_TIMESTAMP`` stored when the local clock showed ``at``."""
        return (at - KST_OFFSET).strftime("%Y-%m-%d %H:%M:%S")

    @staticmethod
    def adapter(at: dt.datetime) -> str:
        """What sqlite3's default datetime adapter stores (``isoformat(' ')``); bound as text
        because the adapter itself is deprecated from Python 3.12."""
        return at.isoformat(" ")

    @staticmethod
    def sqlalchemy_dt(at: dt.datetime) -> str:
        """SQLAlchemy's SQLite ``DateTime`` storage format (always six fraction digits)."""
        return at.strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def unix(at: dt.datetime) -> int:
        """``int(time.time())`` at local time ``at``."""
        return int((at - KST_OFFSET).replace(tzinfo=dt.timezone.utc).timestamp())

    # --- random values ----------------------------------------------------------------

    def stocks(self, k: int) -> List[Stock]:
        return self.rng.sample(STOCKS, min(k, len(STOCKS)))

    def stock(self) -> Stock:
        return self.rng.choice(STOCKS)

    def uniform(self, lo: float, hi: float, digits: Optional[int] = None) -> float:
        value = self.rng.uniform(lo, hi)
        return round(value, digits) if digits is not None else value

    def price(self, lo: int = 5_000, hi: int = 400_000) -> float:
        """A KRX price on its tick grid (a float, as the app handled prices)."""
        return float(self.rng.randrange(lo, hi, 50 if hi <= 500_000 else 100))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def dumps_ascii(value: Any) -> str:
    """``json.dumps(value)``."""
    return json.dumps(value)


def dumps_utf8(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)``."""
    return json.dumps(value, ensure_ascii=False)


def insert(
    conn: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    verb: str = "INSERT",
) -> None:
    """``verb INTO table (columns) VALUES (?, ...)`` for every row, with parameter binding."""
    if not rows:
        return
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def upsert(conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``INSERT OR REPLACE``, the legacy upsert (deletes and re-inserts: the id changes)."""
    insert(conn, table, columns, rows, verb="INSERT OR REPLACE")
