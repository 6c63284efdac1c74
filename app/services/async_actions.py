"""Background work in the server process: bulk code generation for large campaigns.

A job is an `AsyncAction` row; the work runs as an asyncio task with its own short sessions,
one transaction per batch (codes + progress + campaign counter together), so memory stays flat
and a restart resumes from what is already stored (`resume_pending`).

Each job runs under its own lease (`async_action:<id>`, see `app.db.leases`), so with several
server processes one of them runs it: whichever process starts or resumes it first; the
others find the lease held and leave it. Every batch renews the lease inside its own
transaction and rolls back if another process has taken the job over, so a stale runner
never adds a batch twice. The process that holds the background lease re-runs
`resume_pending` every `RESUME_INTERVAL`, which takes over the jobs of a process that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import sqlalchemy as sa

from app.db import leases, repository
from app.db.base import utcnow
from app.db.campaigns import Campaign, CreationStatus
from app.db.redemptions import AsyncAction, AsyncActionStatus
from app.db.session import Database
from app.db.vouchers import Voucher
from app.events.outbox import emit_row
from app.services import codes
from app.services import vouchers as voucher_service
from app.services.errors import ServiceError

log = logging.getLogger("promogate.jobs")

GENERATE_VOUCHERS = "campaign.vouchers.generate"
# Codes per transaction. At commit SQLite writes every page the transaction dirtied to the
# WAL, and random codes dirty about one page of the code index each, so bigger batches are
# faster there (1M codes: 50 s in batches of 5,000, 45 s of 10,000, 32-36 s of 20,000;
# PostgreSQL does not care) but hold SQLite's single writer longer: about 0.4 s per batch of
# 10,000 near 1M codes, during which redemptions wait. 10,000 keeps that wait short and the
# job within 3x of a bulk load.
BATCH_SIZE = 10_000
PENDING = (AsyncActionStatus.QUEUED, AsyncActionStatus.IN_PROGRESS)
# A job's lease: renewed by every batch, so it only runs out when its runner stops.
LEASE_TTL = timedelta(seconds=60)
RESUME_INTERVAL = timedelta(seconds=30)

_tasks: dict[str, asyncio.Task[None]] = {}


def start(db: Database, project_id: str, action_id: str) -> None:
    """Run the action in the background (once per process)."""
    if action_id in _tasks:
        return
    task = asyncio.create_task(_run(db, project_id, action_id), name=f"async-action {action_id}")
    _tasks[action_id] = task
    task.add_done_callback(lambda _: _tasks.pop(action_id, None))


def running() -> list[str]:
    return list(_tasks)


async def resume_pending(db: Database) -> list[str]:
    """Start every queued or interrupted action (all projects: this is the server's own work)."""
    stmt = sa.select(AsyncAction.project_id, AsyncAction.id).where(
        AsyncAction.status.in_(PENDING),  # type: ignore[attr-defined]
        AsyncAction.type == GENERATE_VOUCHERS,
    ).order_by(AsyncAction.id)
    async with db.read() as session:
        pending = list((await session.execute(stmt)).all())
    for project_id, action_id in pending:
        start(db, project_id, action_id)
    return [action_id for _, action_id in pending]


async def shutdown() -> None:
    """Cancel the running jobs and wait for them; they resume on the next start."""
    tasks = list(_tasks.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def lease_name(action_id: str) -> str:
    return f"async_action:{action_id}"


class Resumer:
    """`resume_pending` now and every `interval`: run by the process holding the background
    lease, it takes over the jobs whose runner died (their lease expired)."""

    def __init__(self, db: Database, interval: timedelta = RESUME_INTERVAL) -> None:
        self.db = db
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="promogate-async-action-resumer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await resume_pending(self.db)
            except Exception:  # try again next round
                log.exception("resuming async actions failed")
            await asyncio.sleep(self.interval.total_seconds())


async def _run(db: Database, project_id: str, action_id: str) -> None:
    try:
        held = await leases.acquire(db, lease_name(action_id), LEASE_TTL)
    except Exception:  # the database did not answer; the background holder resumes it later
        log.exception("async action %s: could not take its lease", action_id)
        return
    if held is None:
        return  # another process runs it
    try:
        await generate_vouchers(db, project_id, action_id, held=held)
    except asyncio.CancelledError:
        raise
    except leases.LeaseLost:
        log.warning("async action %s: taken over by another process; stopping here", action_id)
        return
    except Exception as exc:  # the job's failure is recorded on the action, not lost
        log.exception("async action %s failed", action_id)
        message = exc.errors[0].message if isinstance(exc, ServiceError) else "internal error"
        with contextlib.suppress(leases.LeaseLost):
            await _finish(db, project_id, action_id, AsyncActionStatus.FAILED, error=message,
                          held=held)
    finally:
        with contextlib.suppress(Exception):  # else it expires on its own
            await leases.release(db, held)


async def generate_vouchers(
    db: Database, project_id: str, action_id: str, *, held: leases.Held | None = None
) -> None:
    """Generate what is still missing. `held`: the job's lease tenure, renewed (and checked)
    in every transaction; `LeaseLost` when another process has taken the job over."""
    async with db.write() as session:
        if held is not None:
            await leases.renew_in(session, held, LEASE_TTL)
        action = await repository.get(session, AsyncAction, project_id, action_id)
        if action is None or action.status not in PENDING:
            return
        campaign = await repository.get(
            session, Campaign, project_id, action.params["campaign_id"]
        )
        if campaign is None:
            action.status, action.error = AsyncActionStatus.FAILED, "the campaign was deleted"
            return
        done = await repository.count(session, Voucher, project_id,
                                      [Voucher.campaign_id == campaign.id])
        action.status, action.progress, action.updated_at = (
            AsyncActionStatus.IN_PROGRESS, done, utcnow()
        )
        await session.execute(
            sa.update(Campaign).where(Campaign.project_id == project_id,
                                      Campaign.id == campaign.id)
            .values(vouchers_count=done)
        )
        total = action.total
    generator = codes.CodeGenerator(
        codes.parse_config((campaign.voucher or {}).get("code_config"))
    )
    while done < total:
        size = min(BATCH_SIZE, total - done)
        async with db.write() as session:
            if held is not None:
                await leases.renew_in(session, held, LEASE_TTL)
            if await repository.get(session, Campaign, project_id, campaign.id) is None:
                raise ServiceError.one("not_found", "the campaign was deleted", None)
            await voucher_service.generate_into(session, project_id, campaign, generator, size)
            done += size
            await session.execute(
                sa.update(AsyncAction).where(AsyncAction.project_id == project_id,
                                             AsyncAction.id == action_id)
                .values(progress=done, updated_at=utcnow())
            )
            await session.execute(
                sa.update(Campaign).where(Campaign.project_id == project_id,
                                          Campaign.id == campaign.id)
                .values(vouchers_count=Campaign.vouchers_count + size)
            )
        await asyncio.sleep(0)  # let requests run between batches
    await analyze(db, "vouchers")
    await _finish(db, project_id, action_id, AsyncActionStatus.DONE,
                  result={"vouchers_count": done}, held=held)


async def analyze(db: Database, *tables: str) -> None:
    """Fresh planner statistics for the tables a bulk job filled: until the next ANALYZE
    (autovacuum's, when it runs) a planner may take a table grown by a million rows for the
    few it held. SQLite reads a sample of each index (`analysis_limit`), not all of it."""
    async with db.write() as session:
        if db.is_sqlite:
            await session.execute(sa.text("PRAGMA analysis_limit = 1000"))
        for table in tables:
            await session.execute(sa.text(f"ANALYZE {table}"))


async def _finish(
    db: Database, project_id: str, action_id: str, status: AsyncActionStatus, *,
    error: str | None = None, result: dict[str, int] | None = None,
    held: leases.Held | None = None,
) -> None:
    async with db.write() as session:
        if held is not None:  # fenced, and the job's lease goes with its last write
            await leases.renew_in(session, held, LEASE_TTL)
            await leases.drop_in(session, held)
        action = await repository.get(session, AsyncAction, project_id, action_id)
        if action is None:
            return
        action.status, action.error, action.result = status, error, result
        action.updated_at = utcnow()
        campaign_status = (
            CreationStatus.DONE if status == AsyncActionStatus.DONE else CreationStatus.FAILED
        )
        await session.execute(
            sa.update(Campaign).where(Campaign.project_id == project_id,
                                      Campaign.id == action.params.get("campaign_id"))
            .values(creation_status=campaign_status)
        )
        campaign_id = action.params.get("campaign_id")
        if campaign_id:
            await emit_row(
                session, project_id,
                "campaign.vouchers.generation.completed" if status == AsyncActionStatus.DONE
                else "campaign.vouchers.generation.failed",
                "asyncAction", action, aggregate_id=campaign_id,
            )
