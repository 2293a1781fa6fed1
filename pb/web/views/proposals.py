"""Proposals: browse, search and filter (htmx updates the list in place), propose and edit,
comment and endorse, and staff review inline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import Forbidden, ValidationError
from pb.i18n import format_money
from pb.i18n import gettext as _
from pb.models import Category, District, Phase, ProposalStatus, Role, RoundDistrict, VotingScope
from pb.services import photos, proposals, rounds
from pb.services.money import amount_message, money_input, off_by_thousands, parse_money
from pb.services.proposals import Filters, ProposalInput
from pb.services.tracking import public as tracking_public
from pb.web.forms import optional_id, parse_id, text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


def _is_staff(request: Request) -> bool:
    user = context(request).user
    return user is not None and user.role in (Role.STAFF, Role.ADMIN)


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _options(session: Session, round_id: int) -> dict[str, Any]:
    rnd = rounds.get_round(session, round_id)
    districts: list[tuple[str, str]] = []
    if rnd.scope in (VotingScope.CITYWIDE, VotingScope.BOTH):
        districts.append(("citywide", _("City-wide")))
    if rnd.scope in (VotingScope.DISTRICT, VotingScope.BOTH):
        districts.extend(
            (str(i), n)
            for i, n in session.execute(
                select(District.id, District.name)
                .join(RoundDistrict, RoundDistrict.district_id == District.id)
                .where(RoundDistrict.round_id == rnd.id, RoundDistrict.budget > 0)
                .order_by(District.name)
            ).all()
        )
    categories = [
        (str(i), n)
        for i, n in session.execute(
            select(Category.id, Category.name)
            .where(Category.round_id == rnd.id)
            .order_by(Category.name)
        ).all()
    ]
    return {"round": rnd, "district_options": districts, "category_options": categories}


def _status_options() -> list[tuple[str, str]]:
    return [
        (ProposalStatus.SUBMITTED.value, _("Submitted")),
        (ProposalStatus.ACCEPTED.value, _("Accepted")),
        (ProposalStatus.REJECTED.value, _("Rejected")),
        (ProposalStatus.MERGED.value, _("Merged")),
    ]


def _filters(request: Request) -> Filters:
    q = request.query_params
    try:
        status = ProposalStatus(q.get("status", ""))
    except ValueError:
        status = None
    district = q.get("district", "").strip()
    if district != "citywide":
        district_id = optional_id(q, "district")
        district = "" if district_id is None else str(district_id)
    return Filters(
        district=district,
        category=optional_id(q, "category"),
        status=status,
        q=q.get("q", "")[:200],
    )


async def list_proposals(request: Request) -> Response:
    app = state(request)
    round_id = request.path_params["round_id"]
    filters = _filters(request)

    def load(session: Session) -> dict[str, Any]:
        options = _options(session, round_id)
        phase = rounds.effective_phase(options["round"], app.today())
        if phase is Phase.DRAFT and not _is_staff(request):
            raise HTTPException(404)
        return {**options, "phase": phase, "rows": proposals.search(session, round_id, filters)}

    values = await app.db.read(load)
    return app.renderer.render(
        request,
        "proposals/list.html",
        {**values, "filters": filters, "status_options": _status_options()},
        block="proposal_list",
    )


def _parse(form: FormData, currency: str, locale: str) -> tuple[ProposalInput, dict[str, str]]:
    errors: dict[str, str] = {}
    cost_text = text(form, "estimated_cost", 40)
    cost: int | None = None
    if cost_text.strip():
        try:
            cost = parse_money(cost_text, currency, locale)
        except ValueError as exc:
            errors["estimated_cost"] = amount_message(exc, _("Enter an amount, for example 12500."))
    district = text(form, "district", 20).strip()
    district_id = parse_id(district)
    category = text(form, "category", 20).strip()
    category_id = parse_id(category)
    data = ProposalInput(
        **{name: text(form, name, limit + 1) for name, limit in proposals.LIMITS.items()},
        estimated_cost=cost,
        district_id=district_id,
        category_id=category_id,
    )
    if district not in ("citywide", "") and district_id is None:
        errors["district_id"] = _("Choose where the project would be, among this round's areas.")
    if category and category_id is None:
        errors["category_id"] = _("Choose a category among this round's.")
    return data, errors


def _unconfirmed_cost(
    form: FormData, name: str, cost: int | None, area: int, total: int, currency: str
) -> str | None:
    """The message asking to confirm ``cost`` when it looks a factor of 1,000 off against the
    budget it would come out of (``area``) or the whole round (``total``), unless the form
    confirms this very amount (the checkbox carries the text it confirms)."""
    if cost is None or not off_by_thousands(cost, area, total):
        return None
    if text(form, f"confirm_{name}", 40) == text(form, name, 40):
        return None
    if cost * 1000 < area:
        return _(
            "%(cost)s is less than a thousandth of the budget of %(budget)s. Check the amount "
            "(thousands separator?); if it is right, tick the box below and send again.",
            cost=format_money(cost, currency),
            budget=format_money(area, currency),
        )
    return _(
        "%(cost)s is more than ten times the whole budget of %(budget)s. Check the amount; "
        "if it is right, tick the box below and send again.",
        cost=format_money(cost, currency),
        budget=format_money(total, currency),
    )


def _form(
    request: Request,
    options: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    action: str,
    status: int = 200,
) -> Response:
    return state(request).renderer.render(
        request,
        "proposals/form.html",
        {"confirm": {}, **options, "values": values, "errors": errors, "action": action},
        status_code=status,
    )


async def new_proposal(request: Request) -> Response:
    app = state(request)
    round_id = request.path_params["round_id"]
    options = await app.db.read(_options, round_id)
    if rounds.effective_phase(options["round"], app.today()) is not Phase.PROPOSALS:
        flash(request, _("This round is not taking proposals now."), "error")
        return RedirectResponse(f"/rounds/{round_id}", status_code=303)
    return _form(request, options, {}, {}, f"/rounds/{round_id}/proposals")


async def create_proposal(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    options = await app.db.read(_options, round_id)
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    data, errors = _parse(form, options["round"].currency, ctx.locale)
    action = f"/rounds/{round_id}/proposals"
    if not errors:
        rnd = options["round"]
        area = await app.db.read(rounds.area_budget, rnd, data.district_id)
        message = _unconfirmed_cost(
            form, "estimated_cost", data.estimated_cost, area, rnd.total_budget, rnd.currency
        )
        if message:
            errors["estimated_cost"] = message
            options = {**options, "confirm": {"estimated_cost": raw.get("estimated_cost", "")}}
    if errors:
        return _form(request, options, raw, errors, action, 422)
    try:
        p = await app.db.write(proposals.submit, ctx.user.id, round_id, data, app.today())
    except ValidationError as exc:
        return _form(request, options, raw, exc.errors, action, 422)
    flash(request, _("Thank you! Your proposal is published."), "success")
    return RedirectResponse(f"/proposals/{p.id}", status_code=303)


async def show_proposal(request: Request) -> Response:
    return await _render_section(request, block=None)


async def render_page(
    request: Request,
    *,
    photo_errors: dict[str, str] | None = None,
    photo_alt: str = "",
    status: int = 200,
) -> Response:
    """The whole proposal page, e.g. again with the photo form's errors."""
    return await _render_section(
        request, None, status=status, photo_errors=photo_errors, photo_alt=photo_alt
    )


