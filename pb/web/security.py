"""Per-request context (user, locale, CSRF seed, flashes), cookies and hardening headers.

One pure ASGI middleware loads the session before any route runs and adds cookies and security
headers to every response.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pb import i18n
from pb.config import Settings
from pb.db import Database, outage_kind, outages
from pb.services import accounts
from pb.services.accounts import CurrentUser

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
HTML_CACHE = "private, no-cache"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class RequestContext:
    """What the middleware learned about a request, kept in ``request.state.ctx``."""

    user: CurrentUser | None
    session_token: str | None
    csrf_seed: str
    locale: str
    https: bool
    flashes: list[tuple[str, str]] = field(default_factory=list)
    flashes_shown: bool = False
    new_flashes: list[tuple[str, str]] = field(default_factory=list)
    set_cookies: list[str] = field(default_factory=list)


def cookie_name(base: str, https: bool) -> str:
    # Over HTTPS the __Host- prefix pins the cookie to this host, path / and Secure.
    return f"__Host-{base}" if https else base


def make_cookie(
    name: str, value: str, https: bool, max_age: int | None, http_only: bool = True
) -> str:
    cookie: SimpleCookie = SimpleCookie()
    full = cookie_name(name, https)
    cookie[full] = value
    morsel = cookie[full]
    morsel["path"] = "/"
    morsel["samesite"] = "Lax"
    if http_only:
        morsel["httponly"] = True
    if https:
        morsel["secure"] = True
    if max_age is not None:
        morsel["max-age"] = max_age
    return morsel.OutputString()


class Cookies:
    """The signed cookies pb sets: session, anonymous CSRF seed, language and flash messages."""

    SESSION = "pb_session"
    ANON = "pb_anon"
    LANG = "pb_lang"
    FLASH = "pb_flash"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session_signer = URLSafeTimedSerializer(settings.secret_key, salt="pb.session")
        self.anon_signer = URLSafeSerializer(settings.secret_key, salt="pb.anon")
        self.flash_signer = URLSafeSerializer(settings.secret_key, salt="pb.flash")
        self.csrf_key = hmac.new(settings.secret_key.encode(), b"pb.csrf", hashlib.sha256).digest()

    @property
    def session_max_age(self) -> int:
        return self.settings.session_max_hours * 3600

    def read_session(self, raw: str | None) -> str | None:
        if not raw:
            return None
        try:
            token = self.session_signer.loads(raw, max_age=self.session_max_age)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def session_cookie(self, token: str, https: bool) -> str:
        return make_cookie(
            self.SESSION, self.session_signer.dumps(token), https, self.session_max_age
        )

    def clear_session_cookie(self, https: bool) -> str:
        return make_cookie(self.SESSION, "", https, 0)

    def csrf_token(self, seed: str) -> str:
        return hmac.new(self.csrf_key, seed.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, seed: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(seed), token or "")


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


class ContextMiddleware:
    """Load the user and locale, then add cookies and security headers to the response."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        db: Database,
        cookies: Cookies,
        on_error: Callable[[Request, Exception], Awaitable[Response]] | None = None,
    ) -> None:
        self.app = app
        self.on_error = on_error
        self.settings = settings
        self.db = db
        self.cookies = cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        https = conn.url.scheme == "https"
        jar = conn.cookies
        outage: Exception | None = None
        try:
            ctx = await self._context(conn, jar, https)
        except Exception as exc:
            # The database is down: answer in the visitor's language, as a visitor (503).
            if outage_kind(exc) is None or self.on_error is None:
                raise
            outage = exc
            ctx = RequestContext(None, None, "", self._locale(conn, jar, None, https), https)
        scope.setdefault("state", {})["ctx"] = ctx
        token = i18n.set_locale(ctx.locale)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    # Pages carry a CSRF token and the viewer's state: never from a cache.
                    headers.setdefault("cache-control", HTML_CACHE)
                if https:
                    headers.setdefault(
                        "strict-transport-security", "max-age=63072000; includeSubDomains"
                    )
                for cookie in self._cookies_out(ctx, https):
                    headers.append("set-cookie", cookie)
            await send(message)

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_wrapper(message)

        try:
            if outage is not None:
                raise outage
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            # Render the friendly 500 page here, inside the context (locale, headers).
            if started or self.on_error is None:
                raise
            response = await self.on_error(Request(scope, receive), exc)
            await response(scope, receive, send_wrapper)
        finally:
            i18n.reset_locale(token)

    async def _context(
        self, conn: HTTPConnection, jar: dict[str, str], https: bool
    ) -> RequestContext:
        user: CurrentUser | None = None
        token = self.cookies.read_session(jar.get(cookie_name(Cookies.SESSION, https)))
        if token is not None:
            idle = dt.timedelta(minutes=self.settings.session_idle_minutes)
            absolute = dt.timedelta(hours=self.settings.session_max_hours)
            loaded = await self.db.read(accounts.load_session, token, idle, absolute)
            if loaded is None:
                token = None
            else:
                user, wants_touch = loaded
                if wants_touch:
                    try:
                        await self.db.write(accounts.touch_session, user.session_id)
                    except Exception as exc:
                        # Reading may still work while the database takes no writes: the
                        # session's last use is noted next time.
                        kind = outage_kind(exc)
                        if kind is None:
                            raise
                        outages.report(kind, "noting a session's use", exc)
        set_cookies: list[str] = []
        anon_seed: str | None = None
        raw_anon = jar.get(cookie_name(Cookies.ANON, https))
        if raw_anon:
            try:
                value = self.cookies.anon_signer.loads(raw_anon)
                anon_seed = value if isinstance(value, str) else None
            except BadSignature:
                anon_seed = None
        # Static files and photos need no seed: a parallel request for one must not replace
        # the page's (and a cacheable response sets no cookie). Nor does the open-data API,
        # whose answers are public and cacheable.
        if (
            token is None
            and anon_seed is None
            and not _is_file(conn.url.path)
            and not conn.url.path.startswith("/api/")
        ):
            anon_seed = secrets.token_urlsafe(24)
            set_cookies.append(
                make_cookie(Cookies.ANON, self.cookies.anon_signer.dumps(anon_seed), https, None)
            )
        seed = "s:" + accounts.token_digest(token) if token else "a:" + (anon_seed or "")
        flashes: list[tuple[str, str]] = []
        raw_flash = jar.get(cookie_name(Cookies.FLASH, https))
        if raw_flash:
            try:
                loaded_flashes = self.cookies.flash_signer.loads(raw_flash)
                flashes = [(str(k), str(m)) for k, m in loaded_flashes][:5]
            except (BadSignature, ValueError, TypeError):
                flashes = []
        return RequestContext(
            user=user,
            session_token=token,
            csrf_seed=seed,
            locale=self._locale(conn, jar, user, https),
            https=https,
            flashes=flashes,
            set_cookies=set_cookies,
        )

    def _locale(
        self, conn: HTTPConnection, jar: dict[str, str], user: CurrentUser | None, https: bool
    ) -> str:
        available = self.settings.locales
        if user is not None and user.locale in available:
            return user.locale
        chosen = jar.get(cookie_name(Cookies.LANG, https))
        if chosen in available:
            return chosen
        return i18n.negotiate(
            conn.headers.get("accept-language", ""), available, self.settings.default_locale
        )

    def _cookies_out(self, ctx: RequestContext, https: bool) -> list[str]:
        out = list(ctx.set_cookies)
        if ctx.new_flashes:
            value = self.cookies.flash_signer.dumps(ctx.new_flashes)
            out.append(make_cookie(Cookies.FLASH, value, https, 300))
        elif ctx.flashes and ctx.flashes_shown:
            out.append(make_cookie(Cookies.FLASH, "", https, 0))
        return out


def _is_file(path: str) -> bool:
    return path.startswith("/static/") or (path.startswith("/photos/") and path.endswith(".webp"))


def context(request: Request) -> RequestContext:
    ctx = request.state.ctx
    assert isinstance(ctx, RequestContext)
    return ctx


def flash(request: Request, message: str, kind: str = "info") -> None:
    """Show ``message`` on the next page this client renders."""
    context(request).new_flashes.append((kind, message))
