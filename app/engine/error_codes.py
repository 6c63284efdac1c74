"""Every stable code Promogate answers with, in one place.

A code is a contract: clients branch on it, so a code is never renamed and a new one is added
here first (tests/test_error_codes.py fails on a code emitted anywhere else). Three groups:

- `REASONS`: why a redeemable did not apply. `reason.code` of an INAPPLICABLE or SKIPPED
  redeemable in `validateStack`, `redeemStack` and `qualifications`; a failed `redeemStack`
  answers with the first one in `errors[].code` and stores it as `Redemption.failureCode`.
- `INPUT`: lower_snake codes of what was wrong with the caller's input or request:
  `errors[].code` of mutation payloads, `extensions.reason` of `BAD_USER_INPUT` errors, and
  `extensions.code` of the request-level errors of `validateStack` / `redeemStack` /
  `qualifications` (and of `amount_too_large` / `json_too_deep` anywhere).
- `GRAPHQL`: UPPER_SNAKE `extensions.code` of GraphQL errors: the request refused before it
  ran (transport, key, limits), or failed as a whole.

This module is pure data (the engine uses it, and so can every layer above).
"""

from __future__ import annotations

from typing import Final

# --- REASONS: why a redeemable did not apply -----------------------------------------------
NOT_FOUND: Final = "not_found"  # no such code, tier or stack (also an INPUT code)
VOUCHER_DISABLED: Final = "voucher_disabled"
VOUCHER_EXPIRED: Final = "voucher_expired"  # after its expiration date
VOUCHER_NOT_ACTIVE: Final = "voucher_not_active"  # before its start date
VOUCHER_NOT_ACTIVE_NOW: Final = "voucher_not_active_now"  # outside its days / hours / timeframe
PROMOTION_INACTIVE: Final = "promotion_inactive"
PROMOTION_NOT_ACTIVE_NOW: Final = "promotion_not_active_now"
QUANTITY_EXCEEDED: Final = "quantity_exceeded"  # its redemption limit is used up
GIFT_AMOUNT_EXCEEDED: Final = "gift_amount_exceeded"  # more credits than the balance
LOYALTY_CARD_POINTS_EXCEEDED: Final = "loyalty_card_points_exceeded"
CUSTOMER_RULES_VIOLATED: Final = "customer_rules_violated"
ORDER_RULES_VIOLATED: Final = "order_rules_violated"
REDEMPTION_RULES_VIOLATED: Final = "redemption_rules_violated"
MISSING_CUSTOMER: Final = "missing_customer"  # a rule needs a customer and none was sent
MISSING_REWARD: Final = "missing_reward"
INVALID_CUSTOMER: Final = "invalid_customer"  # not the holder of the loyalty card
MISSING_ORDER_ITEMS_AMOUNT: Final = "missing_order_items_amount"
REFERRER_NOT_PERMITTED_TO_REDEEM: Final = "referrer_not_permitted_to_redeem"
APPLICABLE_REDEEMABLES_LIMIT_EXCEEDED: Final = "applicable_redeemables_limit_exceeded"
APPLICABLE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED: Final = (
    "applicable_redeemables_per_category_limit_exceeded"
)
APPLICABLE_EXCLUSIVE_REDEEMABLES_LIMIT_EXCEEDED: Final = (
    "applicable_exclusive_redeemables_limit_exceeded"
)
APPLICABLE_EXCLUSIVE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED: Final = (
    "applicable_exclusive_redeemables_per_category_limit_exceeded"
)
EXCLUSION_RULES_NOT_MET: Final = "exclusion_rules_not_met"
PRECEDING_VALIDATION_FAILED: Final = "preceding_validation_failed"  # application mode ALL
NO_EFFECT: Final = "no_effect"  # nothing to take off, and the no-effect rule says SKIP
INVALID_PAYLOAD: Final = "invalid_payload"  # also the request-level INPUT code
NO_APPLICABLE_REDEEMABLES: Final = "no_applicable_redeemables"  # a failed redemption, no reason

REASONS: Final = frozenset({
    NOT_FOUND, VOUCHER_DISABLED, VOUCHER_EXPIRED, VOUCHER_NOT_ACTIVE, VOUCHER_NOT_ACTIVE_NOW,
    PROMOTION_INACTIVE, PROMOTION_NOT_ACTIVE_NOW, QUANTITY_EXCEEDED, GIFT_AMOUNT_EXCEEDED,
    LOYALTY_CARD_POINTS_EXCEEDED, CUSTOMER_RULES_VIOLATED, ORDER_RULES_VIOLATED,
    REDEMPTION_RULES_VIOLATED, MISSING_CUSTOMER, MISSING_REWARD, INVALID_CUSTOMER,
    MISSING_ORDER_ITEMS_AMOUNT, REFERRER_NOT_PERMITTED_TO_REDEEM,
    APPLICABLE_REDEEMABLES_LIMIT_EXCEEDED, APPLICABLE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED,
    APPLICABLE_EXCLUSIVE_REDEEMABLES_LIMIT_EXCEEDED,
    APPLICABLE_EXCLUSIVE_REDEEMABLES_PER_CATEGORY_LIMIT_EXCEEDED, EXCLUSION_RULES_NOT_MET,
    PRECEDING_VALIDATION_FAILED, NO_EFFECT, INVALID_PAYLOAD, NO_APPLICABLE_REDEEMABLES,
})

