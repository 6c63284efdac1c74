"""Shared mutation plumbing: inputs to the plain dicts the services take, delete payloads."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from app.api.errors import UserError, mutation_call
from app.services import lookup

T = TypeVar("T")
R = TypeVar("R")


def given(input_: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields the caller actually sent (null included), by snake_case name."""
    return {
        f.name: getattr(input_, f.name)
        for f in dataclasses.fields(input_)
        if f.name not in exclude and getattr(input_, f.name) is not UNSET
    }


def ref_and_changes(input_: Any) -> tuple[dict[str, str | None], dict[str, Any]]:
    """Update inputs name their object by `id` or, without an id, by `sourceId`.

    With an id, a `sourceId` in the same input is a new value to set.
    """
    data = given(input_, exclude=("id",))
    id_ = getattr(input_, "id", None)
    if id_:
        return {"id": str(id_), "source_id": None}, data
    return {"id": None, "source_id": data.pop("source_id", None)}, data


@strawberry.input(description="Names an object by its id or by its sourceId.")
class RefInput:
    id: strawberry.ID | None = None
    source_id: str | None = None

    def ref(self) -> dict[str, str | None]:
        return {"id": str(self.id) if self.id else None, "source_id": self.source_id}


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = dataclasses.field(default_factory=list)


async def mapped(call: Awaitable[T], to_type: Callable[[T], R]) -> R:
    """Await a use case and turn its row into a GraphQL type."""
    return to_type(await call)


async def delete_mutation(info: Info[Any, None], model: type, kind: str, input: RefInput) -> Any:
    ctx = info.context
    return await mutation_call(
        mapped(lookup.delete_by_ref(ctx.db, model, ctx.project_id, input.ref(), kind),
               lambda row: strawberry.ID(row.id)),
        DeletePayload, "deleted_id",
    )
