"""Products and SKUs: create, read, update, delete through the HTTP API."""

from __future__ import annotations

from factories import (
    DELETE_PRODUCT,
    DELETE_SKU,
    PRODUCT,
    SKU,
    UPDATE_PRODUCT,
    UPDATE_SKU,
    create_product,
    create_sku,
    mutate,
    total_count,
)

PRODUCT_QUERY = f"""query($id: ID, $sourceId: String) {{
  product(id: $id, sourceId: $sourceId) {{ {PRODUCT} skus {{ id sku price }} }}
}}"""
SKU_QUERY = f"""query($id: ID, $sourceId: String) {{
  sku(id: $id, sourceId: $sourceId) {{ {SKU} product {{ id name }} }}
}}"""


class TestCreateProduct:
    async def test_stores_every_field(self, api):
        product = await create_product(
            api, name="  Shirt  ", sourceId="shirt-1", price=2500, attributes=["color", "size"],
            metadata={"color": "red", "tags": ["summer"]},
        )

        assert product["id"].startswith("prod_")
        assert product["name"] == "Shirt"  # trimmed
        assert product["sourceId"] == "shirt-1"
        assert product["price"] == 2500
        assert product["attributes"] == ["color", "size"]
        assert product["metadata"] == {"color": "red", "tags": ["summer"]}
        assert product["createdAt"]
        assert product["updatedAt"] is None

    async def test_defaults(self, api):
        product = await create_product(api, name="Bare")

        assert product["sourceId"] is None
        assert product["price"] is None
        assert product["attributes"] == []
        assert product["metadata"] == {}

    async def test_is_readable_by_id_and_by_source_id(self, api):
        product = await create_product(api, sourceId="mug", price=900)

        by_id = (await api(PRODUCT_QUERY, id=product["id"]))["product"]
        by_source = (await api(PRODUCT_QUERY, sourceId="mug"))["product"]

        assert by_id == by_source
        assert by_id["id"] == product["id"] and by_id["price"] == 900
        assert by_id["skus"] == []
        assert (await api(PRODUCT_QUERY, sourceId="nope"))["product"] is None

    async def test_lists_filter_by_source_id(self, api):
        await create_product(api, sourceId="a")
        b = await create_product(api, sourceId="b")

        data = await api(
            '{ products(filter: {sourceId: "b"}) { totalCount edges { node { id } } } }'
        )

        assert data["products"]["totalCount"] == 1
        assert [e["node"]["id"] for e in data["products"]["edges"]] == [b["id"]]
        assert await total_count(api, "products") == 2


class TestUpdateProduct:
    async def test_by_id_changes_only_given_fields(self, api):
        product = await create_product(
            api, name="Shirt", sourceId="shirt", price=2500, metadata={"color": "red"}
        )

        payload = await mutate(api, UPDATE_PRODUCT, id=product["id"], price=1999)

        assert payload["errors"] == []
        updated = payload["product"]
        assert updated["price"] == 1999
        assert updated["name"] == "Shirt"
        assert updated["sourceId"] == "shirt"
        assert updated["metadata"] == {"color": "red"}
        assert updated["updatedAt"] is not None
        stored = (await api(PRODUCT_QUERY, id=product["id"]))["product"]
        assert stored["price"] == 1999

    async def test_by_source_id(self, api):
        product = await create_product(api, name="Shirt", sourceId="shirt")

        payload = await mutate(
            api, UPDATE_PRODUCT, sourceId="shirt", name="Tee", attributes=["size"],
            metadata={"fit": "slim"},
        )

        assert payload["errors"] == []
        assert payload["product"]["id"] == product["id"]
        stored = (await api(PRODUCT_QUERY, id=product["id"]))["product"]
        assert (stored["name"], stored["attributes"], stored["metadata"]) == (
            "Tee", ["size"], {"fit": "slim"}
        )

    async def test_with_id_a_source_id_is_the_new_value(self, api):
        product = await create_product(api, sourceId="old")

        payload = await mutate(api, UPDATE_PRODUCT, id=product["id"], sourceId="new")

        assert payload["errors"] == []
        assert (await api(PRODUCT_QUERY, sourceId="new"))["product"]["id"] == product["id"]
        assert (await api(PRODUCT_QUERY, sourceId="old"))["product"] is None

    async def test_null_price_and_metadata_clear_them(self, api):
        product = await create_product(api, price=100, metadata={"a": 1})

        payload = await mutate(api, UPDATE_PRODUCT, id=product["id"], price=None, metadata=None)

        assert payload["errors"] == []
        assert payload["product"]["price"] is None
        assert payload["product"]["metadata"] == {}

    async def test_null_attributes_clear_them(self, api):
        product = await create_product(api, attributes=["color"])

        payload = await mutate(api, UPDATE_PRODUCT, id=product["id"], attributes=None)

        assert payload["errors"] == []
        assert payload["product"]["attributes"] == []
        stored = (await api(PRODUCT_QUERY, id=product["id"]))["product"]
        assert stored["attributes"] == []


