"""redeemStack and rollbackRedemption: lock, re-evaluate under the locks, write — all or nothing.

Locks are taken in one fixed order by every spending path (vouchers, tiers, campaigns, each by
id; then the order; then the customer). On PostgreSQL that is `SELECT … FOR NO KEY UPDATE`
(we only move counters, never keys, so rows that merely reference a locked voucher, such as a
FAILURE redemption recorded without waiting, are not blocked by it); on SQLite the write
transaction begins IMMEDIATE, so spending transactions run one at a time. Counters change
only through conditional UPDATEs that also re-check the limit, as a last line of defence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db import repository
from app.db.campaigns import Campaign, PromotionTier
from app.db.customers import Customer
from app.db.ids import new_id
from app.db.orders import (
    SHIPPING_LINE,
    SHIPPING_PRODUCT_ID,
    Order,
    OrderItem,
    OrderStatus,
    items_of_orders,
    line_product_id,
)
from app.db.redemptions import (
    IdempotencyRecord,
    Redemption,
    RedemptionResult,
    RedemptionRollback,
    RedemptionStatus,
    SessionReservation,
)
from app.db.session import Database
from app.db.vouchers import TransactionType, Voucher, VoucherTransaction
from app.engine import money
from app.events import payloads
from app.events.outbox import emit
from app.services import customers, snapshot
from app.services.errors import ServiceError, UserError
from app.services.stack import Clock, load_checked, run_engine, to_json, too_large, utc_now

T = TypeVar("T")
MAX_ATTEMPTS = 5


class _Retry(Exception):
    """A guard failed under locks that should have prevented it: start the transaction over."""


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


# --- idempotency --------------------------------------------------------------------------

def request_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_key(key: str | None) -> None:
    if key is not None and len(key) > 200:
        raise ServiceError.one("invalid_idempotency_key", "at most 200 characters",
                               ["idempotencyKey"])


async def _claim(
    session: AsyncSession, project_id: str, operation: str, key: str | None, digest: str
) -> dict[str, Any] | None:
    """The stored answer for this key, or None after claiming the key for this transaction.

    On PostgreSQL a concurrent claimer of the same key blocks on the primary key until we
    commit, then fails with IntegrityError and retries into the stored answer."""
    if key is None:
        return None
    _check_key(key)
    existing = await session.get(IdempotencyRecord, (project_id, operation, key))
    if existing is not None:
        if existing.request_hash != digest:
            raise ServiceError.one(
                "idempotency_key_reused",
                "this idempotency key was used with a different input", ["idempotencyKey"],
            )
        return existing.response
    session.add(IdempotencyRecord(
        project_id=project_id, operation=operation, key=key, request_hash=digest, response={}
    ))
    await session.flush()
    return None


async def _remember(
    session: AsyncSession, project_id: str, operation: str, key: str | None,
    response: dict[str, Any],
) -> None:
    if key is None:
        return
    await session.execute(
        sa.update(IdempotencyRecord)
        .where(
            IdempotencyRecord.project_id == project_id,
            IdempotencyRecord.operation == operation,
            IdempotencyRecord.key == key,
        )
        .values(response=response)
    )


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Re-run a spending transaction after a lost race (deadlock, serialization, key claim)."""
    for n in range(MAX_ATTEMPTS):
        try:
            return await attempt()
        except (IntegrityError, _Retry):
            if n == MAX_ATTEMPTS - 1:
                raise
        except DBAPIError as exc:
            code = getattr(getattr(exc, "orig", None), "sqlstate", None)
            if code not in ("40001", "40P01") or n == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


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


async def _bump(session: AsyncSession, stmt: Any) -> None:
    if (await session.execute(stmt)).rowcount != 1:
        raise _Retry()


