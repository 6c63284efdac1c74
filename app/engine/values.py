"""Value coercion shared by rules, formulas and validity: numbers as numbers, dates as dates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def lookup_path(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """Find `path` in metadata; a dotted path walks nested objects when no flat key matches."""
    if path in data:
        return True, data[path]
    current: Any = data
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str) and _NUMBER.match(value):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def as_datetime(value: Any, tz: tzinfo = UTC) -> datetime | None:
    """Aware datetime from a datetime, a date (midnight in `tz`) or an ISO 8601 string."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4] == "-":
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return None


class Duration:
    """An ISO 8601 duration split into calendar months and an exact timedelta."""

    __slots__ = ("months", "delta")

    def __init__(self, months: int, delta: timedelta) -> None:
        self.months = months
        self.delta = delta

    def add_to(self, moment: datetime, times: int = 1) -> datetime:
        result = moment
        if self.months:
            result = add_months(result, self.months * times)
        return result + self.delta * times


def parse_duration(text: str) -> Duration:
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"invalid ISO 8601 duration: {text!r}")
    g = {k: (v or "0") for k, v in m.groupdict().items()}
    months = int(g["y"]) * 12 + int(g["mo"])
    delta = timedelta(
        weeks=int(g["w"]),
        days=int(g["d"]),
        hours=int(g["h"]),
        minutes=int(g["mi"]),
        seconds=float(g["s"]),
    )
    if months == 0 and delta == timedelta(0):
        raise ValueError(f"empty ISO 8601 duration: {text!r}")
    return Duration(months, delta)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    days = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def in_timeframe(moment: datetime, start: datetime, interval: Duration, duration: Duration) -> bool:
    """True when `moment` is inside a `duration` window opening every `interval` from `start`."""
    if moment < start:
        return False
    if interval.months == 0:
        step = interval.delta.total_seconds()
        elapsed = (moment - start).total_seconds()
        opened = start + interval.delta * int(elapsed // step)
    else:
        approx = (moment.year - start.year) * 12 + moment.month - start.month
        k = max(0, approx // interval.months - 1)
        opened = interval.add_to(start, k)
        while interval.add_to(start, k + 1) <= moment:
            k += 1
            opened = interval.add_to(start, k)
    return moment < duration.add_to(opened)


def dow(moment: datetime) -> int:
    """Day of week with 0 = Sunday … 6 = Saturday."""
    return (moment.weekday() + 1) % 7


def parse_hhmm(text: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    return int(hours) * 60 + int(minutes or 0)


def in_daily_hours(local: datetime, start: str, end: str, days: tuple[int, ...]) -> bool:
    """Within [start, end) on one of `days` (local time); an overnight window spills into the
    next day and counts for the day it started on."""
    minute = local.hour * 60 + local.minute
    lo, hi = parse_hhmm(start), parse_hhmm(end)
    if lo <= hi:
        return dow(local) in days and lo <= minute < hi
    if minute >= lo:
        return dow(local) in days
    return minute < hi and (dow(local) - 1) % 7 in days
