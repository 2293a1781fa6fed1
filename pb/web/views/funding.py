"""Crowdfunding for residents: browse calls and campaigns, pledge money (idempotent, with a live
match estimate), change or cancel a pledge, and "My pledges"."""

from __future__ import annotations

from typing import Any

from babel.numbers import get_currency_precision
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import Forbidden, NotFound, ValidationError
from pb.i18n import format_money
from pb.i18n import gettext as _
from pb.models import Eligibility, FundingCall, Role
from pb.services import rounds
from pb.services.funding import board, calls, campaigns, pledges, tasks
from pb.services.money import amount_message, money_input, parse_money
from pb.services.tracking import public as tracking_public
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state
from pb.web.views.voting import current_voter

EXAMPLE_AMOUNT = 10  # whole currency units in the estimate shown before anything is typed


def is_staff(request: Request) -> bool:
    user = context(request).user
    return user is not None and user.role in (Role.STAFF, Role.ADMIN)


def counts_for_matching(request: Request, session: Session, call: FundingCall) -> bool:
    """Whether the viewer's pledges to this call count for matching, decided now: any account
    for an account call; for a census or code call, a resident who proved it for the call's
    round (the round's voter cookie)."""
    ctx = context(request)
    if ctx.user is None:
        return False
    if call.eligibility is Eligibility.ACCOUNT or call.round_id is None:
        return True
    return current_voter(request, rounds.get_round(session, call.round_id)) is not None


async def list_calls(request: Request) -> Response:
    app = state(request)
    rows = await app.db.read(calls.list_calls, app.today(), is_staff(request))
    return app.renderer.render(
        request, "funding/list.html", {"calls": rows, "is_staff": is_staff(request)}
    )


async def show_call(request: Request) -> Response:
    app = state(request)
    call_id = request.path_params["call_id"]
    staff = is_staff(request)

    def load(session: Session) -> dict[str, Any]:
        call = calls.get_call(session, call_id)
        phase = calls.phase(call, app.today())
        if phase is calls.CallPhase.DRAFT and not staff:
            raise NotFound(call_id)
        cards, _tasks = board.cards(session, call, app.today())
        return {
            "call": call,
            "phase": phase,
            "cards": cards,
            "rule": call.rule,
            "fingerprint": calls.fingerprint(session, call, app.today()),
            "round": rounds.get_round(session, call.round_id) if call.round_id else None,
            "candidates": campaigns.candidate_proposals(session, call) if staff else [],
            "funded_projects": tracking_public.call_project_count(session, call.id),
        }

    values = await app.db.read(load)
    return app.renderer.render(request, "funding/call.html", {**values, "is_staff": staff})


def _campaign_data(
    session: Session, request: Request, campaign_id: int, amount: int | None
) -> dict[str, Any]:
    app = state(request)
    ctx = context(request)
    viewer = ctx.user.id if ctx.user else None
    card, task_views = board.card(session, campaign_id, app.today(), viewer)
    call = calls.get_call(session, card.call_id)
    phase = calls.phase(call, app.today())
    if phase is calls.CallPhase.DRAFT and not is_staff(request):
        raise NotFound(campaign_id)
    # A visitor who is not logged in sees the estimate as a resident who counts would.
    eligible = counts_for_matching(request, session, call) or ctx.user is None
    example = amount if amount is not None else EXAMPLE_AMOUNT * _unit(call.currency)
    return {
        "call": call,
        "phase": phase,
        "card": card,
        "tasks": task_views,
        "costs": campaigns.cost_items(session, campaign_id),
        "backers": pledges.backers(session, campaign_id),
        "eligible": eligible,
        "example": example,
        "estimate": pledges.estimate(session, campaign_id, viewer, example, eligible),
        "can_pledge": phase is calls.CallPhase.PLEDGING and card.state == "open",
        "can_sign_up": phase in (calls.CallPhase.PLEDGING, calls.CallPhase.COLLECTING),
        "project_card": tracking_public.campaign_cards(session, [campaign_id]).get(campaign_id),
    }


def _unit(currency: str) -> int:
    return int(10 ** get_currency_precision(currency))


