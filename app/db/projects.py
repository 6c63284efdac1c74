"""Projects (tenants) and their API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from app.db.base import UTCDateTime, created_column, id_column, updated_column, utcnow


class KeyKind(StrEnum):
    SECRET = "secret"
    PUBLISHABLE = "publishable"


KEY_PREFIX = {KeyKind.SECRET: "sk_", KeyKind.PUBLISHABLE: "pk_"}


class Project(SQLModel, table=True):
    __tablename__ = "projects"

    id: str = Field(sa_column=id_column())
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    time_zone: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    is_sandbox: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False, default=False))
    client_redeem_enabled: bool = Field(
        sa_column=sa.Column(sa.Boolean, nullable=False, default=False)
    )
    client_publish_enabled: bool = Field(
        sa_column=sa.Column(sa.Boolean, nullable=False, default=False)
    )
    # Bumped with every change that can alter what qualification offers (app.db.versioning).
    catalog_version: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    # Bumped with every change to products, SKUs and collections (what order lines resolve to).
    products_version: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    name: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    # SHA-256 of the whole key: keys are 256-bit random, so a fast hash is enough.
    key_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    # The first characters, so a person can tell keys apart in a list.
    hint: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    created_at: datetime = Field(sa_column=created_column())
    revoked_at: datetime | None = Field(sa_column=sa.Column(UTCDateTime(), nullable=True))


def generate_key(kind: KeyKind) -> str:
    return KEY_PREFIX[kind] + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def key_hint(raw: str) -> str:
    return raw[:10]


async def find_active_key(session: AsyncSession, raw: str) -> tuple[ApiKey, Project] | None:
    stmt = (
        sa.select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.key_hash == hash_key(raw), ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def revoke_key(session: AsyncSession, project_id: str | None, key_id: str) -> ApiKey | None:
    stmt = sa.select(ApiKey).where(ApiKey.id == key_id)
    if project_id is not None:
        stmt = stmt.where(ApiKey.project_id == project_id)
    key = (await session.execute(stmt)).scalar_one_or_none()
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
