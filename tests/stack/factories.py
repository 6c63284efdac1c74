"""Arrange data for stack tests straight in storage (the management API is tested elsewhere)."""

from __future__ import annotations

from typing import Any

from app.db.campaigns import Campaign, PromotionTier
from app.db.ids import new_id
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.db.session import Database
from app.db.vouchers import Voucher, VoucherTransaction


async def campaign(db: Database, project_id: str, **fields: Any) -> Campaign:
    row = Campaign(
        id=new_id("camp"), project_id=project_id, name=fields.pop("name", new_id("camp")),
        campaign_type=fields.pop("campaign_type", "DISCOUNT_COUPONS"),
        type=fields.pop("type", "STANDALONE"), vouchers_count=0,
        active=fields.pop("active", True), join_once=fields.pop("join_once", False),
        auto_join=False, creation_status="DONE", redemptions_count=0, discounted_amount=0,
        orders_amount=0, metadata_={}, **fields,
    )
    async with db.write() as s:
        s.add(row)
    return row


async def voucher(
    db: Database, project_id: str, code: str, *, discount: dict[str, Any] | None = None,
    gift: int | None = None, quantity: int | None = None, campaign_id: str | None = None,
    **fields: Any,
) -> Voucher:
    row = Voucher(
        id=new_id("v"), project_id=project_id, code=code, campaign_id=campaign_id,
        type="GIFT_VOUCHER" if gift is not None else "DISCOUNT_VOUCHER",
        discount=discount, gift_amount=gift or 0, gift_balance=gift or 0,
        gift_effect="APPLY_TO_ORDER" if gift is not None else None,
        redemption_quantity=quantity, redeemed_quantity=0, redeemed_amount=0,
        active=fields.pop("active", True), is_referral_code=False, metadata_={}, **fields,
    )
    async with db.write() as s:
        s.add(row)
        if gift:
            await s.flush()
            s.add(VoucherTransaction(
                id=new_id("vtx"), project_id=project_id, voucher_id=row.id,
                type="CREDITS_ADDITION", amount=gift, balance_after=gift,
            ))
    return row


async def tier(
    db: Database, project_id: str, campaign_id: str, *, discount: dict[str, Any], **fields: Any
) -> PromotionTier:
    row = PromotionTier(
        id=new_id("promo"), project_id=project_id, campaign_id=campaign_id,
        name=fields.pop("name", "tier"), action={"discount": discount},
        hierarchy=fields.pop("hierarchy", 1), active=fields.pop("active", True),
        redeemed_quantity=0, discounted_amount=0, orders_amount=0, metadata_={}, **fields,
    )
    async with db.write() as s:
        s.add(row)
    return row


async def rule(
    db: Database, project_id: str, assigned_to: str, object_type: str,
    rules: dict[str, Any], **fields: Any,
) -> ValidationRule:
    row = ValidationRule(
        id=new_id("val"), project_id=project_id, name=fields.pop("name", "rule"), rules=rules,
        error_message=fields.pop("error_message", None), **fields,
    )
    async with db.write() as s:
        s.add(row)
        await s.flush()
        s.add(ValidationRuleAssignment(
            id=new_id("asgm"), project_id=project_id, rule_id=row.id,
            related_object_type=object_type, related_object_id=assigned_to,
        ))
    return row
