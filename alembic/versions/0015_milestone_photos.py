"""photos of funded projects' milestones, stored as proposals' photos are

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "milestone_photo",
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alt", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["user_account.id"],
            name=op.f("fk_milestone_photo_added_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestone.id"],
            name=op.f("fk_milestone_photo_milestone_id_milestone"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_photo")),
    )
    with op.batch_alter_table("milestone_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestone_photo_milestone_id"), ["milestone_id"], unique=False
        )

    op.create_table(
        "milestone_photo_size",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["milestone_photo.id"],
            name=op.f("fk_milestone_photo_size_photo_id_milestone_photo"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", "width", name=op.f("pk_milestone_photo_size")),
    )


def downgrade() -> None:
    op.drop_table("milestone_photo_size")
    with op.batch_alter_table("milestone_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_photo_milestone_id"))
    op.drop_table("milestone_photo")
