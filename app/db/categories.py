"""Categories: group redeemables for stacking (hierarchy and their kind: JOINT "always
stackable", EXCLUSIVE "never stackable", or NULL for a common category, neither)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.base import created_column, id_column, project_column, updated_column


class Category(SQLModel, table=True):
    __tablename__ = "categories"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    hierarchy: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    stacking_rules_type: str | None = Field(  # engine.CategoryType; None: common
        default=None, sa_column=sa.Column(sa.String(16), nullable=True)
    )
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())
