"""Discount vouchers: codes (standalone or generated in a campaign) that give a discount."""

from __future__ import annotations

from app import engine
from app.db.vouchers import VoucherType
from app.services.checkout.kinds.vouchers import VoucherKind


class DiscountVoucher(VoucherKind):
    kind = engine.RedeemableKind.DISCOUNT_VOUCHER
    row_type = VoucherType.DISCOUNT_VOUCHER.value
