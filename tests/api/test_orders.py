"""Orders: items priced from the catalog, amounts derived, customers upserted, status."""

from __future__ import annotations

from factories import CREATE_ORDER as CREATE
from factories import (
    DELETE_ORDER,
    ORDER,
    UPDATE_ORDER,
    create_customer,
    create_order,
    create_product,
    create_sku,
    error_codes,
    mutate,
    total_count,
)

ORDER_QUERY = f"""query($id: ID, $sourceId: String) {{
  order(id: $id, sourceId: $sourceId) {{
    {ORDER} customer {{ id sourceId name }} items {{ index product {{ id }} sku {{ id }} }}
  }}
}}"""


async def shop(api) -> dict[str, dict]:
    shirt = await create_product(api, name="Shirt", sourceId="shirt", price=2500)
    red_m = await create_sku(api, shirt["id"], sourceId="shirt-red-m", price=2700)
    plain = await create_sku(api, shirt["id"], sourceId="shirt-plain")  # no price of its own
    free = await create_product(api, name="Sticker", sourceId="sticker")  # no price at all
    return {"shirt": shirt, "red_m": red_m, "plain": plain, "free": free}


def lines(order: dict) -> list[tuple]:
    return [
        (i["index"], i["productId"], i["skuId"], i["sourceId"], i["relatedObject"],
         i["quantity"], i["price"], i["amount"])
        for i in order["items"]
    ]


class TestCreateOrder:
    async def test_items_by_every_kind_of_reference(self, api):
        s = await shop(api)
        shirt, red_m, plain = s["shirt"]["id"], s["red_m"]["id"], s["plain"]["id"]

        order = await create_order(api, sourceId="o-1", items=[
            {"productId": shirt, "quantity": 2},               # product price 2500
            {"skuId": red_m, "quantity": 1},                   # SKU price 2700
            {"sourceId": "shirt-plain", "quantity": 3},        # SKU by source, product's price
            {"sourceId": "shirt", "quantity": 1, "price": 2000},  # product by source, own price
            {"sourceId": "not-in-catalog", "quantity": 4, "price": 150,
             "metadata": {"gift": True}},
        ])

        assert order["id"].startswith("ord_")
        assert (order["sourceId"], order["status"]) == ("o-1", "CREATED")
        assert lines(order) == [
            (0, shirt, None, "shirt", "product", 2, 2500, 5000),
            (1, shirt, red_m, "shirt-red-m", "sku", 1, 2700, 2700),
            (2, shirt, plain, "shirt-plain", "sku", 3, 2500, 7500),
            (3, shirt, None, "shirt", "product", 1, 2000, 2000),
            (4, None, None, "not-in-catalog", None, 4, 150, 600),
        ]
        assert order["items"][4]["metadata"] == {"gift": True}
        assert order["amount"] == 5000 + 2700 + 7500 + 2000 + 600

    async def test_sku_with_its_product_id(self, api):
        s = await shop(api)

        order = await create_order(
            api, items=[{"productId": s["shirt"]["id"], "skuId": s["red_m"]["id"],
                         "quantity": 2}]
        )

        assert lines(order) == [
            (0, s["shirt"]["id"], s["red_m"]["id"], "shirt-red-m", "sku", 2, 2700, 5400)
        ]

    async def test_explicit_line_amount_and_order_amount_are_kept(self, api):
        s = await shop(api)

        order = await create_order(api, amount=9999, items=[
            {"productId": s["shirt"]["id"], "quantity": 2, "amount": 4000},
            {"sourceId": "sticker", "quantity": 5, "amount": 0},
        ])

        assert [(i["price"], i["amount"]) for i in order["items"]] == [(2500, 4000), (None, 0)]
        assert order["amount"] == 9999

    async def test_amount_only(self, api):
        order = await create_order(api, amount=1234, status="PAID", metadata={"channel": "pos"})

        assert (order["amount"], order["status"], order["items"]) == (1234, "PAID", [])
        assert order["metadata"] == {"channel": "pos"}

    async def test_upserts_the_customer(self, api):
        existing = await create_customer(api, sourceId="c1", name="Ada")

        first = await create_order(
            api, amount=100, customer={"sourceId": "c1", "email": "ada@example.com"}
        )
        second = await create_order(api, amount=200, customer={"sourceId": "new", "name": "Bo"})

        assert first["customerId"] == existing["id"]
        assert await total_count(api, "customers") == 2
        stored = (await api(ORDER_QUERY, id=second["id"]))["order"]
        assert stored["customer"]["sourceId"] == "new"
        assert stored["customer"]["name"] == "Bo"
        customer = await api(
            'query { customer(sourceId: "c1") { name email } }'
        )
        assert customer["customer"] == {"name": "Ada", "email": "ada@example.com"}

    async def test_is_readable_with_items_and_links(self, api):
        s = await shop(api)
        order = await create_order(api, sourceId="o-9", items=[
            {"skuId": s["red_m"]["id"], "quantity": 1},
            {"sourceId": "unknown", "quantity": 1, "price": 10},
        ])

        stored = (await api(ORDER_QUERY, sourceId="o-9"))["order"]

        assert stored["id"] == order["id"]
        assert [(i["product"], i["sku"]) for i in stored["items"]] == [
            ({"id": s["shirt"]["id"]}, {"id": s["red_m"]["id"]}),
            (None, None),
        ]

    async def test_lists_filter_by_status_customer_and_source_id(self, api):
        customer = await create_customer(api, sourceId="c1")
        paid = await create_order(api, amount=1, status="PAID", customer={"sourceId": "c1"})
        await create_order(api, amount=2, sourceId="o-2")

        data = await api(
            "query($c: ID) { paid: orders(filter: {status: PAID}) { totalCount "
            "edges { node { id } } } mine: orders(filter: {customerId: $c}) { totalCount } "
            'bySource: orders(filter: {sourceId: "o-2"}) { totalCount } '
            "all: orders { totalCount } }",
            c=customer["id"],
        )

        assert data["paid"]["totalCount"] == 1
        assert data["paid"]["edges"][0]["node"]["id"] == paid["id"]
        assert data["mine"]["totalCount"] == 1
        assert data["bySource"]["totalCount"] == 1
        assert data["all"]["totalCount"] == 2


