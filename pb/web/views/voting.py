"""Voting on phones: prove eligibility, fill a ballot (live feedback with htmx, fully usable
without JavaScript), review it, cast it, get a receipt; look up a receipt later.

Casting is idempotent for the voter: the review page draws the ballot's receipt code and puts
it, signed and bound to the voter, the round, the ballot and its choices, in the cast form
(``cast_token``). If the answer to a cast is lost (a crash after the commit, a dropped
connection), sending the same form again finds that code in the ballot log with the same
choices and shows the receipt instead of "already cast". Nothing new is stored: the code is the
ballot's receipt, and the token lives only in the voter's form."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.audit import format_receipt
from pb.db import UNREACHABLE, outage_kind
from pb.errors import NotFound, Throttled, ValidationError
from pb.i18n import gettext as _
from pb.models import District, Eligibility, Phase, Round
from pb.services import accounts, ballot_log, eligibility, photos, rounds, voting
from pb.services.eligibility import Voter
from pb.services.rounds import slugify
from pb.web.forms import parse_int, safe_next, text
from pb.web.routing import Access, route
from pb.web.security import client_address, context, make_cookie
from pb.web.state import state

VOTER_COOKIE = "pb_voter"
RECEIPT_COOKIE = "pb_receipt"
VOTER_MAX_AGE = 2 * 3600
CAST_TOKEN_MAX_AGE = VOTER_MAX_AGE  # a review page's cast form stays good this long
# A cast whose connection was lost, so whose outcome is unknown, is sent again after these
# delays (seconds): it is idempotent (a token's code already in the log means it went in).
CAST_RETRY_DELAYS = (0.2, 0.8)


def _signer(request: Request, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(state(request).settings.secret_key, salt=salt)


def current_voter(request: Request, rnd: Round) -> Voter | None:
    """Who is voting: the logged-in account, or the census/code voter of this round."""
    ctx = context(request)
    if rnd.eligibility is Eligibility.ACCOUNT:
        # Any account whose owner has confirmed its address: one mailbox, one vote.
        if ctx.user is None or not ctx.user.email_verified:
            return None
        return Voter(f"account:{ctx.user.id}", None)
    name = ("__Host-" if ctx.https else "") + VOTER_COOKIE
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        data = _signer(request, "pb.voter").loads(raw, max_age=VOTER_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("r") != rnd.id:
        return None
    return Voter(str(data["i"]), data.get("d"))


def _voter_cookie(request: Request, rnd: Round, voter: Voter) -> str:
    value = _signer(request, "pb.voter").dumps(
        {"r": rnd.id, "i": voter.identity, "d": voter.district_id}
    )
    return make_cookie(VOTER_COOKIE, value, context(request).https, VOTER_MAX_AGE)


def _key(request: Request, rnd: Round, voter: Voter) -> str:
    return voting.voter_key(state(request).settings.secret_key, rnd.id, voter.identity)


def _voter_district_key(session: Session, voter: Voter) -> str | None:
    if voter.district_id is None:
        return None
    district = session.get(District, voter.district_id)
    return slugify(district.name) if district else None


async def hub(request: Request) -> Response:
    """The voting page of a round: eligibility first, then the ballots still to cast."""
    app = state(request)
    round_id = request.path_params["round_id"]

    def load(session: Session) -> dict[str, Any]:
        rnd = rounds.get_round(session, round_id)
        phase = rounds.effective_phase(rnd, app.today())
        if phase is Phase.DRAFT:
            raise NotFound(round_id)
        voter = current_voter(request, rnd)
        config = voting.config_of(session, rnd) if phase is Phase.VOTING else None
        done = voting.cast_slots(session, rnd.id, _key(request, rnd, voter)) if voter else set()
        return {
            "round": rnd,
            "phase": phase,
            "voter": voter,
            "done": done,
            "slots": voting.slots(rnd),
            "districts": _sorted_by_name(voting.district_choices(config)) if config else [],
            "voter_district": _voter_district_key(session, voter) if voter else None,
            "head": ballot_log.log_head(session, rnd.id),
        }

    values = await app.db.read(load)
    return app.renderer.render(request, "voting/hub.html", {**values, "errors": {}, "code": ""})


def _sorted_by_name(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Districts in alphabetical order as readers of any language expect it: accents and case
    do not move a name ("Écluse" sorts with the E's), numbers compare as numbers."""

    def key(item: tuple[str, str]) -> list[tuple[int, int | str]]:
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", item[1]) if not unicodedata.combining(c)
        ).casefold()
        return [
            (0, int(part)) if part.isdigit() else (1, part)
            for part in re.split(r"(\d+)", plain)
            if part
        ]

    return sorted(choices, key=key)


