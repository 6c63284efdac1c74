"""Promotion tiers (cart-level promotions of a PROMOTION campaign) and promotion stacks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import repository
from app.db.base import utcnow
from app.db.campaigns import Campaign, CampaignType, PromotionStack, PromotionTier
from app.db.ids import new_id
from app.db.rules import AssignedObject
from app.db.session import Database
from app.engine.error_codes import (
    INVALID_CAMPAIGN,
    INVALID_HIERARCHY,
    INVALID_PROMOTION_STACK,
    REQUIRED,
    RESOURCE_IN_USE,
    TOO_MANY_ITEMS,
)
from app.events.outbox import emit_row
from app.services import redeemable_inputs as shared
from app.services.errors import Checks, ServiceError, not_found

MAX_TIERS_PER_STACK = 30
MAX_TIERS_PER_CAMPAIGN = 100
MAX_HIERARCHY = 1_000_000


# --- tiers --------------------------------------------------------------------------------

def check_tier(checks: Checks, data: dict[str, Any], current: PromotionTier | None) -> None:
    creating = current is None
    checks.text(data.get("name"), ["name"], max_length=200, required=creating)
    if not creating and "name" in data and data["name"] is None:
        checks.fail(REQUIRED, "a promotion tier needs a name", ["name"])
    checks.text(data.get("banner"), ["banner"], max_length=1000)
    action = data.get("action")
    if creating or "action" in data:
        shared.check_discount(checks, (action or {}).get("discount"), ["action", "discount"],
                              required=True)
    hierarchy = data.get("hierarchy")
    if hierarchy is not None and not 0 <= hierarchy <= MAX_HIERARCHY:
        checks.fail(INVALID_HIERARCHY, f"hierarchy must be 0..{MAX_HIERARCHY}", ["hierarchy"])
    shared.check_validity(checks, data, current)
    shared.check_rule_ids(checks, data.get("validation_rule_ids"), ["validationRuleIds"])
    checks.metadata(data.get("metadata"), ["metadata"])


def _apply(tier: PromotionTier, data: dict[str, Any]) -> None:
    if data.get("name") is not None:
        tier.name = data["name"].strip()
    if "banner" in data:
        tier.banner = data["banner"]
    if data.get("action") is not None:
        tier.action = {"discount": shared.stored_discount(data["action"]["discount"])}
    if data.get("hierarchy") is not None:
        tier.hierarchy = data["hierarchy"]
    if data.get("active") is not None:
        tier.active = data["active"]
    for key, value in shared.stored_validity(data).items():
        setattr(tier, key, value)
    if "category_id" in data:
        tier.category_id = data["category_id"]
    if "metadata" in data:
        tier.metadata_ = data["metadata"] or {}


async def add_tier(
    session: AsyncSession, project_id: str, campaign_id: str, data: dict[str, Any],
    path: list[str], hierarchy: int,
) -> PromotionTier:
    """Insert a checked tier (its category and rules are resolved here)."""
    await shared.check_category(session, project_id, data.get("category_id"),
                                [*path, "categoryId"])
    tier = PromotionTier(
        id=new_id("promo"), project_id=project_id, campaign_id=campaign_id, name="",
        action={}, hierarchy=hierarchy, active=True, redeemed_quantity=0, discounted_amount=0,
        orders_amount=0, metadata_={},
    )
    _apply(tier, data)
    session.add(tier)
    if data.get("validation_rule_ids"):
        await shared.set_assignments(
            session, project_id, AssignedObject.PROMOTION_TIER, tier.id,
            data["validation_rule_ids"], [*path, "validationRuleIds"], replace=False,
        )
    await emit_row(session, project_id, "campaign.promotion_tier.created", "promotionTier", tier)
    return tier


async def _promotion_campaign(session: AsyncSession, project_id: str, campaign_id: str) -> Any:
    campaign = await repository.get(session, Campaign, project_id, campaign_id)
    if campaign is None:
        raise not_found("campaign", campaign_id, ["campaignId"])
    if campaign.campaign_type != CampaignType.PROMOTION:
        raise ServiceError.one(
            INVALID_CAMPAIGN, "promotion tiers belong to a PROMOTION campaign", ["campaignId"]
        )
    return campaign


async def create_promotion_tier(
    db: Database, project_id: str, data: dict[str, Any]
) -> PromotionTier:
    checks = Checks()
    check_tier(checks, data, None)
    checks.raise_if_any()
    async with db.write() as session:
        campaign = await _promotion_campaign(session, project_id, data["campaign_id"])
        count_stmt = sa.select(sa.func.count(), sa.func.max(PromotionTier.hierarchy)).where(
            PromotionTier.project_id == project_id, PromotionTier.campaign_id == campaign.id
        )
        count, highest = (await session.execute(count_stmt)).one()
        if count >= MAX_TIERS_PER_CAMPAIGN:
            raise ServiceError.one(
                TOO_MANY_ITEMS, f"a campaign has at most {MAX_TIERS_PER_CAMPAIGN} tiers",
                ["campaignId"],
            )
        tier = await add_tier(session, project_id, campaign.id, data, [], (highest or 0) + 1)
    return tier


async def _tier(session: AsyncSession, project_id: str, tier_id: str) -> PromotionTier:
    tier = await repository.get(session, PromotionTier, project_id, tier_id)
    if tier is None:
        raise not_found("promotion tier", tier_id, ["id"])
    return tier


async def update_promotion_tier(
    db: Database, project_id: str, tier_id: str, data: dict[str, Any]
) -> PromotionTier:
    async with db.write() as session:
        tier = await _tier(session, project_id, tier_id)
        checks = Checks()
        check_tier(checks, data, tier)
        checks.raise_if_any()
        await shared.check_category(session, project_id, data.get("category_id"),
                                    ["categoryId"])
        _apply(tier, data)
        tier.updated_at = utcnow()
        if data.get("validation_rule_ids") is not None:
            await shared.set_assignments(
                session, project_id, AssignedObject.PROMOTION_TIER, tier.id,
                data["validation_rule_ids"], ["validationRuleIds"], replace=True,
            )
        await emit_row(session, project_id, "campaign.promotion_tier.updated", "promotionTier",
                       tier)
    return tier


async def set_tier_active(
    db: Database, project_id: str, tier_id: str, active: bool
) -> PromotionTier:
    async with db.write() as session:
        tier = await _tier(session, project_id, tier_id)
        tier.active = active
        tier.updated_at = utcnow()
        await emit_row(session, project_id, "campaign.promotion_tier.enabled" if active
                       else "campaign.promotion_tier.disabled", "promotionTier", tier)
    return tier


async def delete_promotion_tier(db: Database, project_id: str, tier_id: str) -> PromotionTier:
    async with db.write() as session:
        tier = await _tier(session, project_id, tier_id)
        stacks = await _stacks_of_campaign(session, project_id, tier.campaign_id)
        using = [s.name for s in stacks if tier.id in s.tier_ids]
        if using:
            raise ServiceError.one(
                RESOURCE_IN_USE,
                f"the tier is in promotion stack(s) {', '.join(using)}; change them first",
                ["id"],
            )
        await shared.delete_assignments(session, project_id, [tier.id])
        await emit_row(session, project_id, "campaign.promotion_tier.deleted", "promotionTier",
                       tier)
        await session.delete(tier)
    return tier


def tier_clauses(campaign_id: str | None, *, public: bool) -> list[Any]:
    """Filters of `promotionTiers`; a publishable key sees only enabled tiers of enabled
    campaigns."""
    where: list[Any] = []
    if campaign_id is not None:
        where.append(PromotionTier.campaign_id == campaign_id)
    if public:
        where.append(PromotionTier.active.is_(True))  # type: ignore[attr-defined]
        where.append(PromotionTier.campaign_id.in_(  # type: ignore[attr-defined]
            sa.select(Campaign.id).where(Campaign.active.is_(True))  # type: ignore[attr-defined]
        ))
    return where


# --- stacks -------------------------------------------------------------------------------

async def _stacks_of_campaign(
    session: AsyncSession, project_id: str, campaign_id: str
) -> list[PromotionStack]:
    stmt = sa.select(PromotionStack).where(
        PromotionStack.project_id == project_id, PromotionStack.campaign_id == campaign_id
    )
    return list((await session.execute(stmt)).scalars())


def _check_stack(checks: Checks, data: dict[str, Any], *, creating: bool) -> None:
    checks.text(data.get("name"), ["name"], max_length=200, required=creating)
    if not creating and "name" in data and data["name"] is None:
        checks.fail(REQUIRED, "a promotion stack needs a name", ["name"])
    tier_ids = data.get("tier_ids")
    if tier_ids is None:
        if creating or "tier_ids" in data:
            checks.fail(REQUIRED, "a stack lists its tiers", ["tierIds"])
        return
    if not 1 <= len(tier_ids) <= MAX_TIERS_PER_STACK:
        checks.fail(INVALID_PROMOTION_STACK,
                    f"a stack has 1 to {MAX_TIERS_PER_STACK} tiers", ["tierIds"])
    elif len(set(tier_ids)) != len(tier_ids):
        checks.fail(INVALID_PROMOTION_STACK, "a tier appears once in a stack", ["tierIds"])


async def _check_stack_tiers(
    session: AsyncSession, project_id: str, campaign_id: str, tier_ids: list[str]
) -> None:
    found = await repository.get_many(session, PromotionTier, project_id, tier_ids)
    for index, tier_id in enumerate(tier_ids):
        tier = found.get(tier_id)
        if tier is None:
            raise not_found("promotion tier", tier_id, ["tierIds", str(index)])
        if tier.campaign_id != campaign_id:
            raise ServiceError.one(
                INVALID_PROMOTION_STACK, "the tiers of a stack belong to its campaign",
                ["tierIds", str(index)],
            )


async def create_promotion_stack(
    db: Database, project_id: str, data: dict[str, Any]
) -> PromotionStack:
    checks = Checks()
    _check_stack(checks, data, creating=True)
    checks.raise_if_any()
    async with db.write() as session:
        campaign = await _promotion_campaign(session, project_id, data["campaign_id"])
        await _check_stack_tiers(session, project_id, campaign.id, data["tier_ids"])
        await shared.check_category(session, project_id, data.get("category_id"),
                                    ["categoryId"])
        stack = PromotionStack(
            id=new_id("stack"), project_id=project_id, campaign_id=campaign.id,
            name=data["name"].strip(), tier_ids=list(data["tier_ids"]),
            category_id=data.get("category_id"),
        )
        session.add(stack)
    return stack


async def update_promotion_stack(
    db: Database, project_id: str, stack_id: str, data: dict[str, Any]
) -> PromotionStack:
    checks = Checks()
    _check_stack(checks, data, creating=False)
    checks.raise_if_any()
    async with db.write() as session:
        stack = await repository.get(session, PromotionStack, project_id, stack_id)
        if stack is None:
            raise not_found("promotion stack", stack_id, ["id"])
        if data.get("tier_ids") is not None:
            await _check_stack_tiers(session, project_id, stack.campaign_id, data["tier_ids"])
            stack.tier_ids = list(data["tier_ids"])
        await shared.check_category(session, project_id, data.get("category_id"),
                                    ["categoryId"])
        if data.get("name") is not None:
            stack.name = data["name"].strip()
        if "category_id" in data:
            stack.category_id = data["category_id"]
        stack.updated_at = utcnow()
    return stack


async def delete_promotion_stack(db: Database, project_id: str, stack_id: str) -> PromotionStack:
    async with db.write() as session:
        stack = await repository.get(session, PromotionStack, project_id, stack_id)
        if stack is None:
            raise not_found("promotion stack", stack_id, ["id"])
        await session.delete(stack)
    return stack