def _render_campaign(
    request: Request,
    data: dict[str, Any],
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    block: str | None = None,
) -> Response:
    return state(request).renderer.render(
        request,
        "funding/campaign.html",
        {
            **data,
            "values": values or {"key": pledges.new_idempotency_key()},
            "errors": errors or {},
            "is_staff": is_staff(request),
        },
        status_code=status,
        block=block,
    )


async def show_campaign(request: Request) -> Response:
    app = state(request)
    data = await app.db.read(_campaign_data, request, request.path_params["campaign_id"], None)
    return _render_campaign(request, data)


async def call_facts(request: Request, campaign_id: int) -> pledges.CallFacts:
    """The campaign's call as pledging reads it: kept by the process once the call is locked
    (it cannot change any more), read otherwise."""
    app = state(request)
    facts = app.call_facts.get(campaign_id)
    if facts is None:
        facts = await app.db.read(pledges.call_facts, campaign_id)
        app.call_facts.keep(facts)
    return facts


async def counts_now(request: Request, facts: pledges.CallFacts) -> bool:
    """:func:`counts_for_matching`, reading the database only for a census or code call."""
    ctx = context(request)
    if ctx.user is None:
        return False
    if facts.eligibility is Eligibility.ACCOUNT or facts.round_id is None:
        return True
    round_id = facts.round_id

    def voter(session: Session) -> bool:
        return current_voter(request, rounds.get_round(session, round_id)) is not None

    return await state(request).db.read(voter)


async def estimate(request: Request) -> Response:
    """The live "your €10 brings about €N" (an htmx fragment; the whole page without htmx).
    Reads the call's running totals only; changes nothing. The fragment costs one query (the
    call's totals and the resident's pledges) once the call's facts are kept."""
    app = state(request)
    ctx = context(request)
    campaign_id = request.path_params["campaign_id"]
    raw = request.query_params.get("amount", "")[:40]
    fragment = (
        request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"
    )
    facts = await call_facts(request, campaign_id)
    if facts.phase(app.today()) is calls.CallPhase.DRAFT and not is_staff(request):
        raise NotFound(campaign_id)
    try:
        amount = parse_money(raw, facts.currency, ctx.locale) if raw.strip() else None
    except ValueError:
        amount = None
    if not fragment:
        data = await app.db.read(_campaign_data, request, campaign_id, amount)
        values = {
            "amount": raw,
            "public_name": request.query_params.get("public_name", "")[:80],
            "key": request.query_params.get("key", "")[:64] or pledges.new_idempotency_key(),
        }
        return _render_campaign(request, data, values)
    eligible = ctx.user is None or await counts_now(request, facts)
    example = amount if amount is not None else EXAMPLE_AMOUNT * _unit(facts.currency)
    viewer = ctx.user.id if ctx.user else None
    value = 0
    if eligible and example > 0:
        value = await app.db.read(pledges.estimate_for, facts, viewer, example, eligible)
    data = {"call": facts, "eligible": eligible, "example": example, "estimate": value}
    return app.renderer.render(request, "funding/campaign.html", data, block="estimate")


