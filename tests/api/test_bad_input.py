"""Bad input to every mutation: a UserError with a stable code and field path, nothing
partially written. Also query limits and masking of unexpected errors."""

from __future__ import annotations

import asyncio

import pytest
from factories import (
    CREATE_API_KEY,
    CREATE_CATEGORY,
    CREATE_COLLECTION,
    CREATE_CUSTOMER,
    CREATE_ORDER,
    CREATE_PRODUCT,
    CREATE_SKU,
    DELETE_CATEGORY,
    DELETE_COLLECTION,
    DELETE_CUSTOMER,
    DELETE_ORDER,
    DELETE_PRODUCT,
    DELETE_SKU,
    REVOKE_API_KEY,
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
    create_sku,
    error_codes,
    mutate,
    total_count,
    total_counts,
)

UNKNOWN = "prod_01ARZ3NDEKTSV4RRFFQ69G5FAV"
NOTHING = dict.fromkeys(
    ("products", "skus", "productCollections", "categories", "customers", "orders"), 0
)
PRICEY = {"price": {"conditions": {"$more_than": [1000]}}}


def errors_of(payload: dict, key: str) -> list[tuple[str, list[str] | None]]:
    """The payload's (code, field) pairs, after checking it carries no object."""
    assert payload[key] is None, payload
    for error in payload["errors"]:
        assert error["message"], error
    return error_codes(payload)


class TestCreateProduct:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"name": "   "}, [("blank", ["name"])]),
            ({"name": ""}, [("blank", ["name"])]),
            ({"name": "x" * 501}, [("too_long", ["name"])]),
            ({"name": "A", "price": -1}, [("negative_amount", ["price"])]),
            ({"name": "A", "metadata": [1, 2]}, [("invalid_metadata", ["metadata"])]),
            ({"name": "A", "metadata": "red"}, [("invalid_metadata", ["metadata"])]),
            ({"name": "A", "metadata": 3}, [("invalid_metadata", ["metadata"])]),
            ({"name": "A", "metadata": {"blob": "x" * 70_000}},
             [("metadata_too_large", ["metadata"])]),
            ({"name": "A", "sourceId": " padded"}, [("invalid_source_id", ["sourceId"])]),
            ({"name": "A", "sourceId": ""}, [("invalid_source_id", ["sourceId"])]),
            ({"name": "A", "sourceId": "x" * 201}, [("invalid_source_id", ["sourceId"])]),
            ({"name": "A", "attributes": ["a"] * 101}, [("too_many_items", ["attributes"])]),
            ({"name": "A", "attributes": ["ok", " "]}, [("blank", ["attributes", "1"])]),
            (
                {"name": " ", "price": -5, "metadata": []},
                [("blank", ["name"]), ("negative_amount", ["price"]),
                 ("invalid_metadata", ["metadata"])],
            ),
        ],
    )
    async def test_rejected(self, api, input_, expected):
        payload = await mutate(api, CREATE_PRODUCT, **input_)

        assert errors_of(payload, "product") == expected
        assert await total_count(api, "products") == 0

    async def test_duplicate_source_id(self, api):
        first = await create_product(api, name="A", sourceId="dup")

        payload = await mutate(api, CREATE_PRODUCT, name="B", sourceId="dup")

        assert errors_of(payload, "product") == [("duplicate_source_id", ["sourceId"])]
        assert await total_count(api, "products") == 1
        kept = await api('{ product(sourceId: "dup") { id name } }')
        assert kept["product"] == {"id": first["id"], "name": "A"}


