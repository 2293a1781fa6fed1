"""The open-data API ``/api/v1``: what pb publishes, declared once (fields, service, path) and
served as JSON, CSV and in the OpenAPI document. See docs/api.md."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pb.services import opendata
from pb.web import openapi
from pb.web.opendata import (
    PREFIX,
    REGISTRY,
    Endpoint,
    Field,
    cached,
    json_bytes,
    register,
    routes_for,
)
from pb.web.routing import Access, GuardedRoute, route
from pb.web.state import state

MONEY = "in minor units (cents) of the currency"
LAT = Field("latitude", "number", "WGS 84 degrees, north positive", nullable=True)
LON = Field("longitude", "number", "WGS 84 degrees, east positive", nullable=True)
CURRENCY = Field("currency", "string", "ISO 4217 code")

ROUND_FIELDS = (
    Field("id", "integer", "Round id"),
    Field("title", "string", "Title"),
    Field("description", "string", "Description"),
    Field("phase", "string", "proposals, review, voting, closed or results"),
    CURRENCY,
    Field("total_budget", "integer", f"Total budget, {MONEY}"),
    Field("citywide_budget", "integer", f"City-wide budget, {MONEY}"),
    Field("proposals_from", "string", "First day of proposals (ISO date)"),
    Field("review_from", "string", "First day of review (ISO date)"),
    Field("voting_from", "string", "First day of voting (ISO date)"),
    Field("voting_until", "string", "Last day of voting (ISO date)"),
    Field("method", "string", "approval, knapsack, quadratic or cumulative"),
    Field("rule", "string", "The tally rule (pb tally --rule)"),
    Field("results_published", "boolean", "Whether the results are published"),
)


def tracking_fields(*scope: Field) -> tuple[Field, ...]:
    """A funded project's row in a tracking list, ``scope`` naming the list it belongs to."""
    return (
        Field("project_id", "integer", "Project card id (/projects/{id})"),
        *scope,
        Field("title", "string", "Title"),
        Field("district", "string", "District name; null: city-wide", nullable=True),
        Field("funded_by", "string", "vote or crowdfunding"),
        Field("status", "string", "planned, in_progress, delayed, completed or cancelled"),
        Field("progress", "integer", "Progress, percent"),
        CURRENCY,
        Field("approved", "integer", f"Approved budget, {MONEY}"),
        Field("spent", "integer", f"Spent so far, {MONEY}"),
    )