async def _choose_district_first(request: Request) -> Response:
    """The district ballot asked for without choosing a district: the voting page again, with
    the chooser marked (there is no default district, so nobody votes in the wrong one)."""
    app = state(request)
    round_id = request.path_params["round_id"]

    def load(session: Session) -> dict[str, Any]:
        rnd = rounds.get_round(session, round_id)
        if rounds.effective_phase(rnd, app.today()) is not Phase.VOTING:
            raise HTTPException(409, "closed")
        voter = current_voter(request, rnd)
        config = voting.config_of(session, rnd)
        done = voting.cast_slots(session, rnd.id, _key(request, rnd, voter)) if voter else set()
        return {
            "round": rnd,
            "phase": rounds.effective_phase(rnd, app.today()),
            "voter": voter,
            "done": done,
            "slots": voting.slots(rnd),
            "districts": _sorted_by_name(voting.district_choices(config)),
            "voter_district": _voter_district_key(session, voter) if voter else None,
            "head": ballot_log.log_head(session, rnd.id),
        }

    values = await app.db.read(load)
    errors = {"district": _("Choose your district: the one where you live.")}
    return app.renderer.render(
        request, "voting/hub.html", {**values, "errors": errors, "code": ""}, status_code=422
    )


async def prove_census(request: Request) -> Response:
    return await _prove(request, "census", request.path_params["round_id"])


async def prove_code(request: Request) -> Response:
    return await _prove(request, "code", request.path_params["round_id"])


async def _prove(request: Request, how: str, round_id: int) -> Response:
    app = state(request)
    form = await request.form()
    secret = app.settings.secret_key
    client = client_address(request)
    # Guessing is throttled like logins: per identifier (a census proof may be a birth year)
    # and per client.
    if how == "census":
        subject = eligibility.normalize_identifier(text(form, "identifier", 200))
    else:
        subject = client
    subject_key, client_key = accounts.failure_keys(f"{how}:{round_id}:{subject}", client)
    limits = (app.settings.account_failure_limits, app.settings.client_failure_limits)

    def check(session: Session) -> tuple[Round, Voter | None, bool]:
        rnd = rounds.get_round(session, round_id)
        if accounts.is_throttled(session, subject_key, client_key, *limits):
            raise Throttled(round_id)
        if how == "census" and rnd.eligibility is Eligibility.CENSUS:
            voter = eligibility.check_census(
                session, rnd.id, text(form, "identifier", 200), text(form, "proof", 200), secret
            )
        elif how == "code" and rnd.eligibility is Eligibility.CODES:
            voter = eligibility.check_code(session, rnd.id, text(form, "code", 60), secret)
        else:
            raise HTTPException(404)
        used = voter is not None and voting.cast_slots(
            session, rnd.id, voting.voter_key(secret, rnd.id, voter.identity)
        ) >= set(voting.slots(rnd))
        return rnd, voter, used

    try:
        rnd, voter, used = await app.db.read(check)
    except Throttled:
        rnd = await app.db.read(rounds.get_round, round_id)
        message = _("Too many failed attempts. Wait a few minutes and try again.")
        return await _hub_with_error(request, rnd, message, "", 429)
    if voter is None:
        await app.db.write(accounts.record_failure, subject_key, client_key)
        if how == "census":
            message = _(
                "We could not find you on the list of voters. Check the identifier and "
                "the second fact, exactly as on your letter."
            )
        else:
            message = _("This access code is not valid for this round. Check it and try again.")
        return await _hub_with_error(request, rnd, message, text(form, "code", 60))
    if used:
        if how == "census":
            message = _("You have already voted in this round. Ballots are final.")
        else:
            message = _("This access code has already been used.")
        return await _hub_with_error(request, rnd, message, text(form, "code", 60))
    response = RedirectResponse(_next_in_round(text(form, "next", 300), rnd.id), status_code=303)
    response.headers.append("set-cookie", _voter_cookie(request, rnd, voter))
    return response


