"""scoped fraud signals: watch-list entries belong to a scope, counter names carry theirs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _watch_lists(name: str, scoped: bool) -> None:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *(
            [sa.Column("scope", sa.String(40), nullable=False, server_default="global")]
            if scoped
            else []
        ),
        sa.Column("list_type", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ]
    unique = (
        sa.UniqueConstraint("scope", "list_type", "digest", name="uq_watch_list_entry")
        if scoped
        else sa.UniqueConstraint("list_type", "digest")
    )
    op.create_table(name, *columns, unique)


_COLUMNS = "id, list_type, digest, hint, reason, created_at"


def upgrade() -> None:
    """Existing entries were the lender's own lists: they become ``global``.

    The table is rebuilt (its old unique constraint has no portable name). Existing velocity
    events were counted across partners under unscoped names: they stop counting towards the
    new, scoped counters and age out of their windows.
    """
    _watch_lists("watch_lists_scoped", scoped=True)
    op.execute(
        f"INSERT INTO watch_lists_scoped (scope, {_COLUMNS}) "
        f"SELECT 'global', {_COLUMNS} FROM watch_lists"
    )
    op.drop_table("watch_lists")
    op.rename_table("watch_lists_scoped", "watch_lists")
    with op.batch_alter_table("velocity_events", schema=None) as batch_op:
        batch_op.alter_column(
            "counter", existing_type=sa.String(80), type_=sa.String(200), existing_nullable=False
        )


def downgrade() -> None:
    """Back to unscoped lists (entries listed for one partner are dropped)."""
    _watch_lists("watch_lists_plain", scoped=False)
    op.execute(
        f"INSERT INTO watch_lists_plain ({_COLUMNS}) "
        f"SELECT {_COLUMNS} FROM watch_lists WHERE scope = 'global'"
    )
    op.drop_table("watch_lists")
    op.rename_table("watch_lists_plain", "watch_lists")
    with op.batch_alter_table("velocity_events", schema=None) as batch_op:
        batch_op.alter_column(
            "counter", existing_type=sa.String(200), type_=sa.String(80), existing_nullable=False
        )