async def make_pledge(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    campaign_id = request.path_params["campaign_id"]
    form = await request.form()
    values = {
        "amount": text(form, "amount", 40),
        "public_name": text(form, "public_name", 200),
        "key": text(form, "key", 100),
    }

    facts = await call_facts(request, campaign_id)
    currency, eligible = facts.currency, await counts_now(request, facts)
    errors: dict[str, str] = {}
    amount = 0
    try:
        amount = parse_money(values["amount"], currency, ctx.locale)
    except ValueError as exc:
        errors["amount"] = amount_message(exc, _("Enter an amount, for example 10 or 12,50."))
    if not errors:
        try:
            outcome = await app.pledges.submit(
                pledges.PledgeRequest(
                    user_id=ctx.user.id,
                    campaign_id=campaign_id,
                    amount=amount,
                    public_name=values["public_name"],
                    idempotency_key=values["key"],
                    eligible=eligible,
                    today=app.today(),
                )
            )
        except ValidationError as exc:
            errors = exc.errors
    if errors:
        data = await app.db.read(_campaign_data, request, campaign_id, None)
        return _render_campaign(request, data, values, errors, status=422)
    if outcome.created:
        flash(
            request,
            _(
                "Thank you! Your pledge of %(amount)s is recorded. You will be asked to pay "
                "only if the campaign reaches its minimum.",
                amount=format_money(amount, currency),
            ),
            "success",
        )
    else:
        flash(request, _("This pledge was already recorded; nothing was added."), "info")
    return RedirectResponse(f"/pledges#pledge-{outcome.pledge_id}", status_code=303)


async def my_pledges(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    user_id = ctx.user.id

    def load(session: Session) -> dict[str, Any]:
        mine = pledges.my_pledges(session, user_id, app.today())
        return {
            "pledges": mine,
            "cards": tracking_public.campaign_cards(session, [p.campaign_id for p in mine]),
            "signups": tasks.my_signups(session, user_id),
            "time": tasks.time_totals(session, user_id),
        }

    values = await app.db.read(load)
    return app.renderer.render(request, "funding/mine.html", values)


def _edit_page(
    request: Request,
    view: pledges.PledgeView,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return state(request).renderer.render(
        request,
        "funding/edit_pledge.html",
        {"pledge": view, "values": values, "errors": errors},
        status_code=status,
    )


async def _own_view(request: Request) -> pledges.PledgeView:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    try:
        return await app.db.read(
            pledges.own_pledge_view, ctx.user.id, request.path_params["pledge_id"], app.today()
        )
    except NotFound:
        raise HTTPException(404) from None


async def edit_pledge(request: Request) -> Response:
    view = await _own_view(request)
    if not view.changeable:
        flash(request, _("This pledge can no longer be changed."), "error")
        return RedirectResponse("/pledges", status_code=303)
    values = {
        "amount": money_input(view.amount, view.currency, context(request).locale),
        "public_name": view.public_name or "",
    }
    return _edit_page(request, view, values, {})


async def update_pledge(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    view = await _own_view(request)
    form = await request.form()
    values = {"amount": text(form, "amount", 40), "public_name": text(form, "public_name", 200)}
    errors: dict[str, str] = {}
    try:
        amount = parse_money(values["amount"], view.currency, ctx.locale)
        await app.db.write(
            pledges.change_pledge, ctx.user.id, view.id, amount, values["public_name"], app.today()
        )
    except ValueError as exc:
        errors["amount"] = amount_message(exc, _("Enter an amount, for example 10 or 12,50."))
    except ValidationError as exc:
        errors = exc.errors
    if errors:
        return _edit_page(request, view, values, errors, 422)
    flash(request, _("Your pledge is changed."), "success")
    return RedirectResponse(f"/pledges#pledge-{view.id}", status_code=303)


async def cancel_pledge(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    try:
        await app.db.write(
            pledges.cancel_pledge, ctx.user.id, request.path_params["pledge_id"], app.today()
        )
    except (NotFound, Forbidden):
        raise HTTPException(404) from None
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
        return RedirectResponse("/pledges", status_code=303)
    flash(request, _("Your pledge is cancelled."), "success")
    return RedirectResponse("/pledges", status_code=303)


routes = [
    route("/funding", list_calls, access=Access.PUBLIC, name="funding"),
    route("/funding/{call_id:id}", show_call, access=Access.PUBLIC),
    route("/campaigns/{campaign_id:id}", show_campaign, access=Access.PUBLIC),
    route("/campaigns/{campaign_id:id}/estimate", estimate, access=Access.PUBLIC),
    route("/campaigns/{campaign_id:id}/pledge", make_pledge, access=Access.USER, methods=["POST"]),
    route("/pledges", my_pledges, access=Access.USER),
    route("/pledges/{pledge_id:id}/edit", edit_pledge, access=Access.USER),
    route("/pledges/{pledge_id:id}/edit", update_pledge, access=Access.USER, methods=["POST"]),
    route("/pledges/{pledge_id:id}/cancel", cancel_pledge, access=Access.USER, methods=["POST"]),
]
