"""Product collections: STATIC member lists and AUTO_UPDATE filters."""

from __future__ import annotations

from factories import (
    COLLECTION,
    DELETE_COLLECTION,
    UPDATE_COLLECTION,
    create_collection,
    create_product,
    create_sku,
    mutate,
    total_count,
)

RED = {"junction": "and", "metadata.color": {"conditions": {"$is": ["red"]}}}
PRICEY = {"price": {"conditions": {"$more_than": [1000]}}}
COLLECTION_PRODUCTS = f"""query($id: ID!, $first: Int, $after: String) {{
  productCollection(id: $id) {{
    {COLLECTION}
    products(first: $first, after: $after) {{
      totalCount edges {{ node {{ id }} }} pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""


async def members(api, collection_id: str) -> tuple[list[str], int]:
    """The ids of a collection's products (newest first) and its totalCount."""
    data = await api(COLLECTION_PRODUCTS, id=collection_id, first=100)
    products = data["productCollection"]["products"]
    return [e["node"]["id"] for e in products["edges"]], products["totalCount"]


async def catalog(api) -> dict[str, dict]:
    """Four products over the price/color grid, plus unrelated noise."""
    return {
        "red_cheap": await create_product(api, name="Red cap", sourceId="red-cheap",
                                          price=500, metadata={"color": "red"}),
        "red_pricey": await create_product(api, name="Red coat", sourceId="red-pricey",
                                           price=5000, metadata={"color": "red"}),
        "blue_pricey": await create_product(api, name="Blue coat", sourceId="blue-pricey",
                                            price=4000, metadata={"color": "blue"}),
        "edge": await create_product(api, name="Exactly 1000", price=1000,
                                     metadata={"color": "RED"}),
        "unpriced": await create_product(api, name="No price", metadata={"size": "L"}),
    }


class TestStaticCollection:
    async def test_members_by_id_and_source_id(self, api):
        p = await catalog(api)
        sku = await create_sku(api, p["blue_pricey"]["id"], sourceId="blue-pricey-m")

        collection = await create_collection(
            api, name="Picks", type="STATIC",
            products=[
                {"object": "product", "id": p["red_cheap"]["id"]},
                {"object": "product", "sourceId": "red-pricey"},
                {"object": "sku", "sourceId": "blue-pricey-m"},
            ],
        )

        assert collection["id"].startswith("pcol_")
        assert (collection["name"], collection["type"], collection["filter"]) == (
            "Picks", "STATIC", None
        )
        ids, count = await members(api, collection["id"])
        # a SKU member counts its product; newest product first
        assert ids == [p["blue_pricey"]["id"], p["red_pricey"]["id"], p["red_cheap"]["id"]]
        assert count == 3
        assert sku["productId"] == p["blue_pricey"]["id"]

    async def test_sku_by_id_and_duplicates_count_once(self, api):
        p = await catalog(api)
        sku = await create_sku(api, p["edge"]["id"])

        collection = await create_collection(
            api, products=[
                {"object": "sku", "id": sku["id"]},
                {"object": "product", "id": p["edge"]["id"]},
                {"object": "product", "sourceId": "red-cheap"},
                {"object": "product", "id": p["red_cheap"]["id"]},
            ],
        )

        ids, count = await members(api, collection["id"])
        assert ids == [p["edge"]["id"], p["red_cheap"]["id"]]
        assert count == 2

    async def test_empty(self, api):
        await catalog(api)

        collection = await create_collection(api, name="Empty")

        assert collection["type"] == "STATIC"
        assert await members(api, collection["id"]) == ([], 0)

    async def test_update_replaces_members_and_name(self, api):
        p = await catalog(api)
        collection = await create_collection(
            api, products=[{"object": "product", "id": p["red_cheap"]["id"]}]
        )

        payload = await mutate(
            api, UPDATE_COLLECTION, id=collection["id"], name="Coats",
            products=[{"object": "product", "sourceId": "red-pricey"},
                      {"object": "product", "sourceId": "blue-pricey"}],
        )

        assert payload["errors"] == []
        assert payload["productCollection"]["name"] == "Coats"
        ids, count = await members(api, collection["id"])
        assert ids == [p["blue_pricey"]["id"], p["red_pricey"]["id"]]
        assert count == 2

    async def test_deleted_product_leaves_the_collection(self, api):
        p = await catalog(api)
        collection = await create_collection(
            api, products=[{"object": "product", "id": p["red_cheap"]["id"]},
                           {"object": "product", "id": p["edge"]["id"]}],
        )

        await mutate(api, "mutation($input: RefInput!) { deleteProduct(input: $input) "
                          "{ deletedId errors { code } } }", id=p["edge"]["id"])

        assert await members(api, collection["id"]) == ([p["red_cheap"]["id"]], 1)


