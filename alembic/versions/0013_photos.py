"""photos of proposals: each upload re-encoded into a few widths, stored with its bytes

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proposal_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("alt", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["user_account.id"],
            name=op.f("fk_proposal_photo_added_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_proposal_photo_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_photo")),
    )
    with op.batch_alter_table("proposal_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_photo_proposal_id"), ["proposal_id"], unique=False
        )

    op.create_table(
        "proposal_photo_size",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["proposal_photo.id"],
            name=op.f("fk_proposal_photo_size_photo_id_proposal_photo"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", "width", name=op.f("pk_proposal_photo_size")),
    )


def downgrade() -> None:
    op.drop_table("proposal_photo_size")
    with op.batch_alter_table("proposal_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_photo_proposal_id"))
    op.drop_table("proposal_photo")
