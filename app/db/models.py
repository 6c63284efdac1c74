"""Imports every table so `metadata` is complete (Alembic autogenerate, `alembic check`)."""

from app.db.base import metadata
from app.db.catalog import Product, ProductCollection, ProductCollectionMember, Sku
from app.db.categories import Category
from app.db.customers import Customer
from app.db.orders import Order, OrderItem
from app.db.projects import ApiKey, Project

__all__ = [
    "ApiKey",
    "Category",
    "Customer",
    "Order",
    "OrderItem",
    "Product",
    "ProductCollection",
    "ProductCollectionMember",
    "Project",
    "Sku",
    "metadata",
]
