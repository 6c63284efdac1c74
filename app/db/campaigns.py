"""Campaigns, promotion tiers and promotion stacks.

Discounts, validity timeframes and templates are stored as JSON in the API's snake_case
shape; the services turn them into engine inputs. Counters used by budget rules live on the
rows and change only by conditional SQL updates under the redemption transaction.
"""

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


class CampaignType(StrEnum):
    DISCOUNT_COUPONS = "DISCOUNT_COUPONS"
    PROMOTION = "PROMOTION"
    GIFT_VOUCHERS = "GIFT_VOUCHERS"
    LOYALTY_PROGRAM = "LOYALTY_PROGRAM"
    REFERRAL_PROGRAM = "REFERRAL_PROGRAM"
    LUCKY_DRAW = "LUCKY_DRAW"


class CampaignMode(StrEnum):
    STANDALONE = "STANDALONE"
    STATIC = "STATIC"
    AUTO_UPDATE = "AUTO_UPDATE"


class CreationStatus(StrEnum):
    DONE = "DONE"
    IN_PROGRESS = "IN_PROGRESS"
    FAILED = "FAILED"


def _category_fk() -> sa.Column[str]:
    return sa.Column(
        "category_id", sa.String(40), sa.ForeignKey("categories.id", ondelete="SET NULL"),
        nullable=True,
    )


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    campaign_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # The voucher template: {type, discount, gift, loyalty_card, code_config, redemption, …}
    voucher: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(PortableJSON, nullable=True)
    )
    vouchers_count: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=0))
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
    join_once: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False, default=False))
    auto_join: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False, default=False))
    category_id: str | None = Field(sa_column=_category_fk())
    creation_status: str = Field(
        sa_column=sa.Column(sa.String(16), nullable=False, default=CreationStatus.DONE)
    )
    # Budget counters (campaign.* validation rules), changed by conditional updates only.
    redemptions_count: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    discounted_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    orders_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class PromotionTier(SQLModel, table=True):
    __tablename__ = "promotion_tiers"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    campaign_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    banner: str | None = Field(sa_column=sa.Column(sa.String(1000), nullable=True))
    action: dict[str, Any] = Field(sa_column=sa.Column(PortableJSON, nullable=False))
    hierarchy: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=1))
    active: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False, default=True))
    start_date: datetime | None = Field(sa_column=sa.Column(UTCDateTime(), nullable=True))
    expiration_date: datetime | None = Field(sa_column=sa.Column(UTCDateTime(), nullable=True))
    validity_timeframe: dict[str, Any] | None = Field(
        sa_column=sa.Column(PortableJSON, nullable=True)
    )
    validity_day_of_week: list[int] | None = Field(
        sa_column=sa.Column(PortableJSON, nullable=True)
    )
    validity_hours: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    category_id: str | None = Field(sa_column=_category_fk())
    redeemed_quantity: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    discounted_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    orders_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class PromotionStack(SQLModel, table=True):
    __tablename__ = "promotion_stacks"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    campaign_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    tier_ids: list[str] = Field(sa_column=sa.Column(PortableJSON, nullable=False))
    category_id: str | None = Field(sa_column=_category_fk())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())
