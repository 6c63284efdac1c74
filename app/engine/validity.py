"""Validity windows (reference §2.1): dates, timeframe, days of week, daily hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from app.engine.model import DailyHours, Validity
from app.engine.values import Duration, dow, in_daily_hours, in_timeframe, parse_duration


@dataclass(frozen=True, slots=True)
class CompiledValidity:
    start: datetime | None
    end: datetime | None
    timeframe: tuple[Duration, Duration] | None  # (interval, duration)
    days: frozenset[int] | None
    hours: tuple[DailyHours, ...] | None

    def window(self, now: datetime) -> str | None:
        """ "not_active" before start, "expired" after end, else None."""
        if self.start is not None and now < self.start:
            return "not_active"
        if self.end is not None and now >= self.end:
            return "expired"
        return None

    def active_now(self, now: datetime, tz: tzinfo) -> bool:
        local = now.astimezone(tz)
        if self.timeframe is not None and self.start is not None:
            interval, duration = self.timeframe
            if not in_timeframe(now, self.start, interval, duration):
                return False
        if self.days is not None and dow(local) not in self.days:
            return False
        if self.hours is not None:
            return any(
                in_daily_hours(local, h.start_time, h.expiration_time, h.days_of_week)
                for h in self.hours
            )
        return True


def _aware(moment: datetime | None) -> datetime | None:
    """Storage is UTC: a naive datetime is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def compile_validity(v: Validity) -> CompiledValidity:
    timeframe = None
    if v.timeframe_interval and v.timeframe_duration:
        if v.start_date is None:
            raise ValueError("validity_timeframe needs a start_date")
        timeframe = (parse_duration(v.timeframe_interval), parse_duration(v.timeframe_duration))
    return CompiledValidity(
        start=_aware(v.start_date),
        end=_aware(v.expiration_date),
        timeframe=timeframe,
        days=frozenset(v.day_of_week) if v.day_of_week is not None else None,
        hours=v.daily_hours,
    )
