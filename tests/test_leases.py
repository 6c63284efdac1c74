"""Leases: one holder at a time, takeover after expiry, fencing of a stale holder; the Leader
that runs the background work in one process; bulk jobs fenced by their own lease."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.db import leases
from app.db.base import utcnow
from app.db.redemptions import AsyncAction
from app.db.session import Database
from app.db.vouchers import Voucher
from app.events.runtime import Background, Leader
from app.services import async_actions

TTL = timedelta(seconds=10)


def lease_name() -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


class TestLease:
    async def test_one_holder_then_takeover_after_expiry_with_a_new_token(
        self, db: Database
    ) -> None:
        name, now = lease_name(), utcnow()
        a = await leases.acquire(db, name, TTL, me="A", now=now)
        assert a == leases.Held(name, "A", 1)
        assert await leases.acquire(db, name, TTL, me="B", now=now + timedelta(seconds=9)) is None
        assert await leases.renew(db, a, TTL)

        later = utcnow() + TTL + timedelta(seconds=1)  # A stopped renewing
        b = await leases.acquire(db, name, TTL, me="B", now=later)
        assert b == leases.Held(name, "B", 2)
        assert not await leases.renew(db, a, TTL)  # the stale holder learns it lost
        row = await leases.current(db, name)
        assert row is not None and (row.holder, row.token) == ("B", 2)

    async def test_the_fence_rolls_back_a_stale_holders_write(self, db: Database) -> None:
        name, now = lease_name(), utcnow()
        a = await leases.acquire(db, name, TTL, me="A", now=now)
        assert a is not None
        b = await leases.acquire(db, name, TTL, me="B", now=now + TTL * 2)
        assert b is not None and b.token == 2
        with pytest.raises(leases.LeaseLost):
            async with db.write() as session:
                await session.execute(sa.update(leases.Lease)
                                      .where(leases.Lease.name == name)  # type: ignore[arg-type]
                                      .values(holder="written"))
                await leases.check(session, a)
        row = await leases.current(db, name)
        assert row is not None and row.holder == "B"  # A's write rolled back
        async with db.write() as session:
            await leases.check(session, b)  # the holder passes

    async def test_reacquiring_starts_a_new_tenure_and_release_frees_at_once(
        self, db: Database
    ) -> None:
        name = lease_name()
        first = await leases.acquire(db, name, TTL, me="A")
        again = await leases.acquire(db, name, TTL, me="A")
        assert first is not None and again is not None and again.token == first.token + 1
        assert not await leases.renew(db, first, TTL)
        await leases.release(db, again)
        b = await leases.acquire(db, name, TTL, me="B")
        assert b is not None and b.token == again.token + 1

    async def test_concurrent_acquires_have_exactly_one_winner(self, db: Database) -> None:
        for _ in range(3):
            name, now = lease_name(), utcnow()
            got = await asyncio.gather(*(
                leases.acquire(db, name, TTL, me=f"P{i}", now=now) for i in range(12)
            ))
            assert len([g for g in got if g is not None]) == 1
            # and again once it has expired: one new holder, token 2
            later = now + TTL * 2
            got = await asyncio.gather(*(
                leases.acquire(db, name, TTL, me=f"Q{i}", now=later) for i in range(12)
            ))
            winners = [g for g in got if g is not None]
            assert len(winners) == 1 and winners[0].token == 2


class Part:
    def __init__(self) -> None:
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True


class TestLeader:
    async def test_one_leads_the_other_takes_over_when_it_stops(self, db: Database) -> None:
        name = lease_name()
        started: list[tuple[str, int, Part]] = []

        def starter(label: str):  # type: ignore[no-untyped-def]
            async def start(held: leases.Held) -> Background:
                part = Part()
                started.append((label, held.token, part))
                return Background(parts=[part])
            return start

        first = Leader(db, starter("first"), name=name, ttl=timedelta(seconds=30))
        second = Leader(db, starter("second"), name=name, ttl=timedelta(seconds=30))
        await first.start()
        await second.start()
        try:
            assert (first.leading, second.leading) == (True, False)
            await second.step()
            assert [(label, token) for label, token, _ in started] == [("first", 1)]

            await first.stop()  # releases: the stand-by takes over on its next try
            assert started[0][2].stopped
            await second.step()
            assert second.leading
            assert [(label, token) for label, token, _ in started] == [("first", 1),
                                                                       ("second", 2)]
        finally:
            await first.stop()
            await second.stop()

    async def test_a_holder_that_lost_its_lease_stops_its_parts(self, db: Database) -> None:
        name = lease_name()
        parts: list[Part] = []

        async def start(_: leases.Held) -> Background:
            parts.append(Part())
            return Background(parts=[parts[-1]])

        leader = Leader(db, start, name=name, ttl=timedelta(seconds=30))
        await leader.start()
        try:
            assert leader.leading
            # another process took over (as if this one had been paused past the expiry)
            assert await leases.acquire(db, name, TTL, me="other",
                                        now=utcnow() + timedelta(seconds=31))
            await leader.step()
            assert not leader.leading and parts[0].stopped
            await leader.step()  # the other one renews nothing here: still held by it
            assert not leader.leading
        finally:
            await leader.stop()
        row = await leases.current(db, name)
        assert row is not None and row.holder == "other"  # stop released nothing of others


class TestFencedJob:
    async def test_a_job_taken_over_writes_no_further_batch(
        self, api, db: Database, tenant, monkeypatch
    ) -> None:
        monkeypatch.setattr(async_actions, "BATCH_SIZE", 200)
        monkeypatch.setattr(async_actions, "start", lambda *_: None)  # we run it by hand
        data = await api(
            """mutation($i: CreateCampaignInput!) { createCampaign(input: $i) {
                 campaign { id } asyncAction { id } errors { code } } }""",
            i={"name": "Fenced", "campaignType": "DISCOUNT_COUPONS", "type": "STATIC",
               "vouchersCount": 1500, "voucher": {"type": "DISCOUNT_VOUCHER",
               "discount": {"type": "PERCENT", "percentOff": 10},
               "codeConfig": {"length": 12}}},
        )
        payload = data["createCampaign"]
        assert payload["errors"] == []
        action_id, campaign_id = payload["asyncAction"]["id"], payload["campaign"]["id"]
        name = async_actions.lease_name(action_id)
        held = await leases.acquire(db, name, async_actions.LEASE_TTL)
        assert held is not None

        class PausedBeforeThirdBatch:
            """The job's database, except that another process takes the job over (as if this
            one had been paused past the lease's expiry) before the third batch."""

            def __init__(self) -> None:
                self.writes = 0

            def __getattr__(self, attr: str):  # type: ignore[no-untyped-def]
                return getattr(db, attr)

            @contextlib.asynccontextmanager
            async def write(self):  # type: ignore[no-untyped-def]
                self.writes += 1
                if self.writes == 4:  # the first write sets up, then a batch per write
                    later = utcnow() + async_actions.LEASE_TTL * 2
                    assert await leases.acquire(db, name, async_actions.LEASE_TTL, me="other",
                                                now=later)
                async with db.write() as session:
                    yield session

        with pytest.raises(leases.LeaseLost):
            await async_actions.generate_vouchers(
                PausedBeforeThirdBatch(), tenant.project_id, action_id, held=held  # type: ignore[arg-type]
            )
        async with db.read() as session:
            count = (await session.execute(
                sa.select(sa.func.count()).select_from(Voucher)
                .where(Voucher.campaign_id == campaign_id)
            )).scalar_one()
            action = await session.get(AsyncAction, action_id)
        # the third batch (during which the lease was lost) rolled back entirely
        assert count == 400
        assert action is not None and (action.status, action.progress) == ("IN_PROGRESS", 400)


class TestLeaderStartFailure:
    async def test_a_part_that_cannot_start_fails_startup_and_frees_the_lease(
        self, db: Database
    ) -> None:
        name = lease_name()
        tries = 0

        async def start(_: leases.Held) -> Background:
            nonlocal tries
            tries += 1
            if tries == 1:
                raise ConnectionError("bus unreachable")
            return Background(parts=[Part()])

        leader = Leader(db, start, name=name, ttl=timedelta(seconds=30))
        with pytest.raises(ConnectionError):
            await leader.start()
        assert not leader.leading
        other = await leases.acquire(db, name, TTL, me="other")  # freed at once
        assert other is not None
        await leases.release(db, other)
        await leader.step()  # a later try starts it
        assert leader.leading and tries == 2
        await leader.stop()