def _next_in_round(target: str, round_id: int) -> str:
    """Where to go once eligibility is shown: back to a ballot of this round if that is where
    the voter came from, else the round's voting page."""
    hub_path = f"/rounds/{round_id}/vote"
    target = safe_next(target, hub_path)
    return target if target.split("?")[0].startswith(hub_path) else hub_path


def _ballot_path(request: Request, district: str | None) -> str:
    """The address of the ballot being asked for, to come back to after signing in."""
    path = request.url.path.removesuffix("/feedback")
    return f"{path}?{urlencode({'district': district})}" if district else path


async def _sign_in_page(request: Request, round_id: int, district: str | None) -> Response:
    """A ballot asked for by someone who has not shown they may vote: say so, and offer to
    log in, register or enter a code, coming back to this ballot afterwards."""
    app = state(request)

    def load(session: Session) -> dict[str, Any]:
        rnd = rounds.get_round(session, round_id)
        return {"round": rnd, "head": ballot_log.log_head(session, rnd.id)}

    values = await app.db.read(load)
    return app.renderer.render(
        request,
        "voting/sign_in.html",
        {**values, "next": _ballot_path(request, district), "code": "", "errors": {}},
        status_code=403,
    )


def _already_page(request: Request, data: dict[str, Any], status: int = 200) -> Response:
    """Someone came back to a ballot they have cast: say so, with where to go next. The
    receipt is not shown again (whoever holds this device now may not be the voter)."""
    rnd = data["round"]
    phase = rounds.effective_phase(rnd, state(request).today())
    return state(request).renderer.render(
        request,
        "voting/already.html",
        {"round": rnd, "phase": phase, "slot": data["slot"], "district": data["district"]},
        status_code=status,
    )


async def _hub_with_error(
    request: Request, rnd: Round, message: str, code: str, status: int = 422
) -> Response:
    app = state(request)
    head = await app.db.read(ballot_log.log_head, rnd.id)
    return app.renderer.render(
        request,
        "voting/hub.html",
        {
            "round": rnd,
            "phase": rounds.effective_phase(rnd, app.today()),
            "voter": None,
            "done": set(),
            "slots": voting.slots(rnd),
            "districts": [],
            "voter_district": None,
            "head": head,
            "errors": {"": message},
            "code": code,
        },
        status_code=status,
    )


def parse_choices(
    form: FormData, projects: list[dict[str, Any]], kind: str
) -> tuple[dict[str, int], dict[str, str]]:
    """Read a ballot form: checkboxes ``p`` (approval, knapsack) or numbers ``v_<id>``."""
    errors: dict[str, str] = {}
    choices: dict[str, int] = {}
    known = {p["id"] for p in projects}
    if kind in ("approval", "knapsack"):
        picked = [v for v in form.getlist("p") if isinstance(v, str)]
        if len(set(picked)) != len(picked):
            errors[""] = _("The ballot names a project twice.")
        for pid in picked:
            choices[pid] = 1
    else:
        for key, value in form.multi_items():
            if key.startswith("v_") and isinstance(value, str):
                pid = key[2:]
                if pid in choices:
                    errors[""] = _("The ballot names a project twice.")
                number = parse_int(value.strip() or "0")
                if number is None:
                    errors[pid] = _("Enter a whole number.")
                else:
                    choices[pid] = number
    if any(pid not in known for pid in choices):
        errors[""] = _("The ballot names a project that is not on it.")
    return choices, errors


def _ballot_data(
    session: Session,
    request: Request,
    round_id: int,
    slot: str,
    district_key: str | None,
    check_done: bool = True,
    about: bool = True,
) -> dict[str, Any]:
    """The round, its configuration, the voter and their ballot; ``already`` says whether they
    cast it (not looked up when ``check_done`` is false: casting finds out anyway). ``about``
    loads each project's summary and photo for the ballot page (live feedback needs none)."""
    app = state(request)
    rnd = rounds.get_round(session, round_id)
    phase = rounds.effective_phase(rnd, app.today())
    if phase is not Phase.VOTING:
        raise HTTPException(409, "closed")
    if slot not in voting.slots(rnd):
        raise HTTPException(404)
    voter = current_voter(request, rnd)
    if voter is None:
        raise HTTPException(403, "not-eligible")
    config = voting.config_of(session, rnd)
    fixed = _voter_district_key(session, voter)
    if slot == voting.CITYWIDE:
        key = voting.CITYWIDE
    elif fixed is not None:
        key = fixed
    elif district_key:
        key = district_key
    else:
        raise HTTPException(404)
    try:
        district = voting.district_of(config, slot, key)
    except NotFound:
        raise HTTPException(404) from None
    done = check_done and slot in voting.cast_slots(session, rnd.id, _key(request, rnd, voter))
    return {
        "round": rnd,
        "config": config,
        "district": district,
        "slot": slot,
        "voter": voter,
        "already": done,
        "method": config["method"],
        "about": photos.ballot_notes(session, [p["id"] for p in district["projects"]])
        if about
        else {},
    }


