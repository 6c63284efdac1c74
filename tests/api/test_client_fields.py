"""What a publishable key may read below the client operations (app/api/client_fields.py):
the whole schema walked from the client roots, and the leak the issue reported."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path as FilePath
from typing import Any

import pytest
from factories import create_category, mutate
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_composite_type,
)
from promo_factories import (
    AMOUNT_10,
    CREATE_CAMPAIGN,
    create_campaign,
    create_promotion,
    create_rule,
    create_tier,
)

from app.api.auth import CLIENT_FIELDS, CLIENT_PUBLISH_FIELDS, CLIENT_REDEEM_FIELDS
from app.api.client_fields import CLIENT_READABLE, may_read
from app.api.schema import build_schema

SCHEMA = build_schema()._schema
CART = {"items": [{"sourceId": "tee", "quantity": 2, "price": 3000}]}
# the input each client root is called with (see `world`)
ROOT_INPUTS = {
    "qualifications": "QualificationInput!",
    "validateStack": "StackInput!",
    "redeemStack": "RedeemStackInput!",
    "publishVoucher": "PublishVoucherInput!",
}
Path = tuple[tuple[str, str], ...]  # (parent type, field) from the root down


def client_roots() -> list[tuple[GraphQLObjectType, str]]:
    names = CLIENT_FIELDS | CLIENT_REDEEM_FIELDS | CLIENT_PUBLISH_FIELDS
    roots = []
    for root in (SCHEMA.query_type, SCHEMA.mutation_type):
        assert root is not None
        roots += [(root, name) for name in sorted(names) if name in root.fields]
    return roots


def object_types(named: Any) -> list[GraphQLObjectType]:
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        return list(SCHEMA.get_possible_types(named))
    return [named] if isinstance(named, GraphQLObjectType) else []


def reachable(only_readable: bool) -> dict[str, Path]:
    """Every object type below the client roots with the shortest path to it (through
    readable fields only, or through any field)."""
    paths: dict[str, Path] = {}
    queue: deque[tuple[GraphQLObjectType, Path]] = deque()
    for root, name in client_roots():
        for found in object_types(get_named_type(root.fields[name].type)):
            queue.append((found, ((root.name, name),)))
    while queue:
        type_, path = queue.popleft()
        if type_.name in paths:
            continue
        paths[type_.name] = path
        for name, field in type_.fields.items():
            if only_readable and not may_read(type_.name, name):
                continue
            for found in object_types(get_named_type(field.type)):
                queue.append((found, (*path, (type_.name, name))))
    return paths


def required_arguments(field: GraphQLField) -> list[str]:
    return [n for n, a in field.args.items()
            if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined]


def document(path: Path, leaf: str) -> tuple[str, str]:
    """The operation reading `leaf` at the end of `path`, and its root field."""
    root_type, root_field = path[0]
    inner = leaf
    for _, name in reversed(path[1:]):
        inner = f"{name} {{ {inner} }}"
    kind = "mutation" if root_type == "Mutation" else "query"
    if root_field in ROOT_INPUTS:
        return (f"{kind}($i: {ROOT_INPUTS[root_field]}) {{ {root_field}(input: $i) "
                f"{{ {inner} }} }}", root_field)
    return f"{kind} {{ {root_field} {{ {inner} }} }}", root_field


def selection(type_: GraphQLObjectType, names: list[str]) -> str:
    return " ".join(
        f"{n} {{ __typename }}" if is_composite_type(get_named_type(type_.fields[n].type)) else n
        for n in names
    )


@pytest.fixture
async def world(tenant) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A project where every client root returns real objects for a publishable key."""
    api = tenant.api
    category = await create_category(api, name="Weekly")
    rule = await create_rule(api, name="VIP only", rules=[
        {"name": "customer.metadata", "property": "tier", "conditions": {"$is": ["ASECRET-vip"]}},
    ])
    await create_campaign(
        api, name="Autumn", categoryId=category["id"], metadata={"margin": "secret"},
        voucher={"type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10, "code": "WALK"},
    )
    await create_campaign(api, name="Guarded", validationRuleIds=[rule["id"]], voucher={
        "type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10, "code": "GUARDED"})
    promotion = await create_promotion(api, metadata={"margin": "secret"})
    await create_tier(api, promotion["id"], name="Ten off", banner="Save 10",
                      categoryId=category["id"], validationRuleIds=[rule["id"]])
    bulk = await mutate(api, CREATE_CAMPAIGN, name="Welcome", campaignType="DISCOUNT_COUPONS",
                        type="AUTO_UPDATE", voucher={
                            "type": "DISCOUNT_VOUCHER", "discount": AMOUNT_10,
                            "codeConfig": {"pattern": "HI-####"}})
    assert bulk["errors"] == []
    await api("mutation { updateProject(input: {clientRedeemEnabled: true, "
              "clientPublishEnabled: true}) { errors { code } } }")
    redeemables = [{"object": "VOUCHER", "id": "WALK"}]
    return {
        "qualifications": {"customer": {"sourceId": "walker"}, "order": CART},
        "validateStack": {"redeemables": redeemables, "order": CART,
                          "customer": {"sourceId": "walker"}, "session": {}},
        "redeemStack": {"redeemables": redeemables, "order": CART,
                        "customer": {"sourceId": "walker"}, "session": {}},
        "publishVoucher": {"customer": {"sourceId": "walker"},
                           "campaignId": bulk["campaign"]["id"], "sourceId": "walk-1"},
    }


class TestTheAllowlist:
    def test_every_entry_names_real_fields(self):
        for type_name, (fields, reason) in CLIENT_READABLE.items():
            type_ = SCHEMA.get_type(type_name)
            assert isinstance(type_, GraphQLObjectType), type_name
            assert fields <= set(type_.fields), (type_name, fields - set(type_.fields))
            assert reason

    def test_readable_types_are_exactly_those_reachable_through_readable_fields(self):
        assert set(reachable(only_readable=True)) == set(CLIENT_READABLE)

    def test_the_docs_list_the_same_fields(self):
        docs = (FilePath(__file__).parents[2] / "docs" / "requests.md").read_text()
        rows = re.findall(r"^\| `(\w+)` \| ([\w, ]+) \|(?: ([\w, ]+) \|)?$", docs, re.M)
        listed = {name: (set(readable.split(", ")), set(refused.split(", ")) if refused else set())
                  for name, readable, refused in rows}

        assert set(listed) == set(CLIENT_READABLE)
        for name, (readable, refused) in listed.items():
            type_ = SCHEMA.get_type(name)
            assert isinstance(type_, GraphQLObjectType)
            assert readable == CLIENT_READABLE[name][0], name
            assert refused == set(type_.fields) - readable, name

    def test_no_readable_field_needs_an_argument_a_client_cannot_give(self):
        for type_name in CLIENT_READABLE:
            type_ = SCHEMA.get_type(type_name)
            assert isinstance(type_, GraphQLObjectType)
            for name in CLIENT_READABLE[type_name][0]:
                assert required_arguments(type_.fields[name]) == [], (type_name, name)


class TestWalkingTheSchema:
    async def test_every_field_below_the_client_roots(self, tenant, world):
        """Each readable type is read whole with a publishable key, without an error; every
        other field of every type below the roots is refused FORBIDDEN on its own, naming
        it, and refused requests run nothing (no redemption, no publication)."""
        client = tenant.client_api
        readable = reachable(only_readable=True)
        everything = reachable(only_readable=False)
        before = await self._writes(tenant)
        refused: list[str] = []
        for type_name, path in sorted(everything.items()):
            type_ = SCHEMA.get_type(type_name)
            assert isinstance(type_, GraphQLObjectType)
            for name in sorted(type_.fields):
                if may_read(type_name, name):
                    continue
                assert required_arguments(type_.fields[name]) == [], (type_name, name)
                query, root = document(path, selection(type_, [name]))
                body = (await client.raw(query, **self._variables(world, root))).json()
                assert body["data"] is None, (query, body)
                (error,) = body["errors"]
                assert error["extensions"]["code"] == "FORBIDDEN", (query, body)
                assert f"{type_name}.{name}" in error["extensions"]["fields"], (query, body)
                refused.append(f"{type_name}.{name}")
        assert await self._writes(tenant) == before
        for type_name, path in sorted(readable.items()):
            type_ = SCHEMA.get_type(type_name)
            assert isinstance(type_, GraphQLObjectType)
            names = sorted(CLIENT_READABLE[type_name][0])
            query, root = document(path, selection(type_, names))
            body = (await client.raw(query, **self._variables(world, root))).json()
            assert "errors" not in body, (query, body)
            assert body["data"][root] is not None
        # the walk saw the internals the issue names
        assert {"Campaign.metadata", "Campaign.redemptionsCount", "Rule.conditions",
                "ValidationRule.rules", "PromotionTier.metadata", "Customer.email",
                "Voucher.redemption", "Redemption.rollbacks"} <= set(refused)

    @staticmethod
    def _variables(world: dict[str, Any], root: str) -> dict[str, Any]:
        return {"i": world[root]} if root in world else {}

    @staticmethod
    async def _writes(tenant: Any) -> tuple[int, int]:
        data = await tenant.api("{ redemptions { totalCount } publications { totalCount } }")
        return data["redemptions"]["totalCount"], data["publications"]["totalCount"]


LEAK = """query($i: StackInput!) { validateStack(input: $i) { redeemables { id campaign {
  name metadata redemptionsCount promotionTiers(first: 5) { edges { node { validationRules {
    rules { property conditions } } } } } validationRules { rules { property conditions } }
} } } }"""
ALLOWED = """query($i: StackInput!) { validateStack(input: $i) { valid redeemables { id status
  reason { code validationRuleId } campaign { name category { name } } } } }"""


class TestTheReportedLeak:
    async def test_campaign_internals_are_forbidden_at_any_depth(self, tenant, world):
        response = await tenant.client_api.raw(LEAK, i={
            "redeemables": [{"object": "VOUCHER", "id": "GUARDED"}], "order": CART})

        body = response.json()
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN", "fields": [
            "Campaign.metadata", "Campaign.promotionTiers", "Campaign.redemptionsCount",
            "Campaign.validationRules", "PromotionTier.validationRules", "Rule.conditions",
            "Rule.property", "ValidationRule.rules",
        ]}
        assert error["message"].startswith("a publishable key may not read Campaign.metadata, ")
        assert "ASECRET" not in response.text

    async def test_through_qualifications_and_fragments_too(self, tenant, world):
        query = """query($i: QualificationInput!) { qualifications(input: $i) { edges { node {
          ...Offer } } } } fragment Offer on Qualification { name campaign { ...Inside } }
          fragment Inside on Campaign { ... on Campaign { metadata } }"""

        errors = await tenant.client_api.errors(query, i=world["qualifications"])

        assert [(e["extensions"]["code"], e["extensions"]["fields"]) for e in errors] == [
            ("FORBIDDEN", ["Campaign.metadata"])
        ]

    async def test_the_shopper_view_still_works(self, tenant, world):
        data = await tenant.client_api(ALLOWED, i={
            "redeemables": [{"object": "VOUCHER", "id": "GUARDED"}, {"object": "VOUCHER",
                                                                      "id": "WALK"}],
            "order": CART, "customer": {"sourceId": "walker"}})

        guarded, walk = data["validateStack"]["redeemables"]
        assert data["validateStack"]["valid"] is False
        assert guarded["status"] == "INAPPLICABLE"
        assert guarded["reason"]["code"] == "customer_rules_violated"
        assert guarded["reason"]["validationRuleId"].startswith("val_")
        assert guarded["campaign"] == {"name": "Guarded", "category": None}
        assert walk == {"id": "WALK", "status": "SKIPPED",
                        "reason": {"code": "preceding_validation_failed",
                                   "validationRuleId": None},
                        "campaign": {"name": "Autumn", "category": {"name": "Weekly"}}}

    async def test_a_secret_key_reads_everything(self, tenant, world):
        data = await tenant.api(LEAK, i={
            "redeemables": [{"object": "VOUCHER", "id": "GUARDED"}], "order": CART})

        (result,) = data["validateStack"]["redeemables"]
        assert result["campaign"]["redemptionsCount"] == 0
        assert result["campaign"]["validationRules"] == [{"rules": [
            {"property": "tier", "conditions": {"$is": ["ASECRET-vip"]}}]}]