async def _render_section(
    request: Request,
    block: str | None,
    errors: dict[str, str] | None = None,
    comment_body: str = "",
    status: int = 200,
    typed: dict[str, Any] | None = None,
    photo_errors: dict[str, str] | None = None,
    photo_alt: str = "",
) -> Response:
    """After an action: the updated section for htmx, the whole page otherwise."""
    app = state(request)
    ctx = context(request)
    proposal_id = request.path_params["proposal_id"]
    user_id = ctx.user.id if ctx.user else None

    def load(session: Session) -> dict[str, Any]:
        page = proposals.page(session, proposal_id, user_id, app.today())
        extra: dict[str, Any] = {
            "page": page,
            "photos": photos.photos_of(session, [proposal_id]).get(proposal_id, []),
            "can_photo": photos.may_change(
                session, page.proposal, user_id, _is_staff(request), app.today()
            ),
            "card": tracking_public.proposal_card(session, proposal_id),
        }
        if _is_staff(request):
            extra.update(_options(session, page.round.id))
            extra["merge_targets"] = proposals.merge_targets(session, page.round.id, proposal_id)
        return extra

    values = await app.db.read(load)
    return app.renderer.render(
        request,
        "proposals/detail.html",
        {
            "is_staff": _is_staff(request),
            "errors": errors or {},
            "comment_body": comment_body,
            "typed": typed or {},
            "photo_errors": photo_errors or {},
            "photo_alt": photo_alt,
            "max_photos": photos.MAX_PHOTOS,
            **values,
        },
        block=block,
        status_code=status,
    )


