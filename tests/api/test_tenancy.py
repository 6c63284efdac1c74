"""Tenant isolation: project B's secret key against every object and list of project A."""

from __future__ import annotations

import pytest
from factories import (
    COLLECTION,
    CREATE_COLLECTION,
    CREATE_CUSTOMER,
    CREATE_ORDER,
    CREATE_SKU,
    CUSTOMER,
    DELETE_CATEGORY,
    DELETE_COLLECTION,
    DELETE_CUSTOMER,
    DELETE_ORDER,
    DELETE_PRODUCT,
    DELETE_SKU,
    ORDER,
    PRODUCT,
    REVOKE_API_KEY,
    SKU,
    UPDATE_CATEGORY,
    UPDATE_COLLECTION,
    UPDATE_CUSTOMER,
    UPDATE_ORDER,
    UPDATE_PRODUCT,
    UPDATE_SKU,
    create_category,
    create_collection,
    create_customer,
    create_order,
    create_product,
    error_codes,
    mutate,
    total_counts,
)
from factories import create_sku as make_sku

SNAPSHOT = f"""query($product: ID!, $sku: ID!, $static: ID!, $auto: ID!, $category: ID!,
                    $customer: ID!, $order: ID!) {{
  product(id: $product) {{ {PRODUCT} skus {{ id }} }}
  sku(id: $sku) {{ {SKU} }}
  static: productCollection(id: $static) {{ {COLLECTION} products {{ totalCount }} }}
  auto: productCollection(id: $auto) {{ {COLLECTION} products {{ totalCount }} }}
  category(id: $category) {{ id name hierarchy stackingRulesType updatedAt }}
  customer(id: $customer) {{ {CUSTOMER} }}
  order(id: $order) {{ {ORDER} }}
  apiKeys {{ id revokedAt }}
  products {{ totalCount }} skus {{ totalCount }} productCollections {{ totalCount }}
  categories {{ totalCount }} customers {{ totalCount }} orders {{ totalCount }}
}}"""


@pytest.fixture
async def world(make_tenant):
    """Project A with one of everything (and source ids), and a second project B."""
    a, b = await make_tenant("A"), await make_tenant("B")
    product = await create_product(a.api, name="Shirt", sourceId="shirt", price=2500)
    sku = await make_sku(a.api, product["id"], sourceId="shirt-m", price=2700)
    static = await create_collection(
        a.api, name="Static", products=[{"object": "product", "id": product["id"]}]
    )
    auto = await create_collection(
        a.api, name="Auto", type="AUTO_UPDATE",
        filter={"price": {"conditions": {"$more_than": [0]}}},
    )
    category = await create_category(a.api, name="Sale")
    customer = await create_customer(a.api, sourceId="ada", name="Ada")
    order = await create_order(
        a.api, sourceId="o-1", customer={"id": customer["id"]},
        items=[{"skuId": sku["id"], "quantity": 2}],
    )
    keys = (await a.api("{ apiKeys { id kind } }"))["apiKeys"]
    ids = {
        "product": product["id"], "sku": sku["id"], "static": static["id"],
        "auto": auto["id"], "category": category["id"], "customer": customer["id"],
        "order": order["id"],
    }
    before = await a.api(SNAPSHOT, **ids)
    return a, b, ids, [k["id"] for k in keys], before


async def assert_a_unchanged(world) -> None:
    a, _, ids, _, before = world
    assert await a.api(SNAPSHOT, **ids) == before