class TestConcurrentDuplicates:
    @pytest.mark.parametrize(
        ("mutation", "key", "connection"),
        [
            (CREATE_PRODUCT, "product", "products"),
            (CREATE_ORDER, "order", "orders"),
        ],
    )
    async def test_one_wins_the_others_get_duplicate_source_id(
        self, api, mutation, key, connection
    ):
        fields = {"name": "Racer"} if key == "product" else {"amount": 1}

        payloads = await asyncio.gather(
            *(mutate(api, mutation, sourceId="race", **fields) for _ in range(5))
        )

        made = [p for p in payloads if p[key] is not None]
        refused = [p for p in payloads if p[key] is None]
        assert len(made) == 1 and made[0]["errors"] == []
        assert [error_codes(p) for p in refused] == [
            [("duplicate_source_id", ["sourceId"])]
        ] * 4
        assert await total_count(api, connection) == 1

    async def test_skus(self, api):
        product = await create_product(api)

        payloads = await asyncio.gather(
            *(mutate(api, CREATE_SKU, productId=product["id"], sourceId="race")
              for _ in range(5))
        )

        assert sorted(len(p["errors"]) for p in payloads) == [0, 1, 1, 1, 1]
        assert await total_count(api, "skus") == 1

    async def test_categories(self, api):
        payloads = await asyncio.gather(
            *(mutate(api, CREATE_CATEGORY, name="Race") for _ in range(5))
        )

        assert sorted(error_codes(p) for p in payloads) == [[]] + [
            [("duplicate_name", ["name"])]
        ] * 4
        assert await total_count(api, "categories") == 1


class TestUpdateProduct:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"id": UNKNOWN, "name": "X"}, [("not_found", ["id"])]),
            ({"sourceId": "ghost", "name": "X"}, [("not_found", ["sourceId"])]),
            ({"name": "X"}, [("required", ["id"])]),
            ({"sourceId": "p", "name": None}, [("required", ["name"])]),
            ({"sourceId": "p", "name": "  "}, [("blank", ["name"])]),
            ({"sourceId": "p", "price": -100}, [("negative_amount", ["price"])]),
            ({"sourceId": "p", "metadata": ["a"]}, [("invalid_metadata", ["metadata"])]),
            ({"sourceId": "p", "attributes": [""]}, [("blank", ["attributes", "0"])]),
        ],
    )
    async def test_rejected(self, api, input_, expected):
        product = await create_product(api, name="P", sourceId="p", price=100)

        payload = await mutate(api, UPDATE_PRODUCT, **input_)

        assert errors_of(payload, "product") == expected
        stored = (await api('{ product(sourceId: "p") { id name price updatedAt } }'))
        assert stored["product"] == {
            "id": product["id"], "name": "P", "price": 100, "updatedAt": None
        }

    async def test_source_id_taken(self, api):
        await create_product(api, name="A", sourceId="a")
        b = await create_product(api, name="B", sourceId="b")

        payload = await mutate(api, UPDATE_PRODUCT, id=b["id"], sourceId="a", name="B2")

        assert errors_of(payload, "product") == [("duplicate_source_id", ["sourceId"])]
        stored = await api('{ product(sourceId: "b") { id name } }')
        assert stored["product"] == {"id": b["id"], "name": "B"}


class TestSku:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"price": -1}, [("negative_amount", ["price"])]),
            ({"metadata": "x"}, [("invalid_metadata", ["metadata"])]),
            ({"attributes": ["red"]}, [("invalid_attributes", ["attributes"])]),
            ({"sku": " "}, [("blank", ["sku"])]),
            ({"sourceId": "taken"}, [("duplicate_source_id", ["sourceId"])]),
        ],
    )
    async def test_create_rejected(self, api, input_, expected):
        product = await create_product(api)
        await create_sku(api, product["id"], sourceId="taken")

        payload = await mutate(api, CREATE_SKU, productId=product["id"], **input_)

        assert errors_of(payload, "sku") == expected
        assert await total_count(api, "skus") == 1

    async def test_create_for_unknown_product(self, api):
        payload = await mutate(api, CREATE_SKU, productId=UNKNOWN, price=1)

        assert errors_of(payload, "sku") == [("not_found", ["productId"])]
        assert await total_count(api, "skus") == 0

    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"id": "sku_01ARZ3NDEKTSV4RRFFQ69G5FAV", "price": 1}, [("not_found", ["id"])]),
            ({"sourceId": "ghost", "price": 1}, [("not_found", ["sourceId"])]),
            ({"sourceId": "s1", "price": -1}, [("negative_amount", ["price"])]),
            ({"sourceId": "s1", "attributes": "big"}, [("invalid_attributes", ["attributes"])]),
            ({"price": 1}, [("required", ["id"])]),
        ],
    )
    async def test_update_rejected(self, api, input_, expected):
        product = await create_product(api)
        await create_sku(api, product["id"], sourceId="s1", price=10)

        payload = await mutate(api, UPDATE_SKU, **input_)

        assert errors_of(payload, "sku") == expected
        assert (await api('{ sku(sourceId: "s1") { price updatedAt } }'))["sku"] == {
            "price": 10, "updatedAt": None
        }

    async def test_update_to_a_taken_source_id(self, api):
        product = await create_product(api)
        await create_sku(api, product["id"], sourceId="s1")
        s2 = await create_sku(api, product["id"], sourceId="s2")

        payload = await mutate(api, UPDATE_SKU, id=s2["id"], sourceId="s1")

        assert errors_of(payload, "sku") == [("duplicate_source_id", ["sourceId"])]
        assert (await api('{ sku(sourceId: "s2") { id } }'))["sku"] == {"id": s2["id"]}


