async def test_products_roundtrip(api):
    data = await api(
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id name price } errors { code } } }",
        i={"name": "Shirt", "price": 2500, "sourceId": "shirt"},
    )
    assert data["createProduct"]["errors"] == []
    pid = data["createProduct"]["product"]["id"]
    data = await api("query($id: ID!) { node(id: $id) { id ... on Product { name price } } products { totalCount edges { node { id } } } }", id=pid)
    assert data["node"] == {"id": pid, "name": "Shirt", "price": 2500}
    assert data["products"]["totalCount"] == 1
