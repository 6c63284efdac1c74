"""Input and output dataclasses of the evaluation engine.

Inputs are snapshots the service layer loads; outputs map 1:1 (snake_case) onto API.md's
`StackValidation`, `RedeemableResult`, `Reason`, `OrderCalculation`, `OrderItemCalculation`.
Money is always an `int` of minor units; percentages are `Decimal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

Metadata = Mapping[str, Any]
EMPTY: Metadata = {}


class RedeemableObject(StrEnum):
    VOUCHER = "VOUCHER"
    PROMOTION_TIER = "PROMOTION_TIER"
    PROMOTION_STACK = "PROMOTION_STACK"


class RedeemableKind(StrEnum):
    DISCOUNT_VOUCHER = "DISCOUNT_VOUCHER"
    GIFT_VOUCHER = "GIFT_VOUCHER"
    LOYALTY_CARD = "LOYALTY_CARD"
    PROMOTION_TIER = "PROMOTION_TIER"
    PROMOTION_STACK = "PROMOTION_STACK"


class RedeemableStatus(StrEnum):
    APPLICABLE = "APPLICABLE"
    INAPPLICABLE = "INAPPLICABLE"
    SKIPPED = "SKIPPED"


class Mode(StrEnum):
    VALIDATE = "VALIDATE"
    REDEEM = "REDEEM"
    QUALIFY = "QUALIFY"
    # Qualification judged on the customer alone (AUDIENCE_ONLY): only customer.* and
    # publication.* rules count; the cart's rules are treated as met.
    AUDIENCE = "AUDIENCE"


class DiscountType(StrEnum):
    AMOUNT = "AMOUNT"
    PERCENT = "PERCENT"
    FIXED = "FIXED"
    UNIT = "UNIT"
    SHIPPING = "SHIPPING"


class DiscountEffect(StrEnum):
    APPLY_TO_ORDER = "APPLY_TO_ORDER"
    APPLY_TO_ITEMS = "APPLY_TO_ITEMS"
    APPLY_TO_ITEMS_PROPORTIONALLY = "APPLY_TO_ITEMS_PROPORTIONALLY"
    APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY = "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY"
    APPLY_TO_ITEMS_BY_QUANTITY = "APPLY_TO_ITEMS_BY_QUANTITY"
    ADD_MISSING_ITEMS = "ADD_MISSING_ITEMS"
    ADD_NEW_ITEMS = "ADD_NEW_ITEMS"
    ADD_MANY_ITEMS = "ADD_MANY_ITEMS"


class GiftEffect(StrEnum):
    """What a gift card's credits pay for (the gift subset of `DiscountEffect`)."""

    APPLY_TO_ORDER = "APPLY_TO_ORDER"
    APPLY_TO_ITEMS = "APPLY_TO_ITEMS"


class ApplicationRule(StrEnum):
    APPLY_TO_EVERY = "APPLY_TO_EVERY"
    APPLY_TO_CHEAPEST = "APPLY_TO_CHEAPEST"
    APPLY_FROM_CHEAPEST = "APPLY_FROM_CHEAPEST"
    APPLY_TO_MOST_EXPENSIVE = "APPLY_TO_MOST_EXPENSIVE"
    APPLY_FROM_MOST_EXPENSIVE = "APPLY_FROM_MOST_EXPENSIVE"


class TargetUnit(StrEnum):
    ITEM = "ITEM"
    UNIT = "UNIT"


class TargetObject(StrEnum):
    PRODUCT = "product"
    SKU = "sku"
    PRODUCTS_COLLECTION = "products_collection"


class CategoryType(StrEnum):
    """A category's stacking kind (`categories.stacking_rules_type`; NULL there: common)."""

    JOINT = "JOINT"
    EXCLUSIVE = "EXCLUSIVE"


class ApplicationMode(StrEnum):
    ALL = "ALL"
    PARTIAL = "PARTIAL"


class SortingRule(StrEnum):
    REQUESTED_ORDER = "REQUESTED_ORDER"
    CATEGORY_HIERARCHY = "CATEGORY_HIERARCHY"