class TestCreateCollection:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"name": " "}, [("blank", ["name"])]),
            ({"name": "S", "filter": PRICEY}, [("invalid_filter", ["filter"])]),
            ({"name": "S", "type": "STATIC", "filter": PRICEY}, [("invalid_filter", ["filter"])]),
            ({"name": "A", "type": "AUTO_UPDATE"}, [("required", ["filter"])]),
            (
                {"name": "A", "type": "AUTO_UPDATE", "filter": PRICEY,
                 "products": [{"object": "product", "sourceId": "p"}]},
                [("invalid_products", ["products"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE",
                 "filter": {"price": {"conditions": {"$bogus": [1]}}}},
                [("invalid_filter", ["filter", "price", "conditions", "$bogus"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE",
                 "filter": {"price": {"conditions": {"$more_than": ["cheap"]}}}},
                [("invalid_filter", ["filter", "price", "conditions", "$more_than"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE",
                 "filter": {"price": {"conditions": {"$more_than": [1]}, "junction": "or"}}},
                [("invalid_filter", ["filter", "price", "junction"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE",
                 "filter": {"colour": {"conditions": {"$is": ["red"]}}}},
                [("invalid_filter", ["filter", "colour"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE", "filter": {"junction": "xor", **PRICEY}},
                [("invalid_filter", ["filter", "junction"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE", "filter": {"price": 5}},
                [("invalid_filter", ["filter", "price"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE", "filter": [PRICEY]},
                [("invalid_filter", ["filter"])],
            ),
            (
                {"name": "A", "type": "AUTO_UPDATE", "filter": {"junction": "and"}},
                [("invalid_filter", ["filter"])],
            ),
            (
                {"name": "S", "products": [{"object": "category", "sourceId": "p"}]},
                [("invalid_object", ["products", "0", "object"])],
            ),
            (
                {"name": "S", "products": [{"object": "product"}]},
                [("required", ["products", "0"])],
            ),
            (
                {"name": "S", "products": [{"object": "product", "id": UNKNOWN,
                                            "sourceId": "p"}]},
                [("required", ["products", "0"])],
            ),
            (
                {"name": "S", "products": [{"object": "product", "sourceId": "p"}] * 1001},
                [("too_many_items", ["products"])],
            ),
        ],
    )
    async def test_rejected(self, api, input_, expected):
        await create_product(api, sourceId="p", price=2000)

        payload = await mutate(api, CREATE_COLLECTION, **input_)

        assert errors_of(payload, "productCollection") == expected
        assert await total_count(api, "productCollections") == 0

    @pytest.mark.parametrize(
        ("member", "field"),
        [
            ({"object": "product", "id": UNKNOWN}, ["products", "1", "id"]),
            ({"object": "product", "sourceId": "ghost"}, ["products", "1", "sourceId"]),
            ({"object": "sku", "sourceId": "p"}, ["products", "1", "sourceId"]),  # a product's
            ({"object": "sku", "id": UNKNOWN}, ["products", "1", "id"]),
        ],
    )
    async def test_unknown_member_writes_nothing(self, api, member, field):
        await create_product(api, sourceId="p")

        payload = await mutate(
            api, CREATE_COLLECTION, name="S",
            products=[{"object": "product", "sourceId": "p"}, member],
        )

        assert errors_of(payload, "productCollection") == [("not_found", field)]
        assert await total_count(api, "productCollections") == 0


class TestUpdateCollection:
    async def test_unknown_id(self, api):
        payload = await mutate(
            api, UPDATE_COLLECTION, id="pcol_01ARZ3NDEKTSV4RRFFQ69G5FAV", name="X"
        )

        assert errors_of(payload, "productCollection") == [("not_found", ["id"])]

    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"filter": PRICEY}, [("invalid_filter", ["filter"])]),
            ({"name": None}, [("required", ["name"])]),
            ({"name": ""}, [("blank", ["name"])]),
            (
                {"products": [{"object": "product", "sourceId": "p"},
                              {"object": "product", "sourceId": "ghost"}]},
                [("not_found", ["products", "1", "sourceId"])],
            ),
        ],
    )
    async def test_static_rejected_and_unchanged(self, api, input_, expected):
        p = await create_product(api, sourceId="p")
        q = await create_product(api, sourceId="q")
        collection = await create_collection(
            api, name="S", products=[{"object": "product", "id": q["id"]}]
        )

        payload = await mutate(api, UPDATE_COLLECTION, id=collection["id"], **input_)

        assert errors_of(payload, "productCollection") == expected
        stored = await api(
            "query($id: ID!) { productCollection(id: $id) { name filter updatedAt "
            "products { edges { node { id } } } } }", id=collection["id"],
        )
        assert stored["productCollection"] == {
            "name": "S", "filter": None, "updatedAt": None,
            "products": {"edges": [{"node": {"id": q["id"]}}]},
        }
        assert p["id"] != q["id"]

    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"filter": None}, [("required", ["filter"])]),
            ({"filter": {"price": {"conditions": {"$nope": [1]}}}},
             [("invalid_filter", ["filter", "price", "conditions", "$nope"])]),
            ({"products": [{"object": "product", "sourceId": "p"}]},
             [("invalid_products", ["products"])]),
        ],
    )
    async def test_auto_update_rejected_and_unchanged(self, api, input_, expected):
        await create_product(api, sourceId="p", price=5000)
        collection = await create_collection(api, type="AUTO_UPDATE", filter=PRICEY)

        payload = await mutate(api, UPDATE_COLLECTION, id=collection["id"], **input_)

        assert errors_of(payload, "productCollection") == expected
        stored = await api(
            "query($id: ID!) { productCollection(id: $id) { filter products { totalCount } } }",
            id=collection["id"],
        )
        assert stored["productCollection"] == {
            "filter": {"junction": "and", **PRICEY}, "products": {"totalCount": 1}
        }


class TestCategory:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"name": " "}, [("blank", ["name"])]),
            ({"name": "x" * 201}, [("too_long", ["name"])]),
            ({"name": "Sale"}, [("duplicate_name", ["name"])]),
            ({"name": "  Sale "}, [("duplicate_name", ["name"])]),
            ({"name": "New", "hierarchy": -1}, [("invalid_hierarchy", ["hierarchy"])]),
        ],
    )
    async def test_create_rejected(self, api, input_, expected):
        await create_category(api, name="Sale")

        payload = await mutate(api, CREATE_CATEGORY, **input_)

        assert errors_of(payload, "category") == expected
        assert await total_count(api, "categories") == 1

    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"id": "cat_01ARZ3NDEKTSV4RRFFQ69G5FAV", "name": "X"}, [("not_found", ["id"])]),
            ({"name": None}, [("required", ["name"])]),
            ({"name": "   "}, [("blank", ["name"])]),
            ({"name": "Other"}, [("duplicate_name", ["name"])]),
            ({"hierarchy": 10_000_000}, [("invalid_hierarchy", ["hierarchy"])]),
        ],
    )
    async def test_update_rejected(self, api, input_, expected):
        await create_category(api, name="Other")
        category = await create_category(api, name="Sale", hierarchy=1)

        payload = await mutate(api, UPDATE_CATEGORY, **{"id": category["id"], **input_})

        assert errors_of(payload, "category") == expected
        stored = await api("query($id: ID!) { category(id: $id) { name hierarchy updatedAt } }",
                           id=category["id"])
        assert stored["category"] == {"name": "Sale", "hierarchy": 1, "updatedAt": None}


