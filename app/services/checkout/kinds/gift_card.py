"""Gift cards: voucher rows with a balance of credits. Spending credits (and refunding them on
rollback) writes a ledger entry with the balance after it, and its event."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.redemptions import Redemption
from app.db.vouchers import TransactionType, VoucherType
from app.services.checkout.kinds.base import Spending
from app.services.checkout.kinds.vouchers import VoucherKind, balance_entry


class GiftCard(VoucherKind):
    kind = engine.RedeemableKind.GIFT_VOUCHER
    row_type = VoucherType.GIFT_VOUCHER.value

    async def spend(
        self, session: AsyncSession, spending: Spending, row: Any,
        result: engine.RedeemableResult, child: Redemption,
    ) -> None:
        await super().spend(session, spending, row, result, child)
        credits = result.gift.credits if result.gift else 0
        if credits:
            await balance_entry(session, spending.project_id, row.id,
                                TransactionType.CREDITS_REDEMPTION, -credits, "redemption",
                                child.id)

    async def refund(
        self, session: AsyncSession, project_id: str, child: Redemption, rollback_id: str
    ) -> None:
        await super().refund(session, project_id, child, rollback_id)
        if child.gift_credits:
            assert child.voucher_id is not None
            await balance_entry(session, project_id, child.voucher_id,
                                TransactionType.CREDITS_REFUND, child.gift_credits, "rollback",
                                child.id, source_id=rollback_id)
