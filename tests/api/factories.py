"""Small async factories and GraphQL documents shared by the API tests.

Every factory goes through the HTTP API with the caller's key, asserts the mutation had no
payload errors and returns the object as the API answered it.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

ERRORS = "errors { code message field }"
PRODUCT = "id sourceId name price attributes metadata createdAt updatedAt"
SKU = "id productId sourceId sku price attributes metadata createdAt updatedAt"
COLLECTION = "id name type filter createdAt updatedAt"
CATEGORY = "id name hierarchy stackingRulesType createdAt updatedAt"
CUSTOMER = "id sourceId name email phone birthdate address metadata createdAt updatedAt"
ORDER_ITEM = "index productId skuId sourceId relatedObject quantity price amount metadata"
ORDER = f"id sourceId status amount customerId metadata items {{ {ORDER_ITEM} }}"


def _mutation(name: str, input_type: str, selection: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} {ERRORS} }} }}"
    )


CREATE_PRODUCT = _mutation("createProduct", "CreateProductInput", f"product {{ {PRODUCT} }}")
UPDATE_PRODUCT = _mutation("updateProduct", "UpdateProductInput", f"product {{ {PRODUCT} }}")
DELETE_PRODUCT = _mutation("deleteProduct", "RefInput", "deletedId")
CREATE_SKU = _mutation("createSku", "CreateSkuInput", f"sku {{ {SKU} }}")
UPDATE_SKU = _mutation("updateSku", "UpdateSkuInput", f"sku {{ {SKU} }}")
DELETE_SKU = _mutation("deleteSku", "RefInput", "deletedId")
CREATE_COLLECTION = _mutation(
    "createProductCollection", "CreateProductCollectionInput",
    f"productCollection {{ {COLLECTION} }}",
)
UPDATE_COLLECTION = _mutation(
    "updateProductCollection", "UpdateProductCollectionInput",
    f"productCollection {{ {COLLECTION} }}",
)
DELETE_COLLECTION = _mutation("deleteProductCollection", "RefInput", "deletedId")
CREATE_CATEGORY = _mutation("createCategory", "CreateCategoryInput", f"category {{ {CATEGORY} }}")
UPDATE_CATEGORY = _mutation("updateCategory", "UpdateCategoryInput", f"category {{ {CATEGORY} }}")
DELETE_CATEGORY = _mutation("deleteCategory", "RefInput", "deletedId")
CREATE_CUSTOMER = _mutation(
    "createCustomer", "UpsertCustomerInput", f"customer {{ {CUSTOMER} }} created"
)
UPDATE_CUSTOMER = _mutation(
    "updateCustomer", "UpdateCustomerInput", f"customer {{ {CUSTOMER} }} created"
)
DELETE_CUSTOMER = _mutation("deleteCustomer", "RefInput", "deletedId")
CREATE_ORDER = _mutation("createOrder", "CreateOrderInput", f"order {{ {ORDER} }}")
UPDATE_ORDER = _mutation("updateOrder", "UpdateOrderInput", f"order {{ {ORDER} }}")
DELETE_ORDER = _mutation("deleteOrder", "RefInput", "deletedId")
REVOKE_API_KEY = _mutation(
    "revokeApiKey", "RevokeApiKeyInput", "apiKey { id kind revokedAt }"
)
CREATE_API_KEY = _mutation(
    "createApiKey", "CreateApiKeyInput", "created { key apiKey { id kind } }"
)

# Every top-level list (Relay connection) of the foundation.
LISTS = ("products", "skus", "productCollections", "categories", "customers", "orders")


async def mutate(api: Api, mutation: str, **input_: Any) -> dict[str, Any]:
    """The payload of a one-field mutation (object and `errors`)."""
    data = await api(mutation, input=input_)
    (payload,) = data.values()
    return payload


def error_codes(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    """A payload's errors as (code, field) pairs, in the order given."""
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def _created(api: Api, mutation: str, key: str, **input_: Any) -> dict[str, Any]:
    payload = await mutate(api, mutation, **input_)
    assert payload["errors"] == [], payload["errors"]
    return payload[key]


async def create_product(api: Api, name: str = "Shirt", **fields: Any) -> dict[str, Any]:
    return await _created(api, CREATE_PRODUCT, "product", name=name, **fields)


async def create_sku(api: Api, product_id: str, **fields: Any) -> dict[str, Any]:
    return await _created(api, CREATE_SKU, "sku", productId=product_id, **fields)


async def create_collection(api: Api, name: str = "Picks", **fields: Any) -> dict[str, Any]:
    return await _created(api, CREATE_COLLECTION, "productCollection", name=name, **fields)


async def create_category(api: Api, name: str = "Seasonal", **fields: Any) -> dict[str, Any]:
    return await _created(api, CREATE_CATEGORY, "category", name=name, **fields)


async def create_customer(api: Api, **fields: Any) -> dict[str, Any]:
    return await _created(api, CREATE_CUSTOMER, "customer", **fields)


async def create_order(api: Api, **fields: Any) -> dict[str, Any]:
    return await _created(api, CREATE_ORDER, "order", **fields)


async def total_count(api: Api, connection: str) -> int:
    data = await api(f"{{ {connection} {{ totalCount }} }}")
    return data[connection]["totalCount"]


async def total_counts(api: Api) -> dict[str, int]:
    """totalCount of every top-level list, in one request."""
    query = "{ " + " ".join(f"{name} {{ totalCount }}" for name in LISTS) + " }"
    data = await api(query)
    return {name: data[name]["totalCount"] for name in LISTS}
