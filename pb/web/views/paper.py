"""Staff: fast keyboard entry of paper ballots cast in person, in the same chain as online ones.

The voter is identified as the round requires (access code, census identifier and second fact,
or account email) and marked as having voted; the ballot is recorded with channel "paper"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import District, Eligibility, Phase, User
from pb.services import eligibility, rounds, voting
from pb.services.accounts import normalize_email
from pb.services.eligibility import Voter
from pb.services.rounds import slugify
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context
from pb.web.state import state
from pb.web.views.voting import parse_choices


def _data(session: Session, round_id: int, today: Any) -> dict[str, Any]:
    rnd = rounds.get_round(session, round_id)
    phase = rounds.effective_phase(rnd, today)
    config = voting.config_of(session, rnd) if phase in (Phase.VOTING, Phase.CLOSED) else None
    return {"round": rnd, "phase": phase, "config": config, "slots": voting.slots(rnd)}


def _render(
    request: Request,
    data: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    recorded: str | None = None,
    status: int = 200,
) -> Response:
    return state(request).renderer.render(
        request,
        "voting/paper.html",
        {**data, "values": values, "errors": errors, "recorded": recorded},
        status_code=status,
    )


async def paper_form(request: Request) -> Response:
    app = state(request)
    data = await app.db.read(_data, request.path_params["round_id"], app.today())
    return _render(request, data, {"district": request.query_params.get("district", "")}, {})


def _identify(session: Session, rnd: Any, form: Any, secret: str) -> Voter | None:
    if rnd.eligibility is Eligibility.CODES:
        return eligibility.check_code(session, rnd.id, text(form, "code", 60), secret)
    if rnd.eligibility is Eligibility.CENSUS:
        return eligibility.check_census(
            session, rnd.id, text(form, "identifier", 200), text(form, "proof", 200), secret
        )
    user_id = session.scalar(
        select(User.id).where(User.email == normalize_email(text(form, "email", 254)))
    )
    return Voter(f"account:{user_id}", None) if user_id else None


async def record_paper(request: Request) -> Response:
    app = state(request)
    round_id = request.path_params["round_id"]
    form = await request.form()
    data = await app.db.read(_data, round_id, app.today())
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    if data["config"] is None:
        return _render(
            request,
            data,
            values,
            {"": _("Paper ballots can be entered while voting is open or just closed.")},
            None,
            409,
        )
    slot = text(form, "slot", 20)
    if slot not in data["slots"]:
        return _render(request, data, values, {"slot": _("Choose the ballot.")}, None, 422)
    secret = app.settings.secret_key
    voter = await app.db.read(_identify, data["round"], form, secret)
    if voter is None:
        return _render(
            request, data, values, {"voter": _("This voter is not eligible.")}, None, 422
        )
    if slot == voting.CITYWIDE:
        key = voting.CITYWIDE
    elif voter.district_id is not None:
        key = await app.db.read(lambda s: slugify(s.get(District, voter.district_id).name))
    else:
        key = text(form, "district", 80)
    try:
        district = voting.district_of(data["config"], slot, key)
    except NotFound:
        return _render(request, data, values, {"district": _("Choose the district.")}, None, 422)
    choices, errors = parse_choices(form, district["projects"], data["config"]["method"]["kind"])
    if errors:
        return _render(request, data, values, errors, None, 422)
    ctx = context(request)
    assert ctx.user is not None
    try:
        receipt = await app.db.write(
            voting.cast_paper,
            ctx.user.id,
            round_id,
            slot,
            key,
            voting.voter_key(secret, round_id, voter.identity),
            choices,
            app.today(),
        )
    except voting.AlreadyVoted:
        return _render(
            request,
            data,
            values,
            {"voter": _("This voter has already voted on this ballot.")},
            None,
            409,
        )
    except voting.VotingClosed:
        return _render(
            request, data, values, {"": _("This round no longer takes ballots.")}, None, 409
        )
    except ValidationError as exc:
        return _render(request, data, values, exc.errors, None, 422)
    # Ready for the next ballot: keep the ballot and district, clear the voter and choices.
    return _render(request, data, {"slot": slot, "district": key}, {}, receipt.code)


routes = [
    route("/rounds/{round_id:id}/paper", paper_form, access=Access.STAFF),
    route("/rounds/{round_id:id}/paper", record_paper, access=Access.STAFF, methods=["POST"]),
]
