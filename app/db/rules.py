"""Validation rules and their assignments to campaigns, vouchers and promotion tiers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.base import PortableJSON, created_column, id_column, project_column, updated_column


class AssignedObject(StrEnum):
    CAMPAIGN = "campaign"
    VOUCHER = "voucher"
    PROMOTION_TIER = "promotion_tier"


class ValidationRule(SQLModel, table=True):
    __tablename__ = "validation_rules"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # {"1": {name, property, conditions, rules, error}, …, "logic": "1 and 2"}
    rules: dict[str, Any] = Field(sa_column=sa.Column(PortableJSON, nullable=False))
    error_message: str | None = Field(sa_column=sa.Column(sa.String(1000), nullable=True))
    applicable_to: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    bundle_rules: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class ValidationRuleAssignment(SQLModel, table=True):
    __tablename__ = "validation_rule_assignments"
    __table_args__ = (
        sa.UniqueConstraint("rule_id", "related_object_id"),
        sa.Index("ix_validation_rule_assignments_object", "project_id", "related_object_id"),
    )

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    rule_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("validation_rules.id", ondelete="CASCADE"),
            nullable=False, index=True,
        )
    )
    related_object_type: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    related_object_id: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    created_at: datetime = Field(sa_column=created_column())
