"""Rounds: the public list and page; staff create, edit, preview, duplicate and open phases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import (
    District,
    Eligibility,
    Phase,
    ProposalStatus,
    Role,
    VotingMethod,
    VotingScope,
)
from pb.services import ballot_log, rounds
from pb.services.funding import calls as funding_calls
from pb.services.money import amount_message, money_input, parse_money
from pb.services.rounds import RoundInput, RoundLocked
from pb.web.forms import date_field, optional_int, text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state

MONEY_FIELDS = ("total_budget", "citywide_budget")
INT_FIELDS = (
    "min_choices",
    "max_choices",
    "credits",
    "points",
    "max_per_project",
    "min_score_threshold",
)


def _is_staff(request: Request) -> bool:
    user = context(request).user
    return user is not None and user.role in (Role.STAFF, Role.ADMIN)


def _districts(session: Session) -> list[tuple[int, str]]:
    return list(session.execute(select(District.id, District.name).order_by(District.name)).all())


def form_values(data: RoundInput, locale: str) -> dict[str, str]:
    """A configuration as the strings a form shows."""
    values: dict[str, str] = {
        "title": data.title,
        "description": data.description,
        "currency": data.currency,
        "method": data.method.value,
        "rule": data.rule,
        "eligibility": data.eligibility.value,
        "scope": data.scope.value,
        "categories": "\n".join(data.categories),
    }
    for name in MONEY_FIELDS:
        values[name] = money_input(getattr(data, name), data.currency, locale)
    for name in INT_FIELDS:
        value = getattr(data, name)
        values[name] = "" if value is None else str(value)
    for name in ("proposals_from", "review_from", "voting_from", "voting_until"):
        values[name] = getattr(data, name).isoformat()
    for district_id, budget in data.district_budgets.items():
        values[f"district_{district_id}"] = money_input(budget, data.currency, locale)
    return values


def parse_round_form(
    form: FormData, district_ids: list[int], locale: str
) -> tuple[RoundInput | None, dict[str, str], dict[str, str]]:
    """(configuration or None, parse errors, the raw values to show again)."""
    raw = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors: dict[str, str] = {}
    currency = text(form, "currency", 3).strip().upper() or "EUR"
    money: dict[str, int] = {}
    bad_amount = _("Enter an amount, for example 250000 or 250 000.")
    for name in (*MONEY_FIELDS, *(f"district_{d}" for d in district_ids)):
        value = text(form, name, 40)
        if not value.strip():
            money[name] = 0
            continue
        try:
            money[name] = parse_money(value, currency, locale)
        except ValueError as exc:
            errors[name] = amount_message(exc, bad_amount)
    ints = {
        name: optional_int(form, name, errors, _("Enter a whole number.")) for name in INT_FIELDS
    }
    bad_date = _("Enter a date as YYYY-MM-DD.")
    dates = {
        name: date_field(form, name, errors, bad_date)
        for name in ("proposals_from", "review_from", "voting_from", "voting_until")
    }
    try:
        method = VotingMethod(text(form, "method", 20))
    except ValueError:
        errors["method"] = _("Choose a voting method.")
        method = VotingMethod.APPROVAL
    try:
        eligibility = Eligibility(text(form, "eligibility", 20))
    except ValueError:
        errors["eligibility"] = _("Choose who may vote.")
        eligibility = Eligibility.ACCOUNT
    try:
        scope = VotingScope(text(form, "scope", 20))
    except ValueError:
        errors["scope"] = _("Choose where residents vote.")
        scope = VotingScope.CITYWIDE
    if errors:
        return None, errors, raw
    data = RoundInput(
        title=text(form, "title", 300),
        description=text(form, "description", 30_000),
        currency=currency,
        total_budget=money["total_budget"],
        citywide_budget=money["citywide_budget"],
        district_budgets={d: money[f"district_{d}"] for d in district_ids},
        method=method,
        rule=text(form, "rule", 40),
        eligibility=eligibility,
        scope=scope,
        categories=text(form, "categories", 5_000).splitlines(),
        proposals_from=dates["proposals_from"],
        review_from=dates["review_from"],
        voting_from=dates["voting_from"],
        voting_until=dates["voting_until"],
        min_choices=ints["min_choices"],
        max_choices=ints["max_choices"],
        credits=ints["credits"],
        points=ints["points"],
        max_per_project=ints["max_per_project"],
        min_score_threshold=ints["min_score_threshold"],
    )
    return data, errors, raw


async def list_rounds(request: Request) -> Response:
    app = state(request)
    rows = await app.db.read(rounds.list_rounds, app.today(), _is_staff(request))
    return app.renderer.render(
        request, "rounds/list.html", {"rounds": rows, "is_staff": _is_staff(request)}
    )


def _choices() -> dict[str, Any]:
    return {
        "methods": [
            (VotingMethod.APPROVAL.value, _("Approval: choose projects")),
            (VotingMethod.KNAPSACK.value, _("Knapsack: choose projects within the budget")),
            (VotingMethod.QUADRATIC.value, _("Quadratic: spread voice credits")),
            (VotingMethod.CUMULATIVE.value, _("Cumulative: spread points")),
        ],
        "rules": [
            ("greedy", _("Greedy: most votes first, skip what does not fit")),
            ("greedy-no-skip", _("Greedy, stopping at the first project that does not fit")),
            ("greedy-threshold", _("Greedy with a minimum score")),
            ("equalshares", _("Method of Equal Shares")),
            ("equalshares/add1", _("Method of Equal Shares with Add1 completion")),
            (
                "equalshares/add1-comparison",
                _("Method of Equal Shares with Add1 and the comparison step"),
            ),
        ],
        "eligibilities": [
            (Eligibility.ACCOUNT.value, _("Anyone with an account")),
            (Eligibility.CENSUS.value, _("Residents on a census list")),
            (Eligibility.CODES.value, _("Holders of a single-use access code")),
        ],
        "scopes": [
            (VotingScope.CITYWIDE.value, _("City-wide only")),
            (VotingScope.DISTRICT.value, _("In their district only")),
            (VotingScope.BOTH.value, _("City-wide and in their district")),
        ],
    }


def _tie_break_label(tie_break: str) -> str:
    """The recorded tie-break in words: "the cheaper project, then ..."."""
    words = {
        "lower-cost": _("the cheaper project"),
        "higher-cost": _("the more expensive project"),
        "higher-score": _("the project with more votes"),
        "lower-score": _("the project with fewer votes"),
        "natural-id": _("the lower project number"),
    }
    parts = [words.get(c.strip(), c.strip()) for c in tie_break.split(",") if c.strip()]
    return _("A tie goes to %(order)s.", order=_(", then ").join(parts))


def _labels(rnd: Any) -> dict[str, str]:
    """Human labels for a round's technical settings (staff see the codes under "details")."""
    choices = _choices()
    return {
        "method": dict(choices["methods"])[rnd.method.value],
        "rule": dict(choices["rules"]).get(rnd.rule, rnd.rule),
        "eligibility": dict(choices["eligibilities"])[rnd.eligibility.value],
        "scope": dict(choices["scopes"])[rnd.scope.value],
        "tie_break": _tie_break_label(rnd.tie_break),
    }