class ProductsApplicationMode(StrEnum):
    STACK = "STACK"
    ONCE = "ONCE"


class NoEffectRule(StrEnum):
    REDEEM_ANYWAY = "REDEEM_ANYWAY"
    SKIP = "SKIP"


class CalculationMode(StrEnum):
    INITIAL_AMOUNT = "INITIAL_AMOUNT"
    DISCOUNTED_AMOUNT = "DISCOUNTED_AMOUNT"


SHIPPING_PRODUCT_ID = "prod_5h1pp1ng"

# ---------------------------------------------------------------------------------------------
# Order and customer snapshots
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One order line. `price` is the unit price; `amount` defaults to price × quantity.

    On an existing order, `previous_discount_amount` / `previous_discount_quantity` are what
    earlier redemptions already took off this line: they stay in the line's `discount_amount`
    / `discount_quantity`, never in its `applied_*` parts, and later discounts only get what
    is left of the line.
    """

    quantity: int
    price: int | None = None
    amount: int | None = None
    product_id: str | None = None
    sku_id: str | None = None
    source_id: str | None = None
    product_source_id: str | None = None
    collection_ids: frozenset[str] = frozenset()
    metadata: Metadata = field(default_factory=dict)
    product_metadata: Metadata = field(default_factory=dict)
    previous_discount_amount: int = 0
    previous_discount_quantity: int = 0


@dataclass(frozen=True, slots=True)
class Order:
    """`amount` (when given) wins over Σ item amounts for order-level math (reference §1.2).

    `previous_discount_amount` is the order-level discount already on an existing order (earlier
    redemptions, gift credits included); it stays in `discount_amount` but never in
    `applied_discount_amount`, and what is applied now is capped by what is left.
    """

    items: tuple[OrderItem, ...] = ()
    amount: int | None = None
    id: str | None = None
    source_id: str | None = None
    metadata: Metadata = field(default_factory=dict)
    previous_discount_amount: int = 0


@dataclass(frozen=True, slots=True)
class Customer:
    id: str | None = None
    source_id: str | None = None
    metadata: Metadata = field(default_factory=dict)
    segment_ids: frozenset[str] = frozenset()
    loyalty_tier_ids: frozenset[str] = frozenset()


# ---------------------------------------------------------------------------------------------
# Redeemable definitions (cacheable: compile once, reuse across requests)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """One unit effect: `unit_off` units of a product/SKU (`price` = catalog unit price)."""

    unit_off: int
    unit_type: str | None = None  # product id
    sku_id: str | None = None
    price: int = 0
    effect: DiscountEffect = DiscountEffect.ADD_MISSING_ITEMS
    unit_off_formula: str | None = None


@dataclass(frozen=True, slots=True)
class Discount:
    type: DiscountType
    effect: DiscountEffect | None = None
    amount_off: int | None = None
    percent_off: Decimal | None = None
    amount_limit: int | None = None
    aggregated_amount_limit: int | None = None
    fixed_amount: int | None = None
    units: tuple[UnitSpec, ...] = ()  # UNIT (single unit = one entry) and SHIPPING
    amount_off_formula: str | None = None
    percent_off_formula: str | None = None
    fixed_amount_formula: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """An `applicable_to` entry (reference §2.7.1)."""

    object: TargetObject
    id: str
    source_id: str | None = None
    effect: ApplicationRule = ApplicationRule.APPLY_TO_EVERY
    target: TargetUnit = TargetUnit.ITEM
    quantity_limit: int | None = None
    aggregated_quantity_limit: int | None = None
    amount_limit: int | None = None
    aggregated_amount_limit: int | None = None
    price: int | None = None  # FIXED per-item new price
    skip_initially: int = 0
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class ApplicableTo:
    included: tuple[Target, ...] = ()
    excluded: tuple[Target, ...] = ()
    included_all: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A numbered rule; `conditions` keep the reference's operators: {"$more_than": [5000]}."""

    name: str
    conditions: Mapping[str, Any] = field(default_factory=dict)
    property: str | None = None
    rules: tuple[Rule, ...] = ()
    logic: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class BundleItem:
    object: TargetObject
    id: str
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class BundleRules:
    items: tuple[BundleItem, ...]
    limit: int = 1
    multiply: bool = True


