"""After the vote, for everyone: a funded project's card, a round's projects and money, what
became of the projects on one's ballot; residents follow projects and unfollow in one click."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from pb.errors import BadToken, NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import Role
from pb.services.tracking import (
    ballot_projects,
    call_tracking,
    follow,
    projects,
    public_card,
    round_tracking,
)
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


def _card_data(
    session: Session, project_id: int, user_id: int | None, staff: bool
) -> dict[str, Any]:
    card = public_card(session, project_id)
    following = user_id is not None and follow.is_following(session, project_id, user_id)
    editor = user_id is not None and projects.may_edit(session, user_id, staff, project_id)
    return {"card": card, "following": following, "may_edit": editor}


async def show_card(request: Request) -> Response:
    app = state(request)
    user = context(request).user
    staff = user is not None and user.role in (Role.STAFF, Role.ADMIN)
    values = await app.db.read(
        _card_data, request.path_params["project_id"], user.id if user else None, staff
    )
    return app.renderer.render(request, "tracking/card.html", {**values, "today": app.today()})


async def follow_project(request: Request) -> Response:
    app = state(request)
    user = context(request).user
    assert user is not None
    project_id = request.path_params["project_id"]
    try:
        await app.db.write(follow.follow, project_id, user.id)
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    else:
        flash(request, _("You follow this project: each update comes to you by mail."), "success")
    return RedirectResponse(f"/projects/{project_id}#follow", status_code=303)


async def unfollow_project(request: Request) -> Response:
    app = state(request)
    user = context(request).user
    assert user is not None
    project_id = request.path_params["project_id"]
    await app.db.write(follow.unfollow, project_id, user.id)
    flash(request, _("You no longer follow this project."), "success")
    if (await request.form()).get("from") == "account":  # the list of followed projects
        return RedirectResponse("/account/projects", status_code=303)
    return RedirectResponse(f"/projects/{project_id}#follow", status_code=303)


async def _unsubscribe_target(request: Request) -> follow.Unsubscribe | None:
    app = state(request)
    try:
        return await app.db.read(
            follow.read_unsubscribe, app.settings.secret_key, request.path_params["token"]
        )
    except BadToken:
        return None


async def unsubscribe_form(request: Request) -> Response:
    """The link in every update mail: a page with a button (a mail scanner opening the link
    changes nothing)."""
    target = await _unsubscribe_target(request)
    return state(request).renderer.render(
        request,
        "tracking/unfollow.html",
        {"target": target, "done": False},
        status_code=200 if target else 404,
    )


async def unsubscribe(request: Request) -> Response:
    app = state(request)
    target = await _unsubscribe_target(request)
    if target is not None:
        await app.db.write(follow.unfollow, target.project_id, target.user_id)
    return app.renderer.render(
        request,
        "tracking/unfollow.html",
        {"target": target, "done": target is not None},
        status_code=200 if target else 404,
    )


async def one_click_unsubscribe(request: Request) -> Response:
    """RFC 8058: a mail client POSTs ``List-Unsubscribe=One-Click`` to the address of the mail's
    List-Unsubscribe header, without pb's cookies (so no CSRF token: the signed token in the
    address is the authority). Any other body is refused; a GET goes to the page with the
    button."""
    if request.method == "GET":
        return RedirectResponse(f"/unfollow/{request.path_params['token']}", status_code=303)
    form = await request.form()
    if form.get("List-Unsubscribe") != "One-Click":
        return PlainTextResponse("List-Unsubscribe=One-Click expected\n", status_code=400)
    app = state(request)
    target = await _unsubscribe_target(request)
    if target is None:
        return PlainTextResponse("unknown or expired unsubscribe address\n", status_code=404)
    await app.db.write(follow.unfollow, target.project_id, target.user_id)
    return PlainTextResponse("unsubscribed\n")


async def show_round_tracking(request: Request) -> Response:
    app = state(request)
    try:
        data = await app.db.read(round_tracking, request.path_params["round_id"])
    except NotFound:
        raise HTTPException(404) from None
    return app.renderer.render(request, "tracking/round.html", {"t": data})


async def show_call_tracking(request: Request) -> Response:
    """The projects a funding call funded: the only list of those of a call without a round."""
    app = state(request)
    try:
        data = await app.db.read(call_tracking, request.path_params["call_id"], app.today())
    except NotFound:
        raise HTTPException(404) from None
    return app.renderer.render(request, "tracking/round.html", {"t": data})


async def ballot_form(request: Request) -> Response:
    return state(request).renderer.render(
        request,
        "tracking/ballot.html",
        {"result": None, "code": "", "searched": False, "errors": {}},
    )


async def ballot_lookup(request: Request) -> Response:
    """The projects on the ballot of a receipt and how far each one is (once published)."""
    app = state(request)
    code = text(await request.form(), "code", 80)
    if not code.strip():
        return app.renderer.render(
            request,
            "tracking/ballot.html",
            {
                "result": None,
                "code": code,
                "searched": True,
                "errors": {"code": _("Enter the receipt code.")},
            },
            status_code=422,
        )
    found = await app.db.read(ballot_projects, code)
    return app.renderer.render(
        request,
        "tracking/ballot.html",
        {"result": found, "code": code, "searched": True, "errors": {}},
        status_code=200 if found else 404,
    )


async def my_projects(request: Request) -> Response:
    """The projects a resident follows and, for a project lead, the ones they report on."""
    app = state(request)
    user = context(request).user
    assert user is not None
    followed, led = await app.db.read(
        lambda s: (follow.followed_by(s, user.id), projects.led_by(s, user.id))
    )
    return app.renderer.render(request, "tracking/mine.html", {"followed": followed, "led": led})


routes = [
    route("/account/projects", my_projects, access=Access.USER),
    route("/projects/{project_id:id}", show_card, access=Access.PUBLIC),
    route("/projects/{project_id:id}/follow", follow_project, access=Access.USER, methods=["POST"]),
    route(
        "/projects/{project_id:id}/unfollow", unfollow_project, access=Access.USER, methods=["POST"]
    ),
    route("/unfollow/{token:str}", unsubscribe_form, access=Access.PUBLIC),
    route("/unfollow/{token:str}", unsubscribe, access=Access.PUBLIC, methods=["POST"]),
    route(
        "/unfollow/{token:str}/one-click",
        one_click_unsubscribe,
        access=Access.PUBLIC,
        methods=["GET", "POST"],
        csrf=False,
    ),
    route("/rounds/{round_id:id}/tracking", show_round_tracking, access=Access.PUBLIC),
    route("/funding/{call_id:id}/projects", show_call_tracking, access=Access.PUBLIC),
    route("/receipts/projects", ballot_form, access=Access.PUBLIC),
    route("/receipts/projects", ballot_lookup, access=Access.PUBLIC, methods=["POST"]),
]
