"""The ASGI application: /graphql (HTTP + WebSocket), /health, /metrics."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.schema import build_schema
from app.api.view import PromogateGraphQL
from app.db import leases
from app.db.session import Database
from app.events import outbox
from app.events.broker import Broker
from app.events.runtime import Background, Leader, start_background
from app.events.settings import EventSettings
from app.services import assets, async_actions, inbound
from app.settings import Settings, get_settings

log = logging.getLogger("promogate")
KNOWN_PATHS = ("/graphql", "/health", "/metrics")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "promogate_http_requests_total", "HTTP requests", ["path", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "promogate_http_request_seconds", "HTTP request latency", ["path"],
            registry=self.registry,
        )


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's X-Request-ID) and count it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = given if given.isprintable() and given else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = outbox.request_id.set(request_id)  # goes into the events this request emits
        try:
            await self._call(scope, receive, send, request_id)
        finally:
            outbox.request_id.reset(token)

    async def _call(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"], (b"x-request-id", request_id.encode())
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
            self.metrics.requests.labels(path, scope.get("method", ""), str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    db = database or Database.from_url(
        settings.database_url,
        pool_size=settings.database_pool_size,
        statement_cache=settings.database_statement_cache,
    )
    metrics = Metrics()
    event_settings = EventSettings()
    broker = Broker(db, poll_interval=event_settings.dispatcher_poll_interval)
    graphql = PromogateGraphQL(build_schema(settings), db, settings, broker=broker)

    async def health(_: Request) -> Response:
        try:
            await db.ping()
        except Exception:  # any failure to answer means unhealthy
            log.exception("health check: database did not answer")
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    async def voucher_asset(request: Request) -> Response:
        asset = await assets.render(
            db, request.path_params["voucher_id"], request.path_params["kind"]
        )
        if asset is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(asset.body, media_type=asset.media_type,
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})

    async def prometheus(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # One process of `serve --workers N` (the background lease's holder) delivers
        # webhooks, runs bus sinks, the inbound bus consumer's use case and the pruner, and
        # resumes bulk code generation interrupted by a stop (app/events/runtime.py).
        async def lead(held: leases.Held) -> Background:
            background = await start_background(db, event_settings, inbound=inbound.handle,
                                                guard=held)
            resumer = async_actions.Resumer(db)
            await resumer.start()
            background.parts.append(resumer)
            return background

        leader = Leader(db, lead)
        await leader.start()
        yield
        await leader.stop()
        await broker.stop()
        await async_actions.shutdown()
        if database is None:  # we made it, we close it
            await db.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            Route("/health", health),
            Route("/metrics", prometheus),
            Route("/assets/vouchers/{voucher_id}/{kind}.svg", voucher_asset),
        ],
        middleware=[Middleware(RequestIdMiddleware, metrics=metrics)],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    return app
