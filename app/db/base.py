"""Shared table machinery: metadata naming convention, portable column types, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Constraint names must be deterministic so Alembic can alter them on both backends
# (SQLite batch mode needs a name to drop a constraint).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
PortableJSON = sa.JSON().with_variant(JSONB(), "postgresql")


def id_column() -> sa.Column[str]:
    return sa.Column("id", sa.String(40), primary_key=True)


def project_column() -> sa.Column[str]:
    return sa.Column(
        "project_id",
        sa.String(40),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def created_column() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime(), nullable=False, default=utcnow)


def updated_column() -> sa.Column[datetime]:
    return sa.Column("updated_at", UTCDateTime(), nullable=True, onupdate=utcnow)


def metadata_column() -> sa.Column[Any]:
    # The attribute is `metadata_` because SQLModel reserves `metadata`.
    return sa.Column("metadata", PortableJSON, nullable=False, default=dict)
