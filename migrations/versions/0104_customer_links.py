"""redemptions: indexes on (customer_id, voucher_id) and (customer_id, promotion_tier_id)

Per-customer limit rules count one customer's redemptions of one code or tier. With only
(voucher_id, created_at) and (customer_id, created_at) a planner has to choose between the
code's redemptions by everybody and the customer's of every code, from statistics that may be
stale; these indexes make the lookup exact.

Revision ID: 0104
Revises: 0103
Create Date: 2026-12-01 02:30:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0104'
down_revision: str | None = '0103'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_customer_voucher', ['customer_id', 'voucher_id'],
                              unique=False)
        batch_op.create_index('ix_redemptions_customer_tier',
                              ['customer_id', 'promotion_tier_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_customer_tier')
        batch_op.drop_index('ix_redemptions_customer_voucher')
