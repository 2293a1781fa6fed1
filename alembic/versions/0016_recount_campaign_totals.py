"""recount every campaign's running totals from its active pledges

Publishing a match cancelled unpaid pledges without taking them out of their campaign's
totals, and accepting a partial payment left the sum of square roots as it was; the code is
fixed, and this recounts the totals a database may hold from before. No schema change.

Revision ID: 0016
Revises: 0015
"""

import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    people: dict[int, dict[int, int]] = {}
    eligible: dict[int, dict[int, int]] = {}
    rows = conn.execute(
        sa.text(
            "SELECT campaign_id, user_id, amount, eligible FROM pledge"
            " WHERE state IN ('pledged', 'payment_requested', 'fulfilled')"
        )
    )
    for campaign_id, user_id, amount, is_eligible in rows:
        by_user = people.setdefault(campaign_id, {})
        by_user[user_id] = by_user.get(user_id, 0) + amount
        if is_eligible:
            counted = eligible.setdefault(campaign_id, {})
            counted[user_id] = counted.get(user_id, 0) + amount
    campaigns = [r[0] for r in conn.execute(sa.text("SELECT campaign_id FROM campaign_totals"))]
    for campaign_id in campaigns:
        backers = people.get(campaign_id, {})
        counted = eligible.get(campaign_id, {})
        conn.execute(
            sa.text(
                "UPDATE campaign_totals SET backers = :backers, raised = :raised,"
                " match_backers = :match_backers, match_total = :match_total,"
                " match_sum_sqrt = :match_sum_sqrt WHERE campaign_id = :campaign_id"
            ),
            {
                "backers": len(backers),
                "raised": sum(backers.values()),
                "match_backers": len(counted),
                "match_total": sum(counted.values()),
                "match_sum_sqrt": math.fsum(math.sqrt(v) for v in counted.values() if v > 0),
                "campaign_id": campaign_id,
            },
        )


def downgrade() -> None:
    pass  # the recounted totals are right for the code of either revision
