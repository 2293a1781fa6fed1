"""participation keyed and stored by the keyed voter hash (no rowid, no casting order)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:30:00.000000

On SQLite the table is rebuilt ``WITHOUT ROWID`` with a primary key that begins with the keyed
voter hash, and its rows copied in key order: a rowid numbered the rows in the order ballots
were cast, which paired voters with ballot records. On PostgreSQL the primary key is rebuilt in
that column order and the rows are written again in key order, each with the same transaction
id (the old row versions are removed by the next vacuum).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "voter_key, round_id, slot"


def _table(name: str, key: Sequence[str]) -> None:
    op.create_table(
        name,
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["round.id"],
            name=op.f("fk_participation_round_id_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_participation")),
        sqlite_with_rowid=False,
    )


def _rebuild(key: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _table("participation_new", key)
        op.execute(
            f"INSERT INTO participation_new ({COLUMNS})"  # noqa: S608
            f" SELECT {COLUMNS} FROM participation ORDER BY {', '.join(key)}"
        )
        op.drop_table("participation")
        op.rename_table("participation_new", "participation")
        return
    op.drop_constraint("pk_participation", "participation", type_="primary")
    op.create_primary_key("pk_participation", "participation", list(key))
    op.execute("CREATE TEMPORARY TABLE participation_copy ON COMMIT DROP AS TABLE participation")
    op.execute("DELETE FROM participation")
    op.execute(
        f"INSERT INTO participation ({COLUMNS})"  # noqa: S608
        f" SELECT {COLUMNS} FROM participation_copy ORDER BY {', '.join(key)}"
    )


def upgrade() -> None:
    _rebuild(("voter_key", "round_id", "slot"))


def downgrade() -> None:
    _rebuild(("round_id", "slot", "voter_key"))
