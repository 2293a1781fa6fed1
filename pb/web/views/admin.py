"""Administration: accounts and their roles (admins), and the audit log (admins and auditors)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import Role
from pb.services import accounts, audit
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


async def users(request: Request) -> Response:
    rows = await state(request).db.read(accounts.list_users)
    return state(request).renderer.render(
        request, "admin/users.html", {"users": rows, "roles": list(Role)}
    )


async def set_role(request: Request) -> Response:
    ctx = context(request)
    assert ctx.user is not None
    user_id = request.path_params["user_id"]  # an id: the route's convertor and guard
    try:
        role = Role(text(await request.form(), "role", 20))
    except ValueError:
        raise HTTPException(422) from None
    try:
        await state(request).db.write(accounts.change_role, ctx.user.id, user_id, role)
    except ValidationError:
        raise HTTPException(404) from None
    flash(request, _("The role is changed."), "success")
    return RedirectResponse("/admin/users", status_code=303)


async def audit_log(request: Request) -> Response:
    events = await state(request).db.read(audit.recent)
    return state(request).renderer.render(request, "admin/audit.html", {"events": events})


routes = [
    route("/admin/users", users, access=Access.ADMIN, name="admin_users"),
    route("/admin/users/{user_id:id}/role", set_role, access=Access.ADMIN, methods=["POST"]),
    route("/admin/audit", audit_log, access=Access.AUDITOR, name="admin_audit"),
]
