"""Settings of event delivery, from the environment (prefix ``PROMOGATE_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROMOGATE_", env_file=".env", extra="ignore")

    dispatcher: bool = Field(
        True, description="run the webhook dispatcher inside `promogate serve`"
    )
    dispatcher_poll_interval: float = Field(
        0.2, gt=0, description="seconds between polls when no commit wakes the dispatcher"
    )
    event_retention_days: float = Field(
        30, ge=0,
        description="events older than this, with every delivery finished, are pruned hourly "
        "(0: keep every event)",
    )
    webhooks_allow_private: bool = Field(
        True, description="deliver webhooks to private and loopback addresses (link-local and "
        "cloud metadata addresses are refused always)",
    )
    nats_url: str | None = Field(
        None, description="nats://host:4222 — publish every event to NATS JetStream"
    )
    nats_stream: str = Field("PROMOGATE", description="JetStream stream for promogate.> subjects")
    nats_inbound_subject: str | None = Field(
        None, description="subject the worker consumes inbound orders and custom events from"
    )