class TestDeleteProduct:
    async def test_by_id_deletes_it_and_its_skus(self, api):
        product = await create_product(api)
        sku = await create_sku(api, product["id"], sourceId="shirt-s")
        other = await create_product(api, name="Other")

        payload = await mutate(api, DELETE_PRODUCT, id=product["id"])

        assert payload == {"deletedId": product["id"], "errors": []}
        assert (await api(PRODUCT_QUERY, id=product["id"]))["product"] is None
        assert (await api(SKU_QUERY, id=sku["id"]))["sku"] is None
        assert await total_count(api, "products") == 1
        assert await total_count(api, "skus") == 0
        assert (await api(PRODUCT_QUERY, id=other["id"]))["product"]["id"] == other["id"]

    async def test_by_source_id(self, api):
        product = await create_product(api, sourceId="gone")

        payload = await mutate(api, DELETE_PRODUCT, sourceId="gone")

        assert payload == {"deletedId": product["id"], "errors": []}
        assert await total_count(api, "products") == 0

    async def test_twice_is_not_found(self, api):
        product = await create_product(api)
        await mutate(api, DELETE_PRODUCT, id=product["id"])

        payload = await mutate(api, DELETE_PRODUCT, id=product["id"])

        assert payload["deletedId"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("not_found", ["id"])]


class TestSku:
    async def test_create_and_read(self, api):
        product = await create_product(api, name="Shirt", price=2500)

        sku = await create_sku(
            api, product["id"], sourceId="shirt-red-m", sku="Red M", price=2700,
            attributes={"color": "red", "size": "M"}, metadata={"stock": 3},
        )

        assert sku["id"].startswith("sku_")
        assert sku["productId"] == product["id"]
        assert (sku["sourceId"], sku["sku"], sku["price"]) == ("shirt-red-m", "Red M", 2700)
        assert sku["attributes"] == {"color": "red", "size": "M"}
        assert sku["metadata"] == {"stock": 3}
        by_source = (await api(SKU_QUERY, sourceId="shirt-red-m"))["sku"]
        assert by_source["id"] == sku["id"]
        assert by_source["product"] == {"id": product["id"], "name": "Shirt"}

    async def test_product_lists_its_skus_oldest_first(self, api):
        product = await create_product(api)
        first = await create_sku(api, product["id"], sku="S", price=100)
        second = await create_sku(api, product["id"], sku="M", price=200)

        stored = (await api(PRODUCT_QUERY, id=product["id"]))["product"]

        assert stored["skus"] == [
            {"id": first["id"], "sku": "S", "price": 100},
            {"id": second["id"], "sku": "M", "price": 200},
        ]

    async def test_list_of_one_product(self, api):
        shirt = await create_product(api, name="Shirt")
        mug = await create_product(api, name="Mug")
        s1 = await create_sku(api, shirt["id"])
        s2 = await create_sku(api, shirt["id"])
        await create_sku(api, mug["id"])

        data = await api(
            "query($p: ID) { skus(productId: $p) { totalCount edges { node { id } } } }",
            p=shirt["id"],
        )

        assert data["skus"]["totalCount"] == 2
        assert [e["node"]["id"] for e in data["skus"]["edges"]] == [s2["id"], s1["id"]]
        assert await total_count(api, "skus") == 3

    async def test_update_by_id_and_by_source_id(self, api):
        product = await create_product(api)
        sku = await create_sku(api, product["id"], sourceId="s1", price=100)

        by_id = await mutate(api, UPDATE_SKU, id=sku["id"], price=150, sku="Blue")
        by_source = await mutate(api, UPDATE_SKU, sourceId="s1", attributes={"size": "L"})

        assert by_id["errors"] == [] and by_source["errors"] == []
        stored = (await api(SKU_QUERY, id=sku["id"]))["sku"]
        assert (stored["price"], stored["sku"], stored["attributes"]) == (
            150, "Blue", {"size": "L"}
        )

    async def test_null_attributes_clear_them(self, api):
        product = await create_product(api)
        sku = await create_sku(api, product["id"], attributes={"size": "L"})

        payload = await mutate(api, UPDATE_SKU, id=sku["id"], attributes=None)

        assert payload["errors"] == []
        assert payload["sku"]["attributes"] == {}

    async def test_delete_by_id_and_by_source_id(self, api):
        product = await create_product(api)
        a = await create_sku(api, product["id"])
        b = await create_sku(api, product["id"], sourceId="b")

        by_id = await mutate(api, DELETE_SKU, id=a["id"])
        by_source = await mutate(api, DELETE_SKU, sourceId="b")

        assert by_id == {"deletedId": a["id"], "errors": []}
        assert by_source == {"deletedId": b["id"], "errors": []}
        assert await total_count(api, "skus") == 0
        assert await total_count(api, "products") == 1


class TestQueryCount:
    LIST = "{ products(first: 50) { totalCount edges { node { id skus { id product { id } } } } } }"

    async def test_listing_products_with_skus_is_not_n_plus_1(self, make_tenant, sql_statements):
        small, large = await make_tenant("Small"), await make_tenant("Large")
        for tenant, count in ((small, 1), (large, 12)):
            for i in range(count):
                product = await create_product(tenant.api, name=f"P{i}")
                await create_sku(tenant.api, product["id"])
                await create_sku(tenant.api, product["id"])

        sql_statements.clear()
        one = await small.api(self.LIST)
        for_one = len(sql_statements)
        sql_statements.clear()
        many = await large.api(self.LIST)
        for_many = len(sql_statements)

        assert len(one["products"]["edges"]) == 1 and len(many["products"]["edges"]) == 12
        assert all(len(e["node"]["skus"]) == 2 for e in many["products"]["edges"])
        assert for_one == 4, sql_statements  # page, count, SKUs in one batch, their products
        assert for_many == for_one, sql_statements
