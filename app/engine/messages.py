"""Standard messages for reason keys (reference §4.6, §6.2, §6.5)."""

from __future__ import annotations

from app.engine import error_codes

STANDARD_MESSAGES: dict[str, str] = {
    error_codes.NOT_FOUND: "Resource not found",
    error_codes.VOUCHER_DISABLED: "voucher is disabled",
    error_codes.VOUCHER_EXPIRED: "voucher expired",
    error_codes.VOUCHER_NOT_ACTIVE: "voucher not active",
    error_codes.VOUCHER_NOT_ACTIVE_NOW: "voucher not active now",
    error_codes.PROMOTION_INACTIVE: "Inactive Promotion",
    error_codes.PROMOTION_NOT_ACTIVE_NOW: "promotion not active now",
    error_codes.QUANTITY_EXCEEDED: "quantity exceeded",
    error_codes.GIFT_AMOUNT_EXCEEDED: "gift amount exceeded",
    error_codes.LOYALTY_CARD_POINTS_EXCEEDED: "loyalty card points exceeded",
    error_codes.CUSTOMER_RULES_VIOLATED: "customer does not match validation rules",
    error_codes.ORDER_RULES_VIOLATED: "order does not match validation rules",
    error_codes.REDEMPTION_RULES_VIOLATED: "redemption does not match validation rules",
    error_codes.MISSING_CUSTOMER: "Customer is required to validate rules",
    error_codes.MISSING_REWARD: "A reward is required when redeeming a LOYALTY_CARD",
    error_codes.INVALID_CUSTOMER: "Customer must be a holder of a loyalty card.",
    error_codes.MISSING_ORDER_ITEMS_AMOUNT: (
        "At least one applicable order item with amount is required to redeem this GIFT_VOUCHER"
    ),
    error_codes.REFERRER_NOT_PERMITTED_TO_REDEEM: "voucher cannot be redeemed by referrer",
    error_codes.APPLICABLE_REDEEMABLES_LIMIT_EXCEEDED: "Applicable redeemables limit exceeded",
    error_codes.APPLICABLE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED: (
        "Applicable redeemables per category limit exceeded"
    ),
    error_codes.APPLICABLE_EXCLUSIVE_REDEEMABLES_LIMIT_EXCEEDED: (
        "Applicable exclusive redeemables limit exceeded"
    ),
    error_codes.APPLICABLE_EXCLUSIVE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED: (
        "Applicable exclusive redeemables per category limit exceeded"
    ),
    error_codes.EXCLUSION_RULES_NOT_MET: "Redeemable cannot be applied due to exclusion rules",
    error_codes.PRECEDING_VALIDATION_FAILED: (
        "Redeemable cannot be applied due to preceding validation failure"
    ),
    error_codes.NO_EFFECT: "Redeemable cannot be applied due to no effect",
    error_codes.INVALID_PAYLOAD: "Invalid payload",
}


def message_for(code: str) -> str:
    return STANDARD_MESSAGES.get(code, code.replace("_", " "))
