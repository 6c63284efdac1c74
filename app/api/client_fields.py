"""What a publishable key may read: every field below the client operations, type by type.

A publishable (`pk_`) key lives in a browser or an app, so anyone can use it. It may call the
client operations (`auth.CLIENT_FIELDS`, and `redeemStack` / `publishVoucher` when the project
allows them), and below them it may read only what a storefront needs to show and apply offers:
names, banners, discounts, dates, categories, the evaluation and order calculation, the
client's own redemption or publication. Never management internals: metadata (where merchants
keep their own data), counters, code patterns and limits, validation rules and their
conditions (a condition may hold the very value a customer must not learn), customers, the
catalog, ledgers, rollbacks.

A field not listed here is refused FORBIDDEN for a publishable key, at any depth, before
anything runs (`limits.analyse` asks `may_read` for each field of the document); a type not
listed here is not readable at all. A new field therefore stays closed until it is added here.
Secret keys read everything. docs/requests.md lists the same table for users.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from graphql import GraphQLInterfaceType, GraphQLNamedType, GraphQLSchema, GraphQLUnionType

VALIDITY = ("startDate", "expirationDate", "validityTimeframe", "validityDayOfWeek",
            "validityHours")

# type -> (fields a publishable key may read, why)
CLIENT_READABLE: dict[str, tuple[frozenset[str], str]] = {
    # --- the answers of the client operations: built for the caller, every field ---
    "QualificationConnection": (frozenset({"edges", "pageInfo", "totalCount"}),
                                "the page of offers the caller asked for"),
    "QualificationEdge": (frozenset({"cursor", "node"}), "paging"),
    "Qualification": (frozenset({
        "object", "id", "campaignId", "campaignType", "categoryIds", "name", "banner", "held",
        "createdAt", "order", "discount", "gift", "bundle", "items", "campaign", "categories",
    }), "an offer for this cart, priced alone"),
    "QualifiedItem": (frozenset({
        "index", "productId", "skuId", "sourceId", "quantity", "price", "discountedPrice",
        "discountAmount",
    }), "the caller's own cart lines, discounted"),
    "StackValidation": (frozenset({"valid", "redeemables", "order", "session"}),
                        "the evaluation of the caller's cart"),
    "RedeemableResult": (frozenset({
        "object", "id", "status", "reason", "discount", "gift", "loyaltyCard", "bundle",
        "order", "campaignId", "categoryIds", "campaign", "categories", "autoApplied",
    }), "what each redeemable the caller sent did"),
    "Reason": (frozenset({"code", "message", "details", "validationRuleId", "rulePath"}),
               "why a redeemable does not apply (the rule's id and number, never its conditions)"),
    "OrderCalculation": (frozenset({
        "amount", "initialAmount", "discountAmount", "itemsDiscountAmount",
        "totalDiscountAmount", "totalAmount", "appliedDiscountAmount",
        "itemsAppliedDiscountAmount", "totalAppliedDiscountAmount", "items",
    }), "the caller's cart after discounts"),
    "OrderItemCalculation": (frozenset({
        "index", "productId", "skuId", "sourceId", "quantity", "initialQuantity", "price",
        "amount", "discountAmount", "appliedDiscountAmount", "subtotalAmount",
        "discountQuantity", "appliedDiscountQuantity", "appliedQuantity",
        "appliedQuantityAmount",
    }), "the caller's cart lines after discounts"),
    "GiftResult": (frozenset({"credits", "balance"}),
                   "credits of a gift card whose code the caller holds"),
    "LoyaltyCardResult": (frozenset({"points", "balance", "amount"}),
                          "points of a card whose code the caller holds"),
    "BundleResult": (frozenset({"quantity", "limit", "missing"}),
                     "how many bundles the cart makes and what completes the next one"),
    "BundleMissing": (frozenset({"object", "id", "quantity"}), "what to add to the cart"),
    "Session": (frozenset({"key", "ttlSeconds", "expiresAt"}), "the caller's own reservation"),
    "UserError": (frozenset({"code", "message", "field"}), "why the caller's input failed"),
    "PageInfo": (frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}),
                 "paging"),
    "PromotionTierConnection": (frozenset({"edges", "pageInfo", "totalCount"}),
                                "the enabled promotions"),
    "PromotionTierEdge": (frozenset({"cursor", "node"}), "paging"),
    # --- what an offer is: shown to shoppers; no counters, metadata, rules or settings ---
    "Campaign": (frozenset({
        "id", "name", "description", "campaignType", "active", "categoryId", "category",
        "createdAt", *VALIDITY,
    }), "name, description, kind and dates of the campaign behind an offer; not its code "
        "template, counters, totals, metadata, rules, tiers or settings"),
    "PromotionTier": (frozenset({
        "id", "name", "banner", "action", "hierarchy", "active", "campaignId", "categoryId",
        "category", "createdAt", *VALIDITY,
    }), "name, banner, discount and dates of a promotion; not its counters, totals, "
        "metadata, rules or campaign"),
    "PromotionAction": (frozenset({"discount"}), "what a promotion gives"),
    "Discount": (frozenset({
        "type", "effect", "amountOff", "percentOff", "amountLimit", "aggregatedAmountLimit",
        "fixedAmount", "unitOff", "unitType", "units", "isDynamic", "appliedAmount",
        "itemIndices",
    }), "what a discount gives and took off; not the formulas behind a dynamic value"),
    "Unit": (frozenset({"unitOff", "unitType", "skuId", "effect"}),
             "the free items of a unit discount; not its formula"),
    "Category": (frozenset({"id", "name", "stackingRulesType"}),
                 "the category of an offer and whether it combines; not its priority"),
    "ValidityTimeframe": (frozenset({"duration", "interval"}), "when an offer is valid"),
    "ValidityHours": (frozenset({"daily"}), "when an offer is valid"),
    "DailyHours": (frozenset({"startTime", "expirationTime", "daysOfWeek"}),
                   "when an offer is valid"),
    # --- redeemStack (when the project lets publishable keys redeem) ---
    "RedeemStackPayload": (frozenset({"redemption", "redemptions", "order", "validation",
                                      "errors"}), "the caller's own redemption"),
    "Redemption": (frozenset({
        "id", "result", "status", "createdAt", "relatedObjectType", "voucherId",
        "promotionTierId", "campaignId", "customerId", "orderId", "parentId", "amount", "gift",
        "failureCode", "failureMessage", "sessionKey", "order", "parent", "children",
        "validation", "voucher", "promotionTier", "loyaltyCard",
    }), "the caller's own redemption, its stacked children and what they redeemed (through "
        "the client-safe Voucher and PromotionTier fields); not metadata, the customer "
        "record or rollbacks"),
    "RedemptionGift": (frozenset({"amount"}), "gift credits the redemption spent"),
    "RedemptionLoyaltyCard": (frozenset({"points"}), "loyalty points the redemption spent"),
    "Order": (frozenset({
        "id", "sourceId", "status", "amount", "discountAmount", "itemsDiscountAmount",
        "totalDiscountAmount", "totalAmount", "customerId", "createdAt", "items",
    }), "the order the caller redeemed on; not its metadata, customer record or the "
        "order's other redemptions"),
    "OrderItem": (frozenset({
        "index", "productId", "skuId", "sourceId", "relatedObject", "quantity", "price",
        "amount", "discountAmount", "discountQuantity", "addedQuantity",
    }), "the order's lines; not their metadata or the catalog records"),
    # --- publishVoucher (when the project lets publishable keys publish) ---
    "PublishVoucherPayload": (frozenset({"publication", "voucher", "errors"}),
                              "the code just given to the caller's customer"),
    "Publication": (frozenset({
        "id", "customerId", "voucherId", "campaignId", "channel", "sourceId", "createdAt",
        "voucher",
    }), "the publication; not its metadata or the customer record"),
    "Voucher": (frozenset({
        "id", "code", "type", "campaignId", "categoryId", "discount", "gift", "active",
        "holderId", "publishedAt", "isReferralCode", "createdAt", "campaign", "category",
        "assets", *VALIDITY,
    }), "the code, what it gives, its dates and images; not its redemption counters, "
        "metadata, holder record or rules"),
    "Gift": (frozenset({"amount", "balance", "effect"}),
             "the balance of a gift card published to the caller's customer"),
    "VoucherAssets": (frozenset({"qr", "barcode"}), "images of the code"),
    "AssetLink": (frozenset({"url"}), "images of the code"),
}


def may_read(type_name: str, field_name: str) -> bool:
    entry = CLIENT_READABLE.get(type_name)
    return entry is not None and field_name in entry[0]


@lru_cache(maxsize=8)
def reader(schema: GraphQLSchema) -> Callable[[GraphQLNamedType, str], bool]:
    """`may_read` for the types of a schema: a field of an interface or union is readable
    only when it is readable on every object type that may stand behind it."""

    def check(parent: GraphQLNamedType, field_name: str) -> bool:
        if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            possible = schema.get_possible_types(parent)
            return bool(possible) and all(may_read(t.name, field_name) for t in possible)
        return may_read(parent.name, field_name)

    return check
