"""tracking funded projects: cards, budget lines, milestones, updates, follows, impact

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("summable", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator")),
        sa.UniqueConstraint("name", name=op.f("uq_indicator_name")),
    )
    op.create_table(
        "tracked_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column(
            "funded_by",
            sa.Enum("vote", "crowdfunding", name="funded_by", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("need", sa.Text(), nullable=False),
        sa.Column("beneficiaries", sa.Text(), nullable=False),
        sa.Column("partners", sa.Text(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "delayed",
                "completed",
                "cancelled",
                name="project_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "progress IS NULL OR (progress >= 0 AND progress <= 100)",
            name=op.f("ck_tracked_project_progress_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_tracked_project_campaign_id_campaign"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_tracked_project_district_id_district"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["user_account.id"],
            name=op.f("fk_tracked_project_lead_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_tracked_project_proposal_id_proposal"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["round.id"],
            name=op.f("fk_tracked_project_round_id_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_project")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_tracked_project_campaign_id")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_tracked_project_proposal_id")),
    )
    with op.batch_alter_table("tracked_project", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracked_project_round_id"), ["round_id"], unique=False)

    op.create_table(
        "budget_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("spent", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "approved >= 0 AND spent >= 0", name=op.f("ck_budget_line_amounts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["tracked_project.id"],
            name=op.f("fk_budget_line_project_id_tracked_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_line")),
    )
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_line_project_id"), ["project_id"], unique=False)

    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["tracked_project.id"],
            name=op.f("fk_milestone_project_id_tracked_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
    )
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_project_id"), ["project_id"], unique=False)

    op.create_table(
        "project_follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["tracked_project.id"],
            name=op.f("fk_project_follow_project_id_tracked_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_project_follow_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_follow")),
        sa.UniqueConstraint(
            "project_id", "user_id", name=op.f("uq_project_follow_project_id_user_id")
        ),
    )
    with op.batch_alter_table("project_follow", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_follow_user_id"), ["user_id"], unique=False)

    op.create_table(
        "project_indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("baseline", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_project_indicator_indicator_id_indicator"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["tracked_project.id"],
            name=op.f("fk_project_indicator_project_id_tracked_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_indicator")),
    )
    with op.batch_alter_table("project_indicator", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_indicator_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["tracked_project.id"],
            name=op.f("fk_project_update_project_id_tracked_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_update")),
    )
    with op.batch_alter_table("project_update", schema=None) as batch_op:
        batch_op.create_index("ix_project_update_project_at", ["project_id", "at"], unique=False)

    op.create_table(
        "measurement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_indicator_id", sa.Integer(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_indicator_id"],
            ["project_indicator.id"],
            name=op.f("fk_measurement_project_indicator_id_project_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement")),
    )
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measurement_project_indicator_id"),
            ["project_indicator_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurement_project_indicator_id"))

    op.drop_table("measurement")
    with op.batch_alter_table("project_update", schema=None) as batch_op:
        batch_op.drop_index("ix_project_update_project_at")

    op.drop_table("project_update")
    with op.batch_alter_table("project_indicator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_indicator_project_id"))

    op.drop_table("project_indicator")
    with op.batch_alter_table("project_follow", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_follow_user_id"))

    op.drop_table("project_follow")
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_project_id"))

    op.drop_table("milestone")
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_line_project_id"))

    op.drop_table("budget_line")
    with op.batch_alter_table("tracked_project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracked_project_round_id"))

    op.drop_table("tracked_project")
    op.drop_table("indicator")
