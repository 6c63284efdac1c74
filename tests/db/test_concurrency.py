"""Concurrent writers on one key: the database decides, nobody gets a 500 or a duplicate."""

from __future__ import annotations

import asyncio

UPSERT = """mutation($i: UpsertCustomerInput!) {
  createCustomer(input: $i) { created customer { id name } errors { code } }
}"""


async def test_concurrent_upserts_of_one_source_id_make_one_customer(api) -> None:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(*(
        api(UPSERT, i={"sourceId": "same-person", "name": f"writer {n}"}) for n in range(20)
    ))
    payloads = [r["createCustomer"] for r in results]
    assert all(p["errors"] == [] for p in payloads)
    assert sum(p["created"] for p in payloads) == 1
    assert len({p["customer"]["id"] for p in payloads}) == 1

    listed = await api(
        '{ customers(filter: {sourceId: "same-person"}) { totalCount edges { node { name } } } }'
    )
    assert listed["customers"]["totalCount"] == 1
    assert listed["customers"]["edges"][0]["node"]["name"].startswith("writer ")


async def test_concurrent_creates_of_one_product_source_id_admit_one(api) -> None:  # type: ignore[no-untyped-def]
    create = """mutation($i: CreateProductInput!) {
      createProduct(input: $i) { product { id } errors { code field } }
    }"""
    results = await asyncio.gather(*(
        api(create, i={"name": f"P{n}", "sourceId": "sku-1"}) for n in range(12)
    ))
    payloads = [r["createProduct"] for r in results]
    winners = [p for p in payloads if p["product"]]
    assert len(winners) == 1
    assert all(
        p["errors"] == [{"code": "duplicate_source_id", "field": ["sourceId"]}]
        for p in payloads if not p["product"]
    )
    total = await api('{ products(filter: {sourceId: "sku-1"}) { totalCount } }')
    assert total["products"]["totalCount"] == 1