class TestAutoUpdateCollection:
    async def test_metadata_filter(self, api):
        p = await catalog(api)

        collection = await create_collection(api, name="Red", type="AUTO_UPDATE", filter=RED)

        assert collection["type"] == "AUTO_UPDATE"
        assert collection["filter"] == RED
        ids, count = await members(api, collection["id"])
        # "RED" is not "red"; products without the key are not in
        assert ids == [p["red_pricey"]["id"], p["red_cheap"]["id"]]
        assert count == 2

    async def test_price_filter_is_strict_and_skips_unpriced(self, api):
        p = await catalog(api)

        collection = await create_collection(api, type="AUTO_UPDATE", filter=PRICEY)

        ids, count = await members(api, collection["id"])
        assert ids == [p["blue_pricey"]["id"], p["red_pricey"]["id"]]
        assert count == 2
        assert collection["filter"] == {"junction": "and", **PRICEY}

    async def test_and_of_price_and_metadata(self, api):
        p = await catalog(api)

        collection = await create_collection(
            api, type="AUTO_UPDATE", filter={**RED, **PRICEY}
        )

        assert await members(api, collection["id"]) == ([p["red_pricey"]["id"]], 1)

    async def test_or_junction(self, api):
        p = await catalog(api)

        collection = await create_collection(
            api, type="AUTO_UPDATE", filter={**RED, **PRICEY, "junction": "or"}
        )

        ids, count = await members(api, collection["id"])
        assert ids == [p["blue_pricey"]["id"], p["red_pricey"]["id"], p["red_cheap"]["id"]]
        assert count == 3

    async def test_numeric_metadata_and_text_operators(self, api):
        big = await create_product(api, name="Big box", metadata={"weight": 12})
        await create_product(api, name="Small box", metadata={"weight": 3})
        await create_product(api, name="Text weight", metadata={"weight": "12"})
        await create_product(api, name="Bag", metadata={"weight": 20})

        heavy_boxes = await create_collection(api, type="AUTO_UPDATE", filter={
            "metadata.weight": {"conditions": {"$more_than_equal": [10]}},
            "name": {"conditions": {"$ends_with": ["box"]}},
        })
        named = await create_collection(api, type="AUTO_UPDATE", filter={
            "name": {"conditions": {"$in": ["Bag", "Big box"]}},
        })

        assert await members(api, heavy_boxes["id"]) == ([big["id"]], 1)
        ids, count = await members(api, named["id"])
        assert count == 2 and big["id"] in ids

    async def test_follows_the_catalog(self, api):
        p = await catalog(api)
        collection = await create_collection(api, type="AUTO_UPDATE", filter=PRICEY)

        late = await create_product(api, name="Late", price=1001)
        await mutate(
            api, "mutation($input: UpdateProductInput!) { updateProduct(input: $input) "
                 "{ errors { code } } }", id=p["red_pricey"]["id"], price=999,
        )

        ids, count = await members(api, collection["id"])
        assert ids == [late["id"], p["blue_pricey"]["id"]]
        assert count == 2

    async def test_update_filter(self, api):
        p = await catalog(api)
        collection = await create_collection(api, type="AUTO_UPDATE", filter=PRICEY)

        payload = await mutate(api, UPDATE_COLLECTION, id=collection["id"], filter=RED)

        assert payload["errors"] == []
        assert payload["productCollection"]["filter"] == RED
        ids, _ = await members(api, collection["id"])
        assert ids == [p["red_pricey"]["id"], p["red_cheap"]["id"]]

    async def test_paginates_its_products(self, api):
        made = [await create_product(api, name=f"P{i}", price=2000 + i) for i in range(5)]
        collection = await create_collection(api, type="AUTO_UPDATE", filter=PRICEY)

        first = await api(COLLECTION_PRODUCTS, id=collection["id"], first=3)
        page = first["productCollection"]["products"]
        second = await api(COLLECTION_PRODUCTS, id=collection["id"], first=3,
                           after=page["pageInfo"]["endCursor"])
        rest = second["productCollection"]["products"]

        newest_first = [m["id"] for m in reversed(made)]
        assert [e["node"]["id"] for e in page["edges"]] == newest_first[:3]
        assert page["pageInfo"]["hasNextPage"] is True
        assert [e["node"]["id"] for e in rest["edges"]] == newest_first[3:]
        assert rest["pageInfo"]["hasNextPage"] is False
        assert page["totalCount"] == rest["totalCount"] == 5


class TestCollectionLifecycle:
    async def test_list_and_delete(self, api):
        a = await create_collection(api, name="A")
        b = await create_collection(api, name="B", type="AUTO_UPDATE", filter=PRICEY)

        listed = await api("{ productCollections { totalCount edges { node { id name } } } }")
        payload = await mutate(api, DELETE_COLLECTION, id=a["id"])

        assert listed["productCollections"]["totalCount"] == 2
        assert [e["node"]["id"] for e in listed["productCollections"]["edges"]] == [
            b["id"], a["id"]
        ]
        assert payload == {"deletedId": a["id"], "errors": []}
        assert await total_count(api, "productCollections") == 1
        gone = await api(COLLECTION_PRODUCTS, id=a["id"])
        assert gone["productCollection"] is None