async def edit_proposal(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    proposal_id = request.path_params["proposal_id"]

    def load(session: Session) -> tuple[dict[str, Any], dict[str, str], bool]:
        p = proposals.get(session, proposal_id)
        options = _options(session, p.round_id)
        allowed = proposals.can_edit(
            p, options["round"], ctx.user.id if ctx.user else None, app.today()
        )
        values = {name: getattr(p, name) for name in proposals.LIMITS}
        values["estimated_cost"] = money_input(
            p.estimated_cost, options["round"].currency, ctx.locale
        )
        values["district"] = str(p.district_id) if p.district_id else "citywide"
        values["category"] = str(p.category_id or "")
        return options, values, allowed

    options, values, allowed = await app.db.read(load)
    if not allowed:
        raise HTTPException(403)
    return _form(request, options, values, {}, f"/proposals/{proposal_id}/edit")


async def update_proposal(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    proposal_id = request.path_params["proposal_id"]
    round_id = await app.db.read(lambda s: proposals.get(s, proposal_id).round_id)
    options = await app.db.read(_options, round_id)
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    data, errors = _parse(form, options["round"].currency, ctx.locale)
    action = f"/proposals/{proposal_id}/edit"
    if not errors:
        rnd = options["round"]
        area = await app.db.read(rounds.area_budget, rnd, data.district_id)
        message = _unconfirmed_cost(
            form, "estimated_cost", data.estimated_cost, area, rnd.total_budget, rnd.currency
        )
        if message:
            errors["estimated_cost"] = message
            options = {**options, "confirm": {"estimated_cost": raw.get("estimated_cost", "")}}
    if errors:
        return _form(request, options, raw, errors, action, 422)
    try:
        await app.db.write(proposals.update, ctx.user.id, proposal_id, data, app.today())
    except Forbidden:
        raise HTTPException(403) from None
    except ValidationError as exc:
        return _form(request, options, raw, exc.errors, action, 422)
    flash(request, _("Your proposal is updated."), "success")
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


async def endorse(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    proposal_id = request.path_params["proposal_id"]
    try:
        await app.db.write(proposals.endorse, ctx.user.id, proposal_id, app.today())
    except ValidationError as exc:
        if _htmx(request):
            return await _render_section(request, "endorse", exc.errors, status=422)
        flash(request, " ".join(exc.errors.values()), "error")
    if _htmx(request):
        return await _render_section(request, "endorse")
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


async def comment(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    proposal_id = request.path_params["proposal_id"]
    body = text(await request.form(), "body", 5_000)
    try:
        await app.db.write(proposals.add_comment, ctx.user.id, proposal_id, body, app.today())
    except ValidationError as exc:
        return await _render_section(request, "comments", exc.errors, body, status=422)
    if _htmx(request):
        return await _render_section(request, "comments")
    return RedirectResponse(f"/proposals/{proposal_id}#comments", status_code=303)


async def hide_comment(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    reason = text(await request.form(), "reason", 1_000)
    try:
        proposal_id = await app.db.write(
            proposals.hide_comment, ctx.user.id, request.path_params["comment_id"], reason
        )
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
        proposal_id = await app.db.read(_comment_proposal, request.path_params["comment_id"])
        return RedirectResponse(f"/proposals/{proposal_id}#comments", status_code=303)
    flash(request, _("The comment is hidden."), "success")
    return RedirectResponse(f"/proposals/{proposal_id}#comments", status_code=303)


def _comment_proposal(session: Session, comment_id: int) -> int:
    from pb.models import Comment

    found = session.scalar(select(Comment.proposal_id).where(Comment.id == comment_id))
    if found is None:
        raise HTTPException(404)
    return found


async def review(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    proposal_id = request.path_params["proposal_id"]
    form = await request.form()
    action = text(form, "action", 20)

    def budgets(session: Session) -> tuple[str, int, int]:
        p = proposals.get(session, proposal_id)
        rnd = rounds.get_round(session, p.round_id)
        return rnd.currency, rounds.area_budget(session, rnd, p.district_id), rnd.total_budget

    currency, area, total = await app.db.read(budgets)
    values: dict[str, Any] = {"reason": text(form, "reason", 3_000)}
    errors: dict[str, str] = {}
    confirm: dict[str, str] = {}
    cost_text = text(form, "feasible_cost", 40)
    if action == "accept":
        try:
            values["feasible_cost"] = parse_money(cost_text, currency, ctx.locale)
        except ValueError as exc:
            errors["feasible_cost"] = amount_message(exc, _("Enter the feasible cost."))
        else:
            message = _unconfirmed_cost(
                form, "feasible_cost", values["feasible_cost"], area, total, currency
            )
            if message:
                errors["feasible_cost"] = message
                confirm = {"feasible_cost": cost_text}
    values["into"] = optional_id(form, "into")
    # A district is an id or "citywide" (None), as in the proposal form.
    citywide = text(form, "district", 20) == "citywide"
    values["district_id"] = None if citywide else optional_id(form, "district")
    values["category_id"] = optional_id(form, "category")
    if not errors:
        try:
            await app.db.write(
                proposals.review, ctx.user.id, proposal_id, action, values, app.today()
            )
        except ValidationError as exc:
            errors = exc.errors
    if errors:
        typed = {"feasible_cost": cost_text, "reason": values["reason"], "confirm": confirm}
        block = "review" if _htmx(request) else None
        return await _render_section(request, block, errors, status=422, typed=typed)
    if _htmx(request):
        return await _render_section(request, "review")
    flash(request, _("The review is saved."), "success")
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


routes = [
    route("/rounds/{round_id:id}/proposals", list_proposals, access=Access.PUBLIC),
    route("/rounds/{round_id:id}/proposals/new", new_proposal, access=Access.USER),
    route("/rounds/{round_id:id}/proposals", create_proposal, access=Access.USER, methods=["POST"]),
    route("/proposals/{proposal_id:id}", show_proposal, access=Access.PUBLIC),
    route("/proposals/{proposal_id:id}/edit", edit_proposal, access=Access.USER),
    route(
        "/proposals/{proposal_id:id}/edit", update_proposal, access=Access.USER, methods=["POST"]
    ),
    route("/proposals/{proposal_id:id}/endorse", endorse, access=Access.USER, methods=["POST"]),
    route("/proposals/{proposal_id:id}/comments", comment, access=Access.USER, methods=["POST"]),
    route("/comments/{comment_id:id}/hide", hide_comment, access=Access.STAFF, methods=["POST"]),
    route("/proposals/{proposal_id:id}/review", review, access=Access.STAFF, methods=["POST"]),
]
