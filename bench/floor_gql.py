"""F-GQL floor: the cost of the GraphQL framework itself. A bare Strawberry schema with one
field, served by the same ASGI integration, with the same parser and validation caches the
service uses; no auth, no database, no middleware. Run as its own uvicorn process by
`harness.start_gql_floor_server`; its request is `{ hello }`.

    uvicorn bench.floor_gql:app --port 8002
"""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


schema = strawberry.Schema(
    query=Query,
    extensions=[lambda: ParserCache(maxsize=1024), lambda: ValidationCache(maxsize=1024)],
)


async def health(_: Request) -> Response:
    return PlainTextResponse("ok")


graphql = GraphQL(schema, graphql_ide=None, allow_queries_via_get=False)
app = Starlette(routes=[Route("/graphql", graphql), Route("/health", health)])

BODY = {"query": "{ hello }"}
