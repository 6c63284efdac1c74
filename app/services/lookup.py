"""Reads shared by the use cases: resolve by id or source id, keyset pages, counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.db import repository
from app.db.repository import Page
from app.db.session import Database
from app.engine.error_codes import DUPLICATE_SOURCE_ID, INVALID_PAGE_SIZE, REQUIRED
from app.services.errors import ServiceError, not_found

M = TypeVar("M", bound=SQLModel)

MAX_PAGE = 100
DEFAULT_PAGE = 20

# Per model: what else to do, in the same transaction, when `delete_by_ref` deletes one
# (e.g. write its `….deleted` event).
_DELETE_HOOKS: dict[type[Any], Callable[[AsyncSession, Any], Awaitable[None]]] = {}


def on_delete(model: type[M], hook: Callable[[AsyncSession, M], Awaitable[None]]) -> None:
    _DELETE_HOOKS[model] = hook


def check_page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > MAX_PAGE:
        raise ServiceError.one(
            INVALID_PAGE_SIZE, f"first must be between 0 and {MAX_PAGE}", ["first"]
        )
    return first


async def find(
    session: AsyncSession, model: type[M], project_id: str, *, id_: str | None,
    source_id: str | None,
) -> M | None:
    if id_ is not None:
        return await repository.get(session, model, project_id, id_)
    if source_id is not None:
        return await repository.get_by_source_id(session, model, project_id, source_id)
    return None


async def resolve(
    session: AsyncSession, model: type[M], project_id: str, kind: str, *, id_: str | None,
    source_id: str | None, path: list[str],
) -> M:
    """The object named by id (preferred) or source id, or a `not_found` error at `path`."""
    if id_ is None and source_id is None:
        raise ServiceError.one(REQUIRED, f"give the {kind}'s id or sourceId", [*path, "id"])
    found = await find(session, model, project_id, id_=id_, source_id=source_id)
    if found is None:
        field = "id" if id_ is not None else "sourceId"
        raise not_found(kind, id_ or source_id or "", [*path, field] if path else [field])
    return found


async def get(db: Database, model: type[M], project_id: str, id_: str) -> M | None:
    async with db.read() as session:
        return await repository.get(session, model, project_id, id_)


async def get_by_ref(
    db: Database, model: type[M], project_id: str, *, id_: str | None, source_id: str | None
) -> M | None:
    async with db.read() as session:
        return await find(session, model, project_id, id_=id_, source_id=source_id)


async def get_many(db: Database, model: type[M], project_id: str, ids: list[str]) -> dict[str, M]:
    async with db.read() as session:
        return await repository.get_many(session, model, project_id, ids)


async def page(
    db: Database, model: type[M], project_id: str, *, first: int | None, after: str | None,
    where: Sequence[Any] = (),
) -> Page[M]:
    size = check_page_size(first)
    async with db.read() as session:
        return await repository.page(
            session, model, project_id, first=size, after=after, where=where
        )


async def count(db: Database, model: type[M], project_id: str, where: Sequence[Any] = ()) -> int:
    async with db.read() as session:
        return await repository.count(session, model, project_id, where)


async def delete_by_ref(
    db: Database, model: type[M], project_id: str, ref: dict[str, str | None], kind: str
) -> M:
    """Delete the object named by id, or by source id where the object has one."""
    source_id = ref.get("source_id") if hasattr(model, "source_id") else None
    if ref.get("id") is None and source_id is None:
        raise ServiceError.one(REQUIRED, f"give the {kind}'s id", ["id"])
    async with db.write() as session:
        found = await resolve(
            session, model, project_id, kind, id_=ref.get("id"), source_id=source_id, path=[]
        )
        hook = _DELETE_HOOKS.get(model)
        if hook is not None:
            await hook(session, found)
        await session.delete(found)
    return found


def duplicate_source_id(kind: str, path: list[str]) -> ServiceError:
    return ServiceError.one(
        DUPLICATE_SOURCE_ID, f"another {kind} already has this sourceId", path
    )
