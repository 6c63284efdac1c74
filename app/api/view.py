"""The GraphQL endpoint: reads and checks the HTTP request, builds the per-request context
(caller, loaders, request id), and answers every refusal in the GraphQL error shape.

Transport rules (docs/requests.md): a POST with a JSON object body (`query`, `variables`,
`operationName`, `extensions`) of at most `max_request_bytes`, UTF-8, nested at most
`MAX_JSON_DEPTH` levels, without NaN/Infinity or lone surrogates. Anything else is HTTP 400
`BAD_REQUEST` (413 `REQUEST_TOO_LARGE` for a body over the limit), never a 500. The caller is
identified before the body is read: a request without a key is refused at once (401) when it
could not run anything, and may send at most `KEYLESS_MAX_BYTES` otherwise (introspection).
"""

from __future__ import annotations

import gc
import json
import logging
import math
import re
from typing import Any

from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types.unset import UNSET, UnsetType

from app.api.auth import principal_for
from app.api.context import Context
from app.api.errors import INTERNAL, UNAUTHENTICATED, with_code
from app.api.gate import NUL_MESSAGE
from app.api.loaders import Loaders
from app.db.session import Database
from app.engine.error_codes import BAD_REQUEST, METHOD_NOT_ALLOWED, REQUEST_TOO_LARGE
from app.engine.error_codes import HTTP_NOT_FOUND as NOT_FOUND
from app.events.broker import Broker
from app.services.projects import Principal
from app.settings import Settings

log = logging.getLogger("promogate.api")

CODES = {400: BAD_REQUEST, 401: UNAUTHENTICATED, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED,
         413: REQUEST_TOO_LARGE}

MAX_JSON_DEPTH = 64  # the body object is level 1, its `variables` level 2, …
KEYLESS_MAX_BYTES = 8 * 1024  # GraphiQL's introspection request is about 2 KB
# outside its strings, valid JSON holds only brackets and these; both kinds of bracket become
# [ ] (nesting is all that matters)
_NOT_BRACKETS: dict[int, str | None] = {
    **dict.fromkeys(map(ord, " \t\n\r,:0123456789+-.eEtruefalsn")), ord("{"): "[", ord("}"): "]"
}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CALLER = "promogate.caller"  # scope key: (principal, problem), found before reading the body


class BadBody(ValueError):
    pass


def error_body(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code, **extra}}]}


def error_response(status: int, message: str, **extra: Any) -> Response:
    code = CODES.get(status, BAD_REQUEST if status < 500 else INTERNAL)
    headers = {"Allow": "GET, POST"} if status == 405 else None
    return JSONResponse(error_body(message, code, **extra), status_code=status, headers=headers)


