"""GraphQL pieces shared by campaigns, vouchers and promotion tiers: discount, gift, validity,
code configuration; and the input → snake_case dict mapping the services take."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from aiodataloader import DataLoader
from strawberry import UNSET
from strawberry.types import Info

from app.api.context import Context
from app.api.enums import DiscountEffect, DiscountType, GiftEffect
from app.api.scalars import SafeInt
from app.services import rules as rule_service


def data_of(value: Any) -> Any:
    """An input object (nested) as the services' snake_case dict; unsent fields are left out."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [data_of(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: data_of(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not UNSET
        }
    return value


def rules_loader(info: Info[Context, None]) -> DataLoader:
    """`ValidationRulesByObjectIdLoader`, one per request."""
    ctx = info.context
    loader = ctx.extra.get("rules_of")
    if loader is None:
        async def batch(ids: list[str]) -> list[Any]:
            found = await rule_service.rules_of_objects(ctx.db, ctx.project_id, ids)
            return [found[i] for i in ids]

        loader = ctx.extra["rules_of"] = DataLoader(batch)
    return loader


@strawberry.input(description="One free-unit effect of a UNIT discount.")
class UnitInput:
    unit_off: int | None = None
    unit_type: str | None = strawberry.field(default=None, description="The product id")
    sku_id: str | None = None
    effect: DiscountEffect | None = None
    unit_off_formula: str | None = None


@strawberry.input
class DiscountInput:
    type: DiscountType
    effect: DiscountEffect | None = None
    amount_off: SafeInt | None = None
    percent_off: float | None = None
    amount_limit: SafeInt | None = None
    aggregated_amount_limit: SafeInt | None = None
    fixed_amount: SafeInt | None = None
    unit_off: int | None = None
    unit_type: str | None = None
    units: list[UnitInput] | None = None
    amount_off_formula: str | None = None
    percent_off_formula: str | None = None
    fixed_amount_formula: str | None = None
    unit_off_formula: str | None = None


@strawberry.type
class Unit:
    unit_off: int | None
    unit_type: str | None
    sku_id: str | None
    effect: DiscountEffect | None
    unit_off_formula: str | None


@strawberry.type(description="A discount definition (mirrors DiscountInput).")
class Discount:
    type: DiscountType
    effect: DiscountEffect | None
    amount_off: SafeInt | None
    percent_off: float | None
    amount_limit: SafeInt | None
    aggregated_amount_limit: SafeInt | None
    fixed_amount: SafeInt | None
    unit_off: int | None
    unit_type: str | None
    units: list[Unit] | None
    amount_off_formula: str | None
    percent_off_formula: str | None
    fixed_amount_formula: str | None
    unit_off_formula: str | None
    # Set only where the discount was applied (validation, redemption, qualification results).
    is_dynamic: bool | None = strawberry.field(
        default=None, description="The value came from a formula"
    )
    applied_amount: SafeInt | None = strawberry.field(
        default=None, description="What this discount took off the order (minor units)"
    )
    item_indices: list[int] | None = strawberry.field(
        default=None, description="The order items it applied to"
    )

    @classmethod
    def from_result(cls, data: dict[str, Any] | None) -> Discount | None:
        """The engine's applied discount (formulas already resolved to values)."""
        if not data:
            return None
        return cls(
            type=DiscountType(data["type"]),
            effect=DiscountEffect(data["effect"]) if data.get("effect") else None,
            amount_off=data.get("amount_off"), percent_off=data.get("percent_off"),
            amount_limit=data.get("amount_limit"),
            aggregated_amount_limit=data.get("aggregated_amount_limit"),
            fixed_amount=data.get("fixed_amount"), unit_off=data.get("unit_off"),
            unit_type=data.get("unit_type"), units=None, amount_off_formula=None,
            percent_off_formula=None, fixed_amount_formula=None, unit_off_formula=None,
            is_dynamic=data.get("is_dynamic"), applied_amount=data.get("applied_amount"),
            item_indices=data.get("item_indices"),
        )

    @classmethod
    def from_stored(cls, data: dict[str, Any] | None) -> Discount | None:
        if not data:
            return None
        units = data.get("units")
        return cls(
            type=DiscountType(data["type"]),
            effect=DiscountEffect(data["effect"]) if data.get("effect") else None,
            amount_off=data.get("amount_off"), percent_off=data.get("percent_off"),
            amount_limit=data.get("amount_limit"),
            aggregated_amount_limit=data.get("aggregated_amount_limit"),
            fixed_amount=data.get("fixed_amount"), unit_off=data.get("unit_off"),
            unit_type=data.get("unit_type"),
            units=[
                Unit(unit_off=u.get("unit_off"), unit_type=u.get("unit_type"),
                     sku_id=u.get("sku_id"),
                     effect=DiscountEffect(u["effect"]) if u.get("effect") else None,
                     unit_off_formula=u.get("unit_off_formula"))
                for u in units
            ] if units is not None else None,
            amount_off_formula=data.get("amount_off_formula"),
            percent_off_formula=data.get("percent_off_formula"),
            fixed_amount_formula=data.get("fixed_amount_formula"),
            unit_off_formula=data.get("unit_off_formula"),
        )