class TestCustomer:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"email": "not-an-email"}, [("invalid_email", ["email"])]),
            ({"email": "a@b"}, [("invalid_email", ["email"])]),
            ({"email": "a b@c.io"}, [("invalid_email", ["email"])]),
            ({"name": "  "}, [("blank", ["name"])]),
            ({"metadata": ["vip"]}, [("invalid_metadata", ["metadata"])]),
            ({"address": "1 Main St"}, [("invalid_address", ["address"])]),
            ({"birthdate": "2999-01-01"}, [("invalid_birthdate", ["birthdate"])]),
            ({"sourceId": "  "}, [("invalid_source_id", ["sourceId"])]),
            ({"id": "cust_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, [("not_found", ["id"])]),
        ],
    )
    async def test_create_rejected(self, api, input_, expected):
        payload = await mutate(api, CREATE_CUSTOMER, **input_)

        assert errors_of(payload, "customer") == expected
        assert payload["created"] is False
        assert await total_count(api, "customers") == 0

    async def test_upsert_by_id_to_a_taken_source_id(self, api):
        await create_customer(api, sourceId="a")
        b = await create_customer(api, sourceId="b")

        payload = await mutate(api, CREATE_CUSTOMER, id=b["id"], sourceId="a", name="B")

        assert errors_of(payload, "customer") == [("duplicate_source_id", ["sourceId"])]
        stored = await api("query($id: ID) { customer(id: $id) { sourceId name } }", id=b["id"])
        assert stored["customer"] == {"sourceId": "b", "name": None}

    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"id": "cust_01ARZ3NDEKTSV4RRFFQ69G5FAV", "name": "X"}, [("not_found", ["id"])]),
            ({"sourceId": "c1", "email": "@"}, [("invalid_email", ["email"])]),
            ({"sourceId": "c1", "metadata": "x"}, [("invalid_metadata", ["metadata"])]),
            ({"name": "X"}, [("required", ["id"])]),
        ],
    )
    async def test_update_rejected(self, api, input_, expected):
        await create_customer(api, sourceId="c1", email="c1@example.com")

        payload = await mutate(api, UPDATE_CUSTOMER, **input_)

        assert errors_of(payload, "customer") == expected
        stored = await api('{ customer(sourceId: "c1") { email metadata updatedAt } }')
        assert stored["customer"] == {
            "email": "c1@example.com", "metadata": {}, "updatedAt": None
        }


