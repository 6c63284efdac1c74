"""validateStack: evaluate a stack of redeemables against an order, with no side effects
(except a LOCK session's reservations when one is asked for)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.session import Database
from app.services.checkout import autoapply, snapshot
from app.services.checkout.request import (
    Clock,
    RequestProblem,
    StackRequest,
    check_order,
    check_request,
    check_result,
    utc_now,
)
from app.services.checkout.sessions import SessionAsk, SessionInfo, reserve, session_info
from app.services.errors import ServiceError


def run_engine(
    loaded: snapshot.Snapshot, request: StackRequest | None = None
) -> engine.StackValidation:
    try:
        result = (autoapply.evaluate(loaded.request, request) if request is not None
                  else engine.evaluate(loaded.request))
    except engine.RequestError as exc:
        raise RequestProblem(exc.code, exc.message, ["redeemables"]) from exc
    check_result(result, len(loaded.request.order.items))
    return result


async def load_checked(
    session: AsyncSession, project_id: str, request: StackRequest, *, now: datetime,
    mode: engine.Mode, lock: bool = False, lines: tuple[engine.OrderItem, ...] | None = None,
) -> snapshot.Snapshot:
    check_request(request)
    try:
        loaded = await snapshot.load(
            session, project_id, request, now=now, mode=mode, lock=lock, lines=lines
        )
    except ServiceError as exc:
        first = exc.errors[0]
        raise RequestProblem(first.code, first.message, first.field) from exc
    check_order(loaded.request.order)
    return loaded


@dataclass(frozen=True)
class Validation:
    result: engine.StackValidation
    session: SessionInfo | None


async def validate_stack(
    db: Database, project_id: str, request: StackRequest, *,
    session_ask: SessionAsk | None = None, clock: Clock = utc_now,
) -> Validation:
    now = clock()
    if session_ask is None:
        async with db.read() as s:
            request = await autoapply.expand(s, project_id, request, now)
            loaded = await load_checked(s, project_id, request, now=now, mode=engine.Mode.VALIDATE)
        return Validation(run_engine(loaded, request), None)
    info = session_info(session_ask, now)
    request = dataclasses.replace(request, session_key=info.key)
    # Reserving counts against redemption limits: lock like a redemption does.
    async with db.write() as s:
        request = await autoapply.expand(s, project_id, request, now)
        loaded = await load_checked(
            s, project_id, request, now=now, mode=engine.Mode.VALIDATE, lock=True
        )
        result = run_engine(loaded, request)
        await reserve(s, project_id, loaded, result, info)
    return Validation(result, info)
