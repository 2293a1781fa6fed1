"""Register, log in, log out, change password, choose a language."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import Role
from pb.services import accounts
from pb.web.forms import safe_next, text
from pb.web.routing import Access, route
from pb.web.security import Cookies, client_address, context, flash, make_cookie
from pb.web.state import AppState, state


def _login_response(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.headers.append(
        "set-cookie", state(request).cookies.session_cookie(token, context(request).https)
    )
    return response


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
    account_key, client_key = accounts.failure_keys(email, client_address(request))
    limits = (app.settings.account_failure_limits, app.settings.client_failure_limits)

    def fail(message: str, status: int) -> Response:
        return app.renderer.render(
            request,
            "accounts/login.html",
            {"email": email, "next": target, "error": message},
            status_code=status,
        )

    if await app.db.read(accounts.is_throttled, account_key, client_key, *limits):
        # The same answer whether or not the account exists.
        return fail(_("Too many failed attempts. Wait a few minutes and try again."), 429)
    found = await app.db.read(accounts.password_hash_for, email)
    # Unknown email: verify against a dummy hash so both cases take the same time.
    ok = await app.passwords.verify(found[1] if found else None, password)
    if not ok or found is None:
        await app.db.write(accounts.record_failure, account_key, client_key)
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
        return accounts.start_session(session, user_id, agent)

    token = await app.db.write(open_session)
    flash(request, _("You are logged in."), "success")
    return _login_response(request, token, target)


async def register_form(request: Request) -> Response:
    return state(request).renderer.render(
        request, "accounts/register.html", {"values": {}, "errors": {}}
    )


async def register(request: Request) -> Response:
    app = state(request)
    form = await request.form()
    values = {k: text(form, k, 1024) for k in ("email", "display_name")}
    password = text(form, "password", 1024)
    confirm = text(form, "password_confirm", 1024)
    try:
        accounts.check_registration(values["email"], values["display_name"], password, confirm)
        password_hash = await app.passwords.hash(password)
        agent = request.headers.get("user-agent", "")

        def create(session: Session) -> str:
            user = accounts.create_user(
                session, values["email"], values["display_name"], password_hash, Role.RESIDENT
            )
            return accounts.start_session(session, user.id, agent)

        token = await app.db.write(create)
    except ValidationError as exc:
        return app.renderer.render(
            request,
            "accounts/register.html",
            {"values": values, "errors": exc.errors},
            status_code=422,
        )
    except IntegrityError:
        # Two registrations raced to one address; the database kept one.
        errors = {"email": _("An account with this email already exists.")}
        return app.renderer.render(
            request,
            "accounts/register.html",
            {"values": values, "errors": errors},
            status_code=422,
        )
    flash(request, _("Welcome! Your account is ready."), "success")
    return _login_response(request, token, "/")


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
    route("/register", register_form, access=Access.ANONYMOUS, name="register"),
    route("/register", register, access=Access.ANONYMOUS, methods=["POST"]),
    route("/logout", logout, access=Access.USER, methods=["POST"], name="logout"),
    route("/account", account, access=Access.USER, name="account"),
    route("/account/password", change_password, access=Access.USER, methods=["POST"]),
    route("/language", choose_language, access=Access.PUBLIC, methods=["POST"], name="language"),
]
