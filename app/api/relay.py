"""Relay conventions: the `Node` interface, connections with keyset cursors, `totalCount`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from app.api.errors import bad_input
from app.db.ids import prefix_of
from app.engine.error_codes import INVALID_CURSOR

T = TypeVar("T")


@strawberry.interface(description="An object with a global id (a prefixed string: prod_…).")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_fn: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many objects match, across all pages.")
    async def total_count(self) -> int:
        return await self.count_fn()


def encode_cursor(id_: str) -> str:
    return base64.urlsafe_b64encode(id_.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    if prefix_of(value) is None:
        raise bad_input(INVALID_CURSOR, "after is not a cursor this API gave out", ["after"])
    return value


def connection(
    rows: Sequence[Any],
    has_next: bool,
    to_node: Callable[[Any], T],
    count_fn: Callable[[], Awaitable[int]],
    after: str | None,
) -> Connection[T]:
    edges = [Edge(cursor=encode_cursor(row.id), node=to_node(row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count_fn=count_fn,
    )
