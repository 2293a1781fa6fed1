"""Log in (throttled, see :mod:`pb.services.throttle`), log out, change password, choose a
language. Signing up, verifying and resetting by mail are in :mod:`pb.web.views.verification`."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.i18n import gettext as _
from pb.services import accounts, throttle, verification
from pb.services.throttle import LoginLimits, LoginSource
from pb.web.devices import read_device, trust_device
from pb.web.forms import safe_next, text
from pb.web.routing import Access, route
from pb.web.security import Cookies, client_address, context, flash, make_cookie
from pb.web.state import AppState, state
from pb.web.views.verification import mail_links


def _login_limits(app: AppState) -> LoginLimits:
    s = app.settings
    return LoginLimits(s.login_pair_free, s.login_account_limits, s.login_client_limits)


def _login_response(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.headers.append(
        "set-cookie", state(request).cookies.session_cookie(token, context(request).https)
    )
    return response


# --- log in -----------------------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    return state(request).renderer.render(
        request,
        "accounts/login.html",
        {"email": "", "next": safe_next(request.query_params.get("next")), "error": None},
    )


async def login(request: Request) -> Response:
    app: AppState = state(request)
    form = await request.form()
    email = text(form, "email", 254)
    password = text(form, "password", 1024)
    target = safe_next(text(form, "next"))
    tag = throttle.account_tag(email)
    device, known = read_device(request)
    source = LoginSource(email, client_address(request), device if tag in known else None)
    limits = _login_limits(app)

    def fail(message: str, status: int) -> Response:
        return app.renderer.render(
            request,
            "accounts/login.html",
            {"email": email, "next": target, "error": message},
            status_code=status,
        )

    blocked = await app.db.read(throttle.login_blocked, source, limits)
    # The same answers whether or not the account exists.
    if blocked == "wait":
        return fail(_("Too many failed attempts. Wait a few minutes and try again."), 429)
    if blocked == "locked":
        return fail(
            _(
                "Too many failed attempts from new devices. If this is your account, we have "
                "mailed you a link to log in from this device. Otherwise, try again later or "
                "reset your password."
            ),
            429,
        )
    found = await app.db.read(accounts.password_hash_for, email)
    # Unknown email: verify against a dummy hash so both cases take the same time.
    ok = await app.passwords.verify(found[1] if found else None, password)
    if not ok or found is None:
        links, locale = mail_links(request), context(request).locale

        def record(session: Session) -> None:
            if throttle.record_login_failure(session, source, limits):
                verification.mail_unlock(session, email, links, locale)

        await app.db.write(record)
        app.mailer.wake()
        return fail(_("The email or password is not correct."), 422)
    user_id, stored = found
    new_hash = await app.passwords.hash(password) if app.passwords.needs_rehash(stored) else None
    old_token = context(request).session_token
    agent = request.headers.get("user-agent", "")

    def open_session(session: Session) -> str:
        if new_hash is not None:
            accounts.set_password_hash(session, user_id, new_hash)
        if old_token:
            accounts.revoke_session(session, old_token)
        throttle.record_login_success(session, source)
        return accounts.start_session(session, user_id, agent)

    token = await app.db.write(open_session)
    flash(request, _("You are logged in."), "success")
    response = _login_response(request, token, target)
    trust_device(request, response, tag)
    return response


# --- session and account ----------------------------------------------------------------------


async def logout(request: Request) -> Response:
    ctx = context(request)
    if ctx.session_token:
        await state(request).db.write(accounts.revoke_session, ctx.session_token)
    response = RedirectResponse("/", status_code=303)
    response.headers.append("set-cookie", state(request).cookies.clear_session_cookie(ctx.https))
    flash(request, _("You are logged out."), "info")
    return response


async def account(request: Request) -> Response:
    return state(request).renderer.render(request, "accounts/account.html", {"errors": {}})


async def change_password(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    user_id = ctx.user.id
    form = await request.form()
    current = text(form, "current_password", 1024)
    new = text(form, "new_password", 1024)
    confirm = text(form, "new_password_confirm", 1024)
    errors = accounts.check_password_rules(new, confirm, "new_password")
    found = await app.db.read(accounts.password_hash_for, ctx.user.email)
    if not await app.passwords.verify(found[1] if found else None, current):
        errors["current_password"] = _("This is not your current password.")
    if errors:
        return app.renderer.render(
            request, "accounts/account.html", {"errors": errors}, status_code=422
        )
    new_hash = await app.passwords.hash(new)
    agent = request.headers.get("user-agent", "")
    token = await app.db.write(accounts.change_password, user_id, new_hash, agent)
    flash(request, _("Your password is changed. Other devices are logged out."), "success")
    return _login_response(request, token, "/account")


async def choose_language(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    form = await request.form()
    locale = text(form, "locale", 10)
    target = safe_next(text(form, "next"))
    response = RedirectResponse(target, status_code=303)
    if locale not in app.settings.locales:
        return response
    response.headers.append(
        "set-cookie", make_cookie(Cookies.LANG, locale, ctx.https, 365 * 24 * 3600)
    )
    if ctx.user is not None:
        await app.db.write(accounts.set_locale, ctx.user.id, locale)
    return response


routes = [
    route("/login", login_form, access=Access.ANONYMOUS, name="login"),
    route("/login", login, access=Access.ANONYMOUS, methods=["POST"]),
    route("/logout", logout, access=Access.USER, methods=["POST"], name="logout"),
    route("/account", account, access=Access.USER, name="account"),
    route("/account/password", change_password, access=Access.USER, methods=["POST"]),
    route("/language", choose_language, access=Access.PUBLIC, methods=["POST"], name="language"),
]
