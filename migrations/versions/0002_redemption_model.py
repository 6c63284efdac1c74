"""campaigns, vouchers, rules, redemptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:58:27.679737
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel types)
from alembic import op

import app.db.base  # noqa: F401  (custom column types)
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('async_actions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_async_actions_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_async_actions'))
    )
    with op.batch_alter_table('async_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_async_actions_project_id'), ['project_id'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_idempotency_records_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'operation', 'key', name=op.f('pk_idempotency_records'))
    )
    op.create_table('stacking_rules',
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_stacking_rules_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_stacking_rules'))
    )
    op.create_table('validation_rules',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error_message', sa.String(length=1000), nullable=True),
    sa.Column('applicable_to', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('bundle_rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_validation_rules_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_validation_rules'))
    )
    with op.batch_alter_table('validation_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_validation_rules_project_id'), ['project_id'], unique=False)

    op.create_table('campaigns',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('campaign_type', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('voucher', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('vouchers_count', sa.Integer(), nullable=False),
    sa.Column('start_date', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expiration_date', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('validity_timeframe', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('validity_day_of_week', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('validity_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('join_once', sa.Boolean(), nullable=False),
    sa.Column('auto_join', sa.Boolean(), nullable=False),
    sa.Column('category_id', sa.String(length=40), nullable=True),
    sa.Column('creation_status', sa.String(length=16), nullable=False),
    sa.Column('redemptions_count', sa.Integer(), nullable=False),
    sa.Column('discounted_amount', sa.BigInteger(), nullable=False),
    sa.Column('orders_amount', sa.BigInteger(), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_campaigns_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_campaigns_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_campaigns_project_id_name'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_project_id'), ['project_id'], unique=False)

    op.create_table('validation_rule_assignments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('related_object_type', sa.String(length=24), nullable=False),
    sa.Column('related_object_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_validation_rule_assignments_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['validation_rules.id'], name=op.f('fk_validation_rule_assignments_rule_id_validation_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_validation_rule_assignments')),
    sa.UniqueConstraint('rule_id', 'related_object_id', name=op.f('uq_validation_rule_assignments_rule_id_related_object_id'))
    )
    with op.batch_alter_table('validation_rule_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_validation_rule_assignments_object', ['project_id', 'related_object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_validation_rule_assignments_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_validation_rule_assignments_rule_id'), ['rule_id'], unique=False)

    op.create_table('promotion_stacks',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('tier_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('category_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_promotion_stacks_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_promotion_stacks_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_promotion_stacks_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_stacks'))
    )
    with op.batch_alter_table('promotion_stacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_stacks_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_stacks_project_id'), ['project_id'], unique=False)

    op.create_table('promotion_tiers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('banner', sa.String(length=1000), nullable=True),
    sa.Column('action', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('hierarchy', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('start_date', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expiration_date', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('validity_timeframe', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('validity_day_of_week', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('validity_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('category_id', sa.String(length=40), nullable=True),
    sa.Column('redeemed_quantity', sa.Integer(), nullable=False),
    sa.Column('discounted_amount', sa.BigInteger(), nullable=False),
    sa.Column('orders_amount', sa.BigInteger(), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_promotion_tiers_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_promotion_tiers_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_promotion_tiers_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_tiers'))
    )
    with op.batch_alter_table('promotion_tiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_tiers_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotion_tiers_project_id'), ['project_id'], unique=False)

    op.create_table('vouchers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=True),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('discount', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('gift_amount', sa.BigInteger(), nullable=False),
    sa.Column('gift_balance', sa.BigInteger(), nullable=False),
    sa.Column('gift_effect', sa.String(length=24), nullable=True),
    sa.Column('redemption_quantity', sa.Integer(), nullable=True),
    sa.Column('redeemed_quantity', sa.Integer(), nullable=False),
    sa.Column('redeemed_amount', sa.BigInteger(), nullable=False),
    sa.Column('start_date', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expiration_date', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('validity_timeframe', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('validity_day_of_week', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('validity_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('category_id', sa.String(length=40), nullable=True),
    sa.Column('is_referral_code', sa.Boolean(), nullable=False),
    sa.Column('holder_id', sa.String(length=40), nullable=True),
    sa.Column('published_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('gift_balance >= 0', name=op.f('ck_vouchers_gift_balance_not_negative')),
    sa.CheckConstraint('redeemed_quantity >= 0', name=op.f('ck_vouchers_redeemed_quantity_not_negative')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_vouchers_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_vouchers_category_id_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['holder_id'], ['customers.id'], name=op.f('fk_vouchers_holder_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_vouchers_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers')),
    sa.UniqueConstraint('project_id', 'code', name=op.f('uq_vouchers_project_id_code'))
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index('ix_vouchers_campaign_holder', ['campaign_id', 'holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vouchers_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vouchers_project_id'), ['project_id'], unique=False)

    op.create_table('publications',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('voucher_id', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=True),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_publications_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_publications_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_publications_voucher_id_vouchers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
    sa.UniqueConstraint('project_id', 'source_id', name=op.f('uq_publications_project_id_source_id'))
    )
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publications_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_voucher_id'), ['voucher_id'], unique=False)

    op.create_table('redemptions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('parent_id', sa.String(length=40), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('related_object_type', sa.String(length=24), nullable=False),
    sa.Column('voucher_id', sa.String(length=40), nullable=True),
    sa.Column('promotion_tier_id', sa.String(length=40), nullable=True),
    sa.Column('campaign_id', sa.String(length=40), nullable=True),
    sa.Column('customer_id', sa.String(length=40), nullable=True),
    sa.Column('order_id', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('gift_credits', sa.BigInteger(), nullable=False),
    sa.Column('order_amount', sa.BigInteger(), nullable=False),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.String(length=1000), nullable=True),
    sa.Column('session_key', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_redemptions_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_redemptions_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['redemptions.id'], name=op.f('fk_redemptions_parent_id_redemptions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_redemptions_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['promotion_tier_id'], ['promotion_tiers.id'], name=op.f('fk_redemptions_promotion_tier_id_promotion_tiers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_redemptions_voucher_id_vouchers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_campaign_created', ['campaign_id', 'created_at'], unique=False)
        batch_op.create_index('ix_redemptions_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_redemptions_tier_created', ['promotion_tier_id', 'created_at'], unique=False)
        batch_op.create_index('ix_redemptions_voucher_created', ['voucher_id', 'created_at'], unique=False)

    op.create_table('session_reservations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('session_key', sa.String(length=200), nullable=False),
    sa.Column('voucher_id', sa.String(length=40), nullable=False),
    sa.Column('gift_credits', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_session_reservations_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_session_reservations_voucher_id_vouchers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_reservations')),
    sa.UniqueConstraint('project_id', 'session_key', 'voucher_id', name=op.f('uq_session_reservations_project_id_session_key_voucher_id'))
    )
    with op.batch_alter_table('session_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_reservations_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_session_reservations_voucher_expires', ['voucher_id', 'expires_at'], unique=False)

    op.create_table('voucher_transactions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('voucher_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('redemption_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_voucher_transactions_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_voucher_transactions_voucher_id_vouchers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_transactions')),
    sa.UniqueConstraint('voucher_id', 'source_id', name=op.f('uq_voucher_transactions_voucher_id_source_id'))
    )
    with op.batch_alter_table('voucher_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_transactions_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_transactions_voucher_id'), ['voucher_id'], unique=False)

    op.create_table('redemption_rollbacks',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('redemption_id', sa.String(length=40), nullable=False),
    sa.Column('parent_rollback_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('gift_credits', sa.BigInteger(), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_redemption_rollbacks_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_redemption_rollbacks_redemption_id_redemptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_rollbacks')),
    sa.UniqueConstraint('redemption_id', name=op.f('uq_redemption_rollbacks_redemption_id'))
    )
    with op.batch_alter_table('redemption_rollbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemption_rollbacks_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redemptions_succeeded', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('redemptions_failed', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('redemptions_rolled_back', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('orders_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('orders_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_order_at', app.db.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('discount_quantity', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('added_quantity', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('items_discount_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('total_discount_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('total_amount', sa.BigInteger(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('total_amount')
        batch_op.drop_column('total_discount_amount')
        batch_op.drop_column('items_discount_amount')
        batch_op.drop_column('discount_amount')

    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_column('added_quantity')
        batch_op.drop_column('discount_quantity')
        batch_op.drop_column('discount_amount')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('last_order_at')
        batch_op.drop_column('orders_amount')
        batch_op.drop_column('orders_count')
        batch_op.drop_column('redemptions_rolled_back')
        batch_op.drop_column('redemptions_failed')
        batch_op.drop_column('redemptions_succeeded')

    with op.batch_alter_table('redemption_rollbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_rollbacks_project_id'))

    op.drop_table('redemption_rollbacks')
    with op.batch_alter_table('voucher_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_transactions_voucher_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_transactions_project_id'))

    op.drop_table('voucher_transactions')
    with op.batch_alter_table('session_reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_session_reservations_voucher_expires')
        batch_op.drop_index(batch_op.f('ix_session_reservations_project_id'))

    op.drop_table('session_reservations')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_voucher_created')
        batch_op.drop_index('ix_redemptions_tier_created')
        batch_op.drop_index(batch_op.f('ix_redemptions_project_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_parent_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_order_id'))
        batch_op.drop_index('ix_redemptions_customer_created')
        batch_op.drop_index('ix_redemptions_campaign_created')

    op.drop_table('redemptions')
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publications_voucher_id'))
        batch_op.drop_index(batch_op.f('ix_publications_project_id'))
        batch_op.drop_index(batch_op.f('ix_publications_customer_id'))
        batch_op.drop_index(batch_op.f('ix_publications_campaign_id'))

    op.drop_table('publications')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vouchers_project_id'))
        batch_op.drop_index(batch_op.f('ix_vouchers_holder_id'))
        batch_op.drop_index('ix_vouchers_campaign_holder')

    op.drop_table('vouchers')
    with op.batch_alter_table('promotion_tiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_tiers_project_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_tiers_campaign_id'))

    op.drop_table('promotion_tiers')
    with op.batch_alter_table('promotion_stacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_stacks_project_id'))
        batch_op.drop_index(batch_op.f('ix_promotion_stacks_campaign_id'))

    op.drop_table('promotion_stacks')
    with op.batch_alter_table('validation_rule_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_validation_rule_assignments_rule_id'))
        batch_op.drop_index(batch_op.f('ix_validation_rule_assignments_project_id'))
        batch_op.drop_index('ix_validation_rule_assignments_object')

    op.drop_table('validation_rule_assignments')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_project_id'))

    op.drop_table('campaigns')
    with op.batch_alter_table('validation_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_validation_rules_project_id'))

    op.drop_table('validation_rules')
    op.drop_table('stacking_rules')
    op.drop_table('idempotency_records')
    with op.batch_alter_table('async_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_async_actions_project_id'))

    op.drop_table('async_actions')