@dataclass(frozen=True, slots=True)
class ValidationRule:
    id: str
    rules: tuple[Rule, ...] = ()
    logic: str | None = None
    name: str = ""
    error_message: str | None = None
    applicable_to: ApplicableTo | None = None
    bundle_rules: BundleRules | None = None


@dataclass(frozen=True, slots=True)
class DailyHours:
    start_time: str  # "HH:MM"
    expiration_time: str
    days_of_week: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True, slots=True)
class Validity:
    start_date: datetime | None = None
    expiration_date: datetime | None = None
    timeframe_duration: str | None = None  # ISO 8601 duration, e.g. "PT1H"
    timeframe_interval: str | None = None  # e.g. "P1D"; anchored at start_date
    day_of_week: tuple[int, ...] | None = None  # 0 = Sunday
    daily_hours: tuple[DailyHours, ...] | None = None


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    hierarchy: int = 1
    stacking_rules_type: CategoryType | None = None


@dataclass(frozen=True, slots=True)
class Redeemable:
    """The cacheable definition of a voucher, promotion tier or promotion stack.

    `active` should already combine the voucher/tier and campaign switches. For a promotion
    stack, `tiers` holds its tiers in stack order.
    """

    object: RedeemableObject
    id: str
    kind: RedeemableKind = RedeemableKind.DISCOUNT_VOUCHER
    campaign_id: str | None = None
    found: bool = True
    active: bool = True
    discount: Discount | None = None
    gift_effect: DiscountEffect = DiscountEffect.APPLY_TO_ORDER
    validity: Validity = Validity()
    redemption_quantity: int | None = None  # None = unlimited
    validation_rules: tuple[ValidationRule, ...] = ()
    categories: tuple[Category, ...] = ()
    metadata: Metadata = field(default_factory=dict)
    is_referral_code: bool = False
    tiers: tuple[Redeemable, ...] = ()


@dataclass(frozen=True, slots=True)
class RedeemableState:
    """Live, per-request data of a redeemable (never cached).

    `counters` are counts *before* this request keyed by rule name, e.g.
    {"redemption.count.per_customer": 1, "campaign.redemptions.count.daily": 40}.
    `redeemed_quantity` includes live session locks.
    """

    redeemed_quantity: int = 0
    gift_balance: int = 0
    loyalty_balance: int = 0
    holder_id: str | None = None
    referrer_id: str | None = None
    counters: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PayWithPoints:
    """A loyalty card's pay-with-points reward: `points` (None = as many as useful)."""

    reward_id: str
    points_ratio: int
    exchange_ratio: Decimal
    points: int | None = None


@dataclass(frozen=True, slots=True)
class RedeemableInput:
    """One entry of the request: a definition (raw or compiled) plus live state and asks."""

    redeemable: Any  # Redeemable | CompiledRedeemable (typed loosely to avoid a cycle)
    state: RedeemableState = RedeemableState()
    gift_credits: int | None = None
    reward: PayWithPoints | None = None


