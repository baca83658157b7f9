"""Deterministic ScreeningHistory-like data: one set of field values, from which the
benchmarks build storekit records and each backend's raw driver tuples.

Keys are distinct ``(stock_code, screening_date)`` pairs: every stock of a fixed
universe screened on consecutive business days, as the screener does. ``variant``
changes every non-key value (and ``created_at``) while keeping the keys, for the
update path of an upsert.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["COLUMNS", "KEY", "UPDATES", "pg_tuples", "records", "rows", "sqlite_tuples"]

COLUMNS: Tuple[str, ...] = (
    "stock_code",
    "stock_name",
    "sector",
    "screening_date",
    "overall_score",
    "fundamental_score",
    "technical_score",
    "passed",
    "roe",
    "per",
    "pbr",
    "created_at",
)
KEY: Tuple[str, ...] = ("stock_code", "screening_date")
UPDATES: Tuple[str, ...] = tuple(c for c in COLUMNS if c not in KEY)

UNIVERSE = 2500  # stocks screened per day (KOSPI + KOSDAQ is about this size)
KST = dt.timezone(dt.timedelta(hours=9), "KST")

_BRANDS = [
    "삼성",
    "현대",
    "엘지",
    "에스케이",
    "롯데",
    "한화",
    "포스코",
    "카카오",
    "네이버",
    "셀트리온",
    "기아",
    "신한",
    "하나",
    "우리",
    "두산",
    "한진",
    "효성",
    "코오롱",
    "대한",
    "동원",
    "한국",
    "대림",
    "금호",
    "오리온",
    "농심",
    "풀무원",
    "씨젠",
    "에코프로",
    "한미",
    "유한",
]
_TRADES = [
    "전자",
    "바이오로직스",
    "모비스",
    "화학",
    "에너지솔루션",
    "중공업",
    "제약",
    "건설",
    "증권",
    "생명",
    "화재",
    "물산",
    "텔레콤",
    "반도체",
    "디스플레이",
    "정밀",
    "식품",
    "항공",
    "해운",
    "엔터테인먼트",
    "소재",
    "금융지주",
    "이노베이션",
    "케미칼",
    "바이오",
    "머티리얼즈",
]
_SUFFIXES = ["", "", "", "우", "홀딩스", "2우B", "스팩1호"]
_SECTORS = [
    "전기전자",
    "화학",
    "의약품",
    "운수장비",
    "금융업",
    "서비스업",
    "철강금속",
    "유통업",
    "건설업",
    "음식료품",
    "통신업",
    "기계",
    "섬유의복",
    "IT 서비스",
    "반도체",
    None,
]


def _universe(n: int, rng: random.Random) -> List[Tuple[str, str, Optional[str]]]:
    codes: List[str] = []
    seen = set()
    while len(codes) < n:
        if rng.random() < 0.03:  # newer listings: 5 digits and a letter, e.g. '37550L'
            code = f"{rng.randrange(10000, 99999)}{rng.choice('KLMN')}"
        else:
            code = f"{rng.randrange(0, 999999):06d}"
        if code not in seen:
            seen.add(code)
            codes.append(code)
    return [
        (
            code,
            rng.choice(_BRANDS) + rng.choice(_TRADES) + rng.choice(_SUFFIXES),
            rng.choice(_SECTORS),
        )
        for code in codes
    ]


def _business_days(start: dt.date, n: int) -> List[dt.date]:
    days: List[dt.date] = []
    day = start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _score(rng: random.Random) -> Optional[float]:
    return None if rng.random() < 0.02 else round(rng.uniform(0.0, 100.0), 2)


def rows(n: int, *, variant: int = 0, seed: int = 20240102) -> List[Dict[str, Any]]:
    """``n`` rows as dicts of field values; the same ``(n, seed)`` always gives the same
    keys, and ``variant`` picks the non-key values."""
    universe = _universe(min(n, UNIVERSE), random.Random(seed))
    days = _business_days(dt.date(2024, 1, 2), -(-n // len(universe)))
    rng = random.Random(seed * 1000 + variant + 1)
    out: List[Dict[str, Any]] = []
    for i in range(n):
        code, name, sector = universe[i % len(universe)]
        day = days[i // len(universe)]
        overall, fundamental, technical = _score(rng), _score(rng), _score(rng)
        r = rng.random()
        per = float("inf") if r < 0.05 else None if r < 0.08 else round(rng.uniform(-30.0, 80.0), 4)
        out.append(
            {
                "stock_code": code,
                "stock_name": name,
                "sector": sector,
                "screening_date": day,
                "overall_score": overall,
                "fundamental_score": fundamental,
                "technical_score": technical,
                "passed": overall is not None and overall >= 60.0,
                "roe": None if rng.random() < 0.05 else rng.gauss(8.0, 12.0),
                "per": per,
                "pbr": None if rng.random() < 0.05 else round(rng.lognormvariate(0.0, 0.6), 4),
                "created_at": dt.datetime.combine(day, dt.time(15, 40), KST)
                + dt.timedelta(minutes=variant * 7, microseconds=rng.randrange(600_000_000)),
            }
        )
    return out


def records(data: Sequence[Dict[str, Any]]) -> List[Any]:
    """storekit ``ScreeningHistory`` records (validated on construction)."""
    from storekit.records.learning import ScreeningHistory

    return [ScreeningHistory(**row) for row in data]


def pg_tuples(data: Sequence[Dict[str, Any]]) -> List[Tuple[Any, ...]]:
    """What a psycopg2 user binds: the Python values as they are."""
    return [tuple(row[c] for c in COLUMNS) for row in data]


def sqlite_tuples(data: Sequence[Dict[str, Any]]) -> List[Tuple[Any, ...]]:
    """What a sqlite3 user binds for storekit's SQLite layout: ISO date text, fixed-width
    UTC timestamp text, bool as 0/1, floats as they are."""
    utc = dt.timezone.utc
    out = []
    for row in data:
        values = [row[c] for c in COLUMNS]
        values[3] = row["screening_date"].isoformat()
        values[7] = None if row["passed"] is None else int(row["passed"])
        created = row["created_at"]
        values[11] = None if created is None else created.astimezone(utc).isoformat(timespec="microseconds")
        out.append(tuple(values))
    return out
