"""What residents see of a call: one card per campaign, from its running totals (no recount)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.errors import NotFound
from pb.models import CallSettlement, Campaign, CampaignState, CampaignTotals, FundingCall
from pb.services.funding import calls
from pb.services.funding.tasks import TaskView, tasks_of
from pb.tally.funding import MatchingRule, ProjectAggregate, raw_estimate


@dataclass(frozen=True)
class CampaignCard:
    id: int
    call_id: int
    title: str
    description: str
    proposal_id: int | None
    minimum: int
    optimum: int | None
    goal: int
    raised: int
    backers: int
    estimated_match: int  # the published match once the call's match is published
    days_left: int  # 0 on the last day of pledging
    state: str  # open, succeeded, failed, funded
    free_slots: int  # volunteer places still needed
    match_final: bool = False  # ``estimated_match`` is the published match, not an estimate

    @property
    def percent(self) -> int:
        """How far towards the goal (0-100), for the progress bar."""
        return min(100, self.raised * 100 // self.goal) if self.goal > 0 else 0

    @property
    def minimum_percent(self) -> int:
        return min(100, self.minimum * 100 // self.goal) if self.goal > 0 else 0


def display_state(campaign: Campaign, call: FundingCall, raised: int, today: dt.date) -> str:
    """The stored state once the call is closed by staff; until then, while pledging runs,
    "open", and after pledging, whether the minimum was reached."""
    if campaign.state is not CampaignState.OPEN:
        return campaign.state.value
    if calls.phase(call, today) in (calls.CallPhase.DRAFT, calls.CallPhase.PLEDGING):
        return CampaignState.OPEN.value
    return (
        CampaignState.SUCCEEDED.value if raised >= campaign.minimum else CampaignState.FAILED.value
    )


def estimated_matches(
    rule: MatchingRule, pool: int, aggregates: dict[int, ProjectAggregate], need: dict[int, int]
) -> dict[int, int]:
    """Approximate matches today: raw matches shared in proportion when they exceed the pool,
    each at most what its campaign still needs (the exact match is computed after collection)."""
    raw = {c: raw_estimate(rule, a) for c, a in aggregates.items()}
    total = sum(raw.values())
    factor = min(1.0, pool / total) if total > 0 else 0.0
    return {c: max(0, min(int(r * factor), need.get(c, 0))) for c, r in raw.items()}


def published_projects(session: Session, call_id: int) -> dict[int, dict[str, Any]] | None:
    """Campaign id → its entry of the published ``matches.json`` (``raised`` from fulfilled
    pledges, ``match``, ...), once the call's match is published (None before)."""
    settlement = session.get(CallSettlement, call_id)
    if settlement is None or settlement.published_at is None or settlement.matches is None:
        return None
    projects = json.loads(settlement.matches)["projects"]
    return {int(pid): entry for pid, entry in projects.items()}


def published_matches(session: Session, call_id: int) -> dict[int, int] | None:
    """Campaign id → its match, once the call's match is published (None before)."""
    projects = published_projects(session, call_id)
    if projects is None:
        return None
    return {pid: int(entry["match"]) for pid, entry in projects.items()}


def cards(
    session: Session, call: FundingCall, today: dt.date, viewer_id: int | None = None
) -> tuple[list[CampaignCard], list[TaskView]]:
    rows = session.execute(
        select(Campaign, CampaignTotals)
        .join(CampaignTotals, CampaignTotals.campaign_id == Campaign.id)
        .where(Campaign.call_id == call.id)
        .order_by(Campaign.id)
    ).all()
    final = published_matches(session, call.id)
    if final is not None:
        matches = final
    else:
        aggregates = {
            c.id: ProjectAggregate(t.match_backers, t.match_total, t.match_sum_sqrt)
            for c, t in rows
        }
        need = {c.id: max(calls.goal(c) - t.raised, 0) for c, t in rows}
        rule = MatchingRule.from_json_dict(call.rule)
        matches = estimated_matches(rule, call.pool, aggregates, need)
    tasks = tasks_of(session, [c.id for c, _t in rows], viewer_id)
    free: dict[int, int] = {}
    for task in tasks:
        free[task.campaign_id] = free.get(task.campaign_id, 0) + task.free
    days_left = max((call.pledging_until - today).days, 0)
    out = [
        CampaignCard(
            id=c.id,
            call_id=call.id,
            title=c.title,
            description=c.description,
            proposal_id=c.proposal_id,
            minimum=c.minimum,
            optimum=c.optimum,
            goal=calls.goal(c),
            raised=t.raised,
            backers=t.backers,
            estimated_match=matches.get(c.id, 0),
            days_left=days_left,
            state=display_state(c, call, t.raised, today),
            free_slots=free.get(c.id, 0),
            match_final=final is not None,
        )
        for c, t in rows
    ]
    return out, tasks


def card(
    session: Session, campaign_id: int, today: dt.date, viewer_id: int | None = None
) -> tuple[CampaignCard, list[TaskView]]:
    """One campaign's card (the estimate needs the whole call's totals) and its tasks."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id}")
    call = calls.get_call(session, campaign.call_id)
    all_cards, tasks = cards(session, call, today, viewer_id)
    mine = next(c for c in all_cards if c.id == campaign_id)
    return mine, [t for t in tasks if t.campaign_id == campaign_id]