@strawberry.input
class GiftInput:
    amount: SafeInt = strawberry.field(description="Initial balance, minor units")
    effect: GiftEffect | None = None


@strawberry.input
class LoyaltyCardInput:
    points: SafeInt


@strawberry.input
class RedemptionLimitInput:
    quantity: int | None = strawberry.field(default=None, description="null = unlimited")


@strawberry.input
class CodeConfigInput:
    length: int | None = None
    charset: str | None = strawberry.field(
        default=None,
        description="Characters to draw from, or numbers | alphabetic | alphabetic_lowercase |"
        " alphabetic_uppercase | alphanumeric (default)",
    )
    prefix: str | None = None
    postfix: str | None = None
    pattern: str | None = strawberry.field(
        default=None, description="Each # is a charset character; overrides length"
    )


@strawberry.type
class CodeConfig:
    length: int
    charset: str
    prefix: str
    postfix: str
    pattern: str

    @classmethod
    def from_stored(cls, data: dict[str, Any] | None) -> CodeConfig | None:
        if not data:
            return None
        return cls(length=data["length"], charset=data["charset"], prefix=data["prefix"],
                   postfix=data["postfix"], pattern=data["pattern"])


@strawberry.input
class ValidityTimeframeInput:
    duration: str = strawberry.field(description="ISO 8601 duration, e.g. PT1H")
    interval: str = strawberry.field(description="ISO 8601 duration, e.g. P1D")


@strawberry.input
class DailyHoursInput:
    start_time: str = strawberry.field(description="HH:MM")
    expiration_time: str
    days_of_week: list[int]


@strawberry.input
class ValidityHoursInput:
    daily: list[DailyHoursInput]


@strawberry.type
class ValidityTimeframe:
    duration: str
    interval: str


@strawberry.type
class DailyHours:
    start_time: str
    expiration_time: str
    days_of_week: list[int]


@strawberry.type
class ValidityHours:
    daily: list[DailyHours]


@strawberry.type
class Validity:
    """Mixin of the validity fields stored on campaigns, vouchers and tiers."""

    start_date: datetime | None
    expiration_date: datetime | None
    validity_timeframe: ValidityTimeframe | None
    validity_day_of_week: list[int] | None
    validity_hours: ValidityHours | None


def validity_fields(row: Any) -> dict[str, Any]:
    timeframe, hours = row.validity_timeframe, row.validity_hours
    return {
        "start_date": row.start_date,
        "expiration_date": row.expiration_date,
        "validity_timeframe": ValidityTimeframe(**timeframe) if timeframe else None,
        "validity_day_of_week": row.validity_day_of_week,
        "validity_hours": ValidityHours(
            daily=[DailyHours(start_time=h["start_time"], expiration_time=h["expiration_time"],
                              days_of_week=list(h.get("days_of_week") or []))
                   for h in hours.get("daily", [])]
        ) if hours else None,
    }


@strawberry.input(description="What the service adds to a stack by itself (validateStack, "
                  "redeemStack).")
class AutoApplyInput:
    promotions: bool = strawberry.field(
        default=False,
        description="Add every active promotion tier of the project that applies to this "
        "order, under the stacking rules; each one added is reported with autoApplied",
    )
