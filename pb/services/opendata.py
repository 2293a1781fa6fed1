"""Open data: what the read-only API and its CSV files publish, as plain rows.

Each function returns what is already public on the site, nothing more: no round in draft (to
anyone, staff included), no rejected or merged proposal, no result before it is published, no
funding call before pledging opens, and no personal data (no author, no email, no backer: a
campaign shows its totals). Money is in minor units with its currency; dates are ISO strings.
A function raises NotFound for a round or call that is missing or not public.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.errors import NotFound
from pb.geo import geojson
from pb.models import (
    Campaign,
    CampaignState,
    CampaignTotals,
    Category,
    CostItem,
    District,
    FundingCall,
    Phase,
    Proposal,
    ProposalStatus,
    Round,
    RoundDistrict,
    RoundResult,
)
from pb.services import rounds
from pb.services.funding import calls
from pb.services.tracking import impact, public

Row = dict[str, Any]
PUBLIC_STATUSES = (ProposalStatus.SUBMITTED, ProposalStatus.ACCEPTED)


def _public_rounds(session: Session, today: dt.date) -> list[Round]:
    return [
        r
        for r in session.scalars(select(Round).order_by(Round.id))
        if rounds.effective_phase(r, today) is not Phase.DRAFT
    ]


def _round(session: Session, today: dt.date, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None or rounds.effective_phase(rnd, today) is Phase.DRAFT:
        raise NotFound(f"round {round_id}")
    return rnd


def _published(session: Session, round_id: int) -> dict[str, Any] | None:
    result = session.get(RoundResult, round_id)
    if result is None or result.published_at is None:
        return None
    document: dict[str, Any] = json.loads(result.results)
    return document


def _round_row(session: Session, rnd: Round, today: dt.date) -> Row:
    return {
        "id": rnd.id,
        "title": rnd.title,
        "description": rnd.description,
        "phase": rounds.effective_phase(rnd, today).value,
        "currency": rnd.currency,
        "total_budget": rnd.total_budget,
        "citywide_budget": rnd.citywide_budget,
        "proposals_from": rnd.proposals_from.isoformat(),
        "review_from": rnd.review_from.isoformat(),
        "voting_from": rnd.voting_from.isoformat(),
        "voting_until": rnd.voting_until.isoformat(),
        "method": rnd.method.value,
        "rule": rnd.rule,
        "results_published": _published(session, rnd.id) is not None,
    }


def list_rounds(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    return [_round_row(session, r, today) for r in _public_rounds(session, today)]


def get_round(session: Session, today: dt.date, params: dict[str, int]) -> Row:
    rnd = _round(session, today, params["round_id"])
    row = _round_row(session, rnd, today)
    budgets = session.execute(
        select(RoundDistrict.district_id, RoundDistrict.budget)
        .where(RoundDistrict.round_id == rnd.id)
        .order_by(RoundDistrict.district_id)
    ).all()
    row["district_budgets"] = [{"district_id": d, "budget": b} for d, b in budgets]
    return row


def list_districts(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    return [
        {"id": d.id, "name": d.name, "population": d.population, "has_boundary": bool(d.boundary)}
        for d in session.scalars(select(District).order_by(District.id))
    ]


def district_features(session: Session) -> dict[str, Any]:
    """The districts that have a boundary, as one GeoJSON FeatureCollection."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": d.id,
                "properties": {"id": d.id, "name": d.name, "population": d.population},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": geojson.load_polygons(d.boundary),
                },
            }
            for d in session.scalars(select(District).order_by(District.id))
            if d.boundary
        ],
    }


