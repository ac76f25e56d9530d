"""keyed audit: chain positions, a signed head, an index for the decision cross-check

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Entries written before this revision keep ``n`` NULL (plain SHA-256): the service and the CLI
re-sign them once with the server secret (``ruleplus.store.audit.ensure_keyed``), which needs the
key and so cannot run here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``audit_log.n``, the ``(entity, entity_id)`` index and the ``audit_head`` table."""
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("n", sa.BigInteger(), nullable=True))
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Drop them (keyed entries then no longer verify as plain SHA-256)."""
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("n")