def _render_ballot(
    request: Request,
    data: dict[str, Any],
    choices: dict[str, int],
    errors: dict[str, str],
    template: str = "voting/ballot.html",
    status: int = 200,
    block: str | None = None,
    cast_token: str | None = None,
) -> Response:
    fb = voting.feedback(data["config"], data["district"], choices)
    return state(request).renderer.render(
        request,
        template,
        {**data, "choices": choices, "errors": errors, "fb": fb, "cast_token": cast_token},
        status_code=status,
        block=block,
    )


def _cast_binding(request: Request, data: dict[str, Any], choices: dict[str, int]) -> str:
    """What a cast token is good for: this voter, round, slot and district, these choices."""
    chosen = {pid: v for pid, v in sorted(choices.items()) if v > 0}
    key = _key(request, data["round"], data["voter"])
    what = [key, data["round"].id, data["slot"], data["district"]["key"], chosen]
    message = b"pb.cast-binding:" + json.dumps(what, separators=(",", ":")).encode()
    secret = state(request).settings.secret_key.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _receipt_of(request: Request, nonce: str) -> str:
    """The receipt code a cast token stands for. The token carries a random nonce, not the
    code: only the server turns it into the code, so a copy of the form reveals nothing."""
    secret = state(request).settings.secret_key.encode()
    digest = hmac.new(secret, b"pb.cast-receipt:" + nonce.encode(), hashlib.sha256).digest()
    return format_receipt(int.from_bytes(digest, "big"))


def _cast_token(request: Request, data: dict[str, Any], choices: dict[str, int]) -> str:
    """A cast token for the review page: a new receipt code, bound to the ballot."""
    payload = {"n": secrets.token_urlsafe(16), "b": _cast_binding(request, data, choices)}
    return _signer(request, "pb.cast").dumps(payload)


