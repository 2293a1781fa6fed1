"""The demo town's collection: a call collecting payments and one with a published match."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from pb.audit.funding_verify import audit_funding_bundle
from pb.db import Database
from pb.models import Campaign, FundingCall, Pledge, PledgeState
from pb.services import demo
from pb.services.funding import collection, settlement
from tests import frozen

SECRET = "demo-secret-" * 4


def test_demo_collects_one_call_and_publishes_another(db: Database) -> None:
    hashes = {login.email: "not-a-real-hash" for login in demo.DEMO_LOGINS}
    db.write_sync(demo.load_demo, hashes, frozen.TODAY, SECRET)

    def read(s: Any) -> dict[str, Any]:
        out = {}
        for call in s.scalars(select(FundingCall).order_by(FundingCall.id)):
            states = s.scalars(
                select(Pledge.state)
                .join(Campaign, Campaign.id == Pledge.campaign_id)
                .where(Campaign.call_id == call.id)
            ).all()
            out[call.title] = (
                call.id,
                collection.collection_state(s, call),
                settlement.match_view(s, call),
                set(states),
            )
        return out

    found = db.read_sync(read)
    _id, riverside, match, states = found["Riverside summer fund"]
    assert match is None
    assert (riverside.fulfilled, riverside.awaiting) == (5, 2)
    assert len(riverside.partial) == 1 and len(riverside.unmatched) == 1
    assert states == {PledgeState.FULFILLED, PledgeState.PAYMENT_REQUESTED, PledgeState.RELEASED}
    call_id, _winter, match, states = found["Old Town winter fund"]
    assert match is not None and match.published and match.matched > 0
    assert states == {PledgeState.FULFILLED, PledgeState.CANCELLED, PledgeState.RELEASED}
    bundle = db.read_sync(lambda s: settlement.bundle(s, call_id, SECRET))
    assert audit_funding_bundle(io.BytesIO(bundle)).ok
