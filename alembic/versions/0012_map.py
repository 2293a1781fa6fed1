"""district boundaries (GeoJSON) and project coordinates, for the map

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A MultiPolygon geometry as canonical GeoJSON text (pb.geo.geojson), None: not drawn yet.
    op.add_column("district", sa.Column("boundary", sa.Text(), nullable=True))
    op.add_column("proposal", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("proposal", sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proposal") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
    with op.batch_alter_table("district") as batch:
        batch.drop_column("boundary")
