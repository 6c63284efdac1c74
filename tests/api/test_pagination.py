"""Relay connections: keyset pages, newest first, totalCount, page-size and cursor checks."""

from __future__ import annotations

import base64

import pytest
from factories import create_category, create_customer, create_order, create_product

PAGE = """query($first: Int, $after: String) {
  products(first: $first, after: $after) {
    totalCount
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


class TestProductPages:
    async def test_three_pages_of_ten(self, api):
        made = [(await create_product(api, name=f"P{i:02}"))["id"] for i in range(25)]

        pages = []
        after = None
        while True:
            data = (await api(PAGE, first=10, after=after))["products"]
            pages.append(data)
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
            assert len(pages) < 5, "pagination does not end"

        assert [len(p["edges"]) for p in pages] == [10, 10, 5]
        seen = [e["node"]["id"] for p in pages for e in p["edges"]]
        assert seen == list(reversed(made))  # newest first, no duplicates, no gaps
        assert [p["totalCount"] for p in pages] == [25, 25, 25]
        assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
        assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
        for page in pages:
            assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]

    async def test_exact_multiple_has_no_empty_next_page(self, api):
        for i in range(4):
            await create_product(api, name=f"P{i}")

        first = (await api(PAGE, first=2))["products"]
        second = (await api(PAGE, first=2, after=first["pageInfo"]["endCursor"]))["products"]

        assert first["pageInfo"]["hasNextPage"] is True
        assert len(second["edges"]) == 2
        assert second["pageInfo"]["hasNextPage"] is False

    async def test_default_page_is_twenty(self, api):
        for i in range(21):
            await create_product(api, name=f"P{i}")

        data = (await api(PAGE))["products"]

        assert len(data["edges"]) == 20
        assert data["pageInfo"]["hasNextPage"] is True
        assert data["totalCount"] == 21

    async def test_first_zero_and_first_hundred(self, api):
        await create_product(api)

        none = (await api(PAGE, first=0))["products"]
        all_ = (await api(PAGE, first=100))["products"]

        assert none["edges"] == [] and none["pageInfo"]["hasNextPage"] is True
        assert none["pageInfo"]["endCursor"] is None
        assert len(all_["edges"]) == 1 and all_["pageInfo"]["hasNextPage"] is False

    async def test_empty_list(self, api):
        data = (await api(PAGE, first=10))["products"]

        assert data == {
            "totalCount": 0, "edges": [],
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                         "startCursor": None, "endCursor": None},
        }


class TestOtherConnections:
    @pytest.mark.parametrize(
        ("connection", "make"),
        [
            ("categories", lambda api, i: create_category(api, name=f"C{i}")),
            ("customers", lambda api, i: create_customer(api, sourceId=f"c{i}")),
            ("orders", lambda api, i: create_order(api, amount=i)),
        ],
    )
    async def test_two_pages(self, api, connection, make):
        made = [(await make(api, i))["id"] for i in range(5)]
        query = (
            f"query($after: String) {{ {connection}(first: 3, after: $after) {{ totalCount "
            "edges { node { id } } pageInfo { hasNextPage endCursor } } }"
        )

        first = (await api(query))[connection]
        second = (await api(query, after=first["pageInfo"]["endCursor"]))[connection]

        ids = [e["node"]["id"] for e in first["edges"] + second["edges"]]
        assert ids == list(reversed(made))
        assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (
            True, False
        )
        assert first["totalCount"] == second["totalCount"] == 5


class TestBadPageArguments:
    @pytest.mark.parametrize("first", [101, 1000, -1])
    async def test_page_size_out_of_range(self, api, first):
        errors = await api.errors(PAGE, first=first)

        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
        assert errors[0]["extensions"]["reason"] == "invalid_page_size"
        assert errors[0]["extensions"]["field"] == ["first"]

    @pytest.mark.parametrize(
        "after",
        ["garbage", "", "!!!", base64.urlsafe_b64encode(b"prod_short").decode(),
         base64.urlsafe_b64encode(b"\xff\xfe").decode()],
    )
    async def test_garbage_cursor(self, api, after):
        await create_product(api)

        errors = await api.errors(PAGE, first=10, after=after)

        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
        assert errors[0]["extensions"]["reason"] == "invalid_cursor"

    async def test_bad_arguments_on_every_list(self, api):
        for connection in ("skus", "productCollections", "categories", "customers", "orders"):
            too_big = await api.errors(f"{{ {connection}(first: 101) {{ totalCount }} }}")
            garbage = await api.errors(f'{{ {connection}(after: "x") {{ totalCount }} }}')

            assert too_big[0]["extensions"]["code"] == "BAD_USER_INPUT", connection
            assert garbage[0]["extensions"]["code"] == "BAD_USER_INPUT", connection

    async def test_bad_arguments_on_collection_products(self, api):
        collection = await api(
            'mutation { createProductCollection(input: {name: "C"}) '
            "{ productCollection { id } } }"
        )
        cid = collection["createProductCollection"]["productCollection"]["id"]

        errors = await api.errors(
            "query($id: ID!) { productCollection(id: $id) { products(first: 500) "
            "{ totalCount } } }", id=cid,
        )

        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert errors[0]["path"] == ["productCollection", "products"]