@dataclass(frozen=True, slots=True)
class StackingRules:
    redeemables_limit: int = 30
    applicable_redeemables_limit: int = 5
    applicable_redeemables_per_category_limit: int = 1
    applicable_redeemables_category_limits: Mapping[str, int] = field(default_factory=dict)
    applicable_exclusive_redeemables_limit: int = 1
    applicable_exclusive_redeemables_per_category_limit: int = 1
    exclusive_categories: frozenset[str] = frozenset()
    joint_categories: frozenset[str] = frozenset()
    redeemables_application_mode: ApplicationMode = ApplicationMode.ALL
    redeemables_sorting_rule: SortingRule = SortingRule.REQUESTED_ORDER
    redeemables_products_application_mode: ProductsApplicationMode = ProductsApplicationMode.STACK
    redeemables_no_effect_rule: NoEffectRule = NoEffectRule.REDEEM_ANYWAY
    no_effect_skip_categories: frozenset[str] = frozenset()
    no_effect_redeem_anyway_categories: frozenset[str] = frozenset()
    discount_calculation_mode: CalculationMode = CalculationMode.DISCOUNTED_AMOUNT
    initial_amount_mode_categories: frozenset[str] = frozenset()
    discounted_amount_mode_categories: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    order: Order
    redeemables: tuple[RedeemableInput, ...]
    now: datetime
    customer: Customer | None = None
    stacking_rules: StackingRules = StackingRules()
    timezone: str = "UTC"
    mode: Mode = Mode.VALIDATE
    redemption_metadata: Metadata = field(default_factory=dict)
    currency_minor_units: int = 100  # minor units per currency unit (pay-with-points)


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str
    details: str | None = None
    validation_rule_id: str | None = None
    rule_path: str | None = None  # "2" or "2.1" (sub-rule) of the failing rule


@dataclass(frozen=True, slots=True)
class OrderItemCalculation:
    index: int
    product_id: str | None
    sku_id: str | None
    source_id: str | None
    quantity: int
    initial_quantity: int
    price: int | None
    amount: int
    discount_amount: int
    applied_discount_amount: int
    subtotal_amount: int
    discount_quantity: int  # units discounted, earlier redemptions on the order included
    applied_quantity: int  # units added in this request by unit effects
    applied_quantity_amount: int
    applied_discount_quantity: int = 0  # units discounted by this redeemable / request


@dataclass(frozen=True, slots=True)
class OrderCalculation:
    amount: int
    initial_amount: int
    discount_amount: int
    items_discount_amount: int
    total_discount_amount: int
    total_amount: int
    applied_discount_amount: int
    items_applied_discount_amount: int
    total_applied_discount_amount: int
    items: tuple[OrderItemCalculation, ...]


@dataclass(frozen=True, slots=True)
class DiscountResult:
    """What was applied: the discount definition (formulas resolved) and its total effect."""

    type: DiscountType
    effect: DiscountEffect | None
    amount_off: int | None = None
    percent_off: Decimal | None = None
    amount_limit: int | None = None
    aggregated_amount_limit: int | None = None
    fixed_amount: int | None = None
    unit_off: int | None = None
    unit_type: str | None = None
    is_dynamic: bool = False
    applied_amount: int = 0
    item_indices: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class GiftResult:
    credits: int  # applied in this request
    balance: int  # balance before this request


@dataclass(frozen=True, slots=True)
class LoyaltyCardResult:
    points: int  # points spent
    balance: int  # balance before this request
    amount: int  # minor units the points paid


@dataclass(frozen=True, slots=True)
class BundleMissing:
    object: TargetObject
    id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class BundleResult:
    quantity: int
    limit: int
    missing: tuple[BundleMissing, ...] = ()


@dataclass(frozen=True, slots=True)
class RedeemableResult:
    object: RedeemableObject
    id: str
    status: RedeemableStatus
    order: OrderCalculation
    reason: Reason | None = None
    discount: DiscountResult | None = None
    gift: GiftResult | None = None
    loyalty_card: LoyaltyCardResult | None = None
    bundle: BundleResult | None = None
    campaign_id: str | None = None
    categories: tuple[str, ...] = ()
    auto_applied: bool = False  # added by the service, not sent (see engine.autoapply)


@dataclass(frozen=True, slots=True)
class StackValidation:
    valid: bool
    redeemables: tuple[RedeemableResult, ...]
    order: OrderCalculation

    @property
    def applicable_redeemables(self) -> tuple[RedeemableResult, ...]:
        return tuple(r for r in self.redeemables if r.status is RedeemableStatus.APPLICABLE)

    @property
    def inapplicable_redeemables(self) -> tuple[RedeemableResult, ...]:
        return tuple(r for r in self.redeemables if r.status is RedeemableStatus.INAPPLICABLE)

    @property
    def skipped_redeemables(self) -> tuple[RedeemableResult, ...]:
        return tuple(r for r in self.redeemables if r.status is RedeemableStatus.SKIPPED)