# --- INPUT: what was wrong with the input or the request -----------------------------------
# request-level (validateStack / redeemStack / qualifications: extensions.code)
TOO_MANY_REDEEMABLES: Final = "too_many_redeemables"
DUPLICATED_REDEEMABLES: Final = "duplicated_redeemables"
INVALID_REDEEMABLES: Final = "invalid_redeemables"  # a promotion stack with anything else
INVALID_ORDER: Final = "invalid_order"
MISSING_ITEM_PRICE: Final = "missing_item_price"
AMOUNT_TOO_LARGE: Final = "amount_too_large"  # an amount beyond ±(2^53 − 1), anywhere
JSON_TOO_DEEP: Final = "json_too_deep"  # a JSON value nested too deep, anywhere
# any input
REQUIRED: Final = "required"
BLANK: Final = "blank"
TOO_LONG: Final = "too_long"
TOO_MANY_ITEMS: Final = "too_many_items"
NEGATIVE_AMOUNT: Final = "negative_amount"
INVALID_QUANTITY: Final = "invalid_quantity"
INVALID_SOURCE_ID: Final = "invalid_source_id"
INVALID_METADATA: Final = "invalid_metadata"
METADATA_TOO_LARGE: Final = "metadata_too_large"
INVALID_CURSOR: Final = "invalid_cursor"
INVALID_PAGE_SIZE: Final = "invalid_page_size"
NOT_SUPPORTED: Final = "not_supported"  # input of a feature not built yet
DUPLICATE_SOURCE_ID: Final = "duplicate_source_id"
DUPLICATE_NAME: Final = "duplicate_name"
DUPLICATE_CODE: Final = "duplicate_code"
DUPLICATE_KEY: Final = "duplicate_key"
RESOURCE_IN_USE: Final = "resource_in_use"  # deleting what others still refer to
# per area
INVALID_CAMPAIGN: Final = "invalid_campaign"
CAMPAIGN_NOT_ACTIVE: Final = "campaign_not_active"
INVALID_CODE: Final = "invalid_code"
INVALID_CODE_CONFIG: Final = "invalid_code_config"
INVALID_VOUCHER: Final = "invalid_voucher"
INVALID_BALANCE: Final = "invalid_balance"
INVALID_AMOUNT: Final = "invalid_amount"
INVALID_DISCOUNT: Final = "invalid_discount"
INVALID_VALIDITY: Final = "invalid_validity"
INVALID_DATE: Final = "invalid_date"
INVALID_EXPIRATION_DATE: Final = "invalid_expiration_date"
INVALID_VALIDATION_RULES: Final = "invalid_validation_rules"
INVALID_STACKING_RULES: Final = "invalid_stacking_rules"
INVALID_STACKING_RULES_TYPE: Final = "invalid_stacking_rules_type"
INVALID_HIERARCHY: Final = "invalid_hierarchy"
INVALID_PROMOTION_STACK: Final = "invalid_promotion_stack"
MISSING_VOUCHERS: Final = "missing_vouchers"
NO_VOUCHER_SUITABLE_FOR_PUBLICATION: Final = "no_voucher_suitable_for_publication"
VOUCHER_ALREADY_PUBLISHED: Final = "voucher_already_published"
VOUCHER_CANNOT_BE_PUBLISHED: Final = "voucher_cannot_be_published"
INVALID_EMAIL: Final = "invalid_email"
INVALID_BIRTHDATE: Final = "invalid_birthdate"
INVALID_ADDRESS: Final = "invalid_address"
INVALID_TYPE: Final = "invalid_type"
INVALID_ATTRIBUTES: Final = "invalid_attributes"
INVALID_FILTER: Final = "invalid_filter"
INVALID_PRODUCTS: Final = "invalid_products"
INVALID_OBJECT: Final = "invalid_object"
SKU_PRODUCT_MISMATCH: Final = "sku_product_mismatch"
INVALID_STATUS: Final = "invalid_status"
MISSING_AMOUNT: Final = "missing_amount"
INVALID_IDEMPOTENCY_KEY: Final = "invalid_idempotency_key"
IDEMPOTENCY_KEY_REUSED: Final = "idempotency_key_reused"
INVALID_REDEMPTION: Final = "invalid_redemption"
INVALID_REDEMPTION_PARENT: Final = "invalid_redemption_parent"
ALREADY_ROLLED_BACK: Final = "already_rolled_back"
INVALID_CURRENCY: Final = "invalid_currency"
INVALID_TIME_ZONE: Final = "invalid_time_zone"
INVALID_URL: Final = "invalid_url"
INVALID_EVENTS: Final = "invalid_events"
INVALID_EVENT_TYPE: Final = "invalid_event_type"
ALREADY_PENDING: Final = "already_pending"

