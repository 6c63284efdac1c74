"""rollbackRedemption: give back what a redemption spent — all or nothing, under the same
global lock order as spending (the kinds' rows by source rank, campaigns, the order).

What giving a redeemable back writes is up to its kind's handler (`KindHandler.refund`);
this module records the rollbacks, the campaign and customer totals, the order (canceled, or
only this redemption's share taken off when others still discount it) and the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db import repository
from app.db.campaigns import Campaign
from app.db.ids import new_id
from app.db.orders import Order, OrderItem, OrderStatus, items_of_orders, line_product_id
from app.db.redemptions import (
    Redemption,
    RedemptionResult,
    RedemptionRollback,
    RedemptionStatus,
)
from app.db.session import Database
from app.events import payloads
from app.events.outbox import emit
from app.services.checkout.idempotency import claim, remember, request_hash
from app.services.checkout.kinds import REGISTRY
from app.services.checkout.request import Clock, utc_now
from app.services.checkout.snapshot import load_stacking_rules
from app.services.checkout.writes import count_campaign, count_customer, retrying
from app.services.errors import ServiceError, UserError


@dataclass
class RollbackOutcome:
    redemption: Redemption | None
    rollbacks: list[RedemptionRollback]
    order: Order | None
    errors: list[UserError] = field(default_factory=list)

    def stored(self) -> dict[str, Any]:
        return {
            "redemption_id": self.redemption.id if self.redemption else None,
            "rollback_ids": [r.id for r in self.rollbacks],
            "order_id": self.order.id if self.order else None,
            "errors": [e.__dict__ for e in self.errors],
        }


async def _cancel_order(session: AsyncSession, order_id: str) -> None:
    await session.execute(sa.update(Order).where(Order.id == order_id).values(
        status=OrderStatus.CANCELED, discount_amount=0, items_discount_amount=0,
        total_discount_amount=0, total_amount=Order.amount,
    ).execution_options(synchronize_session=False))
    await session.execute(sa.update(OrderItem).where(OrderItem.order_id == order_id).values(
        discount_amount=0, discount_quantity=0,
    ).execution_options(synchronize_session=False))


async def _others_live(session: AsyncSession, order_id: str, parent_id: str) -> bool:
    """Another successful, not rolled back redemption (stack) is on this order."""
    stmt = sa.select(Redemption.id).where(
        Redemption.order_id == order_id, Redemption.parent_id.is_(None),  # type: ignore[union-attr]
        Redemption.id != parent_id, Redemption.result == RedemptionResult.SUCCESS,
        Redemption.status == RedemptionStatus.SUCCEEDED,
    ).limit(1)
    return (await session.execute(stmt)).first() is not None


async def _revert_share(
    session: AsyncSession, project_id: str, order: Order, details: dict[str, Any] | None
) -> list[OrderItem]:
    """Take one stack's part off an order other stacks still discount: its order-level
    discount, its discount on each line and the units its unit effects added (the stack's
    calculation, stored with its parent redemption, says what they were)."""
    calc = (details or {}).get("order") or {}
    shares = {item["index"]: item for item in calc.get("items") or []}
    rows = (await items_of_orders(session, project_id, [order.id]))[order.id]
    for row in rows:
        share = shares.get(row.position)
        if share is None or (share.get("product_id"), share.get("sku_id")) != (
            line_product_id(row.product_id, row.related_object), row.sku_id
        ):
            continue  # not the line the stack discounted
        row.discount_amount = max(0, row.discount_amount - share["applied_discount_amount"])
        row.discount_quantity = max(
            0, row.discount_quantity - share.get("applied_discount_quantity", 0))
        added = min(share.get("applied_quantity", 0), row.added_quantity)
        if added > 0:
            amount = min(row.amount, share.get("applied_quantity_amount", 0))
            row.quantity -= added
            row.added_quantity -= added
            row.amount -= amount
            order.amount -= amount
    order.discount_amount = max(0, order.discount_amount - calc.get("applied_discount_amount", 0))
    order.items_discount_amount = sum(row.discount_amount for row in rows)
    order.total_discount_amount = order.discount_amount + order.items_discount_amount
    order.total_amount = max(0, order.amount - order.total_discount_amount)
    return rows


async def _rollback_in(
    session: AsyncSession, project_id: str, redemption_id: str, reason: str | None,
    now: datetime,
) -> RollbackOutcome:
    stmt = sa.select(Redemption).where(
        Redemption.project_id == project_id, Redemption.id == redemption_id
    ).with_for_update()
    parent = (await session.execute(stmt)).scalar_one_or_none()
    if parent is None:
        raise ServiceError.one("not_found", f"redemption {redemption_id!r} does not exist",
                               ["redemptionId"])
    if parent.parent_id is not None:
        raise ServiceError.one(
            "invalid_redemption_parent",
            "roll back the parent redemption: a stacked child cannot be rolled back alone",
            ["redemptionId"],
        )
    if parent.result == RedemptionResult.FAILURE:
        raise ServiceError.one("invalid_redemption", "a failed redemption spent nothing",
                               ["redemptionId"])
    if parent.status == RedemptionStatus.ROLLED_BACK:
        raise ServiceError.one("already_rolled_back", "Redemption has been already rolled back.",
                               ["redemptionId"])
    children = list((await session.execute(
        sa.select(Redemption).where(Redemption.parent_id == parent.id).order_by(Redemption.id)
    )).scalars())
    # The same lock order as redemption: the kinds' rows by source rank (vouchers, tiers),
    # then campaigns, each by id. Each spent row is refunded as the kind it is now.
    kinds: dict[engine.RedeemableObject, dict[str, Any]] = {}
    for source in REGISTRY.linked:
        assert source.link is not None
        ids = sorted({getattr(c, source.link) for c in children if getattr(c, source.link)})
        kinds[source.object] = await source.lock_for_rollback(session, ids) if ids else {}
    campaign_ids = sorted({c.campaign_id for c in children if c.campaign_id})
    if campaign_ids:
        await session.execute(
            sa.select(Campaign.id).where(Campaign.id.in_(campaign_ids))  # type: ignore[attr-defined]
            .order_by(Campaign.id).with_for_update()
        )
    order_row = (await session.execute(
        sa.select(Order).where(Order.project_id == project_id, Order.id == parent.order_id)
        .with_for_update(key_share=True)
    )).scalar_one_or_none() if parent.order_id else None
    parent_rollback = RedemptionRollback(
        id=new_id("rr"), project_id=project_id, redemption_id=parent.id, reason=reason,
        amount=-parent.amount, gift_credits=-parent.gift_credits, created_at=now,
    )
    session.add(parent_rollback)
    rollbacks = [parent_rollback]
    campaigns_touched: dict[str, int] = {}
    for child in children:
        rollback = RedemptionRollback(
            id=new_id("rr"), project_id=project_id, redemption_id=child.id,
            parent_rollback_id=parent_rollback.id, reason=reason, amount=-child.amount,
            gift_credits=-child.gift_credits, created_at=now,
        )
        session.add(rollback)
        rollbacks.append(rollback)
        for source in REGISTRY.linked:
            assert source.link is not None
            row_id = getattr(child, source.link)
            if row_id and row_id in kinds[source.object]:  # rows gone since: nothing to give
                handler = REGISTRY.handler(source, kinds[source.object][row_id])
                if handler is not None:
                    await handler.refund(session, project_id, child, rollback.id)
        if child.campaign_id:
            campaigns_touched[child.campaign_id] = (
                campaigns_touched.get(child.campaign_id, 0) + child.amount
            )
        child.status = RedemptionStatus.ROLLED_BACK
    for campaign_id, discount in sorted(campaigns_touched.items()):
        await count_campaign(session, campaign_id, -1, -discount, -parent.order_amount)
    parent.status = RedemptionStatus.ROLLED_BACK
    raw, _ = await load_stacking_rules(session, project_id)
    order_event: str | None = None
    order_items: list[OrderItem] | None = None
    if order_row is not None and raw.get("redeemables_rollback_order_mode", "WITH_ORDER") == (
        "WITH_ORDER"
    ):
        if await _others_live(session, order_row.id, parent.id):
            # Other stacks still discount this order: only this one's share goes, and the
            # order keeps its status (it is not canceled under live redemptions).
            order_items = await _revert_share(session, project_id, order_row, parent.details)
            order_event = "order.updated"
        else:
            await _cancel_order(session, order_row.id)
            order_event = "order.canceled"
    if parent.customer_id:
        await count_customer(session, parent.customer_id, redemptions_rolled_back=len(children))
    await session.flush()
    order = order_row
    if order is not None:
        await session.refresh(order)
        if order_event is not None:
            await emit(session, project_id, order_event,
                       {"order": payloads.order_json(order, order_items)},
                       aggregate=("order", order.id))
    for child, rollback in zip(children, rollbacks[1:], strict=True):
        await emit(session, project_id, "redemption.rollback.succeeded",
                   payloads.redemption_data(child, order=order, rollback=rollback),
                   aggregate=("redemption", child.id))
    await emit(session, project_id, "redemption.rollback.succeeded",
               payloads.redemption_data(parent, children, order, parent_rollback),
               aggregate=("redemption", parent.id))
    return RollbackOutcome(redemption=parent, rollbacks=rollbacks, order=order)


async def rollback_redemption(
    db: Database, project_id: str, redemption_id: str, *, reason: str | None = None,
    idempotency_key: str | None = None, clock: Clock = utc_now,
) -> RollbackOutcome:
    if reason is not None and len(reason) > 1000:
        raise ServiceError.one("too_long", "at most 1000 characters", ["reason"])
    digest = request_hash({"redemption_id": redemption_id, "reason": reason})

    async def attempt() -> RollbackOutcome:
        async with db.write() as session:
            stored = await claim(
                session, project_id, "rollbackRedemption", idempotency_key, digest
            )
            if stored is not None:
                rows = await repository.get_many(
                    session, RedemptionRollback, project_id, stored["rollback_ids"]
                )
                return RollbackOutcome(
                    redemption=await repository.get(
                        session, Redemption, project_id, stored["redemption_id"]
                    ) if stored["redemption_id"] else None,
                    rollbacks=[rows[i] for i in stored["rollback_ids"] if i in rows],
                    order=await repository.get(session, Order, project_id, stored["order_id"])
                    if stored["order_id"] else None,
                    errors=[UserError(**e) for e in stored["errors"]],
                )
            outcome = await _rollback_in(session, project_id, redemption_id, reason, clock())
            await remember(
                session, project_id, "rollbackRedemption", idempotency_key, outcome.stored()
            )
            return outcome

    return await retrying(attempt)
