"""Campaigns in a funding call: projects with itemised costs, a minimum and an optional optimum.

Staff add a campaign for an accepted proposal the vote did not fund (its title and description
are copied) or for a community project they accept into the call. Campaigns are part of the
call's rules: they are added and changed only before pledging opens.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    Campaign,
    CampaignState,
    CampaignTotals,
    CostItem,
    FundingCall,
    Proposal,
    ProposalStatus,
)
from pb.services import audit
from pb.services import results as round_results
from pb.services.funding import calls

MAX_COST_LINES = 30
MAX_AMOUNT = 10**12  # minor units


@dataclass
class CampaignInput:
    """A campaign as plain values. ``minimum`` None means the sum of the cost lines."""

    title: str
    description: str
    costs: list[tuple[str, int]] = field(default_factory=list)
    minimum: int | None = None
    optimum: int | None = None
    proposal_id: int | None = None


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id}")
    return campaign


def funded_in_round(session: Session, round_id: int) -> set[int]:
    """The proposals the round's published results selected (none before publication)."""
    result = round_results.get_result(session, round_id)
    if result is None or result.published_at is None:
        return set()
    document = json.loads(result.results)
    return {int(p) for d in document["districts"].values() for p in d["selected"]}


def candidate_proposals(session: Session, call: FundingCall) -> list[Proposal]:
    """Accepted proposals of the call's round that the vote did not fund and that have no
    campaign in this call yet."""
    if call.round_id is None:
        return []
    funded = funded_in_round(session, call.round_id)
    taken = set(
        session.scalars(
            select(Campaign.proposal_id).where(
                Campaign.call_id == call.id, Campaign.proposal_id.is_not(None)
            )
        )
    )
    return [
        p
        for p in session.scalars(
            select(Proposal)
            .where(Proposal.round_id == call.round_id, Proposal.status == ProposalStatus.ACCEPTED)
            .order_by(Proposal.id)
        )
        if p.id not in funded and p.id not in taken
    ]


def validate(data: CampaignInput) -> tuple[dict[str, str], int]:
    """(messages keyed by form field, the minimum to store)."""
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Give the campaign a title.")
    elif len(data.title.strip()) > 120:
        errors["title"] = _("Use at most %(n)s characters.", n=120)
    if len(data.description) > 20_000:
        errors["description"] = _("Use at most %(n)s characters.", n=20_000)
    if len(data.costs) > MAX_COST_LINES:
        errors["costs"] = _("Use at most %(n)s cost lines.", n=MAX_COST_LINES)
    for label, amount in data.costs:
        if not label.strip() or len(label.strip()) > 200:
            errors["costs"] = _("Give every cost line a label of at most 200 characters.")
        if not 0 < amount <= MAX_AMOUNT:
            errors["costs"] = _("Every cost line needs an amount above 0.")
    total = sum(amount for _label, amount in data.costs)
    minimum = data.minimum if data.minimum is not None else total
    if not 0 < minimum <= MAX_AMOUNT:
        errors["minimum"] = _("Set a minimum above 0, or list the costs to use their sum.")
    if data.optimum is not None and not minimum <= data.optimum <= MAX_AMOUNT:
        errors["optimum"] = _("The optimum must be at least the minimum.")
    return errors, minimum


def _snapshot(session: Session, campaign: Campaign) -> dict[str, object]:
    return {
        "title": campaign.title,
        "proposal_id": campaign.proposal_id,
        "minimum": campaign.minimum,
        "optimum": campaign.optimum,
        "costs": [[c.label, c.amount] for c in cost_items(session, campaign.id)],
    }


def _set_costs(session: Session, campaign_id: int, costs: list[tuple[str, int]]) -> None:
    session.execute(delete(CostItem).where(CostItem.campaign_id == campaign_id))
    for n, (label, amount) in enumerate(costs):
        session.add(
            CostItem(campaign_id=campaign_id, position=n, label=label.strip(), amount=amount)
        )