class TestUpdateOrder:
    async def test_replacing_items_recomputes_the_amount(self, api):
        s = await shop(api)
        order = await create_order(api, sourceId="o-1", items=[
            {"productId": s["shirt"]["id"], "quantity": 1},
        ])

        payload = await mutate(api, UPDATE_ORDER, id=order["id"], items=[
            {"skuId": s["red_m"]["id"], "quantity": 2},
            {"sourceId": "extra", "quantity": 1, "price": 300},
        ])

        assert payload["errors"] == []
        updated = payload["order"]
        assert updated["amount"] == 2 * 2700 + 300
        stored = (await api(ORDER_QUERY, id=order["id"]))["order"]
        assert lines(stored) == [
            (0, s["shirt"]["id"], s["red_m"]["id"], "shirt-red-m", "sku", 2, 2700, 5400),
            (1, None, None, "extra", None, 1, 300, 300),
        ]
        assert stored["amount"] == 5700

    async def test_by_source_id_sets_status_and_metadata_and_keeps_items(self, api):
        s = await shop(api)
        order = await create_order(
            api, sourceId="o-1", items=[{"productId": s["shirt"]["id"], "quantity": 2}]
        )

        payload = await mutate(
            api, UPDATE_ORDER, sourceId="o-1", status="FULFILLED", metadata={"note": "ok"}
        )

        assert payload["errors"] == []
        stored = (await api(ORDER_QUERY, id=order["id"]))["order"]
        assert (stored["status"], stored["metadata"], stored["amount"]) == (
            "FULFILLED", {"note": "ok"}, 5000
        )
        assert lines(stored) == lines(order)

    async def test_empty_items_clear_them(self, api):
        s = await shop(api)
        order = await create_order(api, items=[{"productId": s["shirt"]["id"], "quantity": 1}])

        payload = await mutate(api, UPDATE_ORDER, id=order["id"], items=[])

        assert payload["errors"] == []
        stored = (await api(ORDER_QUERY, id=order["id"]))["order"]
        assert (stored["items"], stored["amount"]) == ([], 0)

    async def test_amount_alone(self, api):
        order = await create_order(api, amount=100)

        payload = await mutate(api, UPDATE_ORDER, id=order["id"], amount=250)

        assert payload["errors"] == [] and payload["order"]["amount"] == 250

    async def test_each_status(self, api):
        order = await create_order(api, amount=100)

        seen = []
        for status in ("PAID", "FULFILLED", "CANCELED", "CREATED"):
            payload = await mutate(api, UPDATE_ORDER, id=order["id"], status=status)
            seen.append(payload["order"]["status"])

        assert seen == ["PAID", "FULFILLED", "CANCELED", "CREATED"]

    async def test_attaches_a_customer(self, api):
        order = await create_order(api, amount=100)

        payload = await mutate(
            api, UPDATE_ORDER, id=order["id"], customer={"sourceId": "late", "name": "Late"}
        )

        assert payload["errors"] == []
        stored = (await api(ORDER_QUERY, id=order["id"]))["order"]
        assert stored["customer"]["sourceId"] == "late"
        assert stored["customerId"] == stored["customer"]["id"]


