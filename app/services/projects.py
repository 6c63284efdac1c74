"""Projects, API keys and authentication of a key into a `Principal`."""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.db import repository
from app.db.ids import new_id
from app.db.projects import (
    ApiKey,
    KeyKind,
    Project,
    find_active_key,
    generate_key,
    hash_key,
    key_hint,
    revoke_key,
)
from app.db.session import Database
from app.engine.error_codes import DUPLICATE_KEY, INVALID_CURRENCY, INVALID_TIME_ZONE
from app.services.errors import Checks, ServiceError, not_found

SANDBOX_NAME = "Sandbox"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a project and the kind of key it used."""

    project_id: str
    key_id: str
    kind: KeyKind
    client_redeem_enabled: bool
    client_publish_enabled: bool

    @property
    def is_secret(self) -> bool:
        return self.kind is KeyKind.SECRET


@dataclass(frozen=True)
class IssuedKey:
    """A key as made: the raw value exists only here and is never stored."""

    key: ApiKey
    raw: str


@dataclass(frozen=True)
class Bootstrap:
    project: Project
    created: bool
    keys: list[IssuedKey]


def _check_project_fields(
    checks: Checks, name: str | None, currency: str | None, time_zone: str | None
) -> None:
    checks.text(name, ["name"], max_length=200)
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        checks.fail(INVALID_CURRENCY, "currency must be a 3-letter ISO 4217 code", ["currency"])
    if time_zone is not None:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            checks.fail(INVALID_TIME_ZONE, f"unknown time zone {time_zone!r}", ["timeZone"])


async def create_project(
    db: Database, *, name: str, currency: str, time_zone: str, is_sandbox: bool = False
) -> Project:
    checks = Checks()
    _check_project_fields(checks, name, currency, time_zone)
    checks.raise_if_any()
    project = Project(
        id=new_id("proj"),
        name=name.strip(),
        currency=currency.upper(),
        time_zone=time_zone,
        is_sandbox=is_sandbox,
        client_redeem_enabled=False,
        client_publish_enabled=False,
    )
    async with db.write() as session:
        session.add(project)
    return project


async def update_project(db: Database, project_id: str, changes: dict[str, object]) -> Project:
    checks = Checks()
    _check_project_fields(
        checks, changes.get("name"), None, changes.get("time_zone")  # type: ignore[arg-type]
    )
    checks.raise_if_any()
    async with db.write() as session:
        project = await session.get(Project, project_id)
        if project is None:
            raise not_found("project", project_id, [])
        for key, value in changes.items():
            setattr(project, key, value.strip() if key == "name" else value)  # type: ignore[union-attr]
        RECENT_KEYS.forget()  # before the commit too: no lookup may store the old project
    RECENT_KEYS.forget()
    return project


async def list_projects(db: Database) -> list[Project]:
    async with db.read() as session:
        return list((await session.execute(sa.select(Project).order_by(Project.id))).scalars())


async def get_project(db: Database, project_id: str) -> Project | None:
    async with db.read() as session:
        return await session.get(Project, project_id)


def _issue(project_id: str, kind: KeyKind, name: str | None, raw: str | None) -> IssuedKey:
    raw = raw or generate_key(kind)
    key = ApiKey(
        id=new_id("key"), project_id=project_id, kind=kind.value, name=name,
        key_hash=hash_key(raw), hint=key_hint(raw),
    )
    return IssuedKey(key=key, raw=raw)


async def create_key(
    db: Database, project_id: str, kind: KeyKind, *, name: str | None = None,
    raw: str | None = None,
) -> IssuedKey:
    checks = Checks()
    checks.text(name, ["name"], max_length=200)
    checks.raise_if_any()
    issued = _issue(project_id, kind, name, raw)
    try:
        async with db.write() as session:
            if await session.get(Project, project_id) is None:
                raise not_found("project", project_id, ["project"])
            session.add(issued.key)
    except IntegrityError as exc:
        raise ServiceError.one(DUPLICATE_KEY, "this key value is already in use", []) from exc
    return issued


async def list_keys(db: Database, project_id: str | None = None) -> list[ApiKey]:
    stmt = sa.select(ApiKey).order_by(ApiKey.id)
    if project_id is not None:
        stmt = stmt.where(ApiKey.project_id == project_id)
    async with db.read() as session:
        return list((await session.execute(stmt)).scalars())


async def revoke(db: Database, project_id: str | None, key_id: str) -> ApiKey:
    async with db.write() as session:
        key = await revoke_key(session, project_id, key_id)
        if key is None:
            raise not_found("API key", key_id, ["id"])
        RECENT_KEYS.forget()  # before the commit too: no lookup may store the key as live
    RECENT_KEYS.forget()
    return key


class _RecentKeys:
    """Keys that authenticated in the last few seconds, per database, so a busy client's
    every request doesn't pay a key lookup (1.2–1.8 ms, more than a trivial query's whole
    execution).

    Revoking a key or changing a project through this process forgets everything at once;
    another process (a second worker, the CLI) is seen when the entry expires. Unknown and
    revoked keys are never remembered. `generation` keeps a lookup that raced a revocation
    from storing what it read before it."""

    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self.by_db: weakref.WeakKeyDictionary[
            Database, OrderedDict[str, tuple[float, Principal]]
        ] = weakref.WeakKeyDictionary()
        self.generation = 0

    def get(self, db: Database, digest: str) -> Principal | None:
        entries = self.by_db.get(db)
        found = entries.get(digest) if entries is not None else None
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del entries[digest]  # type: ignore[union-attr]
            return None
        return found[1]

    def put(self, db: Database, digest: str, principal: Principal, seconds: float,
            generation: int) -> None:
        if generation != self.generation:
            return
        entries = self.by_db.setdefault(db, OrderedDict())
        entries[digest] = (time.monotonic() + seconds, principal)
        entries.move_to_end(digest)
        while len(entries) > self.MAX_KEYS:
            entries.popitem(last=False)

    def forget(self) -> None:
        self.generation += 1
        self.by_db.clear()


RECENT_KEYS = _RecentKeys()


async def authenticate(db: Database, raw: str, *, cache_seconds: float = 0) -> Principal | None:
    """The key's principal, or None for an unknown or revoked key. With `cache_seconds`, a
    key seen that recently is answered from memory (see `_RecentKeys`)."""
    if not raw.startswith(("sk_", "pk_")):
        return None
    digest = hash_key(raw)
    if cache_seconds > 0 and (known := RECENT_KEYS.get(db, digest)) is not None:
        return known
    generation = RECENT_KEYS.generation
    async with db.read() as session:
        found = await find_active_key(session, raw)
    if found is None:
        return None
    key, project = found
    principal = Principal(
        project_id=project.id,
        key_id=key.id,
        kind=KeyKind(key.kind),
        client_redeem_enabled=project.client_redeem_enabled,
        client_publish_enabled=project.client_publish_enabled,
    )
    if cache_seconds > 0:
        RECENT_KEYS.put(db, digest, principal, cache_seconds, generation)
    return principal


async def ensure_sandbox(
    db: Database,
    *,
    currency: str,
    time_zone: str,
    secret_key: str | None = None,
    publishable_key: str | None = None,
) -> Bootstrap:
    """On a database with no project, create the Sandbox and its two keys (once)."""
    async with db.read() as session:
        existing = (
            await session.execute(sa.select(Project).order_by(Project.id).limit(1))
        ).scalar_one_or_none()
    if existing is not None:
        sandbox = await _find_sandbox(db)
        return Bootstrap(project=sandbox or existing, created=False, keys=[])
    project = Project(
        id=new_id("proj"), name=SANDBOX_NAME, currency=currency.upper(), time_zone=time_zone,
        is_sandbox=True, client_redeem_enabled=False, client_publish_enabled=False,
    )
    keys = [
        _issue(project.id, KeyKind.SECRET, "Sandbox secret", secret_key),
        _issue(project.id, KeyKind.PUBLISHABLE, "Sandbox publishable", publishable_key),
    ]
    # Project and keys commit together: a sandbox never exists without its keys.
    async with db.write() as session:
        session.add(project)
        await session.flush()
        session.add_all([issued.key for issued in keys])
    return Bootstrap(project=project, created=True, keys=keys)


async def _find_sandbox(db: Database) -> Project | None:
    async with db.read() as session:
        stmt = sa.select(Project).where(Project.is_sandbox.is_(True))  # type: ignore[attr-defined]
        return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def get_key(db: Database, project_id: str, key_id: str) -> ApiKey | None:
    async with db.read() as session:
        return await repository.get(session, ApiKey, project_id, key_id)