INPUT: Final = frozenset({
    NOT_FOUND, INVALID_PAYLOAD, TOO_MANY_REDEEMABLES, DUPLICATED_REDEEMABLES,
    INVALID_REDEEMABLES, INVALID_ORDER, MISSING_ITEM_PRICE, AMOUNT_TOO_LARGE, JSON_TOO_DEEP,
    REQUIRED, BLANK, TOO_LONG, TOO_MANY_ITEMS, NEGATIVE_AMOUNT, INVALID_QUANTITY,
    INVALID_SOURCE_ID, INVALID_METADATA, METADATA_TOO_LARGE, INVALID_CURSOR, INVALID_PAGE_SIZE,
    NOT_SUPPORTED, DUPLICATE_SOURCE_ID, DUPLICATE_NAME, DUPLICATE_CODE, DUPLICATE_KEY,
    RESOURCE_IN_USE, INVALID_CAMPAIGN, CAMPAIGN_NOT_ACTIVE, INVALID_CODE, INVALID_CODE_CONFIG,
    INVALID_VOUCHER, INVALID_BALANCE, INVALID_AMOUNT, GIFT_AMOUNT_EXCEEDED, INVALID_DISCOUNT,
    INVALID_VALIDITY, INVALID_DATE, INVALID_EXPIRATION_DATE, INVALID_VALIDATION_RULES,
    INVALID_STACKING_RULES, INVALID_STACKING_RULES_TYPE, INVALID_HIERARCHY,
    INVALID_PROMOTION_STACK, MISSING_VOUCHERS, MISSING_CUSTOMER,
    NO_VOUCHER_SUITABLE_FOR_PUBLICATION, VOUCHER_ALREADY_PUBLISHED, VOUCHER_CANNOT_BE_PUBLISHED,
    INVALID_EMAIL, INVALID_BIRTHDATE, INVALID_ADDRESS, INVALID_TYPE, INVALID_ATTRIBUTES,
    INVALID_FILTER, INVALID_PRODUCTS, INVALID_OBJECT, SKU_PRODUCT_MISMATCH, INVALID_STATUS,
    MISSING_AMOUNT, INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED, INVALID_REDEMPTION,
    INVALID_REDEMPTION_PARENT, ALREADY_ROLLED_BACK, INVALID_CURRENCY, INVALID_TIME_ZONE,
    INVALID_URL, INVALID_EVENTS, INVALID_EVENT_TYPE, ALREADY_PENDING,
})

# --- GRAPHQL: extensions.code of GraphQL errors ----------------------------------------------
# refused before GraphQL runs (the HTTP status tells which)
BAD_REQUEST: Final = "BAD_REQUEST"  # 400: not a GraphQL request body we accept
UNAUTHENTICATED: Final = "UNAUTHENTICATED"  # 401: no working key
HTTP_NOT_FOUND: Final = "NOT_FOUND"  # 404: no such path
METHOD_NOT_ALLOWED: Final = "METHOD_NOT_ALLOWED"  # 405
REQUEST_TOO_LARGE: Final = "REQUEST_TOO_LARGE"  # 413
INTERNAL_SERVER_ERROR: Final = "INTERNAL_SERVER_ERROR"  # a bug: extensions.requestId
# document limits (settings PROMOGATE_MAX_…)
TOO_MANY_TOKENS: Final = "TOO_MANY_TOKENS"
QUERY_TOO_DEEP: Final = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES: Final = "TOO_MANY_ALIASES"
QUERY_TOO_LARGE: Final = "QUERY_TOO_LARGE"
QUERY_TOO_COSTLY: Final = "QUERY_TOO_COSTLY"
TOO_MANY_REPEATS: Final = "TOO_MANY_REPEATS"
# the document and its access
GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
FORBIDDEN: Final = "FORBIDDEN"  # a publishable key beyond its operations or fields
BAD_USER_INPUT: Final = "BAD_USER_INPUT"  # a query's input refused: extensions.reason (INPUT)
UNAVAILABLE: Final = "UNAVAILABLE"  # subscriptions where this server does not serve them

GRAPHQL: Final = frozenset({
    BAD_REQUEST, UNAUTHENTICATED, HTTP_NOT_FOUND, METHOD_NOT_ALLOWED, REQUEST_TOO_LARGE,
    INTERNAL_SERVER_ERROR, TOO_MANY_TOKENS, QUERY_TOO_DEEP, TOO_MANY_ALIASES, QUERY_TOO_LARGE,
    QUERY_TOO_COSTLY, TOO_MANY_REPEATS, GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
    FORBIDDEN, BAD_USER_INPUT, UNAVAILABLE,
})

ALL: Final = REASONS | INPUT | GRAPHQL
