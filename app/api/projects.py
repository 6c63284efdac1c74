"""GraphQL: the caller's project and its API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from app.api.common import given, mapped
from app.api.context import Context
from app.api.enums import ApiKeyKind
from app.api.errors import UserError, mutation_call
from app.api.relay import Node
from app.db import projects as tables
from app.services import projects as service


@strawberry.type
class Project(Node):
    id: strawberry.ID
    name: str
    currency: str
    time_zone: str
    is_sandbox: bool
    client_redeem_enabled: bool = strawberry.field(
        description="Publishable keys may call redeemStack"
    )
    client_publish_enabled: bool = strawberry.field(
        description="Publishable keys may call publishVoucher"
    )
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.Project) -> Project:
        return cls(
            id=strawberry.ID(row.id), name=row.name, currency=row.currency,
            time_zone=row.time_zone, is_sandbox=row.is_sandbox,
            client_redeem_enabled=row.client_redeem_enabled,
            client_publish_enabled=row.client_publish_enabled, created_at=row.created_at,
        )


@strawberry.type
class ApiKey(Node):
    id: strawberry.ID
    kind: ApiKeyKind
    name: str | None
    hint: str = strawberry.field(description="The key's first characters, to tell keys apart")
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(row.id), kind=ApiKeyKind(row.kind), name=row.name, hint=row.hint,
            created_at=row.created_at, revoked_at=row.revoked_at,
        )


@strawberry.type
class CreatedApiKey:
    api_key: ApiKey
    key: str = strawberry.field(description="The key itself: shown once, never again")


@strawberry.input
class CreateApiKeyInput:
    kind: ApiKeyKind
    name: str | None = None


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.input
class UpdateProjectInput:
    name: str | None = UNSET
    time_zone: str | None = UNSET
    client_redeem_enabled: bool | None = UNSET
    client_publish_enabled: bool | None = UNSET


@strawberry.type
class CreateApiKeyPayload:
    created: CreatedApiKey | None = None
    errors: list[UserError]


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None = None
    errors: list[UserError]


@strawberry.type
class ProjectPayload:
    project: Project | None = None
    errors: list[UserError]


@strawberry.type
class ProjectQuery:
    @strawberry.field(description="The project of the key making the call.")
    async def project(self, info: Info[Context, None]) -> Project:
        ctx = info.context
        row = await service.get_project(ctx.db, ctx.project_id)
        assert row is not None  # the key was just authenticated against it
        return Project.from_row(row)

    @strawberry.field(description="The project's API keys (without their values).")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        ctx = info.context
        return [ApiKey.from_row(row) for row in await service.list_keys(ctx.db, ctx.project_id)]


@strawberry.type
class ProjectMutation:
    @strawberry.mutation
    async def update_project(
        self, info: Info[Context, None], input: UpdateProjectInput
    ) -> ProjectPayload:
        ctx = info.context
        data = {k: v for k, v in given(input).items() if v is not None}
        return await mutation_call(
            mapped(service.update_project(ctx.db, ctx.project_id, data), Project.from_row),
            ProjectPayload, "project",
        )

    @strawberry.mutation
    async def create_api_key(
        self, info: Info[Context, None], input: CreateApiKeyInput
    ) -> CreateApiKeyPayload:
        ctx = info.context
        call = service.create_key(
            ctx.db, ctx.project_id, input.kind, name=input.name
        )
        return await mutation_call(
            mapped(call, lambda issued: CreatedApiKey(
                api_key=ApiKey.from_row(issued.key), key=issued.raw
            )),
            CreateApiKeyPayload, "created",
        )

    @strawberry.mutation(description="Revoke a key of this project; it stops working at once.")
    async def revoke_api_key(
        self, info: Info[Context, None], input: RevokeApiKeyInput
    ) -> ApiKeyPayload:
        ctx = info.context
        return await mutation_call(
            mapped(service.revoke(ctx.db, ctx.project_id, str(input.id)), ApiKey.from_row),
            ApiKeyPayload, "api_key",
        )
