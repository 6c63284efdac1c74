"""Fuzzing the endpoint: random bytes, random JSON, GraphQL-looking text and random operations
built from the schema, with a secret, a publishable, a bogus or no key. No answer may be a
server error, and every refusal has the GraphQL error shape.

Bounded and derandomized (the same examples on every run), a few hundred requests per test.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.schema import build_schema

SCHEMA = build_schema()._schema
FUZZ = settings(
    max_examples=250, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)
KEYS = st.sampled_from(["secret", "publishable", "bogus", None])


def key_of(tenant: Any, which: str | None) -> str | None:
    return {"secret": tenant.secret_key, "publishable": tenant.publishable_key,
            "bogus": "sk_" + "x" * 43, None: None}[which]


def check(response: Any) -> dict[str, Any]:
    """The properties every answer of /graphql has."""
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert isinstance(body, dict), body
    if response.status_code != 200 or body.get("errors"):
        assert isinstance(body["errors"], list) and body["errors"], body
        for error in body["errors"]:
            assert isinstance(error["message"], str) and error["message"], body
            assert isinstance(error["extensions"]["code"], str), body
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", body
    if response.status_code != 200:
        assert body["data"] is None
    else:
        assert "data" in body
    return body


async def send(client: Any, tenant: Any, which: str | None, body: bytes,
               content_type: str = "application/json") -> dict[str, Any]:
    headers = {"content-type": content_type}
    key = key_of(tenant, which)
    if key:
        headers["authorization"] = f"Bearer {key}"
    return check(await client.post("/graphql", content=body, headers=headers))


# --- raw bodies -----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)
NAMES = sorted({
    *SCHEMA.query_type.fields, *SCHEMA.mutation_type.fields,  # type: ignore[union-attr]
    "edges", "node", "id", "name", "input", "first", "after", "totalCount", "Query",
    "Mutation", "__schema", "__type", "__typename", "types", "fields", "ofType",
})
GRAPHQL_TOKENS = st.sampled_from([
    *NAMES, "{", "}", "(", ")", ":", "...", "on", "fragment", "query", "mutation",
    "subscription", "$v", "$i", "@include(if: true)", "@skip(if: $v)", "[", "]", "1", "-1",
    "1.5", '"x"', "true", "null", "VOUCHER", "F", "...F", "fragment F on Query", "a:", "#c\n",
    "\"\"\"block\"\"\"", "\\u0000", "!", "=", "|", "&",
])
GRAPHQLISH = st.lists(GRAPHQL_TOKENS, max_size=60).map(" ".join)
DOCUMENTS = st.one_of(GRAPHQLISH, st.text(max_size=200),
                      st.text(alphabet=string.printable, max_size=200))
REQUESTS = st.fixed_dictionaries(
    {"query": st.one_of(DOCUMENTS, JSON_VALUES)},
    optional={"variables": JSON_VALUES, "operationName": st.one_of(st.none(), st.text(
        max_size=10), st.integers()), "extensions": JSON_VALUES},
)


@st.composite
def raw_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "request", "broken request"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    encoded = json.dumps(draw(REQUESTS)).encode()
    if kind == "request":
        return encoded
    cut = draw(st.integers(0, len(encoded)))
    return encoded[:cut] + draw(st.binary(max_size=8)) + encoded[cut:]


class TestRawBodies:
    @FUZZ
    @given(body=raw_bodies(), which=KEYS,
           content_type=st.sampled_from(["application/json", "application/json",
                                         "application/json; charset=utf-8", "text/plain"]))
    async def test_no_body_breaks_the_server(self, client, tenant, body, which, content_type):
        await send(client, tenant, which, body, content_type)


# --- operations built from the schema --------------------------------------------------------

SCALARS: dict[str, st.SearchStrategy[str]] = {
    "Int": st.integers(-3, 120).map(str),
    # Money: ordinary values, the 32-bit edge, and both sides of 2^53 - 1.
    "SafeInt": st.one_of(
        st.integers(-3, 100_000),
        st.sampled_from([2**31 - 1, 2**31, 2**53 - 1, 2**53, -(2**53), 10**30]),
    ).map(str),
    "Float": st.floats(-10, 1000, allow_nan=False).map(lambda f: repr(round(f, 2))),
    "String": st.one_of(st.text(max_size=12), st.sampled_from(["WALK", "x", "", "prod_1"])).map(
        json.dumps),
    "ID": st.sampled_from(['"x"', '"prod_01ARZ3NDEKTSV4RRFFQ69G5FAV"', '"camp_1"', '""']),
    "Boolean": st.sampled_from(["true", "false"]),
    "DateTime": st.sampled_from(['"2026-01-01T00:00:00+00:00"', '"yesterday"']),
    "Date": st.sampled_from(['"2000-02-29"', '"2000-13-01"']),
    "JSON": st.sampled_from(['{a: 1}', "[1, 2]", '"s"', "null", '{nested: {deeper: [true]}}']),
}


@st.composite
def literal(draw: st.DrawFn, type_: GraphQLInputType, depth: int = 0) -> str:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    elif draw(st.integers(0, 9)) == 0:
        return "null"
    if isinstance(type_, GraphQLList):
        items = draw(st.lists(literal(type_.of_type, depth + 1), max_size=2 if depth < 3 else 0))
        return "[" + ", ".join(items) + "]"
    if isinstance(type_, GraphQLEnumType):
        return draw(st.sampled_from(sorted(type_.values)))
    if isinstance(type_, GraphQLInputObjectType):
        parts = []
        for name, field in sorted(type_.fields.items()):
            required = isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
            if required or (depth < 3 and draw(st.integers(0, 3)) == 0):
                parts.append(f"{name}: {draw(literal(field.type, depth + 1))}")
        return "{" + ", ".join(parts) + "}"
    assert isinstance(type_, GraphQLScalarType)
    return draw(SCALARS.get(type_.name, SCALARS["String"]))


@st.composite
def selection(draw: st.DrawFn, type_: GraphQLObjectType, depth: int) -> str:
    names = sorted(type_.fields)
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    parts = []
    for number, name in enumerate(chosen):
        field = type_.fields[name]
        arguments = []
        for arg_name, arg in sorted(field.args.items()):
            required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            if required or draw(st.integers(0, 3)) == 0:
                arguments.append(f"{arg_name}: {draw(literal(arg.type))}")
        text = name + (f"({', '.join(arguments)})" if arguments else "")
        if draw(st.integers(0, 5)) == 0:
            text = f"a{number}: {text}"
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType):
            sub = draw(selection(inner, depth + 1)) if depth < 5 else "__typename"
            if draw(st.integers(0, 4)) == 0:
                sub = f"... on {inner.name} {{ {sub} }}"
            text += f" {{ {sub} }}"
        elif not isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            text += " { __typename }"  # interfaces and unions
        parts.append(text)
    if draw(st.integers(0, 6)) == 0:
        parts.append("__typename")
    return " ".join(parts)


@st.composite
def operations(draw: st.DrawFn) -> str:
    root = draw(st.sampled_from([SCHEMA.query_type, SCHEMA.query_type, SCHEMA.mutation_type]))
    assert root is not None
    body = draw(selection(root, 0))
    kind = "mutation" if root is SCHEMA.mutation_type else "query"
    if draw(st.integers(0, 3)) == 0:  # the same selections through a fragment
        return f"{kind} {{ ...R }} fragment R on {root.name} {{ {body} }}"
    return f"{kind} {{ {body} }}"


class TestSchemaOperations:
    @FUZZ
    @given(query=operations(), which=st.sampled_from(["secret", "secret", "publishable", None]))
    async def test_no_operation_breaks_the_server(self, client, tenant, query, which):
        body = await send(client, tenant, which, json.dumps({"query": query}).encode())

        codes = {e["extensions"]["code"] for e in body.get("errors") or ()}
        if codes & {"FORBIDDEN", "UNAUTHENTICATED"}:
            assert body["data"] is None  # refused before anything ran


STACK_INPUT = {"redeemables": [{"object": "VOUCHER", "id": "ANY"}]}
VALIDATE = "query($i: StackInput!) { validateStack(input: $i) { valid } }"
REDEEM = "mutation($i: RedeemStackInput!) { redeemStack(input: $i) { errors { code } } }"
QUALIFY = "query($i: QualificationInput!) { qualifications(input: $i) { totalCount } }"
ITEM = {"sourceId": "tee", "quantity": 1, "price": 100}


class TestFoundByTheFuzzer:
    """Metadata that is not a JSON object reached `dict(...)` in the stack services: a masked
    TypeError (INTERNAL_SERVER_ERROR) on redeemStack and qualifications."""

    @pytest.mark.parametrize(("query", "extra", "field"), [
        (VALIDATE, {"metadata": [1, 2]}, ["metadata"]),
        (REDEEM, {"metadata": [1, 2]}, ["metadata"]),
        (REDEEM, {"order": {"metadata": "s"}}, ["order", "metadata"]),
        (REDEEM, {"customer": {"sourceId": "c", "metadata": 5}}, ["customer", "metadata"]),
        (REDEEM, {"order": {"items": [ITEM, {**ITEM, "metadata": [1]}]}},
         ["order", "items", "1", "metadata"]),
    ])
    async def test_stack_metadata_must_be_an_object(self, tenant, query, extra, field):
        errors = await tenant.api.errors(query, i={**STACK_INPUT, **extra})

        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [
            ("invalid_payload", field)
        ]
        written = await tenant.api("{ redemptions { totalCount } customers { totalCount } }")
        assert written == {"redemptions": {"totalCount": 0}, "customers": {"totalCount": 0}}

    @pytest.mark.parametrize(("extra", "field"), [
        ({"metadata": [1, 2]}, ["metadata"]),
        ({"customer": {"sourceId": "c", "metadata": 5}}, ["customer", "metadata"]),
        ({"order": {"items": [{**ITEM, "metadata": "s"}]}}, ["order", "items", "0", "metadata"]),
    ])
    async def test_qualification_metadata_must_be_an_object(self, tenant, extra, field):
        errors = await tenant.api.errors(QUALIFY, i=extra)

        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [
            ("invalid_payload", field)
        ]
