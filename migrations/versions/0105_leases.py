"""leases: which process runs the work that must run once

One row per lease (the webhook dispatcher of `promogate serve --workers N`, each bulk code
generation job): its holder, when it expires, and a fencing token that grows with each
tenure.

Revision ID: 0105
Revises: 0104
Create Date: 2026-12-01 02:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel types)
from alembic import op

import app.db.base  # noqa: F401  (custom column types)


revision: str = '0105'
down_revision: str | None = '0104'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'leases',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('holder', sa.String(length=120), nullable=False),
        sa.Column('expires_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('token', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_leases')),
    )


def downgrade() -> None:
    op.drop_table('leases')
