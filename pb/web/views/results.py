"""Results: staff count and publish; everyone reads the results, how the winners were chosen,
the turnout, and downloads the ballot bundle to audit it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import Role
from pb.services import ballot_log, results, rounds
from pb.services.tracking.public import card_ids
from pb.web.charts import CHART_WIDTH, scaled
from pb.web.explain import Sentence, explain, tie_sentences
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


@dataclass(frozen=True)
class Bar:
    id: str
    title: str
    cost: int
    score: int
    funded: bool
    width: int  # of CHART_WIDTH


@dataclass(frozen=True)
class DistrictResult:
    key: str
    name: str
    budget: int
    spent: int
    funded: list[Bar]
    bars: list[Bar]
    steps: list[Sentence]
    ties: list[str]
    turnout: dict[str, int]
    rule: str


def district_results(config: dict[str, Any], document: dict[str, Any]) -> list[DistrictResult]:
    currency = config["round"]["currency"]
    out = []
    for district in config["districts"]:
        outcome = document["districts"][district["key"]]
        titles = {p["id"]: p["title"] for p in district["projects"]}
        projects = sorted(outcome["projects"], key=lambda p: (-p["score"], p["cost"]))
        top = max((p["score"] for p in projects), default=0) or 1
        bars = [
            Bar(
                p["id"],
                titles.get(p["id"], p["id"]),
                p["cost"],
                p["score"],
                p["selected"],
                scaled(p["score"], top),
            )
            for p in projects
        ]
        order = {pid: n for n, pid in enumerate(outcome["selected"])}
        funded = sorted((b for b in bars if b.funded), key=lambda b: order.get(b.id, 0))
        out.append(
            DistrictResult(
                key=district["key"],
                # The locked config names the city-wide ballot in English: say it in the page's.
                name=_("City-wide") if district["key"] == "citywide" else district["name"],
                budget=district["budget"],
                spent=outcome["spent"],
                funded=funded,
                bars=bars,
                steps=explain(outcome, titles, currency, config["method"]["kind"]),
                ties=tie_sentences(outcome, titles),
                turnout=outcome["turnout"],
                rule=outcome["rule"],
            )
        )
    return out


def _page_data(session: Session, round_id: int, staff: bool) -> dict[str, Any]:
    rnd = rounds.get_round(session, round_id)
    result = results.get_result(session, round_id)
    published = result is not None and result.published_at is not None
    if not published and not staff:
        raise NotFound(f"results {round_id}")
    records, hashes = results.chain(session, round_id)
    values: dict[str, Any] = {
        "round": rnd,
        "result": result,
        "published": published,
        "head": ballot_log.log_head(session, round_id),
        "stale": False,
        "cards": card_ids(session, round_id) if published else {},
    }
    if result is not None:
        config = json.loads(rnd.locked_config or "{}")
        document = json.loads(result.results)
        districts = district_results(config, document)
        days = results.turnout_by_day(records[: result.chain_length])
        top_day = max((d.ballots for d in days), default=0) or 1
        values.update(
            districts=districts,
            days=[(d, round(120 * d.ballots / top_day)) for d in days],
            totals={
                k: sum(d.turnout[k] for d in districts) for k in ("ballots", "online", "paper")
            },
            currency=config["round"]["currency"],
            stale=bool(hashes) and hashes[-1] != result.chain_head,
        )
    return values


def _is_staff(request: Request) -> bool:
    user = context(request).user
    return user is not None and user.role in (Role.STAFF, Role.ADMIN)


async def show_results(request: Request) -> Response:
    app = state(request)
    values = await app.db.read(_page_data, request.path_params["round_id"], _is_staff(request))
    values["phase"] = rounds.effective_phase(values["round"], app.today())
    return app.renderer.render(
        request,
        "results/show.html",
        {**values, "is_staff": _is_staff(request), "chart_width": CHART_WIDTH},
    )


async def run_tally(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    try:
        await app.db.write(results.tally_round, ctx.user.id, round_id, app.today())
        await app.after_seal()  # the count sealed participation (paper ballots may be new)
        flash(
            request, _("The ballots are counted. Review the results, then publish them."), "success"
        )
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    return RedirectResponse(f"/rounds/{round_id}/results", status_code=303)


async def publish(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    form = await request.form()
    if form.get("confirm") != "yes":
        title = await app.db.read(lambda s: rounds.get_round(s, round_id).title)
        return app.renderer.render(
            request,
            "pages/confirm.html",
            {
                "heading": _("Publish the results?"),
                "subject": title,
                "consequences": [
                    _("Everyone can read the results and download the ballot bundle."),
                    _("Published results are final: they can never be counted again or changed."),
                ],
                "action": f"/rounds/{round_id}/publish",
                "confirm_label": _("Yes, publish them"),
                "back": f"/rounds/{round_id}/results",
            },
        )
    try:
        await app.db.write(results.publish, ctx.user.id, round_id, app.today())
        await app.after_seal()
        flash(request, _("The results are published."), "success")
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    return RedirectResponse(f"/rounds/{round_id}/results", status_code=303)


async def download_bundle(request: Request) -> Response:
    app = state(request)
    round_id = request.path_params["round_id"]
    try:
        data = await app.db.read(results.bundle, round_id)
    except NotFound:
        raise HTTPException(404) from None
    return Response(
        data,
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="pb-round-{round_id}-bundle.zip"'},
    )


routes = [
    route("/rounds/{round_id:id}/results", show_results, access=Access.PUBLIC),
    route("/rounds/{round_id:id}/tally", run_tally, access=Access.STAFF, methods=["POST"]),
    route("/rounds/{round_id:id}/publish", publish, access=Access.STAFF, methods=["POST"]),
    route("/rounds/{round_id:id}/bundle.zip", download_bundle, access=Access.PUBLIC),
]