def _form_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    districts: list[tuple[int, str]],
    round_id: int | None,
    status: int = 200,
    locked: bool = False,
) -> Response:
    return state(request).renderer.render(
        request,
        "rounds/form.html",
        {
            "values": values,
            "errors": errors,
            "districts": districts,
            "round_id": round_id,
            "locked": locked,
            **_choices(),
        },
        status_code=status,
    )


async def new_round(request: Request) -> Response:
    app = state(request)
    districts = await app.db.read(_districts)
    today = app.today()
    values = {
        "currency": "EUR",
        "method": "approval",
        "rule": "greedy",
        "eligibility": "account",
        "scope": "citywide",
        "min_choices": "1",
        "max_choices": "5",
        "proposals_from": today.isoformat(),
    }
    return _form_page(request, values, {}, districts, None)


async def create_round(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    districts = await app.db.read(_districts)
    data, errors, raw = parse_round_form(
        await request.form(), [d for d, _ in districts], ctx.locale
    )
    if data is None:
        return _form_page(request, raw, errors, districts, None, 422)
    try:
        rnd = await app.db.write(rounds.create_round, ctx.user.id, data)
    except ValidationError as exc:
        return _form_page(request, raw, exc.errors, districts, None, 422)
    flash(request, _("The round is created."), "success")
    return RedirectResponse(f"/rounds/{rnd.id}", status_code=303)


def _round_page_data(session: Session, round_id: int, today: Any, staff: bool) -> dict[str, Any]:
    from pb.services import proposals as proposal_service

    rnd = rounds.get_round(session, round_id)
    phase = rounds.effective_phase(rnd, today)
    if phase is Phase.DRAFT and not staff:
        raise HTTPException(404)
    projects = proposal_service.search(
        session, rnd.id, proposal_service.Filters(status=ProposalStatus.ACCEPTED)
    )
    return {
        "round": rnd,
        "phase": phase,
        "budgets": rounds.budget_lines(session, rnd),
        "projects": sorted(projects, key=lambda p: p.id),
        "categories": sorted(rounds.round_input(session, rnd).categories),
        "fingerprint": rounds.config_fingerprint(session, rnd, today),
        "next_phase": rounds.NEXT_PHASE.get(phase),
        "head": ballot_log.log_head(session, rnd.id),
        "labels": _labels(rnd),
        "warnings": (
            rounds.ballot_warnings(session, rnd)
            if staff and phase in (Phase.PROPOSALS, Phase.REVIEW)
            else []
        ),
        "funding_calls": [
            c
            for c in funding_calls.calls_of_round(session, rnd.id)
            if staff or funding_calls.phase(c, today) is not funding_calls.CallPhase.DRAFT
        ],
    }


async def show_round(request: Request) -> Response:
    app = state(request)
    values = await app.db.read(
        _round_page_data, request.path_params["round_id"], app.today(), _is_staff(request)
    )
    return app.renderer.render(
        request, "rounds/detail.html", {**values, "is_staff": _is_staff(request)}
    )


async def edit_round(request: Request) -> Response:
    app = state(request)
    round_id = request.path_params["round_id"]

    def load(session: Session) -> tuple[RoundInput, list[tuple[int, str]], bool]:
        rnd = rounds.get_round(session, round_id)
        return (
            rounds.round_input(session, rnd),
            _districts(session),
            rounds.is_locked(rnd, app.today()),
        )

    data, districts, locked = await app.db.read(load)
    return _form_page(
        request, form_values(data, context(request).locale), {}, districts, round_id, locked=locked
    )


async def update_round(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    districts = await app.db.read(_districts)
    form = await request.form()
    data, errors, raw = parse_round_form(form, [d for d, _ in districts], ctx.locale)
    try:
        if data is None:
            # Still refuse (and record) a change to a locked round before showing typos.
            await app.db.read(_refuse_if_locked, round_id, app.today())
            return _form_page(request, raw, errors, districts, round_id, 422)
        await app.db.write(rounds.update_round, ctx.user.id, round_id, data, app.today())
    except RoundLocked:
        await app.db.write(rounds.record_refused_change, ctx.user.id, round_id, "edit", raw)
        errors = {
            "": _(
                "Voting has opened: this round's rules are locked and cannot change. "
                "The attempt has been recorded."
            )
        }
        return _form_page(request, raw, errors, districts, round_id, 409, locked=True)
    except ValidationError as exc:
        return _form_page(request, raw, exc.errors, districts, round_id, 422)
    flash(request, _("The round is saved."), "success")
    return RedirectResponse(f"/rounds/{round_id}", status_code=303)


def _refuse_if_locked(session: Session, round_id: int, today: Any) -> None:
    if rounds.is_locked(rounds.get_round(session, round_id), today):
        raise RoundLocked(round_id)


async def duplicate_round(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    try:
        rnd = await app.db.write(
            rounds.duplicate_round, ctx.user.id, request.path_params["round_id"], app.today()
        )
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
        return RedirectResponse(f"/rounds/{request.path_params['round_id']}", status_code=303)
    flash(request, _("A copy of the round is created. Check its dates and budgets."), "success")
    return RedirectResponse(f"/rounds/{rnd.id}/edit", status_code=303)


NEXT_PHASE_CONSEQUENCES = {
    Phase.PROPOSALS: lambda: [
        _("Residents see the round and can propose projects from today."),
    ],
    Phase.REVIEW: lambda: [
        _("Residents can no longer propose projects or change their proposals."),
    ],
    Phase.VOTING: lambda: [
        _("Voting opens for every resident from now on."),
        _(
            "The round's rules, budgets and ballots are locked for good: nobody can edit them "
            "afterwards, and every change attempt is logged."
        ),
    ],
    Phase.CLOSED: lambda: [
        _("Voting ends now for everyone: no resident can cast a ballot online any more."),
        _("This cannot be undone."),
    ],
}


async def _confirm_next_phase(request: Request, round_id: int) -> Response:
    """The step before an early phase change: say what becomes irreversible."""
    app = state(request)

    def load(session: Session) -> tuple[Any, Phase | None]:
        rnd = rounds.get_round(session, round_id)
        return rnd, rounds.NEXT_PHASE.get(rounds.effective_phase(rnd, app.today()))

    rnd, following = await app.db.read(load)
    if following is None:
        flash(request, _("This round has no next phase to open."), "error")
        return RedirectResponse(f"/rounds/{round_id}", status_code=303)
    return app.renderer.render(
        request,
        "pages/confirm.html",
        {
            "heading": _("Open the next phase now?"),
            "subject": rnd.title,
            "consequences": NEXT_PHASE_CONSEQUENCES[following](),
            "action": f"/rounds/{round_id}/phase",
            "confirm_label": _("Yes, open it now"),
            "back": f"/rounds/{round_id}",
        },
    )


async def advance_phase(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    form = await request.form()
    if form.get("confirm") != "yes":
        return await _confirm_next_phase(request, round_id)
    try:
        opened = await app.db.write(rounds.advance_phase, ctx.user.id, round_id, app.today())
        if opened is Phase.CLOSED:  # voting ended: clear the files of the casting order
            await app.after_seal()
        flash(request, _("The next phase is open."), "success")
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    return RedirectResponse(f"/rounds/{round_id}", status_code=303)


routes = [
    route("/rounds", list_rounds, access=Access.PUBLIC, name="rounds"),
    route("/rounds/new", new_round, access=Access.STAFF),
    route("/rounds", create_round, access=Access.STAFF, methods=["POST"]),
    route("/rounds/{round_id:id}", show_round, access=Access.PUBLIC),
    route("/rounds/{round_id:id}/edit", edit_round, access=Access.STAFF),
    route("/rounds/{round_id:id}/edit", update_round, access=Access.STAFF, methods=["POST"]),
    route(
        "/rounds/{round_id:id}/duplicate", duplicate_round, access=Access.STAFF, methods=["POST"]
    ),
    route("/rounds/{round_id:id}/phase", advance_phase, access=Access.STAFF, methods=["POST"]),
]
