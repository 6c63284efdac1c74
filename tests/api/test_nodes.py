"""`node(id:)` resolves every Node type of the caller's project, and nothing else."""

from __future__ import annotations

import pytest
from factories import (
    create_category,
    create_collection,
    create_customer,
    create_order,
    create_product,
    create_sku,
)

NODE = """query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Product { name price }
    ... on Sku { sku productId }
    ... on ProductCollection { name type }
    ... on Category { name hierarchy }
    ... on Customer { sourceId email }
    ... on Order { amount status }
    ... on ApiKey { kind }
    ... on Project { name currency }
  }
}"""


async def one_of_each(api) -> dict[str, dict]:
    """One object of every Node type, with the fields NODE asks for."""
    product = await create_product(api, name="Shirt", price=2500)
    sku = await create_sku(api, product["id"], sku="Red M")
    collection = await create_collection(api, name="Picks")
    category = await create_category(api, name="Sale", hierarchy=2)
    customer = await create_customer(api, sourceId="c1", email="c1@example.com")
    order = await create_order(api, amount=1200, status="PAID")
    keys = await api("{ project { id name currency } apiKeys { id kind } }")
    secret = next(k for k in keys["apiKeys"] if k["kind"] == "SECRET")
    return {
        "Product": {"id": product["id"], "name": "Shirt", "price": 2500},
        "Sku": {"id": sku["id"], "sku": "Red M", "productId": product["id"]},
        "ProductCollection": {"id": collection["id"], "name": "Picks", "type": "STATIC"},
        "Category": {"id": category["id"], "name": "Sale", "hierarchy": 2},
        "Customer": {"id": customer["id"], "sourceId": "c1", "email": "c1@example.com"},
        "Order": {"id": order["id"], "amount": 1200, "status": "PAID"},
        "ApiKey": {"id": secret["id"], "kind": "SECRET"},
        "Project": keys["project"],
    }


class TestNode:
    async def test_resolves_every_type(self, api):
        objects = await one_of_each(api)

        for typename, expected in objects.items():
            node = (await api(NODE, id=expected["id"]))["node"]
            assert node == {"__typename": typename, **expected}, typename

    async def test_many_in_one_request(self, api):
        objects = await one_of_each(api)
        query = "query { " + " ".join(
            f'n{i}: node(id: "{o["id"]}") {{ __typename id }}'
            for i, o in enumerate(objects.values())
        ) + " }"

        data = await api(query)

        assert [(n["__typename"], n["id"]) for n in data.values()] == [
            (typename, o["id"]) for typename, o in objects.items()
        ]

    async def test_deleted_object_is_null(self, api):
        product = await create_product(api)
        await api('mutation($id: ID) { deleteProduct(input: {id: $id}) { deletedId } }',
                  id=product["id"])

        assert (await api(NODE, id=product["id"]))["node"] is None

    @pytest.mark.parametrize(
        "unknown",
        [
            "prod_01ARZ3NDEKTSV4RRFFQ69G5FAV",  # well formed, never made
            "proj_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "key_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "oi_01ARZ3NDEKTSV4RRFFQ69G5FAV",  # an order item: not a Node
            "camp_01ARZ3NDEKTSV4RRFFQ69G5FAV",  # a prefix we do not have
            "prod_",
            "garbage",
            "",
        ],
    )
    async def test_unknown_id_is_null(self, api, unknown):
        await create_product(api)

        assert (await api(NODE, id=unknown))["node"] is None

    async def test_another_projects_objects_are_null(self, make_tenant):
        a, b = await make_tenant("A"), await make_tenant("B")
        objects = await one_of_each(a.api)

        for typename, expected in objects.items():
            assert (await b.api(NODE, id=expected["id"]))["node"] is None, typename
            # and A still sees it
            assert (await a.api(NODE, id=expected["id"]))["node"]["id"] == expected["id"]
