"""Webhooks end to end: outbox rows written with the change, signed deliveries to a real
HTTP receiver on 127.0.0.1, retries with backoff, dead letters, restarts, tenancy."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.db.events import Event, WebhookAttempt, WebhookDelivery
from app.events.dispatcher import pending_count
from app.events.outbox import emit
from tests.events.conftest import REDEEM, create_endpoint, eventually
from tests.stack import factories as f

DELIVERIES = """query($f: WebhookDeliveryFilter) { webhookDeliveries(filter: $f, first: 50) {
  totalCount edges { node { id status attempts responseCode nextAttemptAt eventType
    event { id type data requestId } } } } }"""

RETRY = """mutation($i: RetryWebhookDeliveryInput!) { retryWebhookDelivery(input: $i) {
  webhookDelivery { id status } errors { code } } }"""


async def events_of(db, project_id):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return list((await s.execute(
            sa.select(Event).where(Event.project_id == project_id).order_by(Event.id)
        )).scalars())


async def deliveries_of(db, endpoint_id):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return list((await s.execute(
            sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id)
        )).scalars())


async def redeem(tenant, code, **extra):  # type: ignore[no-untyped-def]
    return (await tenant.api(REDEEM, i={
        "redeemables": [{"object": "VOUCHER", "id": code}], "order": {"amount": 5000}, **extra,
    }))["redeemStack"]


class TestOutbox:
    async def test_redemption_writes_n_plus_one_events_and_the_order_in_its_transaction(
        self, tenant, db
    ) -> None:
        camp = await f.campaign(db, tenant.project_id)
        await f.voucher(db, tenant.project_id, "TEN", campaign_id=camp.id,
                        discount={"type": "AMOUNT", "amount_off": 1000})
        await f.voucher(db, tenant.project_id, "FIVE", discount={"type": "AMOUNT",
                                                                  "amount_off": 500})
        response = await tenant.api.client.post("/graphql", json={"query": REDEEM, "variables": {
            "i": {"redeemables": [{"object": "VOUCHER", "id": "TEN"},
                                  {"object": "VOUCHER", "id": "FIVE"}],
                  "order": {"amount": 5000}}}},
            headers={"Authorization": f"Bearer {tenant.secret_key}", "X-Request-ID": "req-42"})
        parent = response.json()["data"]["redeemStack"]["redemption"]

        events = await events_of(db, tenant.project_id)
        succeeded = [e for e in events if e.type == "redemption.succeeded"]
        assert [e.aggregate_id for e in succeeded] == [
            *[c["id"] for c in parent["children"]], parent["id"]
        ]
        assert {e.type for e in events} == {"redemption.succeeded", "order.created",
                                            "order.paid"}
        assert all(e.request_id == "req-42" for e in events)
        parent_event = succeeded[-1]
        assert parent_event.data["redemption"]["status"] == "SUCCEEDED"
        assert parent_event.data["campaignIds"] == [camp.id]
        assert parent_event.data["order"]["totalAmount"] == 3500
        order_events = [e for e in events if e.aggregate_type == "order"]
        assert [(e.type, e.sequence) for e in order_events] == [("order.created", 1),
                                                                ("order.paid", 2)]

    async def test_rollback_and_failure_write_their_events(self, tenant, db) -> None:
        await f.voucher(db, tenant.project_id, "ONCE", quantity=1,
                        discount={"type": "AMOUNT", "amount_off": 100})
        first = await redeem(tenant, "ONCE")
        second = await redeem(tenant, "ONCE")
        assert second["errors"][0]["code"] == "quantity_exceeded"
        await tenant.api("""mutation($i: RollbackInput!) { rollbackRedemption(input: $i) {
            errors { code } } }""", i={"redemptionId": first["redemption"]["id"]})

        events = await events_of(db, tenant.project_id)
        failed = [e for e in events if e.type == "redemption.failed"]
        assert [e.aggregate_id for e in failed] == [second["redemption"]["id"]]
        assert failed[0].data["redemption"]["failureCode"] == "quantity_exceeded"
        rolled = [e for e in events if e.type == "redemption.rollback.succeeded"]
        assert {e.aggregate_id for e in rolled} == {
            first["redemption"]["id"], first["redemption"]["children"][0]["id"]
        }
        assert all(e.sequence == 2 for e in rolled)  # after each one's redemption.succeeded
        assert [e.type for e in events if e.aggregate_id == first["order"]["id"]] == [
            "order.created", "order.paid", "order.canceled"
        ]

    async def test_gift_card_ledger_entries_emit_events(self, tenant, db) -> None:
        card = await f.voucher(db, tenant.project_id, "GIFT", gift=2000)
        redeemed = (await tenant.api(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "GIFT", "gift": {"credits": 500}}],
            "order": {"amount": 5000}}))["redeemStack"]
        await tenant.api("""mutation($i: RollbackInput!) { rollbackRedemption(input: $i) {
            errors { code } } }""", i={"redemptionId": redeemed["redemption"]["id"]})

        events = [e for e in await events_of(db, tenant.project_id)
                  if e.type == "voucher.gift.transaction.created"]
        assert [(e.aggregate_id, e.sequence, e.data["transaction"]["amount"],
                 e.data["transaction"]["balanceAfter"]) for e in events] == [
            (card.id, 1, -500, 1500), (card.id, 2, 500, 2000)]

    async def test_row_json_gives_other_areas_their_data(self, tenant, db) -> None:
        from app.events import payloads

        camp = await f.campaign(db, tenant.project_id, name="Spring")
        async with db.write() as session:
            await emit(session, tenant.project_id, "campaign.created",
                       {"campaign": payloads.row_json(camp)}, aggregate=("campaign", camp.id))
        (event,) = await events_of(db, tenant.project_id)
        assert event.data["campaign"]["name"] == "Spring"
        assert event.data["campaign"]["campaignType"] == "DISCOUNT_COUPONS"
        assert event.data["campaign"]["metadata"] == {}
        assert event.data["campaign"]["createdAt"].endswith("+00:00")

    async def test_a_rolled_back_transaction_emits_nothing(self, tenant, db) -> None:
        with pytest.raises(RuntimeError):
            async with db.write() as session:
                await emit(session, tenant.project_id, "customer.created", {"x": 1},
                           aggregate=("customer", "cust_x"))
                raise RuntimeError("the change failed")
        # A request-level error rolls redeemStack back too.
        await f.voucher(db, tenant.project_id, "DUP", discount={"type": "AMOUNT",
                                                                 "amount_off": 1})
        errors = await tenant.api.errors(REDEEM, i={
            "redeemables": [{"object": "VOUCHER", "id": "DUP"}, {"object": "VOUCHER", "id": "DUP"}],
        })
        assert errors
        assert await events_of(db, tenant.project_id) == []

    async def test_customers_and_orders_emit_created_updated_paid_deleted(
        self, tenant, db
    ) -> None:
        api = tenant.api
        customer = (await api("""mutation { createCustomer(input: {sourceId: "c1", name: "A"})
            { customer { id } } }"""))["createCustomer"]["customer"]
        await api("""mutation { createCustomer(input: {sourceId: "c1", name: "A"})
            { customer { id } } }""")  # nothing changed: no event
        await api("""mutation { updateCustomer(input: {sourceId: "c1", name: "B"})
            { errors { code } } }""")
        order = (await api("""mutation { createOrder(input: {sourceId: "o1", amount: 100})
            { order { id } errors { code } } }"""))["createOrder"]["order"]
        await api("""mutation { updateOrder(input: {sourceId: "o1", status: PAID})
            { errors { code } } }""")
        await api("""mutation($id: ID!) { deleteCustomer(input: {id: $id})
            { errors { code } } }""", id=customer["id"])

        events = await events_of(db, tenant.project_id)
        assert [(e.type, e.sequence) for e in events if e.aggregate_type == "customer"] == [
            ("customer.created", 1), ("customer.updated", 2), ("customer.deleted", 3)
        ]
        assert [e.type for e in events if e.aggregate_id == order["id"]] == [
            "order.created", "order.updated", "order.paid"
        ]
        updated = next(e for e in events if e.type == "customer.updated")
        assert updated.data["customer"]["name"] == "B"


class TestDelivery:
    async def test_a_redemption_is_delivered_signed_per_standard_webhooks(
        self, tenant, db, receiver, make_dispatcher
    ) -> None:
        endpoint = await create_endpoint(tenant.api, receiver.url, ["redemption.*"])
        assert endpoint["secret"].startswith("whsec_")
        await f.voucher(db, tenant.project_id, "SIGNED", discount={"type": "AMOUNT",
                                                                    "amount_off": 100})
        redeemed = await redeem(tenant, "SIGNED")
        await make_dispatcher()

        await eventually(lambda: len(receiver.requests) == 2)
        verifier = Webhook(endpoint["secret"])
        bodies = [verifier.verify(r.body, r.headers) for r in receiver.requests]
        assert sorted(b["type"] for b in bodies) == ["redemption.succeeded"] * 2
        assert {b["data"]["redemption"]["id"] for b in bodies} == {
            redeemed["redemption"]["id"], redeemed["redemption"]["children"][0]["id"]
        }
        assert all(r.headers["webhook-id"] == b["id"] for r, b in zip(
            receiver.requests, bodies, strict=True))
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 44).verify(receiver.requests[0].body,
                                                receiver.requests[0].headers)

        nodes = await eventually(lambda: _delivered(tenant, endpoint, 2))
        assert all(n["attempts"] == 1 and n["responseCode"] == 200 for n in nodes)
        assert all(n["nextAttemptAt"] is None for n in nodes)

    async def test_fails_twice_then_succeeds_three_attempts_same_webhook_id(
        self, tenant, db, receiver, make_dispatcher
    ) -> None:
        receiver.statuses = [500, 503]
        endpoint = await create_endpoint(tenant.api, receiver.url, ["customer.created"])
        await tenant.api("""mutation { createCustomer(input: {sourceId: "retry"})
            { customer { id } } }""")
        await make_dispatcher()

        await eventually(lambda: len(receiver.requests) == 3)
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
        (delivery,) = await eventually(lambda: _delivered(tenant, endpoint, 1))
        assert delivery["attempts"] == 3
        async with db.read() as s:
            attempts = list((await s.execute(sa.select(WebhookAttempt).where(
                WebhookAttempt.delivery_id == delivery["id"]).order_by(WebhookAttempt.number)
            )).scalars())
        assert [(a.number, a.response_code) for a in attempts] == [(1, 500), (2, 503), (3, 200)]
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 3  # nothing more once delivered

    async def test_dead_letter_then_manual_retry_and_endpoint_disabled(
        self, tenant, db, receiver, make_dispatcher
    ) -> None:
        receiver.statuses = [500] * 4
        endpoint = await create_endpoint(tenant.api, receiver.url)
        await tenant.api("""mutation { createCustomer(input: {sourceId: "dead"})
            { customer { id } } }""")
        await make_dispatcher(dead_letter_limit=1)

        (dead,) = await eventually(lambda: _with_status(tenant, endpoint, "DEAD", 1))
        assert dead["attempts"] == 4  # the first try and three retries
        listed = await tenant.api("""{ webhookEndpoints { edges { node { id active
            consecutiveDeadLetters } } } }""")
        assert listed["webhookEndpoints"]["edges"][0]["node"] == {
            "id": endpoint["webhookEndpoint"]["id"], "active": False,
            "consecutiveDeadLetters": 1,
        }
        await tenant.api("""mutation($i: UpdateWebhookEndpointInput!) {
            updateWebhookEndpoint(input: $i) { errors { code } } }""",
                         i={"id": endpoint["webhookEndpoint"]["id"], "active": True})
        retried = (await tenant.api(RETRY, i={"id": dead["id"]}))["retryWebhookDelivery"]
        assert retried["errors"] == [] and retried["webhookDelivery"]["status"] == "FAILED"
        (delivered,) = await eventually(lambda: _delivered(tenant, endpoint, 1))
        assert delivered["attempts"] == 5

    async def test_restart_mid_backlog_loses_nothing(
        self, tenant, db, receiver, make_dispatcher
    ) -> None:
        endpoint = await create_endpoint(tenant.api, receiver.url, ["customer.*"])
        for n in range(30):
            await tenant.api("""mutation($s: String!) { createCustomer(input: {sourceId: $s})
                { customer { id } } }""", s=f"backlog-{n}")
        receiver.delay = 0.02
        first = await make_dispatcher(batch_size=5, lease=timedelta(milliseconds=300))
        await eventually(lambda: len(receiver.requests) >= 5)
        await first.stop()  # sends in flight are abandoned; their leases run out
        assert await pending_count(db, tenant.project_id) > 0
        await make_dispatcher(batch_size=5, lease=timedelta(milliseconds=300))

        await eventually(lambda: _delivered(tenant, endpoint, 30))
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert len(ids) == 30  # every event arrived, duplicates only with the same webhook-id
        rows = await deliveries_of(db, endpoint["webhookEndpoint"]["id"])
        assert {r.status for r in rows} == {"DELIVERED"}

    async def test_events_of_one_aggregate_arrive_in_order(
        self, tenant, db, receiver, make_dispatcher
    ) -> None:
        receiver.statuses = [500]  # the first event is retried; the later ones must wait
        await create_endpoint(tenant.api, receiver.url, ["customer.*"])
        for name in ("a", "b", "c", "d"):
            await tenant.api("""mutation($n: String!) { createCustomer(
                input: {sourceId: "ordered", name: $n}) { customer { id } } }""", n=name)
        await make_dispatcher()

        await eventually(lambda: len(receiver.requests) == 5)
        delivered = [r.json() for r in receiver.requests[1:]]
        assert [d["aggregate"]["sequence"] for d in delivered] == [1, 2, 3, 4]
        assert [d["data"]["customer"]["name"] for d in delivered] == ["a", "b", "c", "d"]


async def _nodes(tenant, endpoint):  # type: ignore[no-untyped-def]
    data = await tenant.api(DELIVERIES, f={"endpointId": endpoint["webhookEndpoint"]["id"]})
    return [e["node"] for e in data["webhookDeliveries"]["edges"]]


async def _with_status(tenant, endpoint, status, count):  # type: ignore[no-untyped-def]
    nodes = await _nodes(tenant, endpoint)
    if len(nodes) == count and all(n["status"] == status for n in nodes):
        return nodes
    return None


async def _delivered(tenant, endpoint, count):  # type: ignore[no-untyped-def]
    return await _with_status(tenant, endpoint, "DELIVERED", count)


class TestManagement:
    async def test_url_must_be_http_or_https(self, tenant) -> None:
        for url in ("ftp://example.com/x", "example.com", "http://", ""):
            data = (await tenant.api("""mutation($u: String!) { createWebhookEndpoint(
                input: {url: $u}) { webhookEndpoint { id } secret errors { code field } } }""",
                                     u=url))["createWebhookEndpoint"]
            assert data["webhookEndpoint"] is None and data["secret"] is None
            assert data["errors"] == [{"code": "invalid_url", "field": ["url"]}]

    async def test_secret_is_shown_once_and_events_filter_validated(self, tenant) -> None:
        data = await create_endpoint(tenant.api, "https://example.com/hook")
        assert data["webhookEndpoint"]["events"] is None
        assert "secret" not in str(await tenant.api("{ webhookEndpoints { edges { node {"
                                                    " id url events } } } }"))
        bad = (await tenant.api("""mutation { createWebhookEndpoint(input: {
            url: "https://example.com", events: ["Not An Event"]}) { errors { code } } }"""))
        assert bad["createWebhookEndpoint"]["errors"] == [{"code": "invalid_event_type"}]

    async def test_endpoints_and_deliveries_are_per_tenant(
        self, make_tenant, db, receiver
    ) -> None:
        a, b = await make_tenant("A"), await make_tenant("B")
        endpoint = await create_endpoint(a.api, receiver.url)
        await a.api("""mutation { createCustomer(input: {sourceId: "x"}) { customer { id } } }""")
        await b.api("""mutation { createCustomer(input: {sourceId: "x"}) { customer { id } } }""")

        assert len(await _nodes(a, endpoint)) == 1
        assert (await b.api("{ webhookEndpoints { totalCount } }"))["webhookEndpoints"] == {
            "totalCount": 0}
        assert (await b.api(DELIVERIES))["webhookDeliveries"]["totalCount"] == 0
        node = await b.api("query($id: ID!) { node(id: $id) { id } }",
                           id=endpoint["webhookEndpoint"]["id"])
        assert node["node"] is None
        deleted = await b.api("""mutation($i: DeleteWebhookEndpointInput!) {
            deleteWebhookEndpoint(input: $i) { errors { code } } }""",
                              i={"id": endpoint["webhookEndpoint"]["id"]})
        assert deleted["deleteWebhookEndpoint"]["errors"] == [{"code": "not_found"}]
        retried = await b.api(RETRY, i={"id": (await _nodes(a, endpoint))[0]["id"]})
        assert retried["retryWebhookDelivery"]["errors"] == [{"code": "not_found"}]

    async def test_publishable_key_may_not_manage_webhooks(self, tenant) -> None:
        for query in ("{ webhookEndpoints { totalCount } }",
                      "{ webhookDeliveries { totalCount } }",
                      """mutation { createWebhookEndpoint(input: {url: "https://x.example"})
                         { secret } }"""):
            errors = await tenant.client_api.errors(query)
            assert errors[0]["extensions"]["code"] == "FORBIDDEN"


class TestWakeUp:
    async def test_postgresql_notifies_once_per_committed_transaction(self, tenant, db) -> None:
        if db.is_sqlite:
            pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite wakes in-process")
        import asyncpg

        from app.events.outbox import CHANNEL
        from app.events.waker import plain_dsn

        heard: list[str] = []
        conn = await asyncpg.connect(plain_dsn(db))
        try:
            await conn.add_listener(CHANNEL, lambda *args: heard.append(args[2]))
            with pytest.raises(RuntimeError):
                async with db.write() as session:
                    await emit(session, tenant.project_id, "customer.created", {},
                               aggregate=("customer", "cust_rolled_back"))
                    raise RuntimeError("rolled back")
            async with db.write() as session:
                for n in range(3):
                    await emit(session, tenant.project_id, "customer.created", {},
                               aggregate=("customer", f"cust_{n}"))
            await eventually(lambda: heard)
            await asyncio.sleep(0.2)
            assert heard == [CHANNEL]
        finally:
            await conn.close()
