"""Vouchers (discount codes, gift cards), their balance ledger, and publications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
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


class VoucherType(StrEnum):
    DISCOUNT_VOUCHER = "DISCOUNT_VOUCHER"
    GIFT_VOUCHER = "GIFT_VOUCHER"
    LOYALTY_CARD = "LOYALTY_CARD"


class TransactionType(StrEnum):
    CREDITS_REDEMPTION = "CREDITS_REDEMPTION"
    CREDITS_REFUND = "CREDITS_REFUND"
    CREDITS_ADDITION = "CREDITS_ADDITION"
    CREDITS_REMOVAL = "CREDITS_REMOVAL"


class Voucher(SQLModel, table=True):
    __tablename__ = "vouchers"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "code"),
        sa.Index("ix_vouchers_campaign_holder", "campaign_id", "holder_id"),
        sa.CheckConstraint("redeemed_quantity >= 0", name="redeemed_quantity_not_negative"),
        sa.CheckConstraint("gift_balance >= 0", name="gift_balance_not_negative"),
    )

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    code: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    campaign_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=True
        )
    )
    type: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    discount: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    # Gift cards: lifetime credits added, current balance (= Σ ledger), APPLY_TO_ORDER|ITEMS.
    gift_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    gift_balance: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    gift_effect: str | None = Field(sa_column=sa.Column(sa.String(24), nullable=True))
    redemption_quantity: int | None = Field(sa_column=sa.Column(sa.Integer, nullable=True))
    redeemed_quantity: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    redeemed_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    start_date: datetime | None = Field(sa_column=sa.Column(UTCDateTime(), nullable=True))
    expiration_date: datetime | None = Field(sa_column=sa.Column(UTCDateTime(), nullable=True))
    validity_timeframe: dict[str, Any] | None = Field(
        sa_column=sa.Column(PortableJSON, nullable=True)
    )
    validity_day_of_week: list[int] | None = Field(
        sa_column=sa.Column(PortableJSON, nullable=True)
    )
    validity_hours: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    active: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False, default=True))
    category_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("categories.id", ondelete="SET NULL"), nullable=True
        )
    )
    is_referral_code: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False, default=False))
    holder_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("customers.id", ondelete="SET NULL"), nullable=True,
            index=True,
        )
    )
    published_at: datetime | None = Field(sa_column=sa.Column(UTCDateTime(), nullable=True))
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())

    @property
    def referrer_id(self) -> str | None:
        """A referral code's referrer: the customer it was published to (who may not redeem it)."""
        return self.holder_id if self.is_referral_code else None


class VoucherTransaction(SQLModel, table=True):
    """The gift-card ledger: the amounts of a voucher's entries always sum to its balance."""

    __tablename__ = "voucher_transactions"
    __table_args__ = (sa.UniqueConstraint("voucher_id", "source_id"),)

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    voucher_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("vouchers.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    type: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    balance_after: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    reason: str | None = Field(sa_column=sa.Column(sa.String(500), nullable=True))
    source_id: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    redemption_id: str | None = Field(sa_column=sa.Column(sa.String(40), nullable=True))
    created_at: datetime = Field(sa_column=created_column())


class Publication(SQLModel, table=True):
    __tablename__ = "publications"
    __table_args__ = (sa.UniqueConstraint("project_id", "source_id"),)

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    customer_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    voucher_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("vouchers.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    campaign_id: str | None = Field(sa_column=sa.Column(sa.String(40), nullable=True, index=True))
    channel: str | None = Field(sa_column=sa.Column(sa.String(64), nullable=True))
    source_id: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