def create_campaign(
    session: Session, actor_id: int | None, call_id: int, data: CampaignInput, today: dt.date
) -> Campaign:
    call = calls.get_call(session, call_id)
    calls.check_unlocked(session, call, today)
    if data.proposal_id is not None:
        proposal = session.get(Proposal, data.proposal_id)
        if proposal is None or proposal.id not in {
            p.id for p in candidate_proposals(session, call)
        }:
            raise ValidationError(
                {"proposal_id": _("Choose an accepted proposal the vote did not fund.")}
            )
    errors, minimum = validate(data)
    if errors:
        raise ValidationError(errors)
    campaign = Campaign(
        call_id=call.id,
        proposal_id=data.proposal_id,
        title=data.title.strip(),
        description=data.description,
        minimum=minimum,
        optimum=data.optimum,
        state=CampaignState.OPEN,
        created_at=clock.now(),
    )
    session.add(campaign)
    session.flush()
    session.add(
        CampaignTotals(
            campaign_id=campaign.id,
            backers=0,
            raised=0,
            match_backers=0,
            match_total=0,
            match_sum_sqrt=0.0,
        )
    )
    _set_costs(session, campaign.id, data.costs)
    session.flush()
    audit.record(
        session,
        actor_id,
        "campaign.create",
        f"campaign:{campaign.id}",
        after=_snapshot(session, campaign),
    )
    return campaign


def update_campaign(
    session: Session, actor_id: int, campaign_id: int, data: CampaignInput, today: dt.date
) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    calls.check_unlocked(session, calls.get_call(session, campaign.call_id), today)
    errors, minimum = validate(data)
    if errors:
        raise ValidationError(errors)
    before = _snapshot(session, campaign)
    campaign.title = data.title.strip()
    campaign.description = data.description
    campaign.minimum = minimum
    campaign.optimum = data.optimum
    _set_costs(session, campaign.id, data.costs)
    session.flush()
    after = _snapshot(session, campaign)
    if before != after:
        audit.record(session, actor_id, "campaign.update", f"campaign:{campaign.id}", before, after)
    return campaign


def delete_campaign(session: Session, actor_id: int, campaign_id: int, today: dt.date) -> int:
    """Remove a campaign from a call that is still being set up (before pledging opens nobody
    can pledge or sign up, so nothing of a resident's goes with it); refused with
    :class:`CallLocked` afterwards. Its costs, totals and tasks go with it; a proposal it came
    from can be chosen again. Returns the call's id."""
    campaign = get_campaign(session, campaign_id)
    calls.check_unlocked(session, calls.get_call(session, campaign.call_id), today)
    call_id = campaign.call_id
    audit.record(
        session,
        actor_id,
        "campaign.delete",
        f"campaign:{campaign.id}",
        before=_snapshot(session, campaign),
    )
    session.delete(campaign)
    session.flush()
    return call_id


def campaign_input(session: Session, campaign: Campaign) -> CampaignInput:
    return CampaignInput(
        title=campaign.title,
        description=campaign.description,
        costs=[(c.label, c.amount) for c in cost_items(session, campaign.id)],
        minimum=campaign.minimum,
        optimum=campaign.optimum,
        proposal_id=campaign.proposal_id,
    )


def proposal_input(session: Session, proposal_id: int) -> CampaignInput:
    """A new campaign's form filled from a proposal: its title, description and cost."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id}")
    cost = proposal.feasible_cost or proposal.estimated_cost
    return CampaignInput(
        title=proposal.title,
        description=proposal.description,
        costs=[(proposal.title, cost)] if cost > 0 else [],
        proposal_id=proposal.id,
    )


def cost_items(session: Session, campaign_id: int) -> list[CostItem]:
    return list(
        session.scalars(
            select(CostItem)
            .where(CostItem.campaign_id == campaign_id)
            .order_by(CostItem.position, CostItem.id)
        )
    )


def campaigns_of(session: Session, call_id: int) -> list[Campaign]:
    return list(
        session.scalars(select(Campaign).where(Campaign.call_id == call_id).order_by(Campaign.id))
    )
