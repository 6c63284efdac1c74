"""Redemptions (parent + children, successes and failures), rollbacks, session reservations,
idempotency records and the project's stacking rules."""

from __future__ import annotations

import functools
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.ext.asyncio import AsyncSession
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


class RedemptionResult(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class RedemptionStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ROLLED_BACK = "ROLLED_BACK"


class Redemption(SQLModel, table=True):
    __tablename__ = "redemptions"
    __table_args__ = (
        sa.Index("ix_redemptions_voucher_created", "voucher_id", "created_at"),
        sa.Index("ix_redemptions_tier_created", "promotion_tier_id", "created_at"),
        sa.Index("ix_redemptions_campaign_created", "campaign_id", "created_at"),
        sa.Index("ix_redemptions_customer_created", "customer_id", "created_at"),
        # A customer's redemptions of one code or tier (per-customer limit rules): found
        # without reading the code's redemptions by everybody else.
        sa.Index("ix_redemptions_customer_voucher", "customer_id", "voucher_id"),
        sa.Index("ix_redemptions_customer_tier", "customer_id", "promotion_tier_id"),
    )

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    parent_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("redemptions.id", ondelete="CASCADE"), nullable=True,
            index=True,
        )
    )
    result: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # voucher | promotion_tier for children; redemption for a parent
    related_object_type: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    voucher_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("vouchers.id", ondelete="SET NULL"), nullable=True
        )
    )
    promotion_tier_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("promotion_tiers.id", ondelete="SET NULL"), nullable=True
        )
    )
    campaign_id: str | None = Field(sa_column=sa.Column(sa.String(40), nullable=True))
    customer_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
        )
    )
    order_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("orders.id", ondelete="SET NULL"), nullable=True,
            index=True,
        )
    )
    # Discount given (minor units); gift credits spent are in gift_credits.
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    gift_credits: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    order_amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    failure_code: str | None = Field(sa_column=sa.Column(sa.String(64), nullable=True))
    failure_message: str | None = Field(sa_column=sa.Column(sa.String(1000), nullable=True))
    session_key: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    # What the engine answered (StackValidation / RedeemableResult), for the API to replay.
    details: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class RedemptionRollback(SQLModel, table=True):
    __tablename__ = "redemption_rollbacks"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    redemption_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("redemptions.id", ondelete="CASCADE"), nullable=False,
            unique=True,
        )
    )
    parent_rollback_id: str | None = Field(sa_column=sa.Column(sa.String(40), nullable=True))
    reason: str | None = Field(sa_column=sa.Column(sa.String(1000), nullable=True))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    gift_credits: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    created_at: datetime = Field(sa_column=created_column())


class SessionReservation(SQLModel, table=True):
    """A LOCK session's hold on one voucher use (and gift credits) until it expires."""

    __tablename__ = "session_reservations"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "session_key", "voucher_id"),
        sa.Index("ix_session_reservations_voucher_expires", "voucher_id", "expires_at"),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    project_id: str = Field(sa_column=project_column())
    session_key: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    voucher_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("vouchers.id", ondelete="CASCADE"), nullable=False
        )
    )
    gift_credits: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=created_column())


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a spending mutation, replayed for the same key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.PrimaryKeyConstraint("project_id", "operation", "key"),)

    project_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        )
    )
    operation: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    request_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    response: dict[str, Any] = Field(sa_column=sa.Column(PortableJSON, nullable=False))
    created_at: datetime = Field(sa_column=created_column())


class StackingRulesRecord(SQLModel, table=True):
    """One per project; absent means the defaults of the reference."""

    __tablename__ = "stacking_rules"

    project_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
        )
    )
    rules: dict[str, Any] = Field(sa_column=sa.Column(PortableJSON, nullable=False))
    updated_at: datetime | None = Field(sa_column=updated_column())


class AsyncActionStatus(StrEnum):
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    FAILED = "FAILED"


class AsyncAction(SQLModel, table=True):
    """Long work (bulk code generation, imports) with status and progress."""

    __tablename__ = "async_actions"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    progress: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    total: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    params: dict[str, Any] = Field(sa_column=sa.Column(PortableJSON, nullable=False))
    result: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    error: str | None = Field(sa_column=sa.Column(sa.String(1000), nullable=True))
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


# --- append-only rows written with Core INSERTs -----------------------------------------------

M = TypeVar("M")


def new_row(model: type[M], values: dict[str, Any]) -> M:
    """A transient instance of `model` holding `values` (by attribute name), made the way the
    ORM makes loaded rows: no SQLModel constructor (0.1–0.3 ms each). For rows written with
    `insert_rows`, never added to a session; unset columns read as None."""
    row = _manager(model).new_instance()
    row.__dict__.update(values)
    return row  # type: ignore[no-any-return]


def row_values(row: Any) -> dict[str, Any]:
    """A row's column values keyed by column name, for a Core INSERT."""
    return {column: getattr(row, attr) for attr, column in _columns(type(row))}


async def insert_rows(session: AsyncSession, rows: list[Any]) -> None:
    """New rows of one model in one INSERT (executemany), with no unit-of-work flush."""
    if rows:
        await session.execute(_insert(type(rows[0])), [row_values(r) for r in rows])


@functools.cache
def _manager(model: Any) -> Any:
    return sa.orm.class_mapper(model).class_manager


@functools.cache
def _columns(model: Any) -> tuple[tuple[str, str], ...]:
    return tuple((prop.key, prop.columns[0].key) for prop in sa.inspect(model).column_attrs)


@functools.cache
def _insert(model: Any) -> Any:
    return sa.insert(model.__table__)
