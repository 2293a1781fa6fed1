"""Staff set up funding calls and their campaigns (until pledging opens and the rules lock)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import Eligibility, Round
from pb.services.funding import calls, campaigns
from pb.services.funding.calls import CallInput, CallLocked
from pb.services.funding.campaigns import CampaignInput
from pb.services.money import amount_message, money_input, parse_money
from pb.tally.funding import MatchingRule
from pb.web.forms import date_field, text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state

CAP_FIELDS = ("per_pledge_cap", "per_resident_cap", "per_project_cap")
BLANK_COST_LINES = 3


def locked_message() -> str:
    return _(
        "Pledging has opened: this call's rules are locked and cannot change. "
        "The attempt has been recorded."
    )


def _rounds(session: Session) -> list[tuple[str, str]]:
    return [
        (str(i), t) for i, t in session.execute(select(Round.id, Round.title).order_by(Round.id))
    ]


def _money(
    form: FormData, name: str, currency: str, locale: str, errors: dict[str, str]
) -> int | None:
    raw = text(form, name, 40)
    if not raw.strip():
        return None
    try:
        return parse_money(raw, currency, locale)
    except ValueError as exc:
        errors[name] = amount_message(exc, _("Enter an amount, for example 5000 or 5 000."))
        return None


def parse_call_form(
    form: FormData, locale: str
) -> tuple[CallInput | None, dict[str, str], dict[str, str]]:
    raw = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors: dict[str, str] = {}
    currency = text(form, "currency", 3).strip().upper() or "EUR"
    pool = _money(form, "pool", currency, locale, errors)
    caps = {name: _money(form, name, currency, locale, errors) for name in CAP_FIELDS}
    kind = text(form, "rule", 20)
    if kind not in ("quadratic", "capped"):
        errors["rule"] = _("Choose a matching rule.")
    bad_date = _("Enter a date as YYYY-MM-DD.")
    dates = {
        name: date_field(form, name, errors, bad_date)
        for name in ("pledging_from", "pledging_until", "collection_until")
    }
    try:
        eligibility = Eligibility(text(form, "eligibility", 20))
    except ValueError:
        errors["eligibility"] = _("Choose who counts for matching.")
        eligibility = Eligibility.ACCOUNT
    round_raw = text(form, "round_id", 20).strip()
    round_id = int(round_raw) if round_raw.isdigit() else None
    if errors:
        return None, errors, raw
    rule = (
        MatchingRule("quadratic")
        if kind == "quadratic"
        else MatchingRule(
            "capped", caps["per_pledge_cap"], caps["per_resident_cap"], caps["per_project_cap"]
        )
    )
    data = CallInput(
        title=text(form, "title", 300),
        description=text(form, "description", 30_000),
        currency=currency,
        pool=pool or 0,
        rule=rule,
        pledging_from=dates["pledging_from"],
        pledging_until=dates["pledging_until"],
        collection_until=dates["collection_until"],
        eligibility=eligibility,
        iban=text(form, "iban", 60),
        bic=text(form, "bic", 20),
        creditor_name=text(form, "creditor_name", 100),
        round_id=round_id,
    )
    return data, errors, raw


def call_form_values(data: CallInput, locale: str) -> dict[str, str]:
    values = {
        "title": data.title,
        "description": data.description,
        "currency": data.currency,
        "pool": money_input(data.pool, data.currency, locale),
        "rule": data.rule.kind,
        "eligibility": data.eligibility.value,
        "iban": data.iban,
        "bic": data.bic,
        "creditor_name": data.creditor_name,
        "round_id": "" if data.round_id is None else str(data.round_id),
    }
    for name in CAP_FIELDS:
        values[name] = money_input(getattr(data.rule, name), data.currency, locale)
    for name in ("pledging_from", "pledging_until", "collection_until"):
        values[name] = getattr(data, name).isoformat()
    return values


def _call_form(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    round_choices: list[tuple[str, str]],
    call_id: int | None,
    status: int = 200,
) -> Response:
    return state(request).renderer.render(
        request,
        "funding/call_form.html",
        {
            "values": values,
            "errors": errors,
            "call_id": call_id,
            "round_choices": round_choices,
            "rules": [
                ("quadratic", _("Quadratic funding")),
                ("capped", _("One to one, with caps")),
            ],
            "eligibilities": [
                (Eligibility.ACCOUNT.value, _("Every resident with an account")),
                (Eligibility.CENSUS.value, _("Residents on the round's census list")),
                (Eligibility.CODES.value, _("Holders of the round's access codes")),
            ],
        },
        status_code=status,
    )


async def new_call(request: Request) -> Response:
    app = state(request)
    choices = await app.db.read(_rounds)
    values = {
        "currency": "EUR",
        "rule": "quadratic",
        "eligibility": "account",
        "pledging_from": app.today().isoformat(),
        "round_id": request.query_params.get("round", "")[:20],
    }
    return _call_form(request, values, {}, choices, None)


async def create_call(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    choices = await app.db.read(_rounds)
    data, errors, raw = parse_call_form(await request.form(), ctx.locale)
    if data is None:
        return _call_form(request, raw, errors, choices, None, 422)
    try:
        call = await app.db.write(calls.create_call, ctx.user.id, data)
    except ValidationError as exc:
        return _call_form(request, raw, exc.errors, choices, None, 422)
    flash(request, _("The funding call is created. Now add its campaigns."), "success")
    return RedirectResponse(f"/funding/{call.id}", status_code=303)


async def edit_call(request: Request) -> Response:
    app = state(request)
    call_id = request.path_params["call_id"]

    def load(session: Session) -> tuple[CallInput, list[tuple[str, str]]]:
        return calls.call_input(calls.get_call(session, call_id)), _rounds(session)

    data, choices = await app.db.read(load)
    return _call_form(
        request, call_form_values(data, context(request).locale), {}, choices, call_id
    )


async def update_call(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id = request.path_params["call_id"]
    choices = await app.db.read(_rounds)
    data, errors, raw = parse_call_form(await request.form(), ctx.locale)
    try:
        if data is None:
            await app.db.read(_refuse_if_locked, call_id, app.today())
            return _call_form(request, raw, errors, choices, call_id, 422)
        await app.db.write(calls.update_call, ctx.user.id, call_id, data, app.today())
    except CallLocked:
        await app.db.write(calls.record_refused_change, ctx.user.id, call_id, "edit", raw)
        return _call_form(request, raw, {"": locked_message()}, choices, call_id, 409)
    except ValidationError as exc:
        return _call_form(request, raw, exc.errors, choices, call_id, 422)
    flash(request, _("The funding call is saved."), "success")
    return RedirectResponse(f"/funding/{call_id}", status_code=303)


def _refuse_if_locked(session: Session, call_id: int, today: Any) -> None:
    calls.check_unlocked(session, calls.get_call(session, call_id), today)


# --- campaigns --------------------------------------------------------------------------------


def parse_campaign_form(
    form: FormData, currency: str, locale: str
) -> tuple[CampaignInput | None, dict[str, str], dict[str, str]]:
    raw = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors: dict[str, str] = {}
    costs: list[tuple[str, int]] = []
    n = 0
    while f"cost_label_{n}" in form or f"cost_amount_{n}" in form:
        label = text(form, f"cost_label_{n}", 300)
        amount = _money(form, f"cost_amount_{n}", currency, locale, errors)
        if f"cost_amount_{n}" in errors:
            errors["costs"] = errors.pop(f"cost_amount_{n}")
        elif label.strip() or amount is not None:
            if not label.strip() or amount is None:
                errors["costs"] = _("Give every cost line both a label and an amount.")
            else:
                costs.append((label, amount))
        n += 1
    minimum = _money(form, "minimum", currency, locale, errors)
    optimum = _money(form, "optimum", currency, locale, errors)
    proposal_raw = text(form, "proposal_id", 20).strip()
    if errors:
        return None, errors, raw
    data = CampaignInput(
        title=text(form, "title", 300),
        description=text(form, "description", 30_000),
        costs=costs,
        minimum=minimum,
        optimum=optimum,
        proposal_id=int(proposal_raw) if proposal_raw.isdigit() else None,
    )
    return data, errors, raw


def campaign_form_values(data: CampaignInput, currency: str, locale: str) -> dict[str, str]:
    values = {
        "title": data.title,
        "description": data.description,
        "minimum": money_input(data.minimum, currency, locale),
        "optimum": money_input(data.optimum, currency, locale),
        "proposal_id": "" if data.proposal_id is None else str(data.proposal_id),
    }
    for n, (label, amount) in enumerate(data.costs):
        values[f"cost_label_{n}"] = label
        values[f"cost_amount_{n}"] = money_input(amount, currency, locale)
    return values


def _campaign_form(
    request: Request,
    call: Any,
    values: dict[str, str],
    errors: dict[str, str],
    campaign_id: int | None,
    status: int = 200,
) -> Response:
    used = sum(1 for k in values if k.startswith("cost_label_"))
    return state(request).renderer.render(
        request,
        "funding/campaign_form.html",
        {
            "call": call,
            "values": values,
            "errors": errors,
            "campaign_id": campaign_id,
            "cost_lines": range(used + BLANK_COST_LINES),
        },
        status_code=status,
    )


async def new_campaign(request: Request) -> Response:
    app = state(request)
    call_id = request.path_params["call_id"]
    proposal = request.query_params.get("proposal", "")

    def load(session: Session) -> tuple[Any, CampaignInput]:
        call = calls.get_call(session, call_id)
        if proposal.isdigit():
            return call, campaigns.proposal_input(session, int(proposal))
        return call, CampaignInput(title="", description="")

    call, data = await app.db.read(load)
    values = campaign_form_values(data, call.currency, context(request).locale)
    return _campaign_form(request, call, values, {}, None)


async def create_campaign(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call = await app.db.read(calls.get_call, request.path_params["call_id"])
    data, errors, raw = parse_campaign_form(await request.form(), call.currency, ctx.locale)
    if data is None:
        return _campaign_form(request, call, raw, errors, None, 422)
    try:
        campaign = await app.db.write(
            campaigns.create_campaign, ctx.user.id, call.id, data, app.today()
        )
    except CallLocked:
        await app.db.write(calls.record_refused_change, ctx.user.id, call.id, "add campaign", raw)
        return _campaign_form(request, call, raw, {"": locked_message()}, None, 409)
    except ValidationError as exc:
        return _campaign_form(request, call, raw, exc.errors, None, 422)
    flash(request, _("The campaign is added."), "success")
    return RedirectResponse(f"/campaigns/{campaign.id}", status_code=303)


async def edit_campaign(request: Request) -> Response:
    app = state(request)
    campaign_id = request.path_params["campaign_id"]

    def load(session: Session) -> tuple[Any, CampaignInput]:
        campaign = campaigns.get_campaign(session, campaign_id)
        return calls.get_call(session, campaign.call_id), campaigns.campaign_input(
            session, campaign
        )

    call, data = await app.db.read(load)
    values = campaign_form_values(data, call.currency, context(request).locale)
    return _campaign_form(request, call, values, {}, campaign_id)


async def update_campaign(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    campaign_id = request.path_params["campaign_id"]

    def load(session: Session) -> Any:
        return calls.get_call(session, campaigns.get_campaign(session, campaign_id).call_id)

    call = await app.db.read(load)
    data, errors, raw = parse_campaign_form(await request.form(), call.currency, ctx.locale)
    try:
        if data is None:
            await app.db.read(_refuse_if_locked, call.id, app.today())
            return _campaign_form(request, call, raw, errors, campaign_id, 422)
        await app.db.write(campaigns.update_campaign, ctx.user.id, campaign_id, data, app.today())
    except CallLocked:
        await app.db.write(
            calls.record_refused_change, ctx.user.id, call.id, f"edit campaign {campaign_id}", raw
        )
        return _campaign_form(request, call, raw, {"": locked_message()}, campaign_id, 409)
    except ValidationError as exc:
        return _campaign_form(request, call, raw, exc.errors, campaign_id, 422)
    flash(request, _("The campaign is saved."), "success")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


async def delete_campaign(request: Request) -> Response:
    """Remove a campaign while the call is being set up: a confirmation page first."""
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    campaign_id = request.path_params["campaign_id"]
    form = await request.form()
    campaign = await app.db.read(campaigns.get_campaign, campaign_id)
    if form.get("confirm") != "yes":
        return app.renderer.render(
            request,
            "pages/confirm.html",
            {
                "heading": _("Remove this campaign?"),
                "subject": campaign.title,
                "consequences": [
                    _("The campaign, its costs and its volunteer tasks are removed from the call."),
                    _("A proposal it came from can be given a campaign again."),
                    _("The audit log keeps a record of what was removed."),
                ],
                "action": f"/campaigns/{campaign_id}/delete",
                "confirm_label": _("Yes, remove it"),
                "back": f"/campaigns/{campaign_id}/edit",
            },
        )
    try:
        call_id = await app.db.write(
            campaigns.delete_campaign, ctx.user.id, campaign_id, app.today()
        )
    except CallLocked:
        await app.db.write(
            calls.record_refused_change,
            ctx.user.id,
            campaign.call_id,
            f"delete campaign {campaign_id}",
            {},
        )
        flash(request, locked_message(), "error")
        return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)
    flash(request, _("The campaign is removed."), "success")
    return RedirectResponse(f"/funding/{call_id}", status_code=303)


routes = [
    route("/funding/new", new_call, access=Access.STAFF),
    route("/funding", create_call, access=Access.STAFF, methods=["POST"]),
    route("/funding/{call_id:id}/edit", edit_call, access=Access.STAFF),
    route("/funding/{call_id:id}/edit", update_call, access=Access.STAFF, methods=["POST"]),
    route("/funding/{call_id:id}/campaigns/new", new_campaign, access=Access.STAFF),
    route(
        "/funding/{call_id:id}/campaigns",
        create_campaign,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route("/campaigns/{campaign_id:id}/edit", edit_campaign, access=Access.STAFF),
    route(
        "/campaigns/{campaign_id:id}/delete",
        delete_campaign,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route(
        "/campaigns/{campaign_id:id}/edit",
        update_campaign,
        access=Access.STAFF,
        methods=["POST"],
    ),
]