def item(**fields) -> dict:
    return {"quantity": 1, **fields}


class TestCreateOrder:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({}, [("missing_amount", ["amount"])]),
            ({"amount": -1}, [("negative_amount", ["amount"])]),
            ({"amount": 1, "sourceId": "dup"}, [("duplicate_source_id", ["sourceId"])]),
            ({"amount": 1, "metadata": [1]}, [("invalid_metadata", ["metadata"])]),
            ({"amount": 1, "metadata": "note"}, [("invalid_metadata", ["metadata"])]),
            ({"items": [item(sourceId="p", quantity=0)]},
             [("invalid_quantity", ["items", "0", "quantity"])]),
            ({"items": [item(sourceId="p", quantity=-2)]},
             [("invalid_quantity", ["items", "0", "quantity"])]),
            ({"items": [item(sourceId="p", quantity=1_000_001)]},
             [("invalid_quantity", ["items", "0", "quantity"])]),
            ({"items": [item(sourceId="p", price=-1)]},
             [("negative_amount", ["items", "0", "price"])]),
            ({"items": [item(sourceId="p", amount=-1)]},
             [("negative_amount", ["items", "0", "amount"])]),
            ({"items": [item(sourceId="p", metadata=["x"])]},
             [("invalid_metadata", ["items", "0", "metadata"])]),
            ({"items": [item(price=5)]}, [("required", ["items", "0"])]),
            ({"items": [item(productId=UNKNOWN)]}, [("not_found", ["items", "0", "productId"])]),
            ({"items": [item(skuId="sku_01ARZ3NDEKTSV4RRFFQ69G5FAV")]},
             [("not_found", ["items", "0", "skuId"])]),
            ({"items": [item(sourceId="ghost")]},
             [("missing_item_price", ["items", "0", "price"])]),
            ({"items": [item(sourceId="unpriced")]},
             [("missing_item_price", ["items", "0", "price"])]),
            ({"items": [item(sourceId="p", price=2**52, quantity=2)]},
             [("amount_too_large", ["items", "0"])]),
            ({"items": [item(sourceId="p", price=2**52), item(sourceId="p", price=2**52)]},
             [("amount_too_large", ["items"])]),
            ({"amount": 5, "items": [item(sourceId="p", amount=2**52),
                                     item(sourceId="p", amount=2**52)]},
             [("amount_too_large", ["items"])]),
            ({"amount": 1, "customer": {"sourceId": "c", "email": "nope"}},
             [("invalid_email", ["customer", "email"])]),
            ({"amount": 1, "customer": {"id": "cust_01ARZ3NDEKTSV4RRFFQ69G5FAV"}},
             [("not_found", ["customer", "id"])]),
            (
                {"amount": -1, "items": [item(sourceId="p", quantity=0), item(price=-3)]},
                [("negative_amount", ["amount"]),
                 ("invalid_quantity", ["items", "0", "quantity"]),
                 ("required", ["items", "1"]),
                 ("negative_amount", ["items", "1", "price"])],
            ),
        ],
    )
    async def test_rejected(self, api, input_, expected):
        await create_product(api, sourceId="p", price=100)
        await create_product(api, sourceId="unpriced")
        await create_order(api, amount=1, sourceId="dup")

        payload = await mutate(api, CREATE_ORDER, **input_)

        assert errors_of(payload, "order") == expected
        assert (await total_counts(api))["orders"] == 1
        assert (await total_counts(api))["customers"] == 0

    async def test_sku_of_another_product(self, api):
        shirt = await create_product(api, sourceId="shirt", price=1)
        mug = await create_product(api, sourceId="mug", price=1)
        sku = await create_sku(api, mug["id"])

        payload = await mutate(
            api, CREATE_ORDER, items=[item(productId=shirt["id"], skuId=sku["id"])]
        )

        assert errors_of(payload, "order") == [("sku_product_mismatch", ["items", "0", "skuId"])]
        assert await total_count(api, "orders") == 0

    async def test_501_items(self, api):
        payload = await mutate(
            api, CREATE_ORDER, items=[item(sourceId="x", price=1)] * 501
        )

        assert errors_of(payload, "order") == [("too_many_items", ["items"])]
        assert await total_count(api, "orders") == 0

    async def test_500_items_are_fine(self, api):
        payload = await mutate(api, CREATE_ORDER, items=[item(sourceId="x", price=2)] * 500)

        assert payload["errors"] == []
        assert payload["order"]["amount"] == 1000
        assert len(payload["order"]["items"]) == 500

    async def test_bad_third_item_leaves_no_order_and_no_customer(self, api):
        product = await create_product(api, sourceId="p", price=100)

        payload = await mutate(
            api, CREATE_ORDER, sourceId="o-1", customer={"sourceId": "new", "name": "New"},
            items=[item(productId=product["id"]), item(sourceId="p"), item(productId=UNKNOWN)],
        )

        assert errors_of(payload, "order") == [("not_found", ["items", "2", "productId"])]
        assert await total_counts(api) == {**NOTHING, "products": 1}
        assert (await api('{ order(sourceId: "o-1") { id } }'))["order"] is None
        # the source id is still free
        assert (await create_order(api, sourceId="o-1", amount=1))["sourceId"] == "o-1"

    async def test_customer_by_id_to_a_taken_source_id(self, api):
        await create_customer(api, sourceId="a")
        b = await create_customer(api, sourceId="b")

        payload = await mutate(
            api, CREATE_ORDER, amount=1, customer={"id": b["id"], "sourceId": "a"}
        )

        assert errors_of(payload, "order") == [
            ("duplicate_source_id", ["customer", "sourceId"])
        ]
        assert await total_count(api, "orders") == 0

    async def test_bad_item_keeps_an_existing_customer_unchanged(self, api):
        await create_customer(api, sourceId="c1", name="Ada")

        payload = await mutate(
            api, CREATE_ORDER, customer={"sourceId": "c1", "name": "Changed"},
            items=[item(sourceId="ghost")],
        )

        assert errors_of(payload, "order") == [("missing_item_price", ["items", "0", "price"])]
        assert (await api('{ customer(sourceId: "c1") { name } }'))["customer"] == {"name": "Ada"}


