"""Webhook messages: the envelope, Standard Webhooks signing, one HTTP attempt, backoff."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from app.db.events import Event
from app.events import egress

TIMEOUT_SECONDS = 10.0
# Waits after the 1st, 2nd, … failure: about a day in all, then the delivery is DEAD.
DEFAULT_BACKOFF: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s)
    for s in (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
)
# An endpoint is disabled after this many deliveries in a row ended DEAD.
DEFAULT_DEAD_LETTER_LIMIT = 5
USER_AGENT = "Promogate-Webhooks/1"


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def envelope(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "projectId": event.project_id,
        "createdAt": event.created_at.isoformat(),
        "requestId": event.request_id,
        "aggregate": {
            "type": event.aggregate_type, "id": event.aggregate_id, "sequence": event.sequence,
        },
        "data": event.data,
    }


def body_of(event: Event) -> str:
    return json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False)


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    now = now.astimezone(UTC).replace(microsecond=0)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    response_code: int | None
    error: str | None
    duration_ms: int
    # Refused by the address rules: another attempt would be refused too, so no retries.
    refused: bool = False


async def send(
    client: httpx.AsyncClient, url: str, secret: str, event: Event, now: datetime
) -> AttemptResult:
    """One attempt: the webhook-id is the event id, the same on every retry (receivers dedupe)."""
    problem = egress.url_problem(url, allow_private=True)  # private: the transport decides
    if problem is not None:
        return AttemptResult(False, None, f"refused: {problem}", 0, refused=True)
    body = body_of(event)
    started = time.perf_counter()
    try:
        response = await client.post(
            url, content=body.encode(), headers=signed_headers(secret, event.id, body, now),
            timeout=TIMEOUT_SECONDS, follow_redirects=False,
        )
    except egress.BlockedAddress as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        return AttemptResult(False, None, f"refused: {exc}"[:1000], elapsed, refused=True)
    except httpx.HTTPError as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        return AttemptResult(False, None, f"{type(exc).__name__}: {exc}"[:1000], elapsed)
    elapsed = int((time.perf_counter() - started) * 1000)
    ok = 200 <= response.status_code < 300
    error = None if ok else f"HTTP {response.status_code}: {response.text[:200]}"
    return AttemptResult(ok, response.status_code, error, elapsed)
