"""Imports every table so `metadata` is complete (Alembic autogenerate, `alembic check`)."""

from app.db.base import metadata
from app.db.campaigns import Campaign, PromotionStack, PromotionTier
from app.db.catalog import Product, ProductCollection, ProductCollectionMember, Sku
from app.db.categories import Category
from app.db.customers import Customer
from app.db.events import (
    Event,
    SinkDelivery,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.db.leases import Lease
from app.db.orders import Order, OrderItem
from app.db.projects import ApiKey, Project
from app.db.redemptions import (
    AsyncAction,
    IdempotencyRecord,
    Redemption,
    RedemptionRollback,
    SessionReservation,
    StackingRulesRecord,
)
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.db.vouchers import Publication, Voucher, VoucherTransaction

__all__ = [
    "ApiKey",
    "AsyncAction",
    "Campaign",
    "IdempotencyRecord",
    "Lease",
    "PromotionStack",
    "PromotionTier",
    "Publication",
    "Redemption",
    "RedemptionRollback",
    "SessionReservation",
    "StackingRulesRecord",
    "ValidationRule",
    "ValidationRuleAssignment",
    "Voucher",
    "VoucherTransaction",
    "Category",
    "Customer",
    "Event",
    "SinkDelivery",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Order",
    "OrderItem",
    "Product",
    "ProductCollection",
    "ProductCollectionMember",
    "Project",
    "Sku",
    "metadata",
]