class TestUpdateOrder:
    @pytest.mark.parametrize(
        ("input_", "expected"),
        [
            ({"id": "ord_01ARZ3NDEKTSV4RRFFQ69G5FAV", "amount": 1}, [("not_found", ["id"])]),
            ({"sourceId": "ghost", "amount": 1}, [("not_found", ["sourceId"])]),
            ({"amount": 1}, [("required", ["id"])]),
            ({"sourceId": "o-1", "amount": -5}, [("negative_amount", ["amount"])]),
            ({"sourceId": "o-1", "metadata": [1]}, [("invalid_metadata", ["metadata"])]),
            (
                {"sourceId": "o-1", "status": "PAID", "customer": {"sourceId": "new"},
                 "items": [item(sourceId="p", quantity=2), item(sourceId="p", quantity=0)]},
                [("invalid_quantity", ["items", "1", "quantity"])],
            ),
            (
                {"sourceId": "o-1", "status": "PAID", "customer": {"sourceId": "new"},
                 "items": [item(sourceId="p"), item(sourceId="p"), item(productId=UNKNOWN)]},
                [("not_found", ["items", "2", "productId"])],
            ),
            ({"sourceId": "o-1", "items": [item(sourceId="p")] * 501},
             [("too_many_items", ["items"])]),
        ],
    )
    async def test_rejected_and_unchanged(self, api, input_, expected):
        await create_product(api, sourceId="p", price=100)
        order = await create_order(api, sourceId="o-1", items=[item(sourceId="p", quantity=3)])

        payload = await mutate(api, UPDATE_ORDER, **input_)

        assert errors_of(payload, "order") == expected
        stored = await api(
            '{ order(sourceId: "o-1") { id status amount customerId metadata updatedAt '
            "items { quantity amount } } }"
        )
        assert stored["order"] == {
            "id": order["id"], "status": "CREATED", "amount": 300, "customerId": None,
            "metadata": {}, "updatedAt": None, "items": [{"quantity": 3, "amount": 300}],
        }
        assert await total_count(api, "customers") == 0

    async def test_to_a_taken_source_id(self, api):
        await create_order(api, sourceId="a", amount=1)
        b = await create_order(api, sourceId="b", amount=2)

        payload = await mutate(api, UPDATE_ORDER, id=b["id"], sourceId="a")

        assert errors_of(payload, "order") == [("duplicate_source_id", ["sourceId"])]
        assert (await api('{ order(sourceId: "b") { id } }'))["order"] == {"id": b["id"]}