class TestReads:
    async def test_b_lists_see_nothing_of_a(self, world):
        a, b, *_ = world

        assert await total_counts(b.api) == {
            "products": 0, "skus": 0, "productCollections": 0, "categories": 0,
            "customers": 0, "orders": 0,
        }
        assert await total_counts(a.api) == {
            "products": 1, "skus": 1, "productCollections": 2, "categories": 1,
            "customers": 1, "orders": 1,
        }

    async def test_b_filtered_lists_see_nothing_of_a(self, world):
        _, b, ids, _, _ = world

        data = await b.api(
            "query($p: ID, $c: ID) { skus(productId: $p) { totalCount } "
            'products(filter: {sourceId: "shirt"}) { totalCount edges { node { id } } } '
            'customers(filter: {sourceId: "ada"}) { totalCount } '
            "orders(filter: {customerId: $c}) { totalCount } "
            'bySource: orders(filter: {sourceId: "o-1"}) { totalCount } apiKeys { id } }',
            p=ids["product"], c=ids["customer"],
        )

        assert data["skus"]["totalCount"] == 0
        assert data["products"] == {"totalCount": 0, "edges": []}
        assert data["customers"]["totalCount"] == 0
        assert data["orders"]["totalCount"] == 0
        assert data["bySource"]["totalCount"] == 0
        assert len(data["apiKeys"]) == 2  # B's own secret and publishable keys

    async def test_b_single_object_queries_are_null(self, world):
        _, b, ids, key_ids, _ = world

        data = await b.api(
            "query($product: ID, $sku: ID, $static: ID!, $auto: ID!, $category: ID!, "
            "$customer: ID, $order: ID) { "
            "product(id: $product) { id } productBySource: product(sourceId: \"shirt\") { id } "
            "sku(id: $sku) { id } skuBySource: sku(sourceId: \"shirt-m\") { id } "
            "static: productCollection(id: $static) { id } "
            "auto: productCollection(id: $auto) { id } category(id: $category) { id } "
            "customer(id: $customer) { id } customerBySource: customer(sourceId: \"ada\") { id } "
            "order(id: $order) { id } orderBySource: order(sourceId: \"o-1\") { id } }",
            **ids,
        )

        assert data == {name: None for name in data} and len(data) == 11

    async def test_b_node_is_null_for_every_a_id(self, world):
        a, b, ids, key_ids, _ = world
        project_id = (await a.api("{ project { id } }"))["project"]["id"]

        for id_ in [*ids.values(), *key_ids, project_id]:
            data = await b.api("query($id: ID!) { node(id: $id) { id } }", id=id_)
            assert data["node"] is None, id_

    async def test_b_auto_collection_never_matches_a_products(self, world):
        _, b, *_ = world
        mine = await create_collection(
            b.api, type="AUTO_UPDATE", filter={"price": {"conditions": {"$more_than": [0]}}}
        )

        data = await b.api(
            "query($id: ID!) { productCollection(id: $id) { products { totalCount } } }",
            id=mine["id"],
        )

        assert data["productCollection"]["products"]["totalCount"] == 0


UPDATES = [
    ("product by id", UPDATE_PRODUCT, lambda ids: {"id": ids["product"], "name": "X"},
     ["id"]),
    ("product by sourceId", UPDATE_PRODUCT, lambda ids: {"sourceId": "shirt", "price": 1},
     ["sourceId"]),
    ("sku by id", UPDATE_SKU, lambda ids: {"id": ids["sku"], "price": 1}, ["id"]),
    ("sku by sourceId", UPDATE_SKU, lambda ids: {"sourceId": "shirt-m", "price": 1},
     ["sourceId"]),
    ("static collection", UPDATE_COLLECTION, lambda ids: {"id": ids["static"], "name": "X"},
     ["id"]),
    ("auto collection", UPDATE_COLLECTION,
     lambda ids: {"id": ids["auto"], "filter": {"name": {"conditions": {"$is": ["X"]}}}},
     ["id"]),
    ("category", UPDATE_CATEGORY, lambda ids: {"id": ids["category"], "name": "X"}, ["id"]),
    ("customer by id", UPDATE_CUSTOMER, lambda ids: {"id": ids["customer"], "name": "X"},
     ["id"]),
    ("customer by sourceId", UPDATE_CUSTOMER, lambda ids: {"sourceId": "ada", "name": "X"},
     ["sourceId"]),
    ("customer upsert by id", CREATE_CUSTOMER, lambda ids: {"id": ids["customer"], "name": "X"},
     ["id"]),
    ("order by id", UPDATE_ORDER, lambda ids: {"id": ids["order"], "status": "CANCELED"},
     ["id"]),
    ("order by sourceId", UPDATE_ORDER, lambda ids: {"sourceId": "o-1", "amount": 1},
     ["sourceId"]),
]
DELETES = [
    ("product by id", DELETE_PRODUCT, lambda ids: {"id": ids["product"]}, ["id"]),
    ("product by sourceId", DELETE_PRODUCT, lambda ids: {"sourceId": "shirt"}, ["sourceId"]),
    ("sku by id", DELETE_SKU, lambda ids: {"id": ids["sku"]}, ["id"]),
    ("sku by sourceId", DELETE_SKU, lambda ids: {"sourceId": "shirt-m"}, ["sourceId"]),
    ("static collection", DELETE_COLLECTION, lambda ids: {"id": ids["static"]}, ["id"]),
    ("auto collection", DELETE_COLLECTION, lambda ids: {"id": ids["auto"]}, ["id"]),
    ("category", DELETE_CATEGORY, lambda ids: {"id": ids["category"]}, ["id"]),
    ("customer by id", DELETE_CUSTOMER, lambda ids: {"id": ids["customer"]}, ["id"]),
    ("customer by sourceId", DELETE_CUSTOMER, lambda ids: {"sourceId": "ada"}, ["sourceId"]),
    ("order by id", DELETE_ORDER, lambda ids: {"id": ids["order"]}, ["id"]),
    ("order by sourceId", DELETE_ORDER, lambda ids: {"sourceId": "o-1"}, ["sourceId"]),
]


