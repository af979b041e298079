"""bot identity, interview revision, inbox indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bot_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_update_pending",
            ["update_id"],
            unique=False,
            sqlite_where=sa.text("failed_at IS NULL"),
            postgresql_where=sa.text("failed_at IS NULL"),
        )
        batch_op.create_index("ix_inbox_update_failed_at", ["failed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_update_failed_at")
        batch_op.drop_index("ix_inbox_update_pending")
    with op.batch_alter_table("interview", schema=None) as batch_op:
        batch_op.drop_column("revision")
    op.drop_table("bot_identity")
