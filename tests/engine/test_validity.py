"""Validity windows in the project time zone (reference §2.1, §2.4)."""

from datetime import UTC, datetime

import pytest
from engine_factories import amount_off, order, run, tier, voucher

from app.engine import DailyHours, RedeemableInput, RedeemableState, Validity


def code_at(v: object, now: datetime, tz: str = "UTC") -> str | None:
    result = run(order(amount=1000), v, now=now, tz=tz)  # type: ignore[arg-type]
    reason = result.redeemables[0].reason
    return reason.code if reason else None


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


class TestVoucherValidity:
    def test_dates(self) -> None:
        v = voucher("V", amount_off(100), validity=Validity(start_date=START, expiration_date=END))
        assert code_at(v, datetime(2026, 10, 31, tzinfo=UTC)) == "voucher_not_active"
        assert code_at(v, at(22, 12)) is None
        assert code_at(v, END) == "voucher_expired"

    def test_disabled_not_found_quantity(self) -> None:
        assert (
            code_at(voucher("V", amount_off(100), active=False), at(22, 12)) == "voucher_disabled"
        )
        assert code_at(voucher("V", amount_off(100), found=False), at(22, 12)) == "not_found"
        limited = voucher("V", amount_off(100), redemption_quantity=3)
        used = RedeemableInput(limited, RedeemableState(redeemed_quantity=3))
        assert code_at(used, at(22, 12)) == "quantity_exceeded"
        assert (
            code_at(RedeemableInput(limited, RedeemableState(redeemed_quantity=2)), at(22, 12))
            is None
        )

    def test_timeframe_every_day_for_an_hour(self) -> None:
        validity = Validity(
            start_date=datetime(2026, 11, 1, 18, tzinfo=UTC),
            timeframe_duration="PT1H",
            timeframe_interval="P1D",
        )
        v = voucher("V", amount_off(100), validity=validity)
        assert code_at(v, at(22, 18, 30)) is None
        assert code_at(v, at(22, 19, 0)) == "voucher_not_active_now"
        assert code_at(v, at(22, 17, 59)) == "voucher_not_active_now"

    def test_timeframe_monthly(self) -> None:
        validity = Validity(
            start_date=datetime(2026, 1, 31, tzinfo=UTC),
            timeframe_duration="P2D",
            timeframe_interval="P1M",
        )
        v = voucher("V", amount_off(100), validity=validity)
        assert code_at(v, datetime(2026, 2, 28, 12, tzinfo=UTC)) is None  # clamped to Feb 28
        assert code_at(v, datetime(2026, 3, 5, tzinfo=UTC)) == "voucher_not_active_now"

    def test_day_of_week_in_project_time_zone(self) -> None:
        # Sunday 23:30 UTC is already Monday in Warsaw.
        v = voucher("V", amount_off(100), validity=Validity(day_of_week=(1,)))
        assert code_at(v, at(22, 23, 30), "Europe/Warsaw") is None
        assert code_at(v, at(22, 23, 30), "UTC") == "voucher_not_active_now"

    def test_daily_hours(self) -> None:
        hours = (DailyHours("09:00", "17:00", (1, 2, 3, 4, 5)), DailyHours("10:00", "12:00", (0,)))
        v = voucher("V", amount_off(100), validity=Validity(daily_hours=hours))
        assert code_at(v, at(22, 11)) is None  # Sunday 11:00
        assert code_at(v, at(22, 13)) == "voucher_not_active_now"
        assert code_at(v, at(23, 16, 59)) is None  # Monday
        assert code_at(v, at(23, 17)) == "voucher_not_active_now"

    def test_daily_hours_overnight(self) -> None:
        v = voucher(
            "V",
            amount_off(100),
            validity=Validity(daily_hours=(DailyHours("22:00", "02:00", (6,)),)),
        )
        assert code_at(v, at(21, 23)) is None  # Saturday 23:00
        assert code_at(v, at(22, 1)) is None  # spills into Sunday
        assert code_at(v, at(22, 23)) == "voucher_not_active_now"


class TestPromotionTierValidity:
    def test_tier_codes(self) -> None:
        assert code_at(tier("promo_1", amount_off(100), active=False), at(22, 12)) == (
            "promotion_inactive"
        )
        t = tier("promo_1", amount_off(100), validity=Validity(expiration_date=START))
        assert code_at(t, at(22, 12)) == "promotion_not_active_now"


def test_timeframe_requires_start() -> None:
    from app.engine import CompileError, compile_redeemable

    with pytest.raises(CompileError):
        compile_redeemable(
            voucher(
                "V", None, validity=Validity(timeframe_duration="PT1H", timeframe_interval="P1D")
            )
        )
