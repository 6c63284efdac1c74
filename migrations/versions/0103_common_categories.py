"""common categories: categories.stacking_rules_type may be NULL

A category is exclusive (EXCLUSIVE, never stackable), joint (JOINT, always stackable) or
common (NULL, neither). Existing rows keep their stored value, so live stacks behave as they
did; new categories are common unless a kind is given.

Revision ID: 0103
Revises: 0102
Create Date: 2026-11-23 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel types)
from alembic import op

import app.db.base  # noqa: F401  (custom column types)


revision: str = '0103'
down_revision: str | None = '0102'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.alter_column('stacking_rules_type', existing_type=sa.String(length=16),
                              nullable=True)


def downgrade() -> None:
    # The old schema has no common kind: common categories go back to the old default, JOINT.
    op.execute("UPDATE categories SET stacking_rules_type = 'JOINT' "
               "WHERE stacking_rules_type IS NULL")
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.alter_column('stacking_rules_type', existing_type=sa.String(length=16),
                              nullable=False)
