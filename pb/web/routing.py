"""Routes that carry their access rule. Every route in pb is built with :func:`route`, which
checks the role and, for state-changing methods, the CSRF token, before the view runs. A test
walks every route and checks anonymous and wrong-role access is refused."""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pb.models import Role
from pb.web.security import SAFE_METHODS, context

Endpoint = Callable[[Request], Awaitable[Response]]


class Access(enum.Enum):
    """Who may use a route. Admins may use every route that needs a role."""

    PUBLIC = "public"  # anyone, logged in or not
    ANONYMOUS = "anonymous"  # only when logged out (login, register)
    USER = "user"  # any logged-in account
    STAFF = "staff"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def roles(self) -> frozenset[Role]:
        """The roles allowed; empty means no login is needed."""
        return _ROLES[self]


_ROLES: dict[Access, frozenset[Role]] = {
    Access.PUBLIC: frozenset(),
    Access.ANONYMOUS: frozenset(),
    Access.USER: frozenset(Role),
    Access.STAFF: frozenset({Role.STAFF, Role.ADMIN}),
    Access.AUDITOR: frozenset({Role.AUDITOR, Role.ADMIN}),
    Access.ADMIN: frozenset({Role.ADMIN}),
}


CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


async def csrf_token_from(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def guard(endpoint: Endpoint, access: Access) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        ctx = context(request)
        if access is Access.ANONYMOUS and ctx.user is not None:
            return RedirectResponse("/", status_code=303)
        if access.roles:
            if ctx.user is None:
                if request.method in SAFE_METHODS:
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                raise HTTPException(403)
            if ctx.user.role not in access.roles:
                raise HTTPException(403)
        if request.method not in SAFE_METHODS:
            cookies = request.app.state.cookies
            if not cookies.csrf_ok(ctx.csrf_seed, await csrf_token_from(request)):
                raise HTTPException(403, "csrf")
        return await endpoint(request)

    return guarded


class GuardedRoute(Route):
    """A Starlette route that remembers its access rule (for the route-walking test)."""

    access: Access


def route(
    path: str,
    endpoint: Endpoint,
    *,
    access: Access,
    methods: Sequence[str] = ("GET",),
    name: str | None = None,
) -> GuardedRoute:
    r = GuardedRoute(path, guard(endpoint, access), methods=list(methods), name=name)
    r.access = access
    return r