ENDPOINTS = [
    Endpoint(
        "/rounds",
        "Rounds",
        "Round",
        ROUND_FIELDS,
        opendata.list_rounds,
        tag="rounds",
        description="Every round that is not a draft, oldest first.",
    ),
    Endpoint(
        "/rounds/{round_id:id}",
        "A round",
        "RoundDetail",
        (
            *ROUND_FIELDS,
            Field(
                "district_budgets",
                "array",
                f"Each district's budget, {MONEY}",
                items={
                    "type": "object",
                    "properties": {
                        "district_id": {"type": "integer"},
                        "budget": {"type": "integer"},
                    },
                },
            ),
        ),
        opendata.get_round,
        many=False,
        tag="rounds",
    ),
    Endpoint(
        "/rounds/{round_id:id}/proposals",
        "Proposals of a round",
        "Proposal",
        (
            Field("id", "integer", "Proposal id (the project id on ballots and in .pb files)"),
            Field("round_id", "integer", "Round id"),
            Field("status", "string", "submitted or accepted (on the ballot)"),
            Field("title", "string", "Title"),
            Field("summary", "string", "Summary"),
            Field("description", "string", "Description"),
            Field("need", "string", "The need it answers"),
            Field("beneficiaries", "string", "Who benefits"),
            Field("partners", "string", "Partners or co-proposers"),
            Field("place", "string", "Where, in words"),
            Field("district_id", "integer", "District id; null: city-wide", nullable=True),
            Field("category", "string", "Category", nullable=True),
            CURRENCY,
            Field("estimated_cost", "integer", f"The proposer's estimate, {MONEY}"),
            Field("feasible_cost", "integer", f"Cost after review, {MONEY}", nullable=True),
            LAT,
            LON,
            Field("submitted_on", "string", "ISO date"),
        ),
        opendata.list_proposals,
        tag="rounds",
        description="Submitted and accepted proposals (never rejected or merged ones, never "
        "the author).",
    ),
    Endpoint(
        "/rounds/{round_id:id}/results",
        "Results of a round",
        "ResultRow",
        (
            Field("round_id", "integer", "Round id"),
            Field("ballot", "string", "Ballot key: citywide or the district's key"),
            Field("ballot_name", "string", "Ballot name"),
            Field("district_id", "integer", "District id; null: city-wide", nullable=True),
            Field("project_id", "integer", "Project (proposal) id"),
            Field("title", "string", "Project title"),
            CURRENCY,
            Field("cost", "integer", f"Cost, {MONEY}"),
            Field("score", "integer", "Votes or points"),
            Field("selected", "boolean", "Funded"),
            Field("funded_order", "integer", "Order in which it was funded", nullable=True),
        ),
        opendata.list_results,
        tag="rounds",
        description="One row per project per ballot, highest score first; 404 until the "
        "results are published.",
    ),
    Endpoint(
        "/rounds/{round_id:id}/turnout",
        "Turnout and spending per ballot",
        "TurnoutRow",
        (
            Field("round_id", "integer", "Round id"),
            Field("ballot", "string", "Ballot key"),
            Field("ballot_name", "string", "Ballot name"),
            Field("district_id", "integer", "District id; null: city-wide", nullable=True),
            CURRENCY,
            Field("budget", "integer", f"Budget, {MONEY}"),
            Field("spent", "integer", f"Spent on funded projects, {MONEY}"),
            Field("rule", "string", "The tally rule"),
            Field("ballots", "integer", "Ballots cast"),
            Field("online", "integer", "Ballots cast online"),
            Field("paper", "integer", "Ballots cast on paper"),
        ),
        opendata.list_turnout,
        tag="rounds",
        description="404 until the results are published.",
    ),
    Endpoint(
        "/districts",
        "Districts",
        "District",
        (
            Field("id", "integer", "District id"),
            Field("name", "string", "Name"),
            Field("population", "integer", "Residents", nullable=True),
            Field("has_boundary", "boolean", "Whether /api/v1/districts.geojson outlines it"),
        ),
        opendata.list_districts,
        tag="town",
    ),
    Endpoint(
        "/projects",
        "Funded projects",
        "FundedProject",
        (
            Field("funded_by", "string", "vote or crowdfunding"),
            Field("round_id", "integer", "Round id", nullable=True),
            Field("proposal_id", "integer", "Proposal id", nullable=True),
            Field("campaign_id", "integer", "Campaign id (crowdfunding)", nullable=True),
            Field("call_id", "integer", "Funding call id (crowdfunding)", nullable=True),
            Field("title", "string", "Title"),
            Field("district_id", "integer", "District id; null: city-wide", nullable=True),
            CURRENCY,
            Field("amount", "integer", f"Approved cost (vote) or amount raised, {MONEY}"),
            LAT,
            LON,
        ),
        opendata.list_funded_projects,
        tag="projects",
        description="Projects funded by a published vote, then campaigns funded by crowdfunding.",
    ),
    Endpoint(
        "/funding/calls",
        "Funding calls",
        "FundingCall",
        (
            Field("id", "integer", "Call id"),
            Field("round_id", "integer", "Round id; null: a standalone call", nullable=True),
            Field("title", "string", "Title"),
            Field("description", "string", "Description"),
            Field("phase", "string", "pledging, collecting or closed"),
            CURRENCY,
            Field("pool", "integer", f"Matching pool, {MONEY}"),
            Field("matching_rule", "string", "quadratic or capped 1:1 (the rule's kind)"),
            Field("pledging_from", "string", "ISO date"),
            Field("pledging_until", "string", "ISO date"),
            Field("collection_until", "string", "ISO date"),
        ),
        opendata.list_calls,
        tag="funding",
        description="Calls whose pledging has opened.",
    ),
    Endpoint(
        "/funding/calls/{call_id:id}/campaigns",
        "Campaigns of a call",
        "Campaign",
        (
            Field("id", "integer", "Campaign id"),
            Field("call_id", "integer", "Call id"),
            Field("proposal_id", "integer", "The proposal it continues", nullable=True),
            Field("title", "string", "Title"),
            Field("description", "string", "Description"),
            Field("state", "string", "open, succeeded, failed or funded"),
            CURRENCY,
            Field("minimum", "integer", f"All-or-nothing goal, {MONEY}"),
            Field("optimum", "integer", f"Optimum goal, {MONEY}", nullable=True),
            Field("backers", "integer", "Active pledges"),
            Field("raised", "integer", f"Pledged (active pledges), {MONEY}"),
            Field(
                "costs",
                "array",
                f"Itemised costs, {MONEY} (not in the CSV)",
                items={
                    "type": "object",
                    "properties": {"label": {"type": "string"}, "amount": {"type": "integer"}},
                },
            ),
        ),
        opendata.list_campaigns,
        tag="funding",
        description="Totals only: no backer is named.",
    ),
    Endpoint(
        "/rounds/{round_id:id}/tracking",
        "How a round's funded projects are carried out",
        "TrackedProject",
        tracking_fields(Field("round_id", "integer", "Round id")),
        opendata.list_tracking,
        tag="projects",
        description="404 until the results are published.",
    ),
    Endpoint(
        "/funding/calls/{call_id:id}/tracking",
        "How the projects a funding call funded are carried out",
        "CallTrackedProject",
        tracking_fields(
            Field("call_id", "integer", "Funding call id"),
            Field(
                "round_id", "integer", "The call's round; null: a call of its own", nullable=True
            ),
        ),
        opendata.list_call_tracking,
        tag="projects",
        description="Empty until the call's match is published; 404 for a call in draft.",
    ),
    Endpoint(
        "/rounds/{round_id:id}/indicators",
        "Impact indicators of a round's funded projects",
        "ProjectIndicator",
        (
            Field("project_id", "integer", "Project card id"),
            Field("round_id", "integer", "Round id"),
            Field("project_title", "string", "Project title"),
            Field("indicator", "string", "Indicator name"),
            Field("unit", "string", "Unit"),
            Field("summable", "boolean", "A catalogue indicator summed across projects"),
            Field("baseline", "integer", "Value before the project"),
            Field("target", "integer", "Target value"),
            Field("current", "integer", "Latest value"),
            Field("percent", "integer", "Progress from baseline to target, 0-100"),
            Field("measurements", "integer", "Number of measurements"),
            Field("last_measured_on", "string", "ISO date", nullable=True),
        ),
        opendata.list_indicators,
        tag="projects",
        description="404 until the results are published.",
    ),
]
for _endpoint in ENDPOINTS:
    register(_endpoint)

