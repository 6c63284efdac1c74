"""The transactional outbox (`events`) and webhook endpoints, deliveries and attempts."""

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
    project_column,
    updated_column,
)


class Event(SQLModel, table=True):
    """One thing that happened, written in the transaction that made it happen."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_aggregate", "aggregate_type", "aggregate_id", "sequence"),
        sa.Index("ix_events_created_at", "created_at"),
    )

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    type: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    aggregate_type: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    aggregate_id: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    # 1, 2, 3 … per aggregate: computed under the aggregate's row lock, so it is commit order.
    sequence: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    data: dict[str, Any] = Field(sa_column=sa.Column(PortableJSON, nullable=False))
    request_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    created_at: datetime = Field(sa_column=created_column())


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"      # not tried yet
    FAILED = "FAILED"        # tried, failed, will be tried again at next_attempt_at
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"            # every retry failed; replayable with retryWebhookDelivery


# Deliveries still to be made (not tried yet, or failed and waiting for their next try).
OPEN_DELIVERY = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    url: str = Field(sa_column=sa.Column(sa.String(2000), nullable=False))
    # Event types to send; null means every event.
    events: list[str] | None = Field(default=None, sa_column=sa.Column(PortableJSON, nullable=True))
    active: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    # The signing key must be readable to sign with, so it is stored as given out (whsec_…).
    secret: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    consecutive_dead: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    disabled_reason: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(200), nullable=True)
    )
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: its state, and the lease of whoever is sending it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_order", "endpoint_id", "aggregate_key", "sequence"),
    )

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    event_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    endpoint_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    event_type: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    # Copies of the event's aggregate and sequence: deliveries keep order per aggregate.
    aggregate_key: str = Field(sa_column=sa.Column(sa.String(90), nullable=False))
    sequence: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    last_response_code: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    # A claimed delivery is not claimed again until its lease ends (a crashed sender's).
    leased_until: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class WebhookAttempt(SQLModel, table=True):
    """Every try of a delivery: what the receiver answered, or why it could not be reached."""

    __tablename__ = "webhook_attempts"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    delivery_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False, index=True,
        )
    )
    number: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    response_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    duration_ms: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(sa_column=created_column())


class SinkDelivery(SQLModel, table=True):
    """One event for one external sink (NATS, Kafka): sent at least once, in aggregate order."""

    __tablename__ = "sink_deliveries"
    __table_args__ = (
        sa.Index("ix_sink_deliveries_due", "sink", "status", "next_attempt_at"),
        sa.Index("ix_sink_deliveries_order", "sink", "aggregate_key", "sequence"),
    )

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    event_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    sink: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    aggregate_key: str = Field(sa_column=sa.Column(sa.String(90), nullable=False))
    sequence: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    leased_until: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(sa_column=created_column())