def _token_receipt(
    request: Request, form: FormData, data: dict[str, Any], choices: dict[str, int]
) -> str | None:
    """The receipt code of the form's cast token, if the token is genuine, recent and bound to
    this voter and exactly this ballot; else None (the ballot then gets a new code)."""
    raw = text(form, "cast_token", 400)
    if not raw:
        return None
    try:
        payload = _signer(request, "pb.cast").loads(raw, max_age=CAST_TOKEN_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    nonce, binding = payload.get("n"), payload.get("b")
    if not isinstance(nonce, str) or not isinstance(binding, str):
        return None
    if not hmac.compare_digest(binding, _cast_binding(request, data, choices)):
        return None
    return _receipt_of(request, nonce)


def _receipt_redirect(request: Request, round_id: int, code: str) -> Response:
    response = RedirectResponse(f"/rounds/{round_id}/receipt", status_code=303)
    # The receipt code reaches the next page in a short-lived signed cookie, never in a URL.
    value = _signer(request, "pb.receipt").dumps([round_id, code])
    response.headers.append(
        "set-cookie", make_cookie(RECEIPT_COOKIE, value, context(request).https, 600)
    )
    return response


async def _ballot_or_gate(
    request: Request, district: str | None, check_done: bool = True
) -> dict[str, Any] | Response:
    """The ballot's data, or the page saying why there is no ballot to fill in (not signed in,
    or already cast)."""
    app = state(request)
    round_id = request.path_params["round_id"]
    try:
        data = await app.db.read(
            _ballot_data, request, round_id, request.path_params["slot"], district, check_done
        )
    except HTTPException as exc:
        if exc.detail == "not-eligible":
            return await _sign_in_page(request, round_id, district)
        raise
    if data["already"]:
        return _already_page(request, data, 200 if request.method == "GET" else 409)
    return data


async def ballot(request: Request) -> Response:
    district = request.query_params.get("district")
    if request.path_params["slot"] == voting.DISTRICT and district == "":
        return await _choose_district_first(request)
    data = await _ballot_or_gate(request, district)
    if isinstance(data, Response):
        return data
    return _render_ballot(request, data, {}, {})


async def ballot_feedback(request: Request) -> Response:
    """Live feedback (htmx): choices left, budget bar, credit meter. Changes nothing."""
    app = state(request)
    form = await request.form()
    data = await app.db.read(
        _ballot_data,
        request,
        request.path_params["round_id"],
        request.path_params["slot"],
        text(form, "district", 80),
        about=False,
    )
    choices, errors = parse_choices(form, data["district"]["projects"], data["method"]["kind"])
    if not errors:
        errors = voting.validate_choices(data["config"], data["district"], choices)
    return _render_ballot(request, data, choices, errors, block="feedback")


async def submit_ballot(request: Request) -> Response:
    """``step=review`` shows the ballot back for checking; ``step=cast`` casts it."""
    app = state(request)
    form = await request.form()
    round_id, slot = request.path_params["round_id"], request.path_params["slot"]
    step = text(form, "step", 10)
    data = await _ballot_or_gate(request, text(form, "district", 80), step != "cast")
    if isinstance(data, Response):
        return data
    choices, errors = parse_choices(form, data["district"]["projects"], data["method"]["kind"])
    if not errors:
        errors = voting.validate_choices(data["config"], data["district"], choices)
    if errors:
        return _render_ballot(request, data, choices, errors, status=422)
    if step == "edit":
        return _render_ballot(request, data, choices, {})
    if step != "cast":
        token = _cast_token(request, data, choices)
        return _render_ballot(
            request, data, choices, {}, template="voting/review.html", cast_token=token
        )
    voter_key = _key(request, data["round"], data["voter"])
    district_key = data["district"]["key"]
    code = _token_receipt(request, form, data, choices)
    try:
        # Checked against what was just read; the write only appends (and re-checks what can
        # have changed since, under the round's lock).
        checked = voting.check_ballot(
            data["round"], data["config"], slot, district_key, choices, "online", app.today(), code
        )
        receipt = await _submit(request, checked, voter_key, code is not None)
    except voting.AlreadyVoted:
        # The same cast again (its answer was lost): the receipt, if its code is in the log
        # with these very choices. Any other ballot from this voter stays refused.
        if code is not None:
            found = await app.db.read(voting.find_cast, round_id, district_key, code, choices)
            if found is not None:
                return _receipt_redirect(request, round_id, found.code)
        return _already_page(request, data, 409)
    except voting.VotingClosed:
        raise HTTPException(409, "closed") from None
    except ValidationError as exc:
        return _render_ballot(request, data, choices, exc.errors, status=422)
    return _receipt_redirect(request, round_id, receipt.code)


async def _submit(
    request: Request, checked: voting.Ballot, voter_key: str, idempotent: bool
) -> voting.Receipt:
    """Append a checked ballot. If the connection to the database was lost on the way, the
    outcome is unknown; an idempotent cast (with its token's receipt code) is then sent again,
    and finds its own ballot if the first one went in (:func:`voting.find_cast`)."""
    ballots = state(request).ballots
    for delay in CAST_RETRY_DELAYS:
        try:
            return await ballots.submit((checked, voter_key))
        except Exception as exc:
            if not idempotent or outage_kind(exc) != UNREACHABLE:
                raise
        await asyncio.sleep(delay)
    return await ballots.submit((checked, voter_key))


async def receipt_page(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    round_id = request.path_params["round_id"]
    raw = request.cookies.get(("__Host-" if ctx.https else "") + RECEIPT_COOKIE, "")
    try:
        saved_round, code = _signer(request, "pb.receipt").loads(raw, max_age=600)
    except (BadSignature, ValueError, TypeError):
        saved_round, code = None, None
    if saved_round != round_id:
        # Reloaded after ten minutes, or opened on another device: say why, never guess.
        return app.renderer.render(request, "voting/receipt_gone.html", {"round_id": round_id})
    found = await app.db.read(ballot_log.lookup_receipt, code)
    if found is None:
        raise HTTPException(404)
    return app.renderer.render(request, "voting/receipt.html", {"r": found})


async def receipt_lookup_form(request: Request) -> Response:
    return state(request).renderer.render(
        request,
        "voting/lookup.html",
        {"result": None, "code": "", "searched": False, "errors": {}},
    )


async def receipt_lookup(request: Request) -> Response:
    """Anyone can check a receipt: is the ballot in the log, where, with which hash."""
    app = state(request)
    code = text(await request.form(), "code", 80)
    if not code.strip():
        errors = {"code": _("Enter the receipt code.")}
        return app.renderer.render(
            request,
            "voting/lookup.html",
            {"result": None, "code": code, "searched": True, "errors": errors},
            status_code=422,
        )
    found = await app.db.read(ballot_log.lookup_receipt, code)
    return app.renderer.render(
        request,
        "voting/lookup.html",
        {"result": found, "code": code, "searched": True, "errors": {}},
        status_code=200 if found else 404,
    )


def _code_page(request: Request, code: str, error: str | None, status: int = 200) -> Response:
    return state(request).renderer.render(
        request,
        "voting/code.html",
        {"code": code, "errors": {"": error} if error else {}},
        status_code=status,
    )


async def code_form(request: Request) -> Response:
    """The address printed on letters, ``/c#CODE``: a form that sends the code in a POST
    body. The code after ``#`` never reaches the server; ``static/code.js`` puts it into the
    form, and without JavaScript the resident types it from the letter."""
    return _code_page(request, "", None)


async def old_short_code(request: Request) -> Response:
    """Letters printed before codes left URLs (``/c/CODE``) land on the form, without the
    code: it is printed on the letter, to be typed."""
    return RedirectResponse("/c", status_code=303)


async def submit_code(request: Request) -> Response:
    """Find the round of an access code, then prove eligibility with it there."""
    app = state(request)
    form = await request.form()
    code = text(form, "code", 60)
    client = client_address(request)
    subject_key, client_key = accounts.failure_keys(f"code:any:{client}", client)
    limits = (app.settings.account_failure_limits, app.settings.client_failure_limits)

    def find(session: Session) -> int | None:
        if accounts.is_throttled(session, subject_key, client_key, *limits):
            raise Throttled(code)
        round_id = eligibility.code_round(session, code, app.settings.secret_key)
        if round_id is None:
            return None
        phase = rounds.effective_phase(rounds.get_round(session, round_id), app.today())
        return None if phase is Phase.DRAFT else round_id

    try:
        round_id = await app.db.read(find)
    except Throttled:
        message = _("Too many failed attempts. Wait a few minutes and try again.")
        return _code_page(request, code, message, 429)
    if round_id is None:
        await app.db.write(accounts.record_failure, subject_key, client_key)
        message = _("This access code is not valid. Check it and try again.")
        return _code_page(request, code, message, 422)
    return await _prove(request, "code", round_id)


async def log_head(request: Request) -> Response:
    """The ballot log fingerprint, for the round page (htmx polls it)."""
    app = state(request)
    round_id = request.path_params["round_id"]
    head = await app.db.read(ballot_log.log_head, round_id)
    return app.renderer.render(request, "voting/_head.html", {"head": head, "round_id": round_id})


routes = [
    route("/rounds/{round_id:id}/vote", hub, access=Access.PUBLIC),
    route(
        "/rounds/{round_id:id}/vote/census", prove_census, access=Access.PUBLIC, methods=["POST"]
    ),
    route("/rounds/{round_id:id}/vote/code", prove_code, access=Access.PUBLIC, methods=["POST"]),
    route("/rounds/{round_id:id}/vote/{slot:str}", ballot, access=Access.PUBLIC),
    route(
        "/rounds/{round_id:id}/vote/{slot:str}",
        submit_ballot,
        access=Access.PUBLIC,
        methods=["POST"],
    ),
    route(
        "/rounds/{round_id:id}/vote/{slot:str}/feedback",
        ballot_feedback,
        access=Access.PUBLIC,
        methods=["POST"],
    ),
    route("/rounds/{round_id:id}/receipt", receipt_page, access=Access.PUBLIC),
    route("/rounds/{round_id:id}/log-head", log_head, access=Access.PUBLIC),
    route("/receipts", receipt_lookup_form, access=Access.PUBLIC, name="receipts"),
    route("/receipts", receipt_lookup, access=Access.PUBLIC, methods=["POST"]),
    route("/c", code_form, access=Access.PUBLIC),
    route("/c", submit_code, access=Access.PUBLIC, methods=["POST"]),
    route("/c/{code:str}", old_short_code, access=Access.PUBLIC),
]