def _reject_constant(name: str) -> Any:
    raise BadBody(f"the request body is not valid JSON: {name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadBody(f"the number {text[:20]} in the request body is out of range")
    return value


def decode_json_body(body: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON (RFC 8259): UTF-8, no NaN/Infinity, bounded nesting, no lone surrogates."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadBody(f"the request body is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = body
    collecting = gc.isenabled()
    try:
        # The cyclic collector would run over and over while a large body builds its lists
        # and objects (5-8 times the decoding time); json.loads holds the GIL throughout.
        gc.disable()
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
    except RecursionError:
        raise BadBody(f"the request body nests deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise BadBody(f"the request body is not valid JSON: {exc.msg} at character "
                      f"{exc.pos}") from None
    except BadBody:
        raise
    except ValueError:  # an integer too long to convert
        raise BadBody("a number in the request body has too many digits") from None
    finally:
        if collecting:
            gc.enable()
    _check_json(text, data, max_depth)
    return data


def _check_json(text: str, data: Any, max_depth: int) -> None:
    """Nesting and text of a JSON document that decoded, at C speed (bodies may be large)."""
    # Each pass drops the innermost (empty) brackets, so a document of depth d is gone after
    # exactly d passes; most passes work on a string far shorter than the body.
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    brackets = "".join(unescaped.split('"')[::2]).translate(_NOT_BRACKETS)  # outside strings
    for _ in range(max_depth):
        if not brackets:
            break
        brackets = brackets.replace("[]", "")
    if brackets:
        raise BadBody(f"the request body nests deeper than {max_depth} levels")
    # PostgreSQL text cannot hold U+0000, so no stored or looked-up value may contain it:
    # refused for every backend alike (in GraphQL string literals by the gate). Only an
    # escape can put it in valid JSON, and `unescaped` has no escaped backslashes left.
    if "\\u0000" in unescaped:
        raise BadBody(NUL_MESSAGE)
    if _SURROGATE_ESCAPE.search(text):  # only an escape can make a surrogate in valid UTF-8
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadBody("a string in the request body is not valid Unicode (a lone "
                          "surrogate escape)") from None


def request_data(data: Any) -> GraphQLRequestData:
    if isinstance(data, list):
        raise BadBody("a JSON array (a batch of operations) is not supported; send one "
                      "operation per request")
    if not isinstance(data, dict):
        raise BadBody('the request body must be a JSON object: {"query": "…", '
                      '"variables": {…}, "operationName": "…"}')
    checks = (("query", str, "a string"), ("variables", dict, "an object"),
              ("operationName", str, "a string"), ("extensions", dict, "an object"))
    for key, kind, noun in checks:
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise BadBody(f"`{key}` must be {noun} or null")
    return GraphQLRequestData(
        query=data.get("query"), variables=data.get("variables"),
        operation_name=data.get("operationName"), extensions=data.get("extensions"),
        protocol="http",
    )


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self._serve(scope, receive)
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason)
        except BadBody as exc:
            response = error_response(400, str(exc))
        except ClientDisconnect:  # nobody is left to read it, but the request is still answered
            response = error_response(400, "the client disconnected before the body was sent")
        except Exception:  # never a bare 500 page: log it, answer in the GraphQL shape
            request_id = scope.get("state", {}).get("request_id", "-")
            log.exception("unexpected error at /graphql (request id %s)", request_id)
            response = error_response(
                500, f"Internal server error (request id {request_id})", requestId=request_id
            )
        await response(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive) -> Response:
        request = Request(scope, receive)
        principal, problem = await principal_for(
            self.db, request.headers, cache_seconds=self.settings.auth_cache_seconds
        )
        scope[_CALLER] = (principal, problem)
        if request.method == "POST":
            limit = self.settings.max_request_bytes
            if principal is None:
                if not self.settings.introspection:
                    # nothing can run without a key: refuse before reading anything
                    return error_response(401, problem or "authentication required")
                limit = min(limit, KEYLESS_MAX_BYTES)
            body = await self._read_body(request, limit, keyless=principal is None)
            request = Request(scope, _replay(body, receive))
        return await self.run(request)

    async def _read_body(self, request: Request, limit: int, *, keyless: bool) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or len(declared) > 18):
            raise HTTPException(400, "invalid Content-Length header")
        too_large = (
            HTTPException(401, "missing Authorization: Bearer <key> header (a request "
                          f"without a key may only introspect, in at most {limit} bytes)")
            if keyless else
            HTTPException(413, f"the request body is larger than {limit} bytes")
        )
        if declared is not None and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return decode_json_body(data)
        except BadBody as exc:  # WebSocket messages: Strawberry closes with 4400
            raise json.JSONDecodeError(str(exc), "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return decode_json_body(data)
        except BadBody as exc:
            raise HTTPException(400, str(exc)) from None

    async def parse_http_body(self, request: Any) -> Any:
        if request.method != "POST":
            return await super().parse_http_body(request)
        content_type, _ = parse_content_type(request.content_type or "")
        if content_type != "application/json":
            raise HTTPException(
                400, f"unsupported Content-Type {content_type or '(none)'!r}; send the "
                "operation as JSON with Content-Type: application/json"
            )
        try:
            return request_data(decode_json_body(await request.get_body()))
        except BadBody as exc:
            raise HTTPException(400, str(exc)) from None

    async def process_result(self, request: Request, result: Any) -> Any:
        response = await super().process_result(request, result)
        for error in response.get("errors") or []:
            with_code(error)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        caller: tuple[Principal | None, str | None] | None = request.scope.get(_CALLER)
        if caller is None:
            caller = await principal_for(
                self.db, request.headers, cache_seconds=self.settings.auth_cache_seconds
            )
        principal, problem = caller
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


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands out the body already read, then waits as the real one does."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