GEOJSON_PATH = {
    PREFIX + "/districts.geojson": {
        "get": {
            "summary": "District boundaries",
            "description": "A GeoJSON FeatureCollection of the districts that have a boundary "
            "(MultiPolygons, WGS 84).",
            "operationId": "districtBoundaries",
            "tags": ["town"],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/geo+json": {"schema": {"type": "object"}}},
                },
                "304": {"description": "Not modified."},
            },
        }
    },
    PREFIX + "/openapi.json": {
        "get": {
            "summary": "This description",
            "operationId": "openapi",
            "tags": ["town"],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


async def boundaries(request: Request) -> Response:
    data: dict[str, Any] = await state(request).db.read(opendata.district_features)
    return cached(request, json_bytes(data), "application/geo+json", {})


async def openapi_json(request: Request) -> Response:
    return cached(
        request, json_bytes(openapi.document(REGISTRY, GEOJSON_PATH)), "application/json", {}
    )


def all_routes() -> list[GuardedRoute]:
    """Built when the app is made, so endpoints registered by other areas are served too."""
    out = [
        route(PREFIX + "/openapi.json", openapi_json, access=Access.PUBLIC),
        route(PREFIX + "/districts.geojson", boundaries, access=Access.PUBLIC),
    ]
    for endpoint in REGISTRY:
        out += routes_for(endpoint)
    return out