async def _upsert_order(
    session: AsyncSession, project_id: str, loaded: snapshot.Snapshot,
    request: snapshot.StackRequest, calc: engine.OrderCalculation, customer_id: str | None,
    status: str | None,
) -> tuple[Order, list[dict[str, Any]]]:
    ref = request.order
    order = loaded.order_row
    new = order is None
    if order is None:
        order = Order(
            id=new_id("ord"), project_id=project_id,
            source_id=ref.source_id if ref else None, status=OrderStatus.PAID, amount=0,
            metadata_={},
        )
    order.status = status or (ref.status if ref and ref.status else None) or OrderStatus.PAID
    order.amount = calc.amount
    order.discount_amount = calc.discount_amount
    order.items_discount_amount = calc.items_discount_amount
    order.total_discount_amount = calc.total_discount_amount
    order.total_amount = calc.total_amount
    if ref is not None and ref.metadata is not None:
        order.metadata_ = {**order.metadata_, **ref.metadata}
    if customer_id is not None:
        order.customer_id = customer_id
    if new:  # inserted whole, before its lines and redemptions point at it
        session.add(order)
        await session.flush()
    lines = loaded.request.order.items
    # Units unit effects added in earlier redemptions stay counted as added.
    added_before = {i: row.added_quantity for i, row in enumerate(loaded.stored_lines or [])}
    if loaded.order_row is not None:  # a new order has no lines to replace
        await session.execute(sa.delete(OrderItem).where(OrderItem.order_id == order.id))
    rows = []
    for item in calc.items:
        shipping = item.product_id == SHIPPING_PRODUCT_ID
        rows.append({
            "id": new_id("oi"), "project_id": project_id, "order_id": order.id,
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


async def _spend_voucher(
    session: AsyncSession, project_id: str, voucher: Voucher, item: engine.RedeemableResult,
    reserved_uses: int, redemption_id: str,
) -> None:
    credits = item.gift.credits if item.gift else 0
    discount = item.order.total_applied_discount_amount
    limit_ok = sa.or_(
        Voucher.redemption_quantity.is_(None),  # type: ignore[union-attr]
        Voucher.redeemed_quantity + reserved_uses + 1 <= Voucher.redemption_quantity,
    )
    await _bump(session, sa.update(Voucher).where(
        Voucher.id == voucher.id, limit_ok, Voucher.gift_balance >= credits,
    ).values(
        redeemed_quantity=Voucher.redeemed_quantity + 1,
        redeemed_amount=Voucher.redeemed_amount + (credits or discount),
        gift_balance=Voucher.gift_balance - credits,
    ).execution_options(synchronize_session=False))
    if credits:
        balance = (await session.execute(
            sa.select(Voucher.gift_balance).where(Voucher.id == voucher.id)
        )).scalar_one()
        entry = VoucherTransaction(
            id=new_id("vtx"), project_id=project_id, voucher_id=voucher.id,
            type=TransactionType.CREDITS_REDEMPTION, amount=-credits, balance_after=balance,
            reason="redemption", redemption_id=redemption_id,
        )
        await _emit_gift_transaction(session, project_id, entry)


async def _emit_gift_transaction(
    session: AsyncSession, project_id: str, entry: VoucherTransaction
) -> None:
    """Add a gift card ledger entry and its `voucher.gift.transaction.created` event."""
    session.add(entry)
    await session.flush()
    await emit(session, project_id, "voucher.gift.transaction.created",
               {"transaction": payloads.row_json(entry)}, aggregate=("voucher", entry.voucher_id))


async def _count_campaign(
    session: AsyncSession, campaign_id: str, redemptions: int, discount: int, orders: int
) -> None:
    await session.execute(sa.update(Campaign).where(Campaign.id == campaign_id).values(
        redemptions_count=Campaign.redemptions_count + redemptions,
        discounted_amount=Campaign.discounted_amount + discount,
        orders_amount=Campaign.orders_amount + orders,
    ).execution_options(synchronize_session=False))


async def _count_customer(session: AsyncSession, customer_id: str, **deltas: int) -> None:
    await session.execute(sa.update(Customer).where(Customer.id == customer_id).values(**{
        name: getattr(Customer, name) + delta for name, delta in deltas.items()
    }).execution_options(synchronize_session=False))


async def _record_failure(
    session: AsyncSession, project_id: str, loaded: snapshot.Snapshot,
    result: engine.StackValidation, request: snapshot.StackRequest, now: datetime,
    as_json: dict[str, Any],
) -> RedeemOutcome:
    code, message = _first_failure(result)
    first_object, _, first_row = loaded.resolved[0]
    failure = Redemption(
        id=new_id("r"), project_id=project_id, parent_id=None,
        result=RedemptionResult.FAILURE, status=RedemptionStatus.FAILED,
        related_object_type="redemption",
        voucher_id=first_row if first_object is engine.RedeemableObject.VOUCHER else None,
        promotion_tier_id=first_row
        if first_object is engine.RedeemableObject.PROMOTION_TIER else None,
        customer_id=loaded.customer_row.id if loaded.customer_row else None,
        order_id=loaded.order_row.id if loaded.order_row else None,
        amount=0, gift_credits=0, order_amount=result.order.amount, failure_code=code,
        failure_message=message, session_key=request.session_key,
        details=as_json, metadata_=dict(request.metadata or {}), created_at=now,
    )
    session.add(failure)
    if loaded.customer_row is not None:
        await _count_customer(session, loaded.customer_row.id, redemptions_failed=1)
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
        voucher = loaded.vouchers.get(item.id) if (
            item.object is engine.RedeemableObject.VOUCHER) else None
        tier = loaded.tiers.get(item.id) if (
            item.object is engine.RedeemableObject.PROMOTION_TIER) else None
        credits = item.gift.credits if item.gift else 0
        totals = [
            (voucher.redeemed_amount + (credits or discount), "the code's redeemed amount")
        ] if voucher is not None else []
        if tier is not None:
            totals += [(tier.discounted_amount + discount, "the tier's discounted amount"),
                       (tier.orders_amount + order_amount, "the tier's orders amount")]
        campaign_id = voucher.campaign_id if voucher else (tier.campaign_id if tier else None)
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
    request: snapshot.StackRequest, order_status: str | None, now: datetime,
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
    parent = Redemption(
        id=new_id("r"), project_id=project_id, parent_id=None,
        result=RedemptionResult.SUCCESS, status=RedemptionStatus.SUCCEEDED,
        related_object_type="redemption", customer_id=customer_id, order_id=order.id,
        amount=result.order.total_applied_discount_amount,
        gift_credits=sum(i.gift.credits for i in spent if i.gift),
        order_amount=result.order.amount, session_key=request.session_key,
        details=as_json, metadata_=dict(request.metadata or {}), created_at=now,
    )
    session.add(parent)  # flushed with its children: one multi-row INSERT
    children: list[Redemption] = []
    campaigns_touched: dict[str, int] = {}
    item_json = {id(r): j for r, j in zip(result.redeemables, as_json["redeemables"], strict=True)}
    for item in spent:
        voucher = loaded.vouchers.get(item.id) if (
            item.object is engine.RedeemableObject.VOUCHER) else None
        tier = loaded.tiers.get(item.id) if (
            item.object is engine.RedeemableObject.PROMOTION_TIER) else None
        discount = item.order.total_applied_discount_amount
        campaign_id = voucher.campaign_id if voucher else (tier.campaign_id if tier else None)
        child = Redemption(
            id=new_id("r"), project_id=project_id, parent_id=parent.id,
            result=RedemptionResult.SUCCESS, status=RedemptionStatus.SUCCEEDED,
            related_object_type="voucher" if voucher else "promotion_tier",
            voucher_id=voucher.id if voucher else None,
            promotion_tier_id=tier.id if tier else None, campaign_id=campaign_id,
            customer_id=customer_id, order_id=order.id, amount=discount,
            gift_credits=item.gift.credits if item.gift else 0,
            order_amount=result.order.amount, session_key=request.session_key,
            details=item_json[id(item)], metadata_=dict(request.metadata or {}), created_at=now,
        )
        session.add(child)
        children.append(child)
        if voucher is not None:
            uses, _ = loaded.reserved.get(voucher.id, (0, 0))
            await _spend_voucher(session, project_id, voucher, item, uses, child.id)
        if tier is not None:
            await session.execute(sa.update(PromotionTier).where(
                PromotionTier.id == tier.id
            ).values(
                redeemed_quantity=PromotionTier.redeemed_quantity + 1,
                discounted_amount=PromotionTier.discounted_amount + discount,
                orders_amount=PromotionTier.orders_amount + result.order.amount,
            ).execution_options(synchronize_session=False))
        if campaign_id is not None:
            campaigns_touched[campaign_id] = campaigns_touched.get(campaign_id, 0) + discount
    for campaign_id, discount in sorted(campaigns_touched.items()):
        await _count_campaign(session, campaign_id, 1, discount, result.order.amount)
    if customer_id is not None:
        new_paid_order = loaded.order_row is None and order.status == OrderStatus.PAID
        await _count_customer(
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
    await session.flush()
    await _emit_redeemed(session, project_id, parent, children, order, order_items,
                         previous_status)
    return RedeemOutcome(parent=parent, children=children, order=order, validation=as_json)


async def _emit_redeemed(
    session: AsyncSession, project_id: str, parent: Redemption, children: list[Redemption],
    order: Order, order_items: list[dict[str, Any]], previous_status: str | None,
) -> None:
    """N + 1 `redemption.succeeded` (each child, then the parent) and the order's events."""
    order_data = {"order": payloads.order_json(order, order_items)}
    order_key = ("order", order.id)
    if previous_status is None:
        await emit(session, project_id, "order.created", order_data, aggregate=order_key,
                   fresh=True)
    else:
        await emit(session, project_id, "order.updated", order_data, aggregate=order_key)
    if order.status == OrderStatus.PAID and previous_status != OrderStatus.PAID:
        await emit(session, project_id, "order.paid", order_data, aggregate=order_key)
    for child in children:
        await emit(session, project_id, "redemption.succeeded",
                   payloads.redemption_data(child, order=order),
                   aggregate=("redemption", child.id), fresh=True)
    await emit(session, project_id, "redemption.succeeded",
               payloads.redemption_data(parent, children, order),
               aggregate=("redemption", parent.id), fresh=True)


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


def _request_payload(request: snapshot.StackRequest, order_status: str | None) -> Any:
    return {"request": to_json(request), "status": order_status}


@dataclass(frozen=True)
class _PreCheck:
    """What the read-only pre-check learnt for the locked attempt that follows it."""

    key_unused: bool  # no answer was stored under the idempotency key at the snapshot
    lines: tuple[engine.OrderItem, ...] | None  # the sent order lines, catalog resolved


async def _refuse_early(
    db: Database, project_id: str, request: snapshot.StackRequest, key: str | None,
    digest: str, now: datetime,
) -> RedeemOutcome | _PreCheck:
    """Record a redemption that would spend nothing without waiting for any lock.

    A read-only evaluation on one consistent snapshot decides it: if nothing could be spent
    there, the attempt is a FAILURE serialised at that snapshot (a later state can only be
    judged by a later attempt). This keeps the losers of a hot code (a drained limit, a spent
    balance) out of the queue for the voucher's row lock; anything that might succeed is
    left to the locked path, which evaluates again under the locks."""
    async with db.read(consistent=True) as session:
        if key is not None and await session.get(
            IdempotencyRecord, (project_id, "redeemStack", key)
        ) is not None:
            return _PreCheck(key_unused=False, lines=None)  # replayed (or refused) under lock
        loaded = await load_checked(
            session, project_id, request, now=now, mode=engine.Mode.REDEEM
        )
    result = run_engine(loaded)
    if _spent(loaded, result):
        return _PreCheck(key_unused=True, lines=loaded.sent_lines)
    as_json = to_json(result)
    async with db.write() as session:
        outcome = await _record_failure(session, project_id, loaded, result, request, now, as_json)
        _store_answer(session, project_id, key, digest, outcome)
        return outcome


def _store_answer(
    session: AsyncSession, project_id: str, key: str | None, digest: str,
    outcome: RedeemOutcome,
) -> None:
    """Claim the key and store its answer in one INSERT, at commit. A concurrent claimer of
    the same key makes the commit fail (IntegrityError); the retry then finds the key and
    replays its answer."""
    if key is not None:
        session.add(IdempotencyRecord(
            project_id=project_id, operation="redeemStack", key=key, request_hash=digest,
            response=outcome.stored(),
        ))


async def redeem_stack(
    db: Database, project_id: str, request: snapshot.StackRequest, *,
    idempotency_key: str | None = None, clock: Clock = utc_now,
) -> RedeemOutcome:
    _check_key(idempotency_key)
    digest = request_hash(_request_payload(request, None))

    async def attempt() -> RedeemOutcome:
        now = clock()
        early = await _refuse_early(db, project_id, request, idempotency_key, digest, now)
        if isinstance(early, RedeemOutcome):
            return early
        async with db.write() as session:
            if not early.key_unused:
                stored = await _claim(session, project_id, "redeemStack", idempotency_key, digest)
                if stored is not None:
                    return await _replay_redeem(session, project_id, stored)
            loaded = await load_checked(
                session, project_id, request, now=now, mode=engine.Mode.REDEEM, lock=True,
                lines=early.lines,
            )
            result = run_engine(loaded)
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
                _store_answer(session, project_id, idempotency_key, digest, outcome)
            else:  # claimed above
                await session.flush()
                await _remember(
                    session, project_id, "redeemStack", idempotency_key, outcome.stored()
                )
            return outcome

    return await _retrying(attempt)


# --- rollback -----------------------------------------------------------------------------

async def _refund_voucher(
    session: AsyncSession, project_id: str, child: Redemption, rollback_id: str
) -> None:
    assert child.voucher_id is not None
    await _bump(session, sa.update(Voucher).where(
        Voucher.id == child.voucher_id, Voucher.redeemed_quantity >= 1,
    ).values(
        redeemed_quantity=Voucher.redeemed_quantity - 1,
        redeemed_amount=Voucher.redeemed_amount - (child.gift_credits or child.amount),
        gift_balance=Voucher.gift_balance + child.gift_credits,
    ).execution_options(synchronize_session=False))
    if child.gift_credits:
        balance = (await session.execute(
            sa.select(Voucher.gift_balance).where(Voucher.id == child.voucher_id)
        )).scalar_one()
        await _emit_gift_transaction(session, project_id, VoucherTransaction(
            id=new_id("vtx"), project_id=project_id, voucher_id=child.voucher_id,
            type=TransactionType.CREDITS_REFUND, amount=child.gift_credits,
            balance_after=balance, reason="rollback", redemption_id=child.id,
            source_id=rollback_id,
        ))


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
    # The same lock order as redemption: vouchers, tiers, campaigns, by id.
    for model, ids in (
        (Voucher, sorted({c.voucher_id for c in children if c.voucher_id})),
        (PromotionTier, sorted({c.promotion_tier_id for c in children if c.promotion_tier_id})),
        (Campaign, sorted({c.campaign_id for c in children if c.campaign_id})),
    ):
        if ids:
            await session.execute(
                sa.select(model.id).where(model.id.in_(ids)).order_by(model.id)  # type: ignore[attr-defined]
                .with_for_update()
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
        if child.voucher_id:
            await _refund_voucher(session, project_id, child, rollback.id)
        if child.promotion_tier_id:
            await session.execute(sa.update(PromotionTier).where(
                PromotionTier.id == child.promotion_tier_id
            ).values(
                redeemed_quantity=PromotionTier.redeemed_quantity - 1,
                discounted_amount=PromotionTier.discounted_amount - child.amount,
                orders_amount=PromotionTier.orders_amount - child.order_amount,
            ).execution_options(synchronize_session=False))
        if child.campaign_id:
            campaigns_touched[child.campaign_id] = (
                campaigns_touched.get(child.campaign_id, 0) + child.amount
            )
        child.status = RedemptionStatus.ROLLED_BACK
    for campaign_id, discount in sorted(campaigns_touched.items()):
        await _count_campaign(session, campaign_id, -1, -discount, -parent.order_amount)
    parent.status = RedemptionStatus.ROLLED_BACK
    raw, _ = await snapshot.load_stacking_rules(session, project_id)
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
        await _count_customer(session, parent.customer_id, redemptions_rolled_back=len(children))
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
            stored = await _claim(
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
            await _remember(
                session, project_id, "rollbackRedemption", idempotency_key, outcome.stored()
            )
            return outcome

    return await _retrying(attempt)
