"""Who may run what: keys from `Authorization: Bearer`, and the publishable-key allowlist.

Checked once per operation, before execution, on the root fields of the selected operation,
so no resolver runs (and no data leaves) for a caller that may not run it.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.utilities import get_operation_ast
from starlette.datastructures import Headers
from strawberry.extensions import SchemaExtension

from app.api.errors import FORBIDDEN, UNAUTHENTICATED
from app.db.session import Database
from app.services import projects
from app.services.projects import Principal

INTROSPECTION = {"__schema", "__type", "__typename"}
# API.md: what a publishable key may call.
CLIENT_FIELDS = {"qualifications", "validateStack", "promotionTiers", "trackEvent"}
CLIENT_REDEEM_FIELDS = {"redeemStack"}
CLIENT_PUBLISH_FIELDS = {"publishVoucher"}


def bearer(headers: Headers | dict[str, str]) -> str | None:
    value = headers.get("authorization") or headers.get("Authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


async def principal_for(
    db: Database, headers: Headers | dict[str, str], *, cache_seconds: float = 0
) -> tuple[Principal | None, str | None]:
    """The caller, or None and why not."""
    token = bearer(headers)
    if token is None:
        return None, "missing Authorization: Bearer <key> header"
    if not token:
        return None, "the Authorization header must be 'Bearer <key>'"
    principal = await projects.authenticate(db, token, cache_seconds=cache_seconds)
    if principal is None:
        return None, "unknown or revoked API key"
    return principal, None


def root_fields(document: DocumentNode, operation_name: str | None) -> set[str] | None:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: set[str] = set()

    def walk(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set, seen | {name})

    walk(operation.selection_set, frozenset())
    return names


def allowed_for_publishable(principal: Principal) -> set[str]:
    allowed = CLIENT_FIELDS | INTROSPECTION
    if principal.client_redeem_enabled:
        allowed |= CLIENT_REDEEM_FIELDS
    if principal.client_publish_enabled:
        allowed |= CLIENT_PUBLISH_FIELDS
    return allowed


class Authorization(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context.context
        document = self.execution_context.graphql_document
        fields = root_fields(document, self.execution_context.operation_name) if document else None
        error = self._check(ctx, fields or set())
        if error is not None:
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield

    @staticmethod
    def _check(ctx: object, fields: set[str]) -> GraphQLError | None:
        principal: Principal | None = getattr(ctx, "principal", None)
        settings = getattr(ctx, "settings", None)
        if fields and fields <= INTROSPECTION and settings is not None and settings.introspection:
            return None  # GraphiQL may load the schema before a key is entered
        if principal is None:
            response = getattr(ctx, "response", None)
            if response is not None:
                response.status_code = 401
            reason = getattr(ctx, "auth_problem", None) or "authentication required"
            return GraphQLError(reason, extensions={"code": UNAUTHENTICATED})
        if principal.is_secret:
            return None
        denied = sorted(fields - allowed_for_publishable(principal))
        if denied:
            return GraphQLError(
                f"a publishable key may not call {', '.join(denied)}; use a secret key",
                extensions={"code": FORBIDDEN},
            )
        return None
