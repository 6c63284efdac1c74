"""Customers, mirrored from the user's systems (by `source_id`) or created here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.base import (
    PortableJSON,
    UTCDateTime,
    created_column,
    id_column,
    metadata_column,
    project_column,
    updated_column,
)


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "source_id"),
        sa.Index("ix_customers_project_id_email", "project_id", "email"),
    )

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    source_id: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    name: str | None = Field(sa_column=sa.Column(sa.String(500), nullable=True))
    email: str | None = Field(sa_column=sa.Column(sa.String(320), nullable=True))
    phone: str | None = Field(sa_column=sa.Column(sa.String(64), nullable=True))
    birthdate: date | None = Field(sa_column=sa.Column(sa.Date, nullable=True))
    address: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    # Summary counters, changed by conditional updates inside redemption transactions.
    redemptions_succeeded: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    redemptions_failed: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    redemptions_rolled_back: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    orders_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    orders_amount: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    last_order_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())
