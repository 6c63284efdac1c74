"""Customers: upsert by sourceId, update by id or sourceId, delete."""

from __future__ import annotations

import asyncio

from factories import CREATE_CUSTOMER as UPSERT
from factories import (
    CUSTOMER,
    DELETE_CUSTOMER,
    UPDATE_CUSTOMER,
    create_customer,
    create_order,
    error_codes,
    mutate,
    total_count,
)

CUSTOMER_QUERY = f"""query($id: ID, $sourceId: String) {{
  customer(id: $id, sourceId: $sourceId) {{ {CUSTOMER} }}
}}"""


class TestCreateCustomer:
    async def test_creates_with_every_field(self, api):
        payload = await mutate(
            api, UPSERT, sourceId="cust-1", name="Ada", email="ada@example.com",
            phone="+44 20 1234", birthdate="1990-12-10", address={"city": "London"},
            metadata={"vip": True},
        )

        assert payload["errors"] == [] and payload["created"] is True
        customer = payload["customer"]
        assert customer["id"].startswith("cust_")
        assert {k: customer[k] for k in
                ("sourceId", "name", "email", "phone", "birthdate", "address", "metadata")} == {
            "sourceId": "cust-1", "name": "Ada", "email": "ada@example.com",
            "phone": "+44 20 1234", "birthdate": "1990-12-10", "address": {"city": "London"},
            "metadata": {"vip": True},
        }
        assert (await api(CUSTOMER_QUERY, sourceId="cust-1"))["customer"] == customer

    async def test_second_call_with_the_source_id_updates(self, api):
        first = await mutate(api, UPSERT, sourceId="c1", name="Ada", email="ada@example.com")

        second = await mutate(api, UPSERT, sourceId="c1", name="Ada Lovelace")

        assert first["created"] is True
        assert second["errors"] == [] and second["created"] is False
        assert second["customer"]["id"] == first["customer"]["id"]
        assert second["customer"]["name"] == "Ada Lovelace"
        assert second["customer"]["email"] == "ada@example.com"  # not sent, kept
        assert await total_count(api, "customers") == 1

    async def test_by_id_updates_that_customer(self, api):
        customer = await create_customer(api, sourceId="c1", name="Ada")

        payload = await mutate(api, UPSERT, id=customer["id"], email="a@b.io")

        assert payload["errors"] == [] and payload["created"] is False
        assert payload["customer"]["id"] == customer["id"]
        assert payload["customer"]["email"] == "a@b.io"
        assert await total_count(api, "customers") == 1

    async def test_without_source_id_each_call_creates(self, api):
        a = await create_customer(api, name="Anon")
        b = await create_customer(api, name="Anon")

        assert a["id"] != b["id"]
        assert await total_count(api, "customers") == 2

    async def test_concurrent_upserts_make_one_customer(self, api):
        payloads = await asyncio.gather(*(
            mutate(api, UPSERT, sourceId="race", name=f"N{i}") for i in range(6)
        ))

        assert [p["errors"] for p in payloads] == [[]] * 6
        assert sorted(p["created"] for p in payloads) == [False] * 5 + [True]
        assert len({p["customer"]["id"] for p in payloads}) == 1
        assert await total_count(api, "customers") == 1

    async def test_list_filters(self, api):
        await create_customer(api, sourceId="a", email="a@example.com")
        b = await create_customer(api, sourceId="b", email="b@example.com")

        data = await api(
            'query { bySource: customers(filter: {sourceId: "b"}) '
            "{ totalCount edges { node { id } } } "
            'byEmail: customers(filter: {email: "b@example.com"}) { totalCount } }'
        )

        assert data["bySource"]["totalCount"] == 1
        assert data["bySource"]["edges"][0]["node"]["id"] == b["id"]
        assert data["byEmail"]["totalCount"] == 1


class TestUpdateCustomer:
    async def test_by_id(self, api):
        customer = await create_customer(api, sourceId="c1", name="Ada", metadata={"a": 1})

        payload = await mutate(
            api, UPDATE_CUSTOMER, id=customer["id"], name="Grace", metadata={"b": 2}
        )

        assert payload["errors"] == []
        stored = (await api(CUSTOMER_QUERY, id=customer["id"]))["customer"]
        assert (stored["name"], stored["metadata"], stored["sourceId"]) == (
            "Grace", {"b": 2}, "c1"
        )
        assert stored["updatedAt"] is not None

    async def test_by_source_id(self, api):
        customer = await create_customer(api, sourceId="c1", email="old@example.com")

        payload = await mutate(api, UPDATE_CUSTOMER, sourceId="c1", email="new@example.com")

        assert payload["errors"] == []
        assert payload["customer"]["id"] == customer["id"]
        assert (await api(CUSTOMER_QUERY, sourceId="c1"))["customer"]["email"] == (
            "new@example.com"
        )

    async def test_by_id_changes_the_source_id(self, api):
        customer = await create_customer(api, sourceId="old")

        payload = await mutate(api, UPDATE_CUSTOMER, id=customer["id"], sourceId="new")

        assert payload["errors"] == []
        assert (await api(CUSTOMER_QUERY, sourceId="new"))["customer"]["id"] == customer["id"]
        assert (await api(CUSTOMER_QUERY, sourceId="old"))["customer"] is None

    async def test_to_a_taken_source_id_is_a_duplicate(self, api):
        await create_customer(api, sourceId="a")
        b = await create_customer(api, sourceId="b")

        payload = await mutate(api, UPDATE_CUSTOMER, id=b["id"], sourceId="a")

        assert error_codes(payload) == [("duplicate_source_id", ["sourceId"])]
        assert (await api(CUSTOMER_QUERY, id=b["id"]))["customer"]["sourceId"] == "b"

    async def test_unknown_source_id_is_not_found(self, api):
        payload = await mutate(api, UPDATE_CUSTOMER, sourceId="ghost", name="X")

        assert payload["customer"] is None
        assert error_codes(payload) == [("not_found", ["sourceId"])]
        assert await total_count(api, "customers") == 0


class TestDeleteCustomer:
    async def test_by_id_keeps_their_orders(self, api):
        customer = await create_customer(api, sourceId="c1")
        order = await create_order(api, amount=1000, customer={"id": customer["id"]})

        payload = await mutate(api, DELETE_CUSTOMER, id=customer["id"])

        assert payload == {"deletedId": customer["id"], "errors": []}
        assert (await api(CUSTOMER_QUERY, id=customer["id"]))["customer"] is None
        assert await total_count(api, "customers") == 0
        kept = await api("query($id: ID) { order(id: $id) { id customerId customer { id } } }",
                         id=order["id"])
        assert kept["order"] == {"id": order["id"], "customerId": None, "customer": None}

    async def test_by_source_id(self, api):
        customer = await create_customer(api, sourceId="c1")

        payload = await mutate(api, DELETE_CUSTOMER, sourceId="c1")

        assert payload == {"deletedId": customer["id"], "errors": []}
        assert await total_count(api, "customers") == 0
