"""Live state read for every evaluation: redemption counters (per redeemable, per campaign, per
customer and period) and the holds of LOCK sessions. Never cached."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import Campaign
from app.db.redemptions import (
    Redemption,
    RedemptionResult,
    RedemptionStatus,
    SessionReservation,
)

COUNTER_RULES = (
    "redemption.count",
    "campaign.redemptions",
    "campaign.orders",
)


def needs_counters(definition: engine.Redeemable) -> bool:
    def walk(rules: Iterable[engine.Rule]) -> bool:
        return any(r.name.startswith(COUNTER_RULES) or walk(r.rules) for r in rules)

    return any(walk(v.rules) for v in definition.validation_rules) or any(
        needs_counters(t) for t in definition.tiers
    )


def period_starts(now: datetime, time_zone: str) -> dict[str, datetime]:
    """Start of the calendar day, ISO week and month of `now` in the project's time zone."""
    local = now.astimezone(ZoneInfo(time_zone))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "daily": day,
        "weekly": day - timedelta(days=day.weekday()),
        "monthly": day.replace(day=1),
    }


def _since(column: Any, start: datetime, value: Any = 1) -> Any:
    return sa.case((column >= start, value), else_=None)


def counter_names(definitions: Iterable[engine.Redeemable]) -> set[str]:
    """The counters the rules of these definitions (and their tiers) read."""
    names: set[str] = set()

    def walk(rules: Iterable[engine.Rule]) -> None:
        for rule in rules:
            if rule.name.startswith(COUNTER_RULES):
                names.add(rule.name)
            walk(rule.rules)

    def visit(definition: engine.Redeemable) -> None:
        for v in definition.validation_rules:
            walk(v.rules)
        for tier in definition.tiers:
            visit(tier)

    for definition in definitions:
        visit(definition)
    return names


async def counters(
    session: AsyncSession, project_id: str, incentive: tuple[Any, ...],
    incentive_ids: list[list[str]],
    campaign_ids: list[str], customer_id: str | None, now: datetime, time_zone: str,
    names: set[str] | None = None,
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Redemption counts before this request, per incentive and per campaign.

    `incentive`: the redemption columns naming spent rows (the kind registry's `voucher_id`,
    `promotion_tier_id`), and `incentive_ids` the ids to count in each: one branch per column
    that has ids, in its own index (a column without ids is not read at all, so no planner has
    to guess from statistics that it holds nothing). `names`: the counters the rules read
    (None: all); only the statements those need are sent. The per-customer counts read the
    customer's own redemptions (index `(customer_id, voucher_id | promotion_tier_id, …)`), so
    a code redeemed by many others costs no more than a fresh one."""
    starts = period_starts(now, time_zone)
    live = [
        Redemption.project_id == project_id,
        Redemption.parent_id.is_not(None),  # type: ignore[union-attr]
        Redemption.result == RedemptionResult.SUCCESS,
        Redemption.status == RedemptionStatus.SUCCEEDED,
    ]
    wanted = [(link, ids) for link, ids in zip(incentive, incentive_ids, strict=True) if ids]
    per_incentive: dict[str, dict[str, int]] = {}

    async def per_link(prefix: str, only: list[Any]) -> None:
        columns = [sa.func.count().label(prefix)]
        for period, start in starts.items():
            columns.append(sa.func.count(_since(Redemption.created_at, start)).label(
                f"{prefix}.{period}"))
        stmt = sa.union_all(*(
            sa.select(link.label("incentive"), *columns)
            .where(*live, *only, link.in_(ids))
            .group_by(link)
            for link, ids in wanted
        ))
        for row in (await session.execute(stmt)).mappings():
            per_incentive.setdefault(row["incentive"], {}).update(
                {k: int(v) for k, v in row.items() if k != "incentive"})

    def reads(test: Any) -> bool:
        return names is None or any(test(n) for n in names)

    if wanted and reads(lambda n: n.startswith("redemption.count") and "per_customer" not in n):
        await per_link("redemption.count", [])
    if wanted and customer_id and reads(lambda n: n.startswith("redemption.count.per_customer")):
        await per_link("redemption.count.per_customer", [Redemption.customer_id == customer_id])
    per_campaign: dict[str, dict[str, int]] = {}
    if campaign_ids and reads(lambda n: n.startswith("campaign.redemptions")):
        # Other customers only: the engine counts the current one as +1 itself.
        others = (
            sa.case((Redemption.customer_id != customer_id, Redemption.customer_id), else_=None)
            if customer_id else Redemption.customer_id
        )
        columns = [
            sa.func.count().label("campaign.redemptions.count"),
            sa.func.count(sa.distinct(others)).label("campaign.redemptions.customers_count"),
        ]
        for period, start in starts.items():
            columns.append(sa.func.count(_since(Redemption.created_at, start)).label(
                f"campaign.redemptions.count.{period}"))
            columns.append(sa.func.count(sa.distinct(
                _since(Redemption.created_at, start, others)
            )).label(f"campaign.redemptions.customers_count.{period}"))
        stmt = (
            sa.select(Redemption.campaign_id, *columns)
            .where(*live, Redemption.campaign_id.in_(campaign_ids))  # type: ignore[union-attr]
            .group_by(Redemption.campaign_id)
        )
        for row in (await session.execute(stmt)).mappings():
            per_campaign[row["campaign_id"]] = {
                k: int(v) for k, v in row.items() if k != "campaign_id"
            }
    return per_incentive, per_campaign


def live_holds(project_id: Any, voucher: Any, now: Any, own_session: Any) -> list[Any]:
    """WHERE terms for other sessions' unexpired holds on `voucher` (ids or a column); the
    other arguments are values or bind parameters (None: no session of our own)."""
    terms = [
        SessionReservation.project_id == project_id,
        SessionReservation.expires_at > now,
        SessionReservation.voucher_id.in_(voucher) if isinstance(voucher, list)  # type: ignore[attr-defined]
        else SessionReservation.voucher_id == voucher,
    ]
    if own_session is not None:
        terms.append(SessionReservation.session_key != own_session)
    return terms


async def reservations(
    session: AsyncSession, project_id: str, voucher_ids: list[str], now: datetime,
    own_session: str | None,
) -> dict[str, tuple[int, int]]:
    """Live LOCK-session holds of other sessions: voucher id → (uses, gift credits)."""
    if not voucher_ids:
        return {}
    stmt = (
        sa.select(
            SessionReservation.voucher_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(SessionReservation.gift_credits), 0),
        )
        .where(*live_holds(project_id, voucher_ids, now, own_session))
        .group_by(SessionReservation.voucher_id)
    )
    return {
        voucher_id: (int(uses), int(credits))
        for voucher_id, uses, credits in (await session.execute(stmt)).all()
    }


async def campaign_totals(
    session: AsyncSession, campaign_ids: list[str]
) -> dict[str, tuple[int, int]]:
    if not campaign_ids:
        return {}
    stmt = sa.select(Campaign.id, Campaign.orders_amount, Campaign.discounted_amount).where(
        Campaign.id.in_(campaign_ids)  # type: ignore[attr-defined]
    )
    return {c: (int(o), int(d)) for c, o, d in (await session.execute(stmt)).all()}