def list_proposals(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    rnd = _round(session, today, params["round_id"])
    categories = dict(
        session.execute(select(Category.id, Category.name).where(Category.round_id == rnd.id)).all()
    )
    rows = session.scalars(
        select(Proposal)
        .where(Proposal.round_id == rnd.id, Proposal.status.in_(PUBLIC_STATUSES))
        .order_by(Proposal.id)
    )
    return [
        {
            "id": p.id,
            "round_id": p.round_id,
            "status": p.status.value,
            "title": p.title,
            "summary": p.summary,
            "description": p.description,
            "need": p.need,
            "beneficiaries": p.beneficiaries,
            "partners": p.partners,
            "place": p.place,
            "district_id": p.district_id,
            "category": categories.get(p.category_id) if p.category_id else None,
            "currency": rnd.currency,
            "estimated_cost": p.estimated_cost,
            "feasible_cost": p.feasible_cost,
            "latitude": p.latitude,
            "longitude": p.longitude,
            "submitted_on": p.created_at.date().isoformat(),
        }
        for p in rows
    ]


def _ballots(session: Session, rnd: Round) -> list[tuple[str, str, int | None, dict[str, Any]]]:
    """(key, name, district id, configuration entry) of each ballot in the locked config."""
    config = json.loads(rnd.locked_config or "{}")
    by_key = {k: i for i, k in rounds.district_keys(session).items()}
    return [(d["key"], d["name"], by_key.get(d["key"]), d) for d in config.get("districts", [])]


def list_results(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    rnd = _round(session, today, params["round_id"])
    document = _published(session, rnd.id)
    if document is None:
        raise NotFound(f"results {rnd.id}")
    rows = []
    for key, name, district_id, entry in _ballots(session, rnd):
        outcome = document["districts"][key]
        titles = {p["id"]: p["title"] for p in entry["projects"]}
        order = {pid: n for n, pid in enumerate(outcome["selected"], 1)}
        for p in sorted(outcome["projects"], key=lambda p: (-p["score"], p["cost"], p["id"])):
            rows.append(
                {
                    "round_id": rnd.id,
                    "ballot": key,
                    "ballot_name": name,
                    "district_id": district_id,
                    "project_id": int(p["id"]),
                    "title": titles.get(p["id"], ""),
                    "currency": rnd.currency,
                    "cost": p["cost"],
                    "score": p["score"],
                    "selected": p["selected"],
                    "funded_order": order.get(p["id"]),
                }
            )
    return rows


def list_turnout(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    rnd = _round(session, today, params["round_id"])
    document = _published(session, rnd.id)
    if document is None:
        raise NotFound(f"results {rnd.id}")
    rows = []
    for key, name, district_id, entry in _ballots(session, rnd):
        outcome = document["districts"][key]
        rows.append(
            {
                "round_id": rnd.id,
                "ballot": key,
                "ballot_name": name,
                "district_id": district_id,
                "currency": rnd.currency,
                "budget": entry["budget"],
                "spent": outcome["spent"],
                "rule": outcome["rule"],
                "ballots": outcome["turnout"]["ballots"],
                "online": outcome["turnout"]["online"],
                "paper": outcome["turnout"]["paper"],
            }
        )
    return rows


def list_funded_projects(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    """Projects funded by a published vote, then campaigns funded by crowdfunding."""
    rows: list[Row] = []
    proposals: dict[int, Proposal] = {}
    for rnd in _public_rounds(session, today):
        document = _published(session, rnd.id)
        if document is None:
            continue
        for key, _name, district_id, entry in _ballots(session, rnd):
            titles = {p["id"]: p["title"] for p in entry["projects"]}
            outcome = document["districts"][key]
            costs = {p["id"]: p["cost"] for p in outcome["projects"]}
            for pid in outcome["selected"]:
                p = proposals.get(int(pid)) or session.get(Proposal, int(pid))
                rows.append(
                    {
                        "funded_by": "vote",
                        "round_id": rnd.id,
                        "proposal_id": int(pid),
                        "campaign_id": None,
                        "call_id": None,
                        "title": titles.get(pid, ""),
                        "district_id": district_id,
                        "currency": rnd.currency,
                        "amount": costs[pid],
                        "latitude": p.latitude if p else None,
                        "longitude": p.longitude if p else None,
                    }
                )
    funded = session.execute(
        select(Campaign, FundingCall, CampaignTotals.raised)
        .join(FundingCall, FundingCall.id == Campaign.call_id)
        .outerjoin(CampaignTotals, CampaignTotals.campaign_id == Campaign.id)
        .where(Campaign.state == CampaignState.FUNDED)
        .order_by(Campaign.id)
    ).all()
    for campaign, call, raised in funded:
        p = session.get(Proposal, campaign.proposal_id) if campaign.proposal_id else None
        rows.append(
            {
                "funded_by": "crowdfunding",
                "round_id": call.round_id,
                "proposal_id": campaign.proposal_id,
                "campaign_id": campaign.id,
                "call_id": call.id,
                "title": campaign.title,
                "district_id": p.district_id if p else None,
                "currency": call.currency,
                "amount": raised or 0,
                "latitude": p.latitude if p else None,
                "longitude": p.longitude if p else None,
            }
        )
    return rows


def _call_row(call: FundingCall, today: dt.date) -> Row:
    return {
        "id": call.id,
        "round_id": call.round_id,
        "title": call.title,
        "description": call.description,
        "phase": calls.phase(call, today).value,
        "currency": call.currency,
        "pool": call.pool,
        "matching_rule": str(call.rule.get("kind", "")),
        "pledging_from": call.pledging_from.isoformat(),
        "pledging_until": call.pledging_until.isoformat(),
        "collection_until": call.collection_until.isoformat(),
    }


def list_calls(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    return [
        _call_row(c, today)
        for c in session.scalars(select(FundingCall).order_by(FundingCall.id))
        if calls.phase(c, today) is not calls.CallPhase.DRAFT
    ]


def list_campaigns(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    call = session.get(FundingCall, params["call_id"])
    if call is None or calls.phase(call, today) is calls.CallPhase.DRAFT:
        raise NotFound(f"call {params['call_id']}")
    rows = session.execute(
        select(Campaign, CampaignTotals)
        .outerjoin(CampaignTotals, CampaignTotals.campaign_id == Campaign.id)
        .where(Campaign.call_id == call.id)
        .order_by(Campaign.id)
    ).all()
    costs: dict[int, list[Row]] = {}
    for item in session.scalars(
        select(CostItem)
        .join(Campaign, Campaign.id == CostItem.campaign_id)
        .where(Campaign.call_id == call.id)
        .order_by(CostItem.campaign_id, CostItem.position)
    ):
        costs.setdefault(item.campaign_id, []).append({"label": item.label, "amount": item.amount})
    return [
        {
            "id": c.id,
            "call_id": call.id,
            "proposal_id": c.proposal_id,
            "title": c.title,
            "description": c.description,
            "state": c.state.value,
            "currency": call.currency,
            "minimum": c.minimum,
            "optimum": c.optimum,
            "backers": t.backers if t else 0,
            "raised": t.raised if t else 0,
            "costs": costs.get(c.id, []),
        }
        for c, t in rows
    ]


# --- after the vote: tracking and impact (published rounds only: the services raise NotFound) --


def _tracking_rows(tracking: public.Tracking, scope: Row) -> list[Row]:
    return [
        {
            "project_id": p.id,
            **scope,
            "title": p.title,
            "district": p.district,
            "funded_by": p.funded_by.value,
            "status": p.status.value,
            "progress": p.progress,
            "currency": tracking.currency,
            "approved": p.approved,
            "spent": p.spent,
        }
        for p in tracking.projects
    ]


def list_tracking(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    """The funded projects of a round with their status, progress and money."""
    tracking = public.round_tracking(session, params["round_id"])
    return _tracking_rows(tracking, {"round_id": tracking.round_id})


def list_call_tracking(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    """The projects a funding call's published match funded, with status, progress and money."""
    tracking = public.call_tracking(session, params["call_id"], today)
    return _tracking_rows(tracking, {"call_id": tracking.call_id, "round_id": tracking.round_id})


def list_indicators(session: Session, today: dt.date, params: dict[str, int]) -> list[Row]:
    """One row per indicator of each funded project of a round, with its latest value."""
    result = impact.round_impact(session, params["round_id"])
    rows: list[Row] = []
    for project in result.projects:
        for ind in project.indicators:
            dated = [m.measured_on for m in ind.measurements if m.measured_on is not None]
            rows.append(
                {
                    "project_id": project.id,
                    "round_id": result.round_id,
                    "project_title": project.title,
                    "indicator": ind.name,
                    "unit": ind.unit,
                    "summable": ind.summable,
                    "baseline": ind.baseline,
                    "target": ind.target,
                    "current": ind.current,
                    "percent": ind.percent,
                    "measurements": len(ind.measurements),
                    "last_measured_on": max(dated).isoformat() if dated else None,
                }
            )
    return rows
