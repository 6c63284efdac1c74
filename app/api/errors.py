"""Errors at the API edge: typed `UserError`s in payloads, GraphQL errors with stable codes,
and masking of everything unexpected (logged with the request id and traceback)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.engine import error_codes
from app.engine.error_codes import BAD_USER_INPUT, FORBIDDEN, UNAUTHENTICATED
from app.engine.error_codes import INTERNAL_SERVER_ERROR as INTERNAL
from app.services.errors import ServiceError
from app.services.errors import UserError as ServiceUserError

log = logging.getLogger("promogate.api")

T = TypeVar("T")

# extensions.code values of GraphQL errors (every code: app/engine/error_codes.py)
__all__ = ["BAD_USER_INPUT", "FORBIDDEN", "INTERNAL", "UNAUTHENTICATED"]


@strawberry.type(description="An expected failure of a mutation: stable code, message, path.")
class UserError:
    code: str = strawberry.field(description="Stable lower_snake key, e.g. duplicate_source_id")
    message: str
    field: list[str] | None = strawberry.field(
        default=None, description="Path of the input field at fault, e.g. [items, 3, quantity]"
    )

    @classmethod
    def from_service(cls, error: ServiceUserError) -> UserError:
        return cls(code=error.code, message=error.message, field=error.field)


class ApiError(GraphQLError):
    """A GraphQL error we mean to show (never masked)."""

    def __init__(self, message: str, code: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": code, **extra})


def bad_input(reason: str, message: str, field: list[str] | None = None) -> ApiError:
    return ApiError(message, BAD_USER_INPUT, reason=reason, field=field)


async def query_call(call: Awaitable[T]) -> T:
    """Run a read use case; its expected failures become BAD_USER_INPUT errors."""
    try:
        return await call
    except ServiceError as exc:
        first = exc.errors[0]
        raise bad_input(first.code, first.message, first.field) from exc


async def mutation_call(
    call: Awaitable[T], payload: Callable[..., Any], key: str
) -> Any:
    """Run a use case; expected failures become the payload's `errors`, nothing else."""
    try:
        result = await call
    except ServiceError as exc:
        return payload(errors=[UserError.from_service(e) for e in exc.errors])
    return payload(**{key: result, "errors": []})


def is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


class MaskUnexpectedErrors(SchemaExtension):
    """Replace unexpected exceptions by a generic error carrying the request id."""

    def on_operation(self) -> Iterator[None]:
        yield
        mask_unexpected(self.execution_context)


def mask_unexpected(execution_context: Any) -> None:
    """What MaskUnexpectedErrors does once the operation has run (the gate does it too)."""
    result = execution_context.result
    if not result or not result.errors:
        return
    request_id = getattr(execution_context.context, "request_id", "-")
    result.errors = [
        error if is_expected(error) else GraphQLError(
            f"Internal server error (request id {request_id})",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": INTERNAL, "requestId": request_id},
        )
        for error in result.errors
    ]


def with_code(formatted: dict[str, Any]) -> dict[str, Any]:
    """Every error carries a stable extensions.code: a document the server refused to parse or
    validate (syntax, unknown field, bad variable, depth/alias/token limits) says so."""
    extensions = formatted.setdefault("extensions", {})
    if not extensions.get("code"):
        message = str(formatted.get("message", ""))
        extensions["code"] = (
            error_codes.GRAPHQL_PARSE_FAILED if message.startswith("Syntax Error")
            else error_codes.GRAPHQL_VALIDATION_FAILED
        )
    return formatted


def log_unexpected(errors: list[GraphQLError], request_id: str) -> None:
    for error in errors:
        if not is_expected(error):
            log.error(
                "unexpected error in %s (request id %s)",
                ".".join(str(p) for p in error.path or []) or "operation",
                request_id,
                exc_info=error.original_error,
            )