class TestDeleteOrder:
    async def test_by_id_and_by_source_id(self, api):
        a = await create_order(api, amount=1)
        b = await create_order(api, amount=2, sourceId="o-b")

        by_id = await mutate(api, DELETE_ORDER, id=a["id"])
        by_source = await mutate(api, DELETE_ORDER, sourceId="o-b")

        assert by_id == {"deletedId": a["id"], "errors": []}
        assert by_source == {"deletedId": b["id"], "errors": []}
        assert await total_count(api, "orders") == 0
        assert (await api(ORDER_QUERY, id=a["id"]))["order"] is None

    async def test_deleting_a_product_keeps_the_order_line(self, api):
        s = await shop(api)
        order = await create_order(api, items=[{"productId": s["shirt"]["id"], "quantity": 1}])

        await mutate(api, "mutation($input: RefInput!) { deleteProduct(input: $input) "
                          "{ errors { code } } }", id=s["shirt"]["id"])

        stored = (await api(ORDER_QUERY, id=order["id"]))["order"]
        assert lines(stored) == [(0, None, None, "shirt", "product", 1, 2500, 2500)]
        assert stored["amount"] == 2500

    async def test_unknown_is_not_found(self, api):
        payload = await mutate(api, DELETE_ORDER, sourceId="ghost")

        assert error_codes(payload) == [("not_found", ["sourceId"])]


async def test_create_with_items_derives_the_amount(api):
    """The smoke path a storefront takes first: one product, one order."""
    product = await create_product(api, price=1250)

    payload = await mutate(api, CREATE, items=[{"productId": product["id"], "quantity": 4}])

    assert payload["errors"] == []
    assert payload["order"]["amount"] == 5000


class TestQueryCount:
    LIST = (
        "{ orders(first: 50) { totalCount edges { node { id customer { id } "
        "items { product { id } sku { id } } } } } }"
    )

    async def test_listing_orders_is_not_n_plus_1(self, make_tenant, sql_statements):
        small, large = await make_tenant("Small"), await make_tenant("Large")
        for tenant, count in ((small, 1), (large, 10)):
            s = await shop(tenant.api)
            for i in range(count):
                await create_order(tenant.api, customer={"sourceId": f"c{i}"}, items=[
                    {"productId": s["shirt"]["id"], "quantity": 1},
                    {"skuId": s["red_m"]["id"], "quantity": 1},
                ])

        sql_statements.clear()
        one = await small.api(self.LIST)
        for_one = len(sql_statements)
        sql_statements.clear()
        many = await large.api(self.LIST)
        for_many = len(sql_statements)

        assert one["orders"]["totalCount"] == 1 and many["orders"]["totalCount"] == 10
        assert all(e["node"]["customer"] for e in many["orders"]["edges"])
        assert for_one >= 6  # key, page, count and one batch per nested field: recorded
        assert for_many == for_one, sql_statements
