"""F-HTTP floor: the bare framework cost. A Starlette app that echoes the request body back
(so the response is the same size as the request), run as its own uvicorn process by
`harness.start_floor_server`. No GraphQL, no database, no auth.

    uvicorn bench.floor_app:app --port 8001
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/graphql", echo, methods=["POST"]), Route("/health", health)])
