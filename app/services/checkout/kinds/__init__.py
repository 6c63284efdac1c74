"""The registry of redeemable kinds (see `base`): one handler per kind, registered here.

Adding a kind: a module with its handler (and its `RowSource`, if its rows live in a table no
registered source reads), and one line below. The shared checkout code finds it from here.
"""

from app.services.checkout.kinds.base import (
    Holds,
    KindHandler,
    Live,
    Needs,
    Parts,
    Registry,
    RowSource,
    Spending,
)
from app.services.checkout.kinds.discount_voucher import DiscountVoucher
from app.services.checkout.kinds.gift_card import GiftCard
from app.services.checkout.kinds.promotion_stack import PromotionStack
from app.services.checkout.kinds.promotion_tier import PromotionTier

REGISTRY = Registry()
REGISTRY.register(DiscountVoucher())
REGISTRY.register(GiftCard())
REGISTRY.register(PromotionTier())
REGISTRY.register(PromotionStack())

__all__ = [
    "REGISTRY", "Holds", "KindHandler", "Live", "Needs", "Parts", "Registry", "RowSource",
    "Spending",
]
