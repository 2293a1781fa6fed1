"""Routes that carry their access rule. Every route in pb is built with :func:`route`, which
checks, before the view runs and in this order: the size of the request body (each route has
its limit; nothing is parsed past it), the role, for state-changing methods the CSRF token, and
that a round in draft is seen by staff only (404 for everyone else, on every route). Ids in
paths use the ``{name:id}`` convertor: a number too large to be an id is a 404, never an
overflow. Tests walk every route."""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import quote

from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pb.models import Role
from pb.services import rounds
from pb.web.forms import MAX_INT
from pb.web.security import SAFE_METHODS, context
from pb.web.state import state

Endpoint = Callable[[Request], Awaitable[Response]]

# Request bodies: forms are small; a route that takes more (a file) says so.
FORM_BODY = 256 * 1024


class IdConvertor(Convertor[int]):
    """``{name:id}``: at most ten ASCII digits (a longer number matches no route: 404); the
    guard answers 404 to the ten-digit ones past :data:`pb.web.forms.MAX_INT` too."""

    regex = "[0-9]{1,10}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", IdConvertor())


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


def _declared_length(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        raise HTTPException(400) from None


def limit_body(app: ASGIApp, max_body: int) -> ASGIApp:
    """Refuse (413) a request body that grows past ``max_body`` bytes as it is read, whatever
    its declared length (chunked bodies declare none): the form parser never sees more."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise HTTPException(413)
            return message

        await app(scope, counted, send)

    return limited


async def _hidden_draft(request: Request) -> bool:
    """Whether the request names a draft round (or a proposal of one) to a non-staff user."""
    params = request.path_params
    round_id, proposal_id = params.get("round_id"), params.get("proposal_id")
    if round_id is None and proposal_id is None:
        return False
    user = context(request).user
    if user is not None and user.role in _ROLES[Access.STAFF]:
        return False
    # Rounds whose rules are locked never go back to draft: casting needs no look for them.
    settled: set[int] | None = getattr(request.app.state, "pb_settled_rounds", None)
    if settled is None:
        settled = request.app.state.pb_settled_rounds = set()
    if round_id in settled:
        return False
    app = state(request)
    seen = await app.db.read(rounds.visibility, app.today(), round_id, proposal_id)
    if seen.settled and round_id is not None:
        settled.add(round_id)
    return seen.draft


def guard(
    endpoint: Endpoint, access: Access, max_body: int = FORM_BODY, csrf: bool = True
) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if _declared_length(request) > max_body:
            raise HTTPException(413)
        if any(isinstance(v, int) and not 0 < v <= MAX_INT for v in request.path_params.values()):
            raise HTTPException(404)
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
        if csrf and request.method not in SAFE_METHODS:
            cookies = request.app.state.cookies
            if not cookies.csrf_ok(ctx.csrf_seed, await csrf_token_from(request)):
                raise HTTPException(403, "csrf")
        # After the role check: to whom it refuses, a draft and a missing round look the same.
        if access in _SEES_DRAFTS_CHECKED and await _hidden_draft(request):
            raise HTTPException(404)
        return await endpoint(request)

    return guarded


# Routes that non-staff may use: there a draft round must not show. (The others refuse them.)
_SEES_DRAFTS_CHECKED = frozenset({Access.PUBLIC, Access.ANONYMOUS, Access.USER})


class GuardedRoute(Route):
    """A Starlette route that remembers its access rule and body limit (for the tests that
    walk every route)."""

    access: Access
    max_body: int
    csrf: bool


def route(
    path: str,
    endpoint: Endpoint,
    *,
    access: Access,
    methods: Sequence[str] = ("GET",),
    name: str | None = None,
    max_body: int = FORM_BODY,
    csrf: bool = True,
) -> GuardedRoute:
    """A route with its access rule and the most bytes of body it reads (``max_body``).

    ``csrf=False`` is only for a POST that a signed token in its own address authorises and
    that other programs make without pb's cookies (a mail client's one-click unsubscribe)."""
    r = GuardedRoute(
        path, guard(endpoint, access, max_body, csrf), methods=list(methods), name=name
    )
    r.app = limit_body(r.app, max_body)
    r.access = access
    r.max_body = max_body
    r.csrf = csrf
    return r
