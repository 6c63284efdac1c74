"""redeemStack: lock, re-evaluate under the locks, write — all or nothing.

Locks are taken in one fixed order by every spending path: the kinds' rows by source rank
(vouchers, then tiers; each by id), then campaigns by id, then the order, then the customer.
On PostgreSQL that is `SELECT … FOR NO KEY UPDATE` (we only move counters, never keys, so
rows that merely reference a locked voucher, such as a FAILURE redemption recorded without
waiting, are not blocked by it); on SQLite the write transaction begins IMMEDIATE, so
spending transactions run one at a time. Counters change only through conditional UPDATEs
that also re-check the limit, as a last line of defence.

What spending a redeemable writes, and which fields its child redemption carries, is up to
its kind's handler (`kinds`); this module records the parent, the order, the campaign and
customer totals and the events, for every kind alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db import repository
from app.db.base import utcnow
from app.db.customers import Customer
from app.db.ids import new_id, new_ids
from app.db.orders import SHIPPING_LINE, SHIPPING_PRODUCT_ID, Order, OrderItem, OrderStatus
from app.db.redemptions import (
    Redemption,
    RedemptionResult,
    RedemptionStatus,
    SessionReservation,
    insert_rows,
    new_row,
)
from app.db.session import Database
from app.engine import money
from app.events import payloads
from app.events.outbox import emit, emit_many
from app.services import customers
from app.services.checkout import autoapply, snapshot
from app.services.checkout.idempotency import (
    check_key,
    claim,
    insert_answer,
    key_used,
    remember,
    request_hash,
)
from app.services.checkout.kinds import REGISTRY, Spending
from app.services.checkout.request import Clock, StackRequest, too_large, utc_now
from app.services.checkout.results import to_json
from app.services.checkout.validate import load_checked, run_engine
from app.services.checkout.writes import count_campaign, count_customer, retrying
from app.services.errors import UserError

# --- outcomes -----------------------------------------------------------------------------

@dataclass
class RedeemOutcome:
    parent: Redemption | None
    children: list[Redemption]
    order: Order | None
    validation: dict[str, Any]
    errors: list[UserError] = field(default_factory=list)

    def stored(self) -> dict[str, Any]:
        return {
            "parent_id": self.parent.id if self.parent else None,
            "child_ids": [c.id for c in self.children],
            "order_id": self.order.id if self.order else None,
            "validation": self.validation,
            "errors": [e.__dict__ for e in self.errors],
        }


# --- redeem -------------------------------------------------------------------------------

def _spent(
    loaded: snapshot.Snapshot, result: engine.StackValidation
) -> list[engine.RedeemableResult]:
    """What a redemption spends: §13.2 — ALL mode spends nothing once anything failed."""
    if not result.valid and (
        loaded.stacking.redeemables_application_mode is engine.ApplicationMode.ALL
    ):
        return []
    return list(result.applicable_redeemables)


def _first_failure(result: engine.StackValidation) -> tuple[str, str]:
    for item in [*result.inapplicable_redeemables, *result.skipped_redeemables]:
        if item.reason is not None:
            return item.reason.code, item.reason.message
    return "no_applicable_redeemables", "none of the redeemables can be applied"


async def _upsert_order(
    session: AsyncSession, project_id: str, loaded: snapshot.Snapshot,
    request: StackRequest, calc: engine.OrderCalculation, customer_id: str | None,
    status: str | None,
) -> tuple[Order, list[dict[str, Any]]]:
    ref = request.order
    order = loaded.order_row
    totals = {
        "status": status or (ref.status if ref and ref.status else None) or OrderStatus.PAID,
        "amount": calc.amount, "discount_amount": calc.discount_amount,
        "items_discount_amount": calc.items_discount_amount,
        "total_discount_amount": calc.total_discount_amount, "total_amount": calc.total_amount,
    }
    if order is None:  # inserted whole, before its lines and redemptions point at it
        order = new_row(Order, {
            "id": new_id("ord"), "project_id": project_id,
            "source_id": ref.source_id if ref else None, **totals,
            "customer_id": customer_id,
            "metadata_": dict(ref.metadata) if ref is not None and ref.metadata else {},
            "created_at": utcnow(), "updated_at": None,
        })
        await insert_rows(session, [order])
    else:  # updated at the flush
        for name, value in totals.items():
            setattr(order, name, value)
        if ref is not None and ref.metadata is not None:
            order.metadata_ = {**order.metadata_, **ref.metadata}
        if customer_id is not None:
            order.customer_id = customer_id
    lines = loaded.request.order.items
    # Units unit effects added in earlier redemptions stay counted as added.
    added_before = {i: row.added_quantity for i, row in enumerate(loaded.stored_lines or [])}
    if loaded.order_row is not None:  # a new order has no lines to replace
        await session.execute(sa.delete(OrderItem).where(OrderItem.order_id == order.id))
    rows = []
    for item, line_id in zip(calc.items, new_ids("oi", len(calc.items)), strict=True):
        shipping = item.product_id == SHIPPING_PRODUCT_ID
        rows.append({
            "id": line_id, "project_id": project_id, "order_id": order.id,
            "position": item.index, "product_id": None if shipping else item.product_id,
            "sku_id": item.sku_id, "source_id": item.source_id,
            "related_object": SHIPPING_LINE if shipping else (
                "sku" if item.sku_id else ("product" if item.product_id else None)),
            "quantity": item.quantity, "price": item.price, "amount": item.amount,
            "discount_amount": item.discount_amount, "discount_quantity": item.discount_quantity,
            "added_quantity": added_before.get(item.index, 0) + item.quantity
            - item.initial_quantity,
            "metadata": dict(lines[item.index].metadata) if item.index < len(lines) else {},
        })
    if rows:  # one multi-row INSERT instead of a unit-of-work flush per line
        await session.execute(sa.insert(OrderItem.__table__), rows)  # type: ignore[attr-defined]
    return order, rows


async def _record_failure(
    session: AsyncSession, project_id: str, loaded: snapshot.Snapshot,
    result: engine.StackValidation, request: StackRequest, now: datetime,
    as_json: dict[str, Any],
) -> RedeemOutcome:
    code, message = _first_failure(result)
    first_object, _, first_row = loaded.resolved[0]
    link = REGISTRY.source(first_object).link
    failure = _redemption(
        id=new_id("r"), project_id=project_id, parent_id=None,
        result=RedemptionResult.FAILURE, status=RedemptionStatus.FAILED,
        related_object_type="redemption",
        **({link: first_row} if link is not None else {}),
        customer_id=loaded.customer_row.id if loaded.customer_row else None,
        order_id=loaded.order_row.id if loaded.order_row else None,
        amount=0, gift_credits=0, order_amount=result.order.amount, failure_code=code,
        failure_message=message, session_key=request.session_key,
        details=as_json, metadata_=dict(request.metadata or {}), created_at=now,
    )
    await insert_rows(session, [failure])
    if loaded.customer_row is not None:
        await count_customer(session, loaded.customer_row.id, redemptions_failed=1)
    await emit(session, project_id, "redemption.failed",
               payloads.redemption_data(failure, order=loaded.order_row),
               aggregate=("redemption", failure.id), fresh=True)
    return RedeemOutcome(
        parent=failure, children=[], order=loaded.order_row, validation=as_json,
        errors=[UserError(code, message, ["redeemables"])],
    )


def _check_counters(
    loaded: snapshot.Snapshot, result: engine.StackValidation,
    spent: list[engine.RedeemableResult],
) -> None:
    """The running totals this redemption adds to (read under its locks) must stay within
    the largest amount: refused before anything is written."""
    order_amount = result.order.amount
    requested = [name for _, name, _ in loaded.resolved]
    by_campaign: dict[str, int] = {}
    for item in spent:
        discount = item.order.total_applied_discount_amount
        hit = loaded.row_of(item.object, item.id)
        totals = hit[0].totals(hit[1], item, order_amount) if hit is not None else []
        campaign_id = hit[1].campaign_id if hit is not None else None
        if campaign_id is not None:
            by_campaign[campaign_id] = by_campaign.get(campaign_id, 0) + discount
            campaign = loaded.campaigns.get(campaign_id)
            if campaign is not None:
                totals += [
                    (campaign.discounted_amount + by_campaign[campaign_id],
                     "the campaign's discounted amount"),
                    (campaign.orders_amount + order_amount, "the campaign's orders amount"),
                ]
        for total, what in totals:
            if not money.fits(total):  # a stack's tier was not sent itself: the list is named
                at = requested.index(item.id) if item.id in requested else None
                raise too_large(what, ["redeemables", *([str(at)] if at is not None else [])])
    customer = loaded.customer_row
    if customer is not None and loaded.order_row is None and not money.fits(
        customer.orders_amount + order_amount
    ):
        raise too_large("the customer's orders amount", ["order", "amount"])


async def _record_success(
    session: AsyncSession, project_id: str, loaded: snapshot.Snapshot,
    result: engine.StackValidation, spent: list[engine.RedeemableResult],
    request: StackRequest, order_status: str | None, now: datetime,
    as_json: dict[str, Any],
) -> RedeemOutcome:
    _check_counters(loaded, result, spent)
    customer_id = loaded.customer_row.id if loaded.customer_row else None
    if request.customer is not None:
        upserted = await customers.upsert_in(
            session, project_id, request.customer.as_upsert(), ["customer"]
        )
        customer_id = upserted.customer.id
    previous_status = loaded.order_row.status if loaded.order_row is not None else None
    order, order_items = await _upsert_order(
        session, project_id, loaded, request, result.order, customer_id, order_status
    )
    parent = _redemption(
        id=new_id("r"), project_id=project_id, parent_id=None,
        result=RedemptionResult.SUCCESS, status=RedemptionStatus.SUCCEEDED,
        related_object_type="redemption", customer_id=customer_id, order_id=order.id,
        amount=result.order.total_applied_discount_amount,
        gift_credits=sum(i.gift.credits for i in spent if i.gift),
        order_amount=result.order.amount, session_key=request.session_key,
        details=as_json, metadata_=dict(request.metadata or {}), created_at=now,
    )
    children: list[Redemption] = []
    campaigns_touched: dict[str, int] = {}
    spending = Spending(project_id=project_id, holds=loaded.holds,
                        order_amount=result.order.amount)
    item_json = {id(r): j for r, j in zip(result.redeemables, as_json["redeemables"], strict=True)}
    hits = []
    for item in spent:
        hit = loaded.row_of(item.object, item.id)
        assert hit is not None, "an applicable redeemable has a row"
        handler, row = hit
        discount = item.order.total_applied_discount_amount
        child = _redemption(
            id=new_id("r"), project_id=project_id, parent_id=parent.id,
            result=RedemptionResult.SUCCESS, status=RedemptionStatus.SUCCEEDED,
            campaign_id=row.campaign_id, customer_id=customer_id, order_id=order.id,
            amount=discount, gift_credits=item.gift.credits if item.gift else 0,
            order_amount=result.order.amount, session_key=request.session_key,
            details=item_json[id(item)], metadata_=dict(request.metadata or {}), created_at=now,
            **handler.record(row, item),
        )
        children.append(child)
        hits.append((handler, row, item, child))
        if row.campaign_id is not None:
            campaigns_touched[row.campaign_id] = campaigns_touched.get(row.campaign_id, 0) + (
                discount)
    # Append-only: the parent and its children in one INSERT, before what points at them.
    await insert_rows(session, [parent, *children])
    for handler, row, item, child in hits:
        await handler.spend(session, spending, row, item, child)
    for campaign_id, discount in sorted(campaigns_touched.items()):
        await count_campaign(session, campaign_id, 1, discount, result.order.amount)
    if customer_id is not None:
        new_paid_order = loaded.order_row is None and order.status == OrderStatus.PAID
        await count_customer(
            session, customer_id, redemptions_succeeded=len(children),
            orders_count=1 if new_paid_order else 0,
            orders_amount=order.amount if new_paid_order else 0,
        )
        if new_paid_order:
            await session.execute(sa.update(Customer).where(Customer.id == customer_id).values(
                last_order_at=now
            ).execution_options(synchronize_session=False))
    if request.session_key is not None:
        await session.execute(sa.delete(SessionReservation).where(
            SessionReservation.project_id == project_id,
            SessionReservation.session_key == request.session_key,
        ))
    if loaded.order_row is not None:  # an existing order's new totals
        await session.flush()
    await _emit_redeemed(session, project_id, parent, children, order, order_items,
                         previous_status)
    return RedeemOutcome(parent=parent, children=children, order=order, validation=as_json)


async def _emit_redeemed(
    session: AsyncSession, project_id: str, parent: Redemption, children: list[Redemption],
    order: Order, order_items: list[dict[str, Any]], previous_status: str | None,
) -> None:
    """N + 1 `redemption.succeeded` (each child, then the parent) and the order's events,
    in one INSERT."""
    order_data = {"order": payloads.order_json(order, order_items)}
    order_key = ("order", order.id)
    emitted: list[tuple[str, dict[str, Any], tuple[str, str], bool]] = []
    if previous_status is None:
        emitted.append(("order.created", order_data, order_key, True))
    else:
        emitted.append(("order.updated", order_data, order_key, False))
    if order.status == OrderStatus.PAID and previous_status != OrderStatus.PAID:
        emitted.append(("order.paid", order_data, order_key, False))
    for child in children:
        emitted.append(("redemption.succeeded", payloads.redemption_data(child, order=order),
                        ("redemption", child.id), True))
    emitted.append(("redemption.succeeded", payloads.redemption_data(parent, children, order),
                    ("redemption", parent.id), True))
    await emit_many(session, project_id, emitted)


_REDEMPTION_DEFAULTS = {c: None for c in (
    "voucher_id", "promotion_tier_id", "campaign_id", "customer_id", "order_id", "failure_code",
    "failure_message", "session_key", "updated_at")}


def _redemption(**values: Any) -> Redemption:
    """A new redemption row (written with `insert_rows`)."""
    return new_row(Redemption, {**_REDEMPTION_DEFAULTS, **values})


async def _replay_redeem(session: AsyncSession, project_id: str, stored: dict[str, Any]) -> (
    RedeemOutcome
):
    ids = [i for i in [stored["parent_id"], *stored["child_ids"]] if i]
    rows = await repository.get_many(session, Redemption, project_id, ids)
    order = await repository.get(session, Order, project_id, stored["order_id"]) if (
        stored["order_id"]) else None
    return RedeemOutcome(
        parent=rows.get(stored["parent_id"]) if stored["parent_id"] else None,
        children=[rows[i] for i in stored["child_ids"] if i in rows],
        order=order,
        validation=stored["validation"],
        errors=[UserError(**e) for e in stored["errors"]],
    )


def _request_payload(request: StackRequest, order_status: str | None) -> Any:
    sent = to_json(request)
    # Requests without autoApply hash as they did before the option existed, so an
    # idempotency key stored by an earlier version still replays after an upgrade.
    if not request.auto_apply and not request.auto_added:
        sent.pop("auto_apply", None)
        sent.pop("auto_added", None)
    return {"request": sent, "status": order_status}


@dataclass(frozen=True)
class _PreCheck:
    """What the read-only pre-check learnt for the locked attempt that follows it."""

    key_unused: bool  # no answer was stored under the idempotency key at the snapshot
    lines: tuple[engine.OrderItem, ...] | None  # the sent order lines, catalog resolved
    request: StackRequest | None = None  # with the tiers autoApply added (autoapply.py)


async def _refuse_early(
    db: Database, project_id: str, request: StackRequest, key: str | None,
    digest: str, now: datetime,
) -> RedeemOutcome | _PreCheck:
    """Record a redemption that would spend nothing without waiting for any lock.

    A read-only evaluation on one consistent snapshot decides it: if nothing could be spent
    there, the attempt is a FAILURE serialised at that snapshot (a later state can only be
    judged by a later attempt). This keeps the losers of a hot code (a drained limit, a spent
    balance) out of the queue for the voucher's row lock; anything that might succeed is
    left to the locked path, which evaluates again under the locks."""
    async with db.read(consistent=True) as session:
        if key is not None and await key_used(session, project_id, "redeemStack", key):
            return _PreCheck(key_unused=False, lines=None)  # replayed (or refused) under lock
        request = await autoapply.expand(session, project_id, request, now, spending=True)
        loaded = await load_checked(
            session, project_id, request, now=now, mode=engine.Mode.REDEEM
        )
    result = run_engine(loaded, request)
    if _spent(loaded, result):
        return _PreCheck(key_unused=True, lines=loaded.sent_lines, request=request)
    as_json = to_json(result)
    async with db.write() as session:
        outcome = await _record_failure(session, project_id, loaded, result, request, now, as_json)
        await insert_answer(session, project_id, "redeemStack", key, digest, outcome.stored())
        return outcome


async def redeem_stack(
    db: Database, project_id: str, request: StackRequest, *,
    idempotency_key: str | None = None, clock: Clock = utc_now,
) -> RedeemOutcome:
    check_key(idempotency_key)
    digest = request_hash(_request_payload(request, None))

    async def attempt() -> RedeemOutcome:
        now = clock()
        early = await _refuse_early(db, project_id, request, idempotency_key, digest, now)
        if isinstance(early, RedeemOutcome):
            return early
        async with db.write() as session:
            if not early.key_unused:
                stored = await claim(session, project_id, "redeemStack", idempotency_key, digest)
                if stored is not None:
                    return await _replay_redeem(session, project_id, stored)
            expanded = early.request or await autoapply.expand(
                session, project_id, request, now, spending=True)
            loaded = await load_checked(
                session, project_id, expanded, now=now, mode=engine.Mode.REDEEM, lock=True,
                lines=early.lines,
            )
            result = run_engine(loaded, expanded)
            as_json = to_json(result)
            spent = _spent(loaded, result)
            if spent:
                outcome = await _record_success(
                    session, project_id, loaded, result, spent, request, None, now, as_json
                )
            else:
                outcome = await _record_failure(
                    session, project_id, loaded, result, request, now, as_json
                )
            if early.key_unused:
                await insert_answer(session, project_id, "redeemStack", idempotency_key,
                                    digest, outcome.stored())
            else:  # claimed above
                await session.flush()
                await remember(
                    session, project_id, "redeemStack", idempotency_key, outcome.stored()
                )
            return outcome

    return await retrying(attempt)
