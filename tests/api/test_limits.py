"""Document limits: one linear pass over the document measures depth, aliases, expanded fields,
cost and repeated fields before anything is validated or runs (app/api/limits.py, gate.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from graphql import DocumentNode, get_introspection_query, parse

from app.api import client_fields
from app.api.auth import root_fields
from app.api.gate import INTROSPECTION_CACHE, KEYLESS_MAX_TOKENS, _parse, _validate
from app.api.limits import Analysis, QueryLimits, analyse, operation_of
from app.api.schema import build_schema
from app.main import create_app
from tests.conftest import Api

SCHEMA = build_schema()._schema
WIDE = QueryLimits(max_depth=10**6, max_aliases=10**12, max_fields=10**12, max_cost=10**15,
                   max_repeats=10**6)


def fan_out(levels: int, width: int = 10) -> str:
    """The issue's reproducer: fragment F<i> spreads F<i+1> `width` times; the last one selects
    __typename. Expanded, the operation has width ** (levels - 1) fields."""
    def body(i: int) -> str:
        if i == levels - 1:
            return "__typename"
        return " ".join(f"...F{i + 1}" for _ in range(width))

    fragments = " ".join(f"fragment F{i} on Query{{ {body(i)} }}" for i in range(levels))
    return "query{...F0} " + fragments


def measure(
    query: str, limits: QueryLimits = WIDE, variables: dict[str, Any] | None = None,
    may_read: Callable[..., bool] | None = None,
) -> Analysis:
    document: DocumentNode = parse(query)
    operation = operation_of(document, None)
    assert operation is not None
    return analyse(SCHEMA, document, operation, limits, variables, may_read)


class TestAnalysis:
    def test_depth_counts_nesting_below_the_root(self):
        result = measure("{ products { edges { node { skus { id } } } } }")

        assert result.depth == 4

    def test_depth_through_fragments_and_inline_fragments(self):
        result = measure(
            "{ products { ...E } } fragment E on ProductConnection { edges { ... on "
            "ProductEdge { node { ...N } } } } fragment N on Product { skus { id } }"
        )

        assert result.depth == 4

    def test_introspection_does_not_count_for_depth(self):
        result = measure("{ __schema { types { fields { type { ofType { name } } } } } }")

        assert result.depth == 0

    def test_aliases_count_every_expansion(self):
        result = measure(
            "{ ...F ...G } fragment F on Query { a: __typename b: __typename } "
            "fragment G on Query { ...F c: __typename }"
        )

        assert (result.aliases, result.fields) == (5, 5)

    @pytest.mark.parametrize(("levels", "fields"), [(8, 10**7), (10, 10**9)])
    def test_the_reproducer_is_measured_without_expanding(self, levels, fields):
        result = measure(fan_out(levels))

        assert result.fields == fields
        assert result.cost == fields
        assert result.root_fields == {"__typename"}

    def test_counts_stop_just_above_their_limit(self):
        limits = QueryLimits(max_depth=12, max_aliases=30, max_fields=2000, max_cost=100_000,
                             max_repeats=20)

        result = measure(fan_out(10), limits)

        assert (result.fields, result.cost) == (2001, 100_001)
        assert [e.extensions["code"] for e in result.limit_errors(limits)] == [
            "QUERY_TOO_LARGE"
        ]

    @pytest.mark.parametrize(
        ("query", "variables", "cost"),
        [
            # products: 1 + 5 × (edges 1 + node 1 + id 1 + name 1 + totalCount 1)
            ("{ products(first: 5) { edges { node { id name } } totalCount } }", None, 26),
            ("{ products { edges { node { id name } } totalCount } }", None, 501),
            ("query($n: Int) { products(first: $n) { edges { node { id name } } totalCount } }",
             {"n": 7}, 36),
            ("query($n: Int = 3) { products(first: $n) { edges { node { id name } } "
             "totalCount } }", None, 16),
            ("query($n: Int) { products(first: $n) { edges { node { id name } } totalCount } }",
             {"n": "x"}, 501),
            ("{ products(first: 1000) { edges { node { id name } } totalCount } }", None, 501),
            ("{ products(first: -3) { edges { node { id name } } totalCount } }", None, 1),
            # qualifications pages with input.first
            ("{ qualifications(input: {first: 2}) { edges { node { id } } } }", None, 7),
            ("query($i: QualificationInput!) { qualifications(input: $i) { edges { node { id } "
             "} } }", {"i": {"first": 4}}, 13),
            # a plain list counts 10 items: 1 + 1 × (edges 1 + node 1 + skus (1 + 10 × id))
            ("{ products(first: 1) { edges { node { skus { id } } } } }", None, 14),
        ],
    )
    def test_cost(self, query, variables, cost):
        assert measure(query, variables=variables).cost == cost

    def test_repeated_response_keys_through_fragments(self):
        once = measure("{ ...F ...F } fragment F on Query { __typename }")
        thrice = measure(
            "{ __typename ...F ... on Query { __typename } } fragment F on Query { __typename }"
        )
        aliased = measure("{ a: __typename a: __typename b: __typename }")

        assert once.repeats == 1
        assert (thrice.repeats, thrice.repeated_key) == (3, "__typename")
        assert (aliased.repeats, aliased.repeated_key) == (2, "a")

    def test_fragment_cycles_count_nothing_past_the_cycle(self):
        result = measure(
            "{ ...A } fragment A on Query { ...B __typename } fragment B on Query { ...A }"
        )

        assert (result.fields, result.depth) == (1, 0)

    def test_unknown_fields_and_fragments_are_counted_without_a_type(self):
        result = measure("{ ...Nope products { nope { x } } }")

        assert (result.fields, result.depth) == (3, 2)

    def test_a_long_fragment_chain_needs_no_recursion(self):
        chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(2000))
        result = measure("{ ...F0 } " + chain + " fragment F2000 on Query { __typename }")

        assert (result.fields, result.root_fields) == (1, {"__typename"})

    def test_root_fields_through_fragments(self):
        query = ("{ ...F } fragment F on Query { ... on Query { products { totalCount } } "
                 "apiKeys { id } }")

        assert measure(query).root_fields == {"products", "apiKeys"}
        assert root_fields(parse(query), None) == {"products", "apiKeys"}
        assert root_fields(parse(fan_out(10)), None) == {"__typename"}

    def test_fields_a_reader_may_not_read(self):
        reader = client_fields.reader(SCHEMA)

        result = measure(
            'query($i: StackInput!) { validateStack(input: $i) { valid redeemables { campaign '
            '{ name metadata } } } node(id: "x") { id ... on Campaign { redemptionsCount } } }',
            may_read=reader,
        )

        # Node.id: an interface field is readable only if every type behind it allows it
        assert result.forbidden == ["Campaign.metadata", "Campaign.redemptionsCount", "Node.id"]


@asynccontextmanager
async def app_with(settings: Any, db: Any, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=overrides), database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://promogate.test") as c:
        yield c


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


class TestThroughTheApi:
    @pytest.mark.parametrize("levels", [8, 10])
    @pytest.mark.parametrize("who", ["secret", "publishable", "nobody"])
    async def test_the_reproducer_is_refused(self, client, tenant, levels, who):
        key = {"secret": tenant.secret_key, "publishable": tenant.publishable_key,
               "nobody": None}[who]

        response = await Api(client, key).raw(fan_out(levels))

        body = response.json()
        assert response.status_code == 200
        assert body["data"] is None
        assert codes(body) == ["QUERY_TOO_LARGE"]
        assert body["errors"][0]["extensions"]["limit"] == 2000
        assert "2000 fields" in body["errors"][0]["message"]

    async def test_each_limit_has_its_code(self, api):
        deep = "{ products(first: 1) { edges { node { " + "skus { product { " * 5 + "id" \
               + " } }" * 5 + " } } } }"  # id at depth 13 (and too costly too)
        aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
        # 1 + 100 × (edges 1 + node 1 + 1,221 for skus.product.skus.product.skus) = 122,301
        costly = "{ products { edges { node { skus { product { skus { product { skus { id } " \
                 "} } } } } } } }"
        repeated = "{ " + "__typename " * 21 + "}"
        tokens = "{ " + " ".join("__typename" for _ in range(6000)) + " }"

        results = {name: codes((await api.raw(query)).json()) for name, query in [
            ("deep", deep), ("aliases", aliases), ("costly", costly), ("repeated", repeated),
            ("tokens", tokens),
        ]}

        assert results == {
            "deep": ["QUERY_TOO_DEEP"], "aliases": ["TOO_MANY_ALIASES"],
            "costly": ["QUERY_TOO_COSTLY"], "repeated": ["TOO_MANY_REPEATS"],
            "tokens": ["TOO_MANY_TOKENS"],
        }

    async def test_within_the_limits_it_runs(self, api):
        # cost 1 + 100 × (edges 1 + node 1 + skus (1 + 10 × (product 1 + skus (1 + 10))))
        # + 50 = 12,351; 20 repeats; 30 aliases
        data = await api(
            "{ products { edges { node { skus { product { skus { id } } } } } } "
            + "__typename " * 20 + " ".join(f"a{i}: __typename" for i in range(30)) + " }"
        )

        assert data["products"] == {"edges": []}

    async def test_parsing_and_validation_are_cached(self, api):
        query = "{ products(first: 3) { totalCount edges { cursor } } }"
        await api(query)
        parsed, validated = _parse.cache_info().hits, _validate.cache_info().hits

        await api(query)

        assert _parse.cache_info().hits == parsed + 1
        assert _validate.cache_info().hits == validated + 1

    async def test_a_refused_document_is_not_validated(self, api):
        query = "{ nope " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"

        body = (await api.raw(query)).json()

        assert codes(body) == ["TOO_MANY_ALIASES"]

    async def test_an_invalid_document_within_the_limits_is_validated(self, api):
        body = (await api.raw("{ nope }")).json()

        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
        assert "nope" in body["errors"][0]["message"]

    async def test_the_limits_are_settings(self, settings, db, tenant):
        query = "{ products(first: 5) { edges { node { id name } } totalCount } }"  # cost 26
        async with app_with(settings, db, max_query_cost=26) as at_limit, \
                app_with(settings, db, max_query_cost=25) as below, \
                app_with(settings, db, max_query_depth=2) as shallow:
            ok = (await Api(at_limit, tenant.secret_key).raw(query)).json()
            costly = (await Api(below, tenant.secret_key).raw(query)).json()
            deep = (await Api(shallow, tenant.secret_key).raw(query)).json()

        assert ok == {"data": {"products": {"edges": [], "totalCount": 0}}}
        assert codes(costly) == ["QUERY_TOO_COSTLY"]
        assert costly["errors"][0]["extensions"]["limit"] == 25
        assert codes(deep) == ["QUERY_TOO_DEEP"]
        assert deep["errors"][0]["message"] == "'anonymous' exceeds maximum operation depth of 2"

    async def test_variables_set_the_page_size(self, settings, db, tenant):
        query = ("query($n: Int) { products(first: $n) { edges { node { id name } } "
                 "totalCount } }")
        async with app_with(settings, db, max_query_cost=30) as limited:
            small = await Api(limited, tenant.secret_key).raw(query, n=5)  # cost 26
            large = await Api(limited, tenant.secret_key).raw(query, n=6)  # cost 31

        assert small.json() == {"data": {"products": {"edges": [], "totalCount": 0}}}
        assert codes(large.json()) == ["QUERY_TOO_COSTLY"]


class TestWithoutAKey:
    async def test_the_full_introspection_query_works_and_is_remembered(self, client):
        query = get_introspection_query(
            descriptions=True, specified_by_url=True, directive_is_repeatable=True,
            schema_description=True, input_value_deprecation=True,
        )
        INTROSPECTION_CACHE.entries.clear()

        first = await Api(client, None).raw(query)
        again = await Api(client, None).raw(query)

        assert first.status_code == again.status_code == 200
        assert first.json()["data"]["__schema"]["queryType"] == {"name": "Query",
                                                                 "kind": "OBJECT"}
        assert first.json() == again.json()
        assert len(INTROSPECTION_CACHE.entries) == 1

    async def test_data_is_refused_before_validation(self, client):
        response = await Api(client, None).raw("{ nope products { totalCount } }")

        assert response.status_code == 401
        assert codes(response.json()) == ["UNAUTHENTICATED"]

    async def test_a_large_document_is_refused(self, client):
        query = "{ " + "a: __typename " * KEYLESS_MAX_TOKENS + "}"

        response = await Api(client, None).raw(query)

        assert response.status_code == 401
        assert codes(response.json()) == ["UNAUTHENTICATED"]

    async def test_no_field_may_repeat(self, client, api):
        query = "{ __typename __typename }"

        keyless = (await Api(client, None).raw(query)).json()
        keyed = await api(query)

        assert codes(keyless) == ["TOO_MANY_REPEATS"]
        assert keyed == {"__typename": "Query"}

    async def test_with_introspection_off_nothing_is_read(self, settings, db, api):
        async with app_with(settings, db, introspection=False) as closed:
            garbage = await closed.post("/graphql", content=b"\xff" * 10_000,
                                        headers={"content-type": "application/json"})
            introspect = await Api(closed, None).raw("{ __schema { queryType { name } } }")
            keyed = (await Api(closed, api.key).raw("{ __schema { queryType { name } } }"))
            page = await closed.get("/graphql", headers={"accept": "text/html"})

        assert (garbage.status_code, codes(garbage.json())) == (401, ["UNAUTHENTICATED"])
        assert garbage.json()["errors"][0]["message"] == "missing Authorization: Bearer <key> " \
                                                         "header"
        assert (introspect.status_code, codes(introspect.json())) == (401, ["UNAUTHENTICATED"])
        assert set(codes(keyed.json())) == {"GRAPHQL_VALIDATION_FAILED"}
        assert page.status_code == 200 and "graphiql" in page.text.lower()
