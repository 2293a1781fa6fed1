"""collection and settlement of funding calls: statement imports, bank lines, the match

Revision ID: 0008
Revises: 0007 (and 0005 while the helpers' branches are apart: the integrator re-chains)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
# The funding models (0007) and, until the branches are chained, the mail outbox (0005).
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_settlement",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("matches", sa.Text(), nullable=True),
        sa.Column("ledger_sha256", sa.String(length=64), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["funding_call.id"],
            name=op.f("fk_call_settlement_call_id_funding_call"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["user_account.id"],
            name=op.f("fk_call_settlement_closed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["user_account.id"],
            name=op.f("fk_call_settlement_published_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_call_settlement")),
    )
    op.create_table(
        "statement_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["funding_call.id"],
            name=op.f("fk_statement_import_call_id_funding_call"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["imported_by"],
            ["user_account.id"],
            name=op.f("fk_statement_import_imported_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_import")),
    )
    with op.batch_alter_table("statement_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_import_call_id"), ["call_id"], unique=False)
    op.create_table(
        "bank_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booked", sa.Date(), nullable=True),
        sa.Column("debtor", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=25), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["funding_call.id"],
            name=op.f("fk_bank_line_call_id_funding_call"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["statement_import.id"],
            name=op.f("fk_bank_line_import_id_statement_import"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"],
            ["pledge.id"],
            name=op.f("fk_bank_line_pledge_id_pledge"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["user_account.id"],
            name=op.f("fk_bank_line_resolved_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_line")),
        sa.UniqueConstraint("call_id", "line_id", name=op.f("uq_bank_line_call_id_line_id")),
    )
    with op.batch_alter_table("bank_line", schema=None) as batch_op:
        batch_op.create_index("ix_bank_line_call_id_status", ["call_id", "status"], unique=False)
        batch_op.create_index("ix_bank_line_pledge_id", ["pledge_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bank_line", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_line_pledge_id")
        batch_op.drop_index("ix_bank_line_call_id_status")
    op.drop_table("bank_line")
    with op.batch_alter_table("statement_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_import_call_id"))
    op.drop_table("statement_import")
    op.drop_table("call_settlement")
