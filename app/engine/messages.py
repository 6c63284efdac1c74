"""Standard messages for reason keys (reference §4.6, §6.2, §6.5)."""

from __future__ import annotations

STANDARD_MESSAGES: dict[str, str] = {
    "not_found": "Resource not found",
    "voucher_disabled": "voucher is disabled",
    "voucher_expired": "voucher expired",
    "voucher_not_active": "voucher not active",
    "voucher_not_active_now": "voucher not active now",
    "promotion_inactive": "Inactive Promotion",
    "promotion_not_active_now": "promotion not active now",
    "quantity_exceeded": "quantity exceeded",
    "gift_amount_exceeded": "gift amount exceeded",
    "loyalty_card_points_exceeded": "loyalty card points exceeded",
    "customer_rules_violated": "customer does not match validation rules",
    "order_rules_violated": "order does not match validation rules",
    "redemption_rules_violated": "redemption does not match validation rules",
    "missing_customer": "Customer is required to validate rules",
    "missing_reward": "A reward is required when redeeming a LOYALTY_CARD",
    "invalid_customer": "Customer must be a holder of a loyalty card.",
    "missing_order_items_amount": (
        "At least one applicable order item with amount is required to redeem this GIFT_VOUCHER"
    ),
    "referrer_not_permitted_to_redeem": "voucher cannot be redeemed by referrer",
    "applicable_redeemables_limit_exceeded": "Applicable redeemables limit exceeded",
    "applicable_redeemables_per_category_limit_exceeded": (
        "Applicable redeemables per category limit exceeded"
    ),
    "applicable_exclusive_redeemables_limit_exceeded": (
        "Applicable exclusive redeemables limit exceeded"
    ),
    "applicable_exclusive_redeemables_per_category_limit_exceeded": (
        "Applicable exclusive redeemables per category limit exceeded"
    ),
    "exclusion_rules_not_met": "Redeemable cannot be applied due to exclusion rules",
    "preceding_validation_failed": (
        "Redeemable cannot be applied due to preceding validation failure"
    ),
    "no_effect": "Redeemable cannot be applied due to no effect",
    "invalid_payload": "Invalid payload",
}


def message_for(code: str) -> str:
    return STANDARD_MESSAGES.get(code, code.replace("_", " "))
