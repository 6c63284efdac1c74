"""First start: the Sandbox project with the configured keys, once; and the CLI around it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.db.migrate import upgrade_async
from app.db.session import Database
from app.main import create_app
from app.services import projects
from app.settings import Settings, get_settings
from tests.conftest import BACKENDS, fresh_database_url

SECRET = "sk_test_sandbox_secret_0123456789"
PUBLISHABLE = "pk_test_sandbox_publishable_0123456789"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sandbox_gets_the_configured_keys_once(backend: str, tmp_path: Path) -> None:
    async with fresh_database_url(backend, tmp_path) as url:
        await upgrade_async(url)
        db = Database.from_url(url, pool_size=0)
        try:
            first = await projects.ensure_sandbox(
                db, currency="EUR", time_zone="Europe/Warsaw", secret_key=SECRET,
                publishable_key=PUBLISHABLE,
            )
            again = await projects.ensure_sandbox(
                db, currency="EUR", time_zone="Europe/Warsaw", secret_key=SECRET,
                publishable_key=PUBLISHABLE,
            )
            assert first.created and not again.created
            assert again.project.id == first.project.id
            assert [k.raw for k in first.keys] == [SECRET, PUBLISHABLE]
            assert again.keys == []
            assert len(await projects.list_projects(db)) == 1
            assert len(await projects.list_keys(db)) == 2

            app = create_app(Settings(database_url=url), database=db)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client:
                body = (await client.post(
                    "/graphql",
                    json={"query": "{ project { name currency timeZone isSandbox } }"},
                    headers={"Authorization": f"Bearer {SECRET}"},
                )).json()
            assert body["data"]["project"] == {
                "name": "Sandbox", "currency": "EUR", "timeZone": "Europe/Warsaw",
                "isSandbox": True,
            }
        finally:
            await db.dispose()


def test_cli_migrate_projects_and_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMOGATE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PROMOGATE_SANDBOX_SECRET_KEY", SECRET)
    monkeypatch.delenv("PROMOGATE_SANDBOX_PUBLISHABLE_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "300")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(cli, ["migrate"])
        assert first.exit_code == 0, first.output
        assert SECRET in first.output
        generated = re.search(r"pk_[A-Za-z0-9_\-]{40,}", first.output)
        assert generated, first.output

        second = runner.invoke(cli, ["migrate"])
        assert second.exit_code == 0 and SECRET not in second.output

        made = runner.invoke(cli, ["projects", "create", "--name", "Shop", "--currency", "PLN"])
        assert made.exit_code == 0, made.output
        project_id = re.search(r"proj_\w{26}", made.output).group(0)  # type: ignore[union-attr]

        key = runner.invoke(cli, ["keys", "create", "--project", project_id, "--kind",
                                  "publishable", "--name", "pos"])
        assert key.exit_code == 0, key.output
        key_id = re.search(r"key_\w{26}", key.output).group(0)  # type: ignore[union-attr]

        listed = runner.invoke(cli, ["keys", "list", "--project", project_id])
        assert listed.exit_code == 0 and key_id in listed.output
        # two keys from `projects create`, one more from `keys create`
        assert listed.output.count("key_") == 3

        revoked = runner.invoke(cli, ["keys", "revoke", key_id])
        assert revoked.exit_code == 0, revoked.output
        missing = runner.invoke(cli, ["keys", "revoke", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"])
        assert missing.exit_code == 1 and "not_found" in missing.output

        bad = runner.invoke(cli, ["projects", "create", "--name", "X", "--time-zone", "Mars/Base"])
        assert bad.exit_code == 1 and "invalid_time_zone" in bad.output
    finally:
        get_settings.cache_clear()
