"""Who may run what: keys from `Authorization: Bearer`, and what a publishable key may call.

Checked once per operation, before validation and execution (`app/api/gate.py`), on the
operation's root fields and, for a publishable key, on every field below them
(`app/api/client_fields.py`): no resolver runs, and no data leaves, for a caller that may not
run the whole operation.
"""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError
from starlette.datastructures import Headers

from app.api.errors import FORBIDDEN, UNAUTHENTICATED
from app.api.limits import Analysis, operation_of, top_level_fields
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
    """The operation's root field names, through fragments; each fragment is looked at once."""
    operation = operation_of(document, operation_name)
    if operation is None:
        return None
    return top_level_fields(document, operation)


def allowed_for_publishable(principal: Principal) -> set[str]:
    allowed = CLIENT_FIELDS | INTROSPECTION
    if principal.client_redeem_enabled:
        allowed |= CLIENT_REDEEM_FIELDS
    if principal.client_publish_enabled:
        allowed |= CLIENT_PUBLISH_FIELDS
    return allowed


def unauthenticated(ctx: Any) -> GraphQLError:
    """UNAUTHENTICATED (HTTP 401) with why the key did not work."""
    response = getattr(ctx, "response", None)
    if response is not None:
        response.status_code = 401
    reason = getattr(ctx, "auth_problem", None) or "authentication required"
    return GraphQLError(reason, extensions={"code": UNAUTHENTICATED})


def is_introspection(fields: frozenset[str] | set[str]) -> bool:
    return bool(fields) and fields <= INTROSPECTION


def access_errors(ctx: Any, analysis: Analysis) -> list[GraphQLError]:
    """Why the caller may not run the analysed operation (empty: it may)."""
    principal: Principal | None = getattr(ctx, "principal", None)
    settings = getattr(ctx, "settings", None)
    fields = analysis.root_fields
    if is_introspection(fields) and settings is not None and settings.introspection:
        return []  # GraphiQL may load the schema before a key is entered
    if principal is None:
        return [unauthenticated(ctx)]
    if principal.is_secret:
        return []
    denied = sorted(fields - allowed_for_publishable(principal))
    if denied:
        return [GraphQLError(
            f"a publishable key may not call {', '.join(denied)}; use a secret key",
            extensions={"code": FORBIDDEN},
        )]
    if analysis.forbidden:
        shown = analysis.forbidden[:10]
        more = len(analysis.forbidden) - len(shown)
        return [GraphQLError(
            f"a publishable key may not read {', '.join(shown)}"
            + (f" (and {more} more)" if more else "") + "; use a secret key",
            extensions={"code": FORBIDDEN, "fields": analysis.forbidden},
        )]
    return []
