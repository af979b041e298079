"""rewrite jobs, section wording, submitted wording

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "state != 'told'"


def upgrade() -> None:
    op.create_table(
        "rewrite_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cadre_id"], ["cadre.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["interview_id"], ["interview.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("rewrite_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rewrite_job_cadre_id"), ["cadre_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rewrite_job_interview_id"), ["interview_id"], unique=False
        )
        batch_op.create_index(
            "ix_rewrite_job_open",
            ["state", "id"],
            unique=False,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )

    op.create_table(
        "section_wording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("polished", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["interview_id"], ["interview.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["rewrite_job.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "section_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("section_wording", schema=None) as batch_op:
        batch_op.create_index(
            "ix_section_wording_interview_section", ["interview_id", "section_id"], unique=False
        )

    # Versions submitted before polishing existed were all in the cadre's own wording.
    with op.batch_alter_table("submission_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wording", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("submission_version", schema=None) as batch_op:
        batch_op.drop_column("wording")
    with op.batch_alter_table("section_wording", schema=None) as batch_op:
        batch_op.drop_index("ix_section_wording_interview_section")
    op.drop_table("section_wording")
    with op.batch_alter_table("rewrite_job", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_rewrite_job_open", sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN)
        )
        batch_op.drop_index(batch_op.f("ix_rewrite_job_interview_id"))
        batch_op.drop_index(batch_op.f("ix_rewrite_job_cadre_id"))
    op.drop_table("rewrite_job")
