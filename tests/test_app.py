"""The HTTP surface around GraphQL: health, metrics, GraphiQL, request ids."""

from __future__ import annotations

import httpx

from app.db.session import Database
from app.main import create_app
from app.settings import Settings


async def test_health_answers_when_the_database_does(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


async def test_health_is_503_when_the_database_is_gone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "no-such-dir" / "x.db"
    db = Database.from_url(f"sqlite+aiosqlite:///{missing}")
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{missing}"), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/health")
    await db.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "down"


async def test_metrics_count_requests(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'promogate_http_requests_total{method="GET",path="/health",status="200"}' in (
        response.text
    )


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    mine = await client.get("/health", headers={"X-Request-ID": "req-123"})
    assert mine.headers["x-request-id"] == "req-123"
    made = await client.get("/health")
    assert len(made.headers["x-request-id"]) == 32


async def test_graphiql_is_switchable(settings: Settings, db: Database) -> None:
    for enabled, status in ((True, 200), (False, 404)):
        app = create_app(settings.model_copy(update={"graphiql": enabled}), database=db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            response = await c.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == status
        if enabled:
            assert "graphiql" in response.text.lower()


async def test_introspection_can_be_turned_off(settings: Settings, db: Database) -> None:
    app = create_app(settings.model_copy(update={"introspection": False}), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        body = (await c.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
                ).json()
    assert body.get("data") is None
    assert body["errors"]


async def test_refused_documents_carry_a_code(client: httpx.AsyncClient) -> None:
    syntax = (await client.post("/graphql", json={"query": "{ products {"})).json()
    assert syntax["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    deep = "{ products { edges { node { skus { product { skus { product { skus { product { " \
           "skus { product { skus { product { skus { id } } } } } } } } } } } } } } }"
    refused = (await client.post("/graphql", json={"query": deep})).json()
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
