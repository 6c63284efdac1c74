"""Several server processes on one database (SQLite file, and PostgreSQL when configured):
real `promogate serve` processes, concurrent redemptions of one limited code from all of
them, and a webhook receiver that must get each event exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.db import leases
from app.db.events import Event, WebhookDelivery
from app.db.projects import Project
from app.db.redemptions import Redemption
from app.db.session import Database
from app.db.vouchers import Voucher
from app.events.runtime import BACKGROUND_LEASE
from tests.conftest import BACKENDS, fresh_database_url
from tests.events.conftest import REDEEM, Receiver, create_endpoint, eventually
from tests.stack import factories as f

SECRET = "sk_test_workers_" + "x" * 24
LIMIT = 7
ATTEMPTS = 40
PROMOGATE = str(Path(sys.executable).parent / "promogate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Servers:
    urls: list[str]
    db: Database
    project_id: str


async def _wait_healthy(url: str, procs: list[asyncio.subprocess.Process], log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(1200):  # a loaded machine takes a while to import the app twice
            if any(p.returncode is not None for p in procs):
                raise AssertionError(f"a server exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/health", timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"server not healthy:\n{log.read_text()[-3000:]}")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)  # uvicorn's supervisor stops its own workers
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def servers(backend: str, tmp_path: Path, layout: str) -> AsyncIterator[Servers]:
    """`layout`: "workers" (one `serve --workers 2`) or "ports" (two `serve` processes on two
    ports, so half the requests surely go to each process)."""
    async with fresh_database_url(backend, tmp_path) as url:
        env = {**os.environ, "PROMOGATE_DATABASE_URL": url, "PROMOGATE_SANDBOX_SECRET_KEY": SECRET,
               "PROMOGATE_LOG_LEVEL": "warning", "PROMOGATE_AUTH_CACHE_SECONDS": "0"}
        log = tmp_path / "servers.log"
        with log.open("ab") as out:
            migrate = await asyncio.create_subprocess_exec(PROMOGATE, "migrate", env=env,
                                                           stdout=out, stderr=out)
            assert await migrate.wait() == 0, log.read_text()
            ports = [free_port()] if layout == "workers" else [free_port(), free_port()]
            commands = (
                [[PROMOGATE, "serve", "--no-migrate", "--workers", "2", "--port", str(ports[0])]]
                if layout == "workers" else
                [[PROMOGATE, "serve", "--no-migrate", "--port", str(p)] for p in ports]
            )
            procs = [await asyncio.create_subprocess_exec(*c, env=env, stdout=out, stderr=out)
                     for c in commands]
        db = Database.from_url(url, pool_size=2)
        try:
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            for u in urls:
                await _wait_healthy(u, procs, log)
            async with db.read() as session:
                project_id = (await session.execute(
                    sa.select(Project.id).where(Project.is_sandbox.is_(True))  # type: ignore[attr-defined]
                )).scalar_one()
            yield Servers(urls, db, project_id)
        finally:
            for proc in procs:
                await _stop(proc)
            await db.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", ["workers", "ports"])
async def test_limited_code_has_exactly_n_winners_and_each_event_is_delivered_once(
    backend: str, layout: str, tmp_path: Path, receiver: Receiver
) -> None:
    async with servers(backend, tmp_path, layout) as run:
        db, project_id = run.db, run.project_id
        voucher = await f.voucher(db, project_id, "LIMITED", quantity=LIMIT,
                                  discount={"type": "AMOUNT", "amount_off": 100})
        headers = {"Authorization": f"Bearer {SECRET}"}
        limits = httpx.Limits(max_connections=ATTEMPTS, max_keepalive_connections=0)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:

            async def api(base: str, query: str, **variables: object) -> dict:  # type: ignore[type-arg]
                response = await client.post(f"{base}/graphql",
                                             json={"query": query, "variables": variables})
                assert response.status_code == 200, response.text
                body = response.json()
                assert not body.get("errors"), body
                return body["data"]  # type: ignore[no-any-return]

            endpoint = await create_endpoint(lambda q, **v: api(run.urls[0], q, **v),
                                             receiver.url, ["redemption.succeeded"])
            results = await asyncio.gather(*(
                api(run.urls[i % len(run.urls)], REDEEM, i={
                    "redeemables": [{"object": "VOUCHER", "id": "LIMITED"}],
                    "order": {"amount": 5000},
                }) for i in range(ATTEMPTS)
            ))

        wins = [r for r in results if not r["redeemStack"]["errors"]]
        losses = {e["code"] for r in results for e in r["redeemStack"]["errors"]}
        assert len(wins) == LIMIT
        assert losses == {"quantity_exceeded"}
        async with db.read() as session:
            row = await session.get(Voucher, voucher.id)
            succeeded = (await session.execute(
                sa.select(sa.func.count()).select_from(Redemption).where(
                    Redemption.project_id == project_id, Redemption.voucher_id == voucher.id,
                    Redemption.result == "SUCCESS",
                ))).scalar_one()
            events = set((await session.execute(sa.select(Event.id).where(
                Event.project_id == project_id, Event.type == "redemption.succeeded",
            ))).scalars())
        assert row is not None and row.redeemed_quantity == LIMIT
        assert succeeded == LIMIT
        assert len(events) == 2 * LIMIT  # each win: the stack's redemption and its child

        endpoint_id = endpoint["webhookEndpoint"]["id"]

        async def all_delivered() -> bool:
            async with db.read() as session:
                statuses = list((await session.execute(
                    sa.select(WebhookDelivery.status)
                    .where(WebhookDelivery.endpoint_id == endpoint_id)
                )).scalars())
            return len(statuses) == len(events) and set(statuses) == {"DELIVERED"}

        await eventually(all_delivered, timeout=30)
        await asyncio.sleep(1.0)  # a second dispatcher would deliver again within this time
        received = [r.headers["webhook-id"] for r in receiver.of_type("redemption.succeeded")]
        assert sorted(received) == sorted(events)  # each event once, none twice

        lease = await leases.current(db, BACKGROUND_LEASE)
        assert lease is not None and lease.token == 1  # one process has led all along
