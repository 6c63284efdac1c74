"""Campaigns: coupon campaigns (one generic code or bulk unique codes), promotions with
tiers, gift-card campaigns. Up to INLINE_LIMIT codes are made in the create transaction;
more are made by a background job (`async_actions`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import repository
from app.db.base import utcnow
from app.db.campaigns import Campaign, CampaignMode, CampaignType, CreationStatus, PromotionTier
from app.db.ids import new_id
from app.db.redemptions import AsyncAction, AsyncActionStatus
from app.db.rules import AssignedObject
from app.db.session import Database
from app.db.vouchers import Voucher, VoucherType
from app.events.outbox import emit_row
from app.services import async_actions, codes, promotions
from app.services import redeemable_inputs as shared
from app.services import vouchers as voucher_service
from app.services.errors import Checks, ServiceError, not_found

INLINE_LIMIT = 1000
NOT_SUPPORTED = "not_supported"  # input for a feature not built yet: refused, never dropped
MAX_VOUCHERS = 1_000_000
CODE_CAMPAIGNS = {
    CampaignType.DISCOUNT_COUPONS: VoucherType.DISCOUNT_VOUCHER,
    CampaignType.REFERRAL_PROGRAM: VoucherType.DISCOUNT_VOUCHER,
    CampaignType.GIFT_VOUCHERS: VoucherType.GIFT_VOUCHER,
}
UNSUPPORTED = {CampaignType.LOYALTY_PROGRAM, CampaignType.LUCKY_DRAW}
UPDATABLE = (
    "name", "description", "start_date", "expiration_date", "validity_timeframe",
    "validity_day_of_week", "validity_hours", "active", "join_once", "auto_join",
    "category_id", "metadata",
)


@dataclass(frozen=True)
class CampaignCreated:
    campaign: Campaign
    async_action: AsyncAction | None


def _duplicate_name() -> ServiceError:
    return ServiceError.one("duplicate_name", "another campaign already has this name", ["name"])


def _check_fields(checks: Checks, data: dict[str, Any], current: Campaign | None) -> None:
    if data.get("auto_join"):
        checks.fail(NOT_SUPPORTED, "autoJoin enrols customers in loyalty programs, which are "
                    "not supported yet", ["autoJoin"])
    if data.get("join_once") and _mode(data, current) == CampaignMode.STANDALONE:
        checks.fail("invalid_campaign", "a STANDALONE campaign's one generic code is shared "
                    "by everyone: joinOnce cannot apply", ["joinOnce"])
    checks.text(data.get("name"), ["name"], max_length=200, required=current is None)
    if current is not None and "name" in data and data["name"] is None:
        checks.fail("required", "a campaign needs a name", ["name"])
    checks.text(data.get("description"), ["description"], max_length=5000)
    checks.metadata(data.get("metadata"), ["metadata"])
    shared.check_validity(checks, data, current)
    shared.check_rule_ids(checks, data.get("validation_rule_ids"), ["validationRuleIds"])


def _mode(data: dict[str, Any], current: Campaign | None) -> str:
    """STANDALONE (one generic code), STATIC or AUTO_UPDATE: as stored, or as create makes it."""
    if current is not None:
        return current.type
    if data.get("campaign_type") == CampaignType.PROMOTION:
        return CampaignMode.STATIC
    given = data.get("type")
    if given:
        return str(given)
    return CampaignMode.STANDALONE if data.get("vouchers_count") is None else CampaignMode.STATIC


@dataclass(frozen=True)
class Plan:
    """What a valid create input will make."""

    mode: str
    count: int
    config: codes.CodeConfig | None
    code: str | None


def _check_create(checks: Checks, data: dict[str, Any]) -> Plan | None:
    _check_fields(checks, data, None)
    kind = data["campaign_type"]
    if data.get("referral_program") is not None:
        checks.fail(NOT_SUPPORTED, "referralProgram (conversion events, referee rewards) is not "
                    "supported yet; referral codes work without it", ["referralProgram"])
    if kind in UNSUPPORTED:
        checks.fail("invalid_campaign", f"{kind} campaigns are not supported yet",
                    ["campaignType"])
        return None
    if kind == CampaignType.PROMOTION:
        return _check_promotion(checks, data)
    return _check_code_campaign(checks, data, kind)


def _check_promotion(checks: Checks, data: dict[str, Any]) -> Plan | None:
    for key, name in (("voucher", "voucher"), ("vouchers_count", "vouchersCount")):
        if data.get(key) is not None:
            checks.fail("invalid_campaign", f"a PROMOTION campaign has tiers, not {name}", [name])
    if data.get("type") not in (None, CampaignMode.STATIC):
        checks.fail("invalid_campaign", "a PROMOTION campaign makes no codes: its type is STATIC",
                    ["type"])
    tiers = (data.get("promotion") or {}).get("tiers") or []
    if checks.list_size(tiers, ["promotion", "tiers"], maximum=promotions.MAX_TIERS_PER_CAMPAIGN):
        for index, tier in enumerate(tiers):
            shared.nested(checks, ["promotion", "tiers", index],
                          lambda sub, t=tier: promotions.check_tier(sub, t, None))
            if tier.get("campaign_id") is not None:
                checks.fail("invalid_campaign", "tiers given here belong to the campaign being "
                            "created; leave campaignId out",
                            ["promotion", "tiers", index, "campaignId"])
    return Plan(mode=CampaignMode.STATIC, count=0, config=None, code=None)


def _check_code_campaign(checks: Checks, data: dict[str, Any], kind: str) -> Plan | None:
    if data.get("promotion") is not None:
        checks.fail("invalid_campaign", "only a PROMOTION campaign has promotion tiers",
                    ["promotion"])
    template = data.get("voucher")
    if template is None:
        checks.fail("invalid_campaign", f"a {kind} campaign needs a voucher template",
                    ["voucher"])
        return None
    wanted = CODE_CAMPAIGNS[kind]
    if template.get("type") != wanted:
        checks.fail("invalid_campaign", f"a {kind} campaign makes {wanted} vouchers",
                    ["voucher", "type"])
    if wanted == VoucherType.GIFT_VOUCHER:
        if template.get("discount") is not None:
            checks.fail("invalid_campaign", "gift cards have no discount",
                        ["voucher", "discount"])
        gift = template.get("gift")
        if gift is None:
            checks.fail("invalid_balance", "a GIFT_VOUCHERS campaign needs gift {amount}",
                        ["voucher", "gift"])
        else:
            voucher_service.check_gift_amount(checks, gift.get("amount"),
                                              ["voucher", "gift", "amount"])
    else:
        if template.get("gift") is not None:
            checks.fail("invalid_campaign", "only gift cards have gift", ["voucher", "gift"])
        if template.get("discount") is None:
            checks.fail("invalid_campaign", f"Property 'discount' is required for {kind} "
                        "campaign", ["voucher", "discount"])
        shared.check_discount(checks, template.get("discount"), ["voucher", "discount"])
    if template.get("loyalty_card") is not None:
        checks.fail("invalid_campaign", "loyalty cards are not supported yet",
                    ["voucher", "loyaltyCard"])
    quantity = (template.get("redemption") or {}).get("quantity")
    checks.positive(quantity, ["voucher", "redemption", "quantity"],
                    maximum=voucher_service.MAX_REDEMPTION_QUANTITY)
    return _plan_codes(checks, data, template)


def _plan_codes(checks: Checks, data: dict[str, Any], template: dict[str, Any]) -> Plan | None:
    given = data.get("vouchers_count")
    mode = _mode(data, None)
    code = template.get("code")
    if mode == CampaignMode.STANDALONE:
        if given not in (None, 1):
            checks.fail("invalid_campaign", "a STANDALONE campaign has exactly one code",
                        ["vouchersCount"])
        count = 1
        voucher_service.check_code(checks, code, ["voucher", "code"])
        if code is not None and template.get("code_config") is not None:
            checks.fail("invalid_code_config", "the generic code is given; a codeConfig "
                        "would make nothing", ["voucher", "codeConfig"])
    else:
        count = given or 0
        if code is not None:
            checks.fail("invalid_campaign", "only a STANDALONE campaign takes a code",
                        ["voucher", "code"])
        if not 0 <= count <= MAX_VOUCHERS:
            checks.fail("invalid_campaign", f"vouchersCount must be 0..{MAX_VOUCHERS:,}",
                        ["vouchersCount"])
            return None
    try:
        config = codes.parse_config(template.get("code_config"))
        if code is None:
            codes.check_feasible(config, count)
    except codes.CodeConfigError as exc:
        path: list[str | int] = ["voucher", "codeConfig"]
        checks.fail("invalid_code_config", str(exc), [*path, exc.field] if exc.field else path)
        return None
    return Plan(mode=mode, count=count, config=config, code=code)


def _stored_template(template: dict[str, Any] | None, plan: Plan, kind: str) -> Any:
    if template is None:
        return None
    stored: dict[str, Any] = {"type": template["type"]}
    if template.get("discount") is not None:
        stored["discount"] = shared.stored_discount(template["discount"])
    if template.get("gift") is not None:
        stored["gift"] = {
            "amount": template["gift"]["amount"],
            "effect": template["gift"].get("effect") or "APPLY_TO_ORDER",
        }
    if plan.config is not None:
        stored["code_config"] = plan.config.stored()
    quantity = (template.get("redemption") or {}).get("quantity")
    stored["redemption"] = {"quantity": quantity}
    stored["is_referral_code"] = (
        kind == CampaignType.REFERRAL_PROGRAM or bool(template.get("is_referral_code"))
    )
    return stored


def _apply(campaign: Campaign, data: dict[str, Any]) -> None:
    for key in UPDATABLE:
        if key not in data:
            continue
        value = data[key]
        if key == "name":
            campaign.name = value.strip()
        elif key == "metadata":
            campaign.metadata_ = value or {}
        elif key in ("active", "join_once", "auto_join"):
            if value is not None:
                setattr(campaign, key, value)
        elif key not in ("start_date", "expiration_date", "validity_timeframe",
                         "validity_day_of_week", "validity_hours"):
            setattr(campaign, key, value)
    for key, value in shared.stored_validity(data).items():
        setattr(campaign, key, value)


async def _name_taken(
    session: AsyncSession, project_id: str, name: str, own_id: str | None
) -> bool:
    stmt = sa.select(Campaign.id).where(
        Campaign.project_id == project_id, Campaign.name == name.strip()
    )
    found = (await session.execute(stmt)).scalar_one_or_none()
    return found is not None and found != own_id


async def create_campaign(db: Database, project_id: str, data: dict[str, Any]) -> CampaignCreated:
    checks = Checks()
    plan = _check_create(checks, data)
    checks.raise_if_any()
    assert plan is not None
    kind = data["campaign_type"]
    campaign = Campaign(
        id=new_id("camp"), project_id=project_id, name="", campaign_type=kind, type=plan.mode,
        voucher=_stored_template(data.get("voucher"), plan, kind), vouchers_count=0,
        active=True, join_once=False, auto_join=False, creation_status=CreationStatus.DONE,
        redemptions_count=0, discounted_amount=0, orders_amount=0, metadata_={},
    )
    _apply(campaign, data)
    if plan.mode == CampaignMode.STANDALONE:
        campaign.join_once = False  # reference §2.1: always false for a generic code
    action = None
    try:
        async with db.write() as session:
            if await _name_taken(session, project_id, campaign.name, None):
                raise _duplicate_name()
            await shared.check_category(session, project_id, data.get("category_id"),
                                        ["categoryId"])
            if plan.count > INLINE_LIMIT:
                campaign.creation_status = CreationStatus.IN_PROGRESS
            else:
                campaign.vouchers_count = plan.count
            session.add(campaign)
            await session.flush()
            if data.get("validation_rule_ids"):
                await shared.set_assignments(
                    session, project_id, AssignedObject.CAMPAIGN, campaign.id,
                    data["validation_rule_ids"], ["validationRuleIds"], replace=False,
                )
            tiers = (data.get("promotion") or {}).get("tiers") or []
            for index, tier in enumerate(tiers):
                await promotions.add_tier(
                    session, project_id, campaign.id, tier, ["promotion", "tiers", str(index)],
                    tier.get("hierarchy") or index + 1,
                )
            action = await _make_codes(session, project_id, campaign, plan)
            await emit_row(session, project_id, "campaign.created", "campaign", campaign)
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    if action is not None:
        async_actions.start(db, project_id, action.id)
    return CampaignCreated(campaign=campaign, async_action=action)


async def _make_codes(
    session: AsyncSession, project_id: str, campaign: Campaign, plan: Plan
) -> AsyncAction | None:
    if plan.code is not None:
        row = voucher_service.template_row(project_id, campaign, plan.code)
        if not await voucher_service.insert_rows(session, [row]):
            raise ServiceError.one(
                "duplicate_code", "another voucher of this project has this code",
                ["voucher", "code"],
            )
        return None
    if plan.count == 0 or plan.config is None:
        return None
    if plan.count <= INLINE_LIMIT:
        await voucher_service.generate_into(
            session, project_id, campaign, codes.CodeGenerator(plan.config), plan.count
        )
        return None
    action = AsyncAction(
        id=new_id("aa"), project_id=project_id, type=async_actions.GENERATE_VOUCHERS,
        status=AsyncActionStatus.QUEUED, progress=0, total=plan.count,
        params={"campaign_id": campaign.id},
    )
    session.add(action)
    return action


async def _campaign(session: AsyncSession, project_id: str, campaign_id: str) -> Campaign:
    campaign = await repository.get(session, Campaign, project_id, campaign_id)
    if campaign is None:
        raise not_found("campaign", campaign_id, ["id"])
    return campaign


async def update_campaign(
    db: Database, project_id: str, campaign_id: str, data: dict[str, Any]
) -> Campaign:
    try:
        async with db.write() as session:
            campaign = await _campaign(session, project_id, campaign_id)
            checks = Checks()
            _check_fields(checks, data, campaign)
            checks.raise_if_any()
            if data.get("name") and await _name_taken(
                session, project_id, data["name"], campaign.id
            ):
                raise _duplicate_name()
            await shared.check_category(session, project_id, data.get("category_id"),
                                        ["categoryId"])
            _apply(campaign, data)
            campaign.updated_at = utcnow()
            if data.get("validation_rule_ids") is not None:
                await shared.set_assignments(
                    session, project_id, AssignedObject.CAMPAIGN, campaign.id,
                    data["validation_rule_ids"], ["validationRuleIds"], replace=True,
                )
            await emit_row(session, project_id, "campaign.updated", "campaign", campaign)
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return campaign


async def set_active(db: Database, project_id: str, campaign_id: str, active: bool) -> Campaign:
    async with db.write() as session:
        campaign = await _campaign(session, project_id, campaign_id)
        campaign.active = active
        campaign.updated_at = utcnow()
        await emit_row(session, project_id,
                       "campaign.enabled" if active else "campaign.disabled", "campaign", campaign)
    return campaign


async def delete_campaign(db: Database, project_id: str, campaign_id: str) -> Campaign:
    """Delete the campaign with its vouchers, tiers and stacks (and their rule assignments)."""
    async with db.write() as session:
        campaign = await _campaign(session, project_id, campaign_id)
        await shared.delete_assignments(session, project_id, [campaign.id])
        await shared.delete_assignments(
            session, project_id,
            sa.select(Voucher.id).where(Voucher.project_id == project_id,
                                        Voucher.campaign_id == campaign.id),
        )
        await shared.delete_assignments(
            session, project_id,
            sa.select(PromotionTier.id).where(PromotionTier.project_id == project_id,
                                              PromotionTier.campaign_id == campaign.id),
        )
        await emit_row(session, project_id, "campaign.deleted", "campaign", campaign)
        await session.delete(campaign)
    return campaign


def list_clauses(campaign_type: str | None, active: bool | None) -> list[Any]:
    where: list[Any] = []
    if campaign_type is not None:
        where.append(Campaign.campaign_type == campaign_type)
    if active is not None:
        where.append(Campaign.active == active)
    return where
