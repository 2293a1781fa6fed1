"""A funding call's match: staff compute a draft, review it and publish it (final); everyone
reads the published match and downloads the funding bundle to audit it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import CallSettlement, Role
from pb.services.funding import calls, settlement
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


def _is_staff(request: Request) -> bool:
    user = context(request).user
    return user is not None and user.role in (Role.STAFF, Role.ADMIN)


def _page_data(session: Session, call_id: int, staff: bool) -> dict[str, Any]:
    call = calls.get_call(session, call_id)
    match = settlement.match_view(session, call)
    if not staff and match is not None and not match.published:
        match = None  # a draft is for staff only
    return {
        "call": call,
        "match": match,
        "settlement": session.get(CallSettlement, call_id),
    }


async def _page(request: Request, errors: dict[str, str], status: int = 200) -> Response:
    app = state(request)
    staff = _is_staff(request)
    values = await app.db.read(_page_data, request.path_params["call_id"], staff)
    values["phase"] = calls.phase(values["call"], app.today())
    return app.renderer.render(
        request,
        "collection/matches.html",
        {**values, "is_staff": staff, "errors": errors},
        status_code=status,
    )


async def show(request: Request) -> Response:
    return await _page(request, {})


async def compute(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id = request.path_params["call_id"]
    try:
        await app.db.write(
            settlement.compute_draft, ctx.user.id, call_id, app.today(), app.settings.secret_key
        )
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    else:
        flash(request, _("The match is computed. Review it, then publish it."), "success")
    return RedirectResponse(f"/funding/{call_id}/matches", status_code=303)


async def publish(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id = request.path_params["call_id"]
    form = await request.form()
    if text(form, "confirm", 10) != "yes":
        return await _page(
            request,
            {"confirm": _("Tick the box to confirm: a published match cannot be changed.")},
            422,
        )
    try:
        await app.db.write(
            settlement.publish, ctx.user.id, call_id, app.today(), app.settings.secret_key
        )
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    else:
        flash(request, _("The match is published. It is final."), "success")
    return RedirectResponse(f"/funding/{call_id}/matches", status_code=303)


async def download_bundle(request: Request) -> Response:
    app = state(request)
    call_id = request.path_params["call_id"]
    try:
        data = await app.db.read(settlement.bundle, call_id, app.settings.secret_key)
    except NotFound:
        raise HTTPException(404) from None
    return Response(
        data,
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="pb-funding-{call_id}-bundle.zip"'},
    )


routes = [
    route("/funding/{call_id:id}/matches", show, access=Access.PUBLIC),
    route("/funding/{call_id:id}/matches/compute", compute, access=Access.STAFF, methods=["POST"]),
    route("/funding/{call_id:id}/publish", publish, access=Access.STAFF, methods=["POST"]),
    route("/funding/{call_id:id}/bundle.zip", download_bundle, access=Access.PUBLIC),
]
