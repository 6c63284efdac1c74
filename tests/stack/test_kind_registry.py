"""The registry of redeemable kinds: a new kind is one handler plus one registration.

A pay-with-points card is registered here as a test kind (its points kept, for the test, in the
voucher row's balance column): validateStack, LOCK sessions, redeemStack and
rollbackRedemption then load, check, hold, spend, record and refund it through its handler,
with no change to the shared checkout code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import Campaign
from app.db.ids import new_id
from app.db.redemptions import Redemption, SessionReservation
from app.db.vouchers import Voucher
from app.services.checkout.kinds import REGISTRY, Live, Spending
from app.services.checkout.kinds.base import KindHandler, Registry
from app.services.checkout.kinds.discount_voucher import DiscountVoucher
from app.services.checkout.kinds.promotion_tier import PromotionTier
from app.services.checkout.kinds.vouchers import VoucherKind
from app.services.checkout.request import RedeemableRef
from app.services.checkout.writes import bump
from tests.stack import factories as f
from tests.stack.test_redeem_stack import voucher_row

VALIDATE = """query($i: StackInput!) { validateStack(input: $i) {
  valid order { totalAmount totalDiscountAmount } session { key }
  redeemables { id status reason { code } loyaltyCard { points balance amount } } } }"""
REDEEM = """mutation($i: RedeemStackInput!) { redeemStack(input: $i) {
  redemption { id amount children { voucherId amount } }
  errors { code } } }"""
ROLLBACK = """mutation($i: RollbackInput!) { rollbackRedemption(input: $i) {
  redemption { status } errors { code } } }"""
CART = {"items": [{"sourceId": "tee", "quantity": 2, "price": 2000}]}


class PointsCard(VoucherKind):
    """Pays with points; its campaign's metadata says how many points make a currency unit
    (read as the kind's extras, to show a kind reading rows of another table)."""

    kind = engine.RedeemableKind.LOYALTY_CARD
    row_type = "LOYALTY_CARD"
    takes_rewards = True
    needs_extras = True

    def __init__(self) -> None:
        self.locks: list[bool] = []  # `lock` of every extras read

    async def extras(self, session: AsyncSession, project_id: str,
                     asked: list[tuple[RedeemableRef, Any]], *, lock: bool) -> Any:
        self.locks.append(lock)
        ids = sorted({row.campaign_id for _, row in asked})
        found = await session.execute(sa.select(Campaign.id, Campaign.metadata_).where(
            Campaign.project_id == project_id, Campaign.id.in_(ids)))  # type: ignore[attr-defined]
        return {campaign_id: int(metadata["points_ratio"]) for campaign_id, metadata in found}

    def state(self, row: Any, definition: engine.Redeemable, live: Live) -> engine.RedeemableState:
        uses, held = live.holds.get(row.id, (0, 0))
        return engine.RedeemableState(
            redeemed_quantity=row.redeemed_quantity + uses,
            loyalty_balance=max(0, row.gift_balance - held), holder_id=row.holder_id,
            counters=live.counters(row.id, definition.campaign_id),
        )

    def input(self, ref: RedeemableRef, row: Any, definition: engine.Redeemable,
              state: engine.RedeemableState, extras: Any) -> engine.RedeemableInput:
        return engine.RedeemableInput(redeemable=definition, state=state, reward=(
            engine.PayWithPoints(reward_id=ref.reward_id or "",
                                 points_ratio=extras[row.campaign_id],
                                 exchange_ratio=Decimal(1), points=ref.reward_points)))

    async def spend(self, session: AsyncSession, spending: Spending, row: Any,
                    result: engine.RedeemableResult, child: Redemption) -> None:
        assert result.loyalty_card is not None
        points = result.loyalty_card.points
        await bump(session, sa.update(Voucher).where(
            Voucher.id == row.id, Voucher.gift_balance >= points,
        ).values(redeemed_quantity=Voucher.redeemed_quantity + 1,
                 gift_balance=Voucher.gift_balance - points))

    def reservation(self, row: Any, result: engine.RedeemableResult, project_id: str,
                    session_key: str, expires_at: datetime) -> SessionReservation | None:
        assert result.loyalty_card is not None
        return SessionReservation(project_id=project_id, session_key=session_key,
                                  voucher_id=row.id, gift_credits=result.loyalty_card.points,
                                  expires_at=expires_at)

    async def refund(self, session: AsyncSession, project_id: str, child: Redemption,
                     rollback_id: str) -> None:
        points = (child.details or {})["loyalty_card"]["points"]
        await bump(session, sa.update(Voucher).where(Voucher.id == child.voucher_id).values(
            redeemed_quantity=Voucher.redeemed_quantity - 1,
            gift_balance=Voucher.gift_balance + points))


@pytest.fixture
def points_cards() -> Iterator[PointsCard]:
    saved = {k: dict(v) if isinstance(v, dict) else v for k, v in vars(REGISTRY).items()}
    kind = PointsCard()
    REGISTRY.register(kind)
    yield kind
    vars(REGISTRY).update(saved)


async def card(db, project_id: str, points: int) -> Voucher:  # type: ignore[no-untyped-def]
    program = await f.campaign(db, project_id, campaign_type="LOYALTY_PROGRAM")
    async with db.write() as s:
        await s.execute(sa.update(Campaign).where(Campaign.id == program.id).values(
            metadata_={"points_ratio": 10}))
    row = Voucher(
        id=new_id("v"), project_id=project_id, code="POINTS", type="LOYALTY_CARD",
        campaign_id=program.id,
        gift_amount=0, gift_balance=points, redemption_quantity=None, redeemed_quantity=0,
        redeemed_amount=0, active=True, is_referral_code=False, metadata_={},
    )
    async with db.write() as s:
        s.add(row)
    return row


def points(n: int, *, session: str | None = None) -> dict[str, Any]:
    ask: dict[str, Any] = {"redeemables": [{"object": "VOUCHER", "id": "POINTS",
                                            "reward": {"id": "rew_points", "points": n}}],
                           "order": CART}
    if session is not None:
        ask["session"] = {"key": session}
    return ask


class TestANewKind:
    async def test_without_a_handler_rewards_are_refused_and_its_rows_are_not_found(
        self, tenant, db
    ) -> None:
        await card(db, tenant.project_id, 500)
        errors = await tenant.api.errors(VALIDATE, i=points(150))
        assert [(e["extensions"]["code"], e["path"]) for e in errors] == [
            ("not_supported", ["validateStack"])]
        plain = (await tenant.api(VALIDATE, i={
            "redeemables": [{"object": "VOUCHER", "id": "POINTS"}], "order": CART,
        }))["validateStack"]
        assert [(r["status"], r["reason"]["code"]) for r in plain["redeemables"]] == [
            ("INAPPLICABLE", "not_found")]

    async def test_validate_hold_redeem_and_roll_back_through_its_handler(
        self, tenant, db, points_cards
    ) -> None:
        row = await card(db, tenant.project_id, 500)
        validated = (await tenant.api(VALIDATE, i=points(150)))["validateStack"]
        assert validated["valid"]
        assert validated["order"] == {"totalAmount": 2500, "totalDiscountAmount": 1500}
        assert validated["redeemables"][0]["loyaltyCard"] == {
            "points": 150, "balance": 500, "amount": 1500}

        held = (await tenant.api(VALIDATE, i=points(150, session="s1")))["validateStack"]
        assert held["session"] == {"key": "s1"}
        others = (await tenant.api(VALIDATE, i=points(300)))["validateStack"]
        assert others["redeemables"][0]["loyaltyCard"] == {
            "points": 300, "balance": 350, "amount": 3000}  # 150 held by s1
        over = (await tenant.api(VALIDATE, i=points(400)))["validateStack"]
        assert [(r["status"], r["reason"]["code"]) for r in over["redeemables"]] == [
            ("INAPPLICABLE", "loyalty_card_points_exceeded")]
        released = await tenant.api('mutation { releaseSession(input: {key: "s1"}) { released } }')
        assert released == {"releaseSession": {"released": 1}}

        redeemed = (await tenant.api(REDEEM, i=points(150)))["redeemStack"]
        assert redeemed["errors"] == []
        assert redeemed["redemption"]["amount"] == 1500
        assert redeemed["redemption"]["children"] == [{"voucherId": row.id, "amount": 1500}]
        spent = await voucher_row(db, row.id)
        assert (spent.gift_balance, spent.redeemed_quantity) == (350, 1)

        rolled = (await tenant.api(ROLLBACK, i={
            "redemptionId": redeemed["redemption"]["id"]}))["rollbackRedemption"]
        assert rolled == {"redemption": {"status": "ROLLED_BACK"}, "errors": []}
        refunded = await voucher_row(db, row.id)
        assert (refunded.gift_balance, refunded.redeemed_quantity) == (500, 0)
        # Read plain by validations, locked by the LOCK session and the redemption (after
        # its read-only pre-check); a rollback needs no extras.
        assert points_cards.locks == [False, True, False, False, False, True]


class TestRegistry:
    def test_one_source_per_object_and_one_kind_per_row_type(self) -> None:
        registry = Registry()
        registry.register(DiscountVoucher())
        with pytest.raises(ValueError, match="already have a kind"):
            registry.register(DiscountVoucher())

        class OtherTierRows(type(PromotionTier.source)):  # type: ignore[misc]
            pass

        class OtherTier(PromotionTier):
            source = OtherTierRows()

        registry.register(PromotionTier())
        with pytest.raises(ValueError, match="already have a source"):
            registry.register(OtherTier())

    def test_the_shipped_kinds_and_their_lock_order(self) -> None:
        assert [(s.object.value, s.rank, s.link) for s in REGISTRY.sources] == [
            ("PROMOTION_STACK", 5, None), ("VOUCHER", 10, "voucher_id"),
            ("PROMOTION_TIER", 20, "promotion_tier_id")]
        assert [s.object.value for s in REGISTRY.sources if s.locks] == [
            "VOUCHER", "PROMOTION_TIER"]
        assert REGISTRY.head is not None and REGISTRY.head.object.value == "VOUCHER"
        assert not REGISTRY.takes_rewards
        kinds = {(s.object.value, t): REGISTRY.handler(s, t).kind.value  # type: ignore[union-attr]
                 for s, t in [(REGISTRY.sources[1], "DISCOUNT_VOUCHER"),
                              (REGISTRY.sources[1], "GIFT_VOUCHER"),
                              (REGISTRY.sources[2], None), (REGISTRY.sources[0], None)]}
        assert kinds == {
            ("VOUCHER", "DISCOUNT_VOUCHER"): "DISCOUNT_VOUCHER",
            ("VOUCHER", "GIFT_VOUCHER"): "GIFT_VOUCHER",
            ("PROMOTION_TIER", None): "PROMOTION_TIER",
            ("PROMOTION_STACK", None): "PROMOTION_STACK",
        }
        assert REGISTRY.handler(REGISTRY.sources[1], "LOYALTY_CARD") is None
        assert all(isinstance(h, KindHandler) for h in REGISTRY._handlers.values())
