"""round 2 tables: parameter overrides, offers, outcomes, console users, collections

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """New columns are NULL in existing rows, so their audit digests stay valid."""
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parameters", sa.JSON(), nullable=True))
    with op.batch_alter_table("strategy_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(80), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(80), nullable=True))
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("parameters", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("offer", sa.JSON(), nullable=True))
        batch_op.create_index("ix_decisions_application_id", ["application_id"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(40), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("application_id", sa.String(200), nullable=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner_id", "decision_id", "name"),
    )
    op.create_index("ix_outcomes_partner_id", "outcomes", ["partner_id"])
    op.create_index("ix_outcomes_decision_id", "outcomes", ["decision_id"])
    op.create_table(
        "console_users",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("csrf_digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_table(
        "collection_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(40), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("account_id", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_collection_events_account", "collection_events", ["partner_id", "account_id"]
    )


def downgrade() -> None:
    """Drops the round 2 tables and columns (their data is lost)."""
    op.drop_table("collection_events")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
    op.drop_table("outcomes")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_application_id")
        batch_op.drop_column("offer")
        batch_op.drop_column("parameters")
        batch_op.drop_column("application_id")
    with op.batch_alter_table("strategy_versions", schema=None) as batch_op:
        batch_op.drop_column("approved_by")
        batch_op.drop_column("created_by")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("parameters")
