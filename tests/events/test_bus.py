"""The event bus: the sink relay (any sink, and NATS JetStream for real) and inbound messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.db.events import Event, SinkDelivery
from app.db.orders import Order
from app.events import outbox
from app.events.consumer import BusConsumer, Refused
from app.events.runtime import start_background
from app.events.settings import EventSettings
from app.events.sinks import NatsSink, SinkRelay
from app.services import inbound
from app.services.errors import ServiceError
from tests.events.conftest import eventually

NATS_URL = "nats://127.0.0.1:4222"


def _nats_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=0.5):
            return True
    except OSError:
        return False


needs_nats = pytest.mark.skipif(
    not _nats_reachable(), reason="needs NATS with JetStream at 127.0.0.1:4222 (CI runs one)"
)


@pytest.fixture
def sinks_enabled() -> Iterator[None]:
    outbox.configure_sinks(("nats", "fake"))
    yield
    outbox.configure_sinks(())


class FlakySink:
    name = "fake"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.published: list[Event] = []

    async def start(self) -> None:
        pass

    async def publish(self, event: Event) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("bus down")
        self.published.append(event)

    async def close(self) -> None:
        pass


CREATE_CUSTOMER = """mutation($s: String!, $n: String) { createCustomer(
  input: {sourceId: $s, name: $n}) { customer { id } } }"""


class TestSinkRelay:
    async def test_an_outage_delays_events_in_aggregate_order_and_loses_none(
        self, tenant, db, sinks_enabled
    ) -> None:
        for name in ("a", "b", "c"):
            await tenant.api(CREATE_CUSTOMER, s="bus-ordered", n=name)
        sink = FlakySink(failures=1)
        relay = SinkRelay(db, sink, poll_interval=0.05)
        relay.clock = _fast_forward(relay.clock)  # retries come due at once
        async def statuses() -> set[str]:
            async with db.read() as s:
                return set((await s.execute(sa.select(SinkDelivery.status).where(
                    SinkDelivery.project_id == tenant.project_id, SinkDelivery.sink == "fake"
                ))).scalars())

        async with asyncio.timeout(25):
            await relay.start()
            try:
                await eventually(lambda: _all_delivered(statuses()))
            finally:
                await relay.stop()
        mine = [e for e in sink.published if e.project_id == tenant.project_id]
        assert [e.sequence for e in mine] == [1, 2, 3]
        assert [e.data["customer"]["name"] for e in mine] == ["a", "b", "c"]

    @needs_nats
    async def test_nats_sink_publishes_each_event_to_its_subject(
        self, tenant, db, sinks_enabled
    ) -> None:

        tag = uuid.uuid4().hex[:8]
        sink = NatsSink(NATS_URL, stream=f"PGTEST_{tag}", prefix=f"pgtest{tag}")
        relay = SinkRelay(db, sink, poll_interval=0.05)
        created = (await tenant.api(CREATE_CUSTOMER, s="to-nats", n="N"))["createCustomer"]
        async with asyncio.timeout(25), bounded_nats() as nc:
            await relay.start()
            try:
                sub = await nc.jetstream().subscribe(f"pgtest{tag}.{tenant.project_id}.>")
                message = await sub.next_msg(timeout=10)
                body = json.loads(message.data)
                assert message.subject == f"pgtest{tag}.{tenant.project_id}.customer.created"
                assert message.headers["Nats-Msg-Id"] == body["id"]
                assert body["data"]["customer"]["id"] == created["customer"]["id"]
            finally:
                await relay.stop()
                await nc.jetstream().delete_stream(f"PGTEST_{tag}")


async def _all_delivered(statuses: Any) -> bool:
    return await statuses == {"DELIVERED"}


@contextlib.asynccontextmanager
async def bounded_nats() -> AsyncIterator[Any]:
    """A test's own NATS connection, closed within a few seconds whatever happens."""
    import nats

    nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=2)
    try:
        yield nc
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 5)


def _fast_forward(clock):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return lambda: clock() + timedelta(hours=1)


class TestInbound:
    async def test_an_order_message_is_applied_once_per_message_id(self, tenant, db) -> None:
        body = {"sourceId": "bus-order", "amount": 1200, "status": "PAID",
                "customer": {"sourceId": "bus-cust"}}
        first = await inbound.process(db, tenant.project_id, "order", body, "msg-1")
        again = await inbound.process(db, tenant.project_id, "order", body, "msg-1")
        changed = await inbound.process(db, tenant.project_id, "order",
                                        {"sourceId": "bus-order", "status": "CANCELED"}, "msg-2")
        assert first is not None and again is None and changed == first
        async with db.read() as s:
            order = (await s.execute(sa.select(Order).where(
                Order.project_id == tenant.project_id))).scalar_one()
            types = [e.type for e in (await s.execute(sa.select(Event).where(
                Event.project_id == tenant.project_id, Event.aggregate_type == "order"
            ).order_by(Event.id))).scalars()]
        assert (order.amount, order.status) == (1200, "CANCELED")
        assert types == ["order.created", "order.paid", "order.updated", "order.canceled"]

    async def test_a_custom_event_upserts_the_customer_and_emits_once(self, tenant, db) -> None:
        body = {"event": "signed_up", "customer": {"sourceId": "ev-c", "email": "e@x.io"},
                "metadata": {"plan": "pro"}}
        assert await inbound.process(db, tenant.project_id, "event", body, "e-1")
        assert await inbound.process(db, tenant.project_id, "event", body, "e-1") is None
        async with db.read() as s:
            tracked = list((await s.execute(sa.select(Event).where(
                Event.project_id == tenant.project_id, Event.type == inbound.CUSTOM_EVENT
            ))).scalars())
        assert len(tracked) == 1
        assert tracked[0].data["event"] == "signed_up"
        assert tracked[0].data["customer"]["email"] == "e@x.io"

    async def test_bad_messages_are_refused_with_a_code(self, tenant, db) -> None:
        from app.services.errors import ServiceError

        for kind, body in (("order", {"amount": 5}), ("event", {"event": "x"}),
                           ("coupon", {}), ("order", ["not", "an", "object"])):
            with pytest.raises(ServiceError):
                await inbound.process(db, tenant.project_id, kind, body, "bad")
        with pytest.raises(ServiceError) as unknown:
            await inbound.process(db, "proj_unknown", "order", {"sourceId": "x"}, "m")
        assert unknown.value.errors[0].code == "not_found"


