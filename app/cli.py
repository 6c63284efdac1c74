"""`promogate` command line: serve, migrate, projects, keys, schema."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.db import migrate as migrations
from app.db.projects import KeyKind
from app.db.session import Database
from app.services import projects
from app.services.errors import ServiceError
from app.settings import Settings, get_settings

cli = typer.Typer(help="Promogate: a self-hosted promotion engine served as a GraphQL API.",
                  no_args_is_help=True)
projects_cli = typer.Typer(help="Manage projects (tenants).", no_args_is_help=True)
keys_cli = typer.Typer(help="Manage API keys.", no_args_is_help=True)
cli.add_typer(projects_cli, name="projects")
cli.add_typer(keys_cli, name="keys")
console = Console()
WORKER_HEALTHCHECK_SECONDS = 30


def _table(*columns: str) -> Table:
    # Ids must be copyable whole: wrap long cells instead of cutting them with an ellipsis.
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _run(coro_fn, settings: Settings):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        db = Database.from_url(settings.database_url, pool_size=0)
        try:
            return await coro_fn(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except ServiceError as exc:
        for error in exc.errors:
            console.print(f"[red]error[/red] {error.code}: {error.message}")
        raise typer.Exit(1) from exc


def _bootstrap(settings: Settings) -> None:
    migrations.upgrade(settings.database_url)
    result = _run(
        lambda db: projects.ensure_sandbox(
            db,
            currency=settings.default_currency,
            time_zone=settings.default_time_zone,
            secret_key=settings.sandbox_secret_key,
            publishable_key=settings.sandbox_publishable_key,
        ),
        settings,
    )
    if result.created:
        console.print(f"Created the [bold]Sandbox[/bold] project {result.project.id}.")
        console.print("Its keys are shown [bold]once[/bold]; store them now:")
        for issued in result.keys:
            console.print(f"  {issued.key.kind:12} {issued.raw}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int | None, typer.Option(
        help="worker processes on the one port (default PROMOGATE_WORKERS, else 1)")] = None,
    migrate: Annotated[bool, typer.Option(help="migrate the database first")] = True,
) -> None:
    """Migrate the database, create the Sandbox project on first run, and serve the API."""
    import uvicorn

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if migrate:
        _bootstrap(settings)
    workers = workers or settings.workers
    if workers < 1:
        console.print("[red]error[/red] --workers must be at least 1")
        raise typer.Exit(2)
    host, port = host or settings.host, port or settings.port
    console.print(f"GraphQL at http://{host}:{port}/graphql"
                  + (" (GraphiQL in a browser)" if settings.graphiql else "")
                  + (f", {workers} worker processes" if workers > 1 else ""))
    # uvicorn's own multi-process mode: the parent binds the socket once and supervises N
    # children that each build the app from the factory (restarting any that dies); the
    # kernel spreads connections over them. Work that must run once is held by one process
    # through a lease (app/events/runtime.py), on SQLite as on PostgreSQL. A new child
    # imports the whole app before it can answer the supervisor's health pings; uvicorn's
    # default 5 s is shorter than that on a busy small machine, and the supervisor would
    # kill every child before it starts, so allow 30 s.
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level, proxy_headers=True,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)


@cli.command()
def worker() -> None:
    """Deliver webhooks (and bus events) without serving the API; run as many as you like."""
    from app.events.worker import run_worker
    from app.services import inbound

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    console.print("Delivering events; Ctrl-C to stop.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings, inbound=inbound.handle))


@cli.command()
def migrate() -> None:
    """Apply every pending migration; create the Sandbox project on an empty database."""
    _bootstrap(get_settings())
    console.print("Database is up to date.")


@cli.command()
def schema(
    output: Annotated[Path | None, typer.Option(help="write to this file")] = None,
) -> None:
    """Print (or write) the GraphQL SDL."""
    from app.api.schema import export_sdl

    sdl = export_sdl()
    if output:
        output.write_text(sdl)
    else:
        typer.echo(sdl, nl=False)


@projects_cli.command("create")
def projects_create(
    name: Annotated[str, typer.Option(help="project name")],
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code")] = None,
    time_zone: Annotated[str | None, typer.Option(help="IANA time zone")] = None,
) -> None:
    """Create a project with one secret and one publishable key."""
    settings = get_settings()

    async def run(db: Database):  # type: ignore[no-untyped-def]
        project = await projects.create_project(
            db, name=name, currency=currency or settings.default_currency,
            time_zone=time_zone or settings.default_time_zone,
        )
        keys = [await projects.create_key(db, project.id, kind) for kind in KeyKind]
        return project, keys

    project, keys = _run(run, settings)
    console.print(f"Created project {project.id} ({project.name}). Keys, shown once:")
    for issued in keys:
        console.print(f"  {issued.key.kind:12} {issued.raw}")


@projects_cli.command("list")
def projects_list() -> None:
    """List projects."""
    rows = _run(projects.list_projects, get_settings())
    table = _table("id", "name", "currency", "time zone", "sandbox")
    for p in rows:
        table.add_row(p.id, p.name, p.currency, p.time_zone, "yes" if p.is_sandbox else "")
    console.print(table)


@keys_cli.command("create")
def keys_create(
    project: Annotated[str, typer.Option(help="project id (proj_…)")],
    kind: Annotated[KeyKind, typer.Option(help="secret or publishable")] = KeyKind.SECRET,
    name: Annotated[str | None, typer.Option(help="a label")] = None,
) -> None:
    """Create an API key; its value is printed once."""
    issued = _run(lambda db: projects.create_key(db, project, kind, name=name), get_settings())
    console.print(f"{issued.key.id}  {issued.raw}")


@keys_cli.command("list")
def keys_list(
    project: Annotated[str | None, typer.Option(help="only this project's keys")] = None,
) -> None:
    """List keys (their hints, never their values)."""
    rows = _run(lambda db: projects.list_keys(db, project), get_settings())
    table = _table("id", "project", "kind", "name", "hint", "created", "revoked")
    for k in rows:
        table.add_row(k.id, k.project_id, k.kind, k.name or "", k.hint + "…",
                      k.created_at.isoformat(timespec="seconds"),
                      k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "")
    console.print(table)


@keys_cli.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="key id (key_…)")]) -> None:
    """Revoke a key; it stops working at once."""
    key = _run(lambda db: projects.revoke(db, None, key_id), get_settings())
    console.print(f"Revoked {key.id}.")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
