"""The GraphQL endpoint: builds the per-request context (caller, loaders, request id)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.api.auth import principal_for
from app.api.context import Context
from app.db.session import Database
from app.settings import Settings


class PromogateGraphQL(GraphQL):
    def __init__(self, schema: Any, db: Database, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self.db = db
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        principal, problem = await principal_for(self.db, request.headers)
        return Context(
            db=self.db,
            settings=self.settings,
            principal=principal,
            auth_problem=problem,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            request=request,
            response=response if isinstance(response, Response) else None,
        )
