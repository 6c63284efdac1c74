"""The GraphQL endpoint: builds the per-request context (caller, loaders, request id)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.api.auth import principal_for
from app.api.context import Context
from app.api.errors import with_code
from app.api.loaders import Loaders
from app.db.session import Database
from app.events.broker import Broker
from app.settings import Settings


class PromogateGraphQL(GraphQL):
    def __init__(
        self, schema: Any, db: Database, settings: Settings, broker: Broker | None = None
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self.db = db
        self.settings = settings
        self.broker = broker

    async def process_result(self, request: Request, result: Any) -> Any:
        response = await super().process_result(request, result)
        for error in response.get("errors") or []:
            with_code(error)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        principal, problem = await principal_for(
            self.db, request.headers, cache_seconds=self.settings.auth_cache_seconds
        )
        return Context(
            db=self.db,
            settings=self.settings,
            principal=principal,
            auth_problem=problem,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            request=request,
            response=response if isinstance(response, Response) else None,
            extra={"broker": self.broker},
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws: the key comes in the connection_init payload."""
        params = context.connection_params or {}
        headers = {k.lower(): v for k, v in params.items() if isinstance(v, str)}
        if context.principal is None or "authorization" in headers:
            principal, problem = await principal_for(
                self.db, headers, cache_seconds=self.settings.auth_cache_seconds
            )
            if principal is None:
                raise ConnectionRejectionError({"message": problem})
            context.principal = principal
            context.auth_problem = None
            context.loaders = Loaders(self.db, principal.project_id)
        return UNSET