class TestDeleteUnknown:
    @pytest.mark.parametrize(
        ("mutation", "input_", "field"),
        [
            (DELETE_PRODUCT, {"id": UNKNOWN}, ["id"]),
            (DELETE_PRODUCT, {"sourceId": "ghost"}, ["sourceId"]),
            (DELETE_SKU, {"id": "sku_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, ["id"]),
            (DELETE_COLLECTION, {"id": "pcol_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, ["id"]),
            (DELETE_CATEGORY, {"id": "cat_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, ["id"]),
            (DELETE_CUSTOMER, {"sourceId": "ghost"}, ["sourceId"]),
            (DELETE_ORDER, {"id": "garbage"}, ["id"]),
            (DELETE_PRODUCT, {}, ["id"]),
        ],
    )
    async def test_rejected(self, api, mutation, input_, field):
        await create_product(api, sourceId="keep")

        payload = await mutate(api, mutation, **input_)

        assert payload["deletedId"] is None
        assert [e["field"] for e in payload["errors"]] == [field]
        assert payload["errors"][0]["code"] in ("not_found", "required")
        assert await total_count(api, "products") == 1


class TestApiKeys:
    async def test_revoke_unknown(self, api):
        payload = await mutate(api, REVOKE_API_KEY, id="key_01ARZ3NDEKTSV4RRFFQ69G5FAV")

        assert errors_of(payload, "apiKey") == [("not_found", ["id"])]

    async def test_create_with_blank_name(self, api):
        payload = await mutate(api, CREATE_API_KEY, kind="SECRET", name="  ")

        assert errors_of(payload, "created") == [("blank", ["name"])]
        assert len((await api("{ apiKeys { id } }"))["apiKeys"]) == 2

    async def test_update_project_with_unknown_time_zone(self, api):
        payload = await api(
            'mutation { updateProject(input: {timeZone: "Mars/Olympus", name: "New"}) '
            "{ project { id } errors { code field } } }"
        )

        assert payload["updateProject"] == {
            "project": None, "errors": [{"code": "invalid_time_zone", "field": ["timeZone"]}]
        }
        assert (await api("{ project { name timeZone } }"))["project"] == {
            "name": "Shop", "timeZone": "UTC"
        }


def nested(depth: int) -> str:
    """A valid query of the given depth (Sku.product.skus… repeated).

    The limiter counts the top-level field as depth 0, so depth d nests d + 1 fields.
    """
    levels = ["skus(first: 1)", "edges", "node"] + ["product", "skus"] * depth
    query = "id"
    for name in reversed(levels[:depth]):
        query = f"{name} {{ {query} }}"
    return "{ " + query + " }"


class TestQueryLimits:
    async def test_too_deep(self, api):
        errors = await api.errors(nested(13))

        assert [e["message"] for e in errors] == [
            "'anonymous' exceeds maximum operation depth of 12"
        ]

    async def test_deep_enough(self, api):
        assert await api(nested(12)) == {"skus": {"edges": []}}

    async def test_too_many_aliases(self, api):
        query = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"

        errors = await api.errors(query)

        assert any("alias" in e["message"].lower() for e in errors), errors

    async def test_thirty_aliases_are_fine(self, api):
        query = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"

        assert len(await api(query)) == 30

    async def test_too_many_tokens(self, api):
        query = "{ " + " ".join("__typename" for _ in range(6000)) + " }"

        errors = await api.errors(query)

        assert any("token" in e["message"].lower() for e in errors), errors

    async def test_limits_apply_before_authentication(self, client):
        response = await client.post(
            "/graphql",
            json={"query": "{ " + " ".join(f"a{i}: products {{ totalCount }}" for i in range(40))
                  + " }"},
        )

        body = response.json()
        assert body.get("data") is None
        assert any("alias" in e["message"].lower() for e in body["errors"]), body
        assert all(e.get("extensions", {}).get("code") not in ("INTERNAL_SERVER_ERROR",
                                                                "UNAUTHENTICATED")
                   for e in body["errors"])


class TestMasking:
    async def test_unexpected_error_shows_only_a_request_id(self, api, monkeypatch):
        from app.services import catalog

        async def explode(*_args, **_kwargs):
            raise RuntimeError("secret detail: password=hunter2")

        monkeypatch.setattr(catalog, "create_product", explode)

        response = await api.raw(CREATE_PRODUCT, input={"name": "Boom"})

        body = response.json()
        (error,) = body["errors"]
        assert "request id" in error["message"]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        assert error["extensions"]["requestId"] in error["message"]
        assert "hunter2" not in response.text
        assert "RuntimeError" not in response.text
        assert "Traceback" not in response.text
        assert body["data"] is None

    async def test_the_callers_request_id_is_kept(self, client, tenant, monkeypatch):
        from app.services import lookup

        async def explode(*_args, **_kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(lookup, "count", explode)

        response = await client.post(
            "/graphql", json={"query": "{ products { totalCount } }"},
            headers={"Authorization": f"Bearer {tenant.secret_key}",
                     "X-Request-ID": "req-42"},
        )

        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
        assert error["path"] == ["products", "totalCount"]
        assert "boom" not in response.text

    async def test_expected_errors_are_not_masked(self, api):
        errors = await api.errors("{ products(first: 1000) { totalCount } }")

        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "requestId" not in errors[0]["extensions"]