@pytest.fixture
async def consumer(db) -> AsyncIterator[BusConsumer]:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    running = BusConsumer(db, NATS_URL, handle=inbound.handle, subject=f"pgin{tag}",
                          stream=f"PGIN_{tag}", durable=f"d{tag}")
    await asyncio.wait_for(running.start(), 10)
    yield running
    await asyncio.wait_for(running.stop(), 10)
    async with bounded_nats() as nc:
        await nc.jetstream().delete_stream(f"PGIN_{tag}")


@needs_nats
class TestConsumer:
    async def test_orders_and_events_from_jetstream_are_processed(
        self, tenant, db, consumer
    ) -> None:
        async with asyncio.timeout(10), bounded_nats() as nc:
            js = nc.jetstream()
            subject = f"{consumer.subject}.{tenant.project_id}"
            await js.publish(f"{subject}.order", json.dumps(
                {"sourceId": "from-bus", "amount": 700}).encode(), headers={"Nats-Msg-Id": "o1"})
            await js.publish(f"{subject}.event", json.dumps(
                {"event": "visited", "customer": {"sourceId": "v"}}).encode(),
                headers={"Nats-Msg-Id": "e1"})
            await js.publish(f"{subject}.order", b"not json", headers={"Nats-Msg-Id": "bad"})

        async def arrived() -> bool:
            async with db.read() as s:
                types = {e.type for e in (await s.execute(sa.select(Event).where(
                    Event.project_id == tenant.project_id))).scalars()}
            return {"order.created", inbound.CUSTOM_EVENT} <= types

        await eventually(arrived)


class _Message:
    """A JetStream message as the consumer sees it: what it was acked or nak'ed with."""

    def __init__(self, subject: str, data: bytes, message_id: str = "m-1") -> None:
        self.subject, self.data = subject, data
        self.headers = {"Nats-Msg-Id": message_id}
        self.settled: list[str] = []

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nak(self, delay: float = 0) -> None:
        self.settled.append("nak")


class TestConsumerHandling:
    """The consumer is transport only: the use case is the handler its caller passes in."""

    async def test_a_message_goes_to_the_handler_and_is_acknowledged(self, tenant, db) -> None:
        consumer = BusConsumer(db, NATS_URL, handle=inbound.handle, subject="pgin")
        message = _Message(f"pgin.{tenant.project_id}.order",
                           json.dumps({"sourceId": "via-handler", "amount": 900}).encode())
        await consumer.handle(message)
        async with db.read() as s:
            order = (await s.execute(sa.select(Order).where(
                Order.project_id == tenant.project_id))).scalar_one()
        assert (message.settled, order.source_id, order.amount) == (["ack"], "via-handler", 900)

    async def test_refused_and_unparsable_messages_are_acknowledged_not_retried(
        self, tenant, db
    ) -> None:
        consumer = BusConsumer(db, NATS_URL, handle=inbound.handle, subject="pgin")
        messages = [
            _Message("pgin.order", b"{}"),  # no project in the subject
            _Message(f"pgin.{tenant.project_id}.order", b"not json"),
            _Message(f"pgin.{tenant.project_id}.order", json.dumps({"amount": 5}).encode()),
            _Message(f"pgin.{tenant.project_id}.coupon", b"{}"),
            _Message("pgin.proj_unknown.order", json.dumps({"sourceId": "x"}).encode()),
        ]
        for message in messages:
            await consumer.handle(message)
        assert [m.settled for m in messages] == [["ack"]] * 5
        async with db.read() as s:
            assert (await s.execute(sa.select(sa.func.count()).select_from(Order).where(
                Order.project_id == tenant.project_id))).scalar_one() == 0

    async def test_an_unexpected_failure_is_redelivered(self, db) -> None:
        async def broken(*_: Any) -> None:
            raise RuntimeError("database went away")

        consumer = BusConsumer(db, NATS_URL, handle=broken, subject="pgin")
        message = _Message("pgin.proj_x.order", b"{}")
        await consumer.handle(message)
        assert message.settled == ["nak"]

    async def test_the_handler_refuses_what_the_api_would(self, tenant, db) -> None:
        with pytest.raises(Refused) as refused:
            await inbound.handle(db, tenant.project_id, "order", {"amount": 5}, "r-1")
        assert isinstance(refused.value.__cause__, ServiceError)
        assert refused.value.__cause__.errors[0].code == "required"

    async def test_an_inbound_subject_without_a_handler_is_refused_at_start(self, db) -> None:
        settings = EventSettings(nats_url=NATS_URL, nats_inbound_subject="pgin",
                                 event_retention_days=0)
        with pytest.raises(ValueError, match="handler"):
            await start_background(db, settings)
