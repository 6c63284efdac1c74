"""Test fixtures: every storage test runs on SQLite, and on PostgreSQL when
PROMOGATE_TEST_DATABASE_URL names a server (a fresh database is made there per run).

The schema comes from the real Alembic migrations, never `create_all`. Tests isolate
themselves by tenant: each makes its own project, so no cleanup is needed between tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade_async
from app.db.projects import KeyKind
from app.db.session import Database
from app.main import create_app
from app.services import projects
from app.settings import Settings

PG_URL = os.environ.get("PROMOGATE_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _plain_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database_url(backend: str, directory: Path) -> AsyncIterator[str]:
    """An empty database of the backend, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / f'test-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert PG_URL is not None
    name = f"promogate_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_plain_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(_plain_dsn(PG_URL))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: Any) -> AsyncIterator[str]:
    async with fresh_database_url(request.param, tmp_path_factory.mktemp("db")) as url:
        await upgrade_async(url)
        yield url


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url, pool_size=5)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, graphiql=True, introspection=True)


@pytest.fixture(scope="session")
async def client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://promogate.test") as c:
        yield c


class GraphQLErrors(AssertionError):
    pass


@dataclass
class Api:
    """A storefront's view of the API: one key, GraphQL over HTTP."""

    client: httpx.AsyncClient
    key: str | None

    async def raw(self, query: str, **variables: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        """The `data` of a call that must succeed at the GraphQL level."""
        response = await self.raw(query, **variables)
        body = response.json()
        if body.get("errors"):
            raise GraphQLErrors(body["errors"])
        assert response.status_code == 200, response.text
        return body["data"]

    async def errors(self, query: str, **variables: Any) -> list[dict[str, Any]]:
        body = (await self.raw(query, **variables)).json()
        assert body.get("errors"), body
        return body["errors"]


@dataclass
class Tenant:
    project_id: str
    secret_key: str
    publishable_key: str
    api: Api
    client_api: Api


@pytest.fixture
async def make_tenant(db: Database, client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    async def make(name: str = "Shop") -> Tenant:
        project = await projects.create_project(db, name=name, currency="USD", time_zone="UTC")
        secret = await projects.create_key(db, project.id, KeyKind.SECRET)
        publishable = await projects.create_key(db, project.id, KeyKind.PUBLISHABLE)
        return Tenant(
            project_id=project.id,
            secret_key=secret.raw,
            publishable_key=publishable.raw,
            api=Api(client, secret.raw),
            client_api=Api(client, publishable.raw),
        )

    return make


@pytest.fixture
async def tenant(make_tenant) -> Tenant:  # type: ignore[no-untyped-def]
    return await make_tenant()


@pytest.fixture
def api(tenant: Tenant) -> Api:
    return tenant.api