def _label(case: tuple) -> str:
    return case[0]


class TestWrites:
    @pytest.mark.parametrize("case", UPDATES, ids=_label)
    async def test_b_cannot_update_a(self, world, case):
        _, b, ids, _, _ = world
        _, mutation, make_input, field = case

        payload = await mutate(b.api, mutation, **make_input(ids))

        assert error_codes(payload) == [("not_found", field)]
        await assert_a_unchanged(world)

    @pytest.mark.parametrize("case", DELETES, ids=_label)
    async def test_b_cannot_delete_a(self, world, case):
        _, b, ids, _, _ = world
        _, mutation, make_input, field = case

        payload = await mutate(b.api, mutation, **make_input(ids))

        assert payload["deletedId"] is None
        assert error_codes(payload) == [("not_found", field)]
        await assert_a_unchanged(world)

    async def test_b_cannot_revoke_a_key(self, world):
        a, b, _, key_ids, _ = world

        for key_id in key_ids:
            payload = await mutate(b.api, REVOKE_API_KEY, id=key_id)
            assert payload["apiKey"] is None
            assert error_codes(payload) == [("not_found", ["id"])]
        await assert_a_unchanged(world)
        assert (await a.api("{ project { id } }"))["project"]  # A's key still works

    async def test_b_cannot_add_a_sku_to_a_product(self, world):
        _, b, ids, _, _ = world

        payload = await mutate(b.api, CREATE_SKU, productId=ids["product"], price=1)

        assert payload["sku"] is None
        assert error_codes(payload) == [("not_found", ["productId"])]
        await assert_a_unchanged(world)
        assert (await total_counts(b.api))["skus"] == 0

    @pytest.mark.parametrize(
        ("item", "field"),
        [
            (lambda ids: {"productId": ids["product"], "quantity": 1}, "productId"),
            (lambda ids: {"skuId": ids["sku"], "quantity": 1}, "skuId"),
        ],
    )
    async def test_b_cannot_order_a_products(self, world, item, field):
        _, b, ids, _, _ = world

        payload = await mutate(
            b.api, CREATE_ORDER, customer={"sourceId": "bob"}, items=[item(ids)]
        )

        assert payload["order"] is None
        assert error_codes(payload) == [("not_found", ["items", "0", field])]
        assert await total_counts(b.api) == dict.fromkeys(
            ("products", "skus", "productCollections", "categories", "customers", "orders"), 0
        )
        await assert_a_unchanged(world)

    async def test_b_order_by_a_source_id_gets_no_price_from_a(self, world):
        _, b, _, _, _ = world

        unpriced = await mutate(b.api, CREATE_ORDER, items=[{"sourceId": "shirt", "quantity": 1}])
        priced = await mutate(
            b.api, CREATE_ORDER, items=[{"sourceId": "shirt", "quantity": 1, "price": 10}]
        )

        assert error_codes(unpriced) == [("missing_item_price", ["items", "0", "price"])]
        assert priced["errors"] == []
        assert priced["order"]["items"][0]["productId"] is None
        assert priced["order"]["amount"] == 10
        await assert_a_unchanged(world)

    async def test_b_cannot_attach_a_customer(self, world):
        _, b, ids, _, _ = world

        payload = await mutate(b.api, CREATE_ORDER, amount=1, customer={"id": ids["customer"]})

        assert error_codes(payload) == [("not_found", ["customer", "id"])]
        assert (await total_counts(b.api))["orders"] == 0
        await assert_a_unchanged(world)

    async def test_b_cannot_put_a_products_in_a_collection(self, world):
        _, b, ids, _, _ = world

        by_id = await mutate(b.api, CREATE_COLLECTION, name="Mine",
                             products=[{"object": "product", "id": ids["product"]}])
        by_source = await mutate(b.api, CREATE_COLLECTION, name="Mine",
                                 products=[{"object": "sku", "sourceId": "shirt-m"}])

        assert error_codes(by_id) == [("not_found", ["products", "0", "id"])]
        assert error_codes(by_source) == [("not_found", ["products", "0", "sourceId"])]
        assert (await total_counts(b.api))["productCollections"] == 0

    async def test_source_ids_and_names_are_per_project(self, world):
        a, b, ids, _, _ = world

        product = await create_product(b.api, name="B shirt", sourceId="shirt", price=1)
        await create_category(b.api, name="Sale")
        await create_customer(b.api, sourceId="ada", name="B's Ada")
        order = await create_order(b.api, sourceId="o-1",
                                   items=[{"sourceId": "shirt", "quantity": 3}])

        assert order["items"][0]["productId"] == product["id"]
        assert order["amount"] == 3
        await assert_a_unchanged(world)
