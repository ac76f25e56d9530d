"""face templates for the 1:N gallery (encrypted at rest)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The table ruleplus.identity.gallery_store.SqlGalleryStore reads and writes."""
    op.create_table(
        "face_templates",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("subject_id", sa.String(256), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("template", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_face_templates_tenant_subject", "face_templates", ["tenant_id", "subject_id"]
    )


def downgrade() -> None:
    """Drop the gallery."""
    op.drop_index("ix_face_templates_tenant_subject", table_name="face_templates")
    op.drop_table("face_templates")
