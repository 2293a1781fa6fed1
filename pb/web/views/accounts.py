"""Register, verify the address, log in (throttled), reset a forgotten password, unlock, log out,
change password, choose a language.

Sign-up, login and reset never tell a visitor whether an address has an account: the page, the
status and the timing are those of the other case, and only the owner's mailbox sees a
difference (see :mod:`pb.services.verification`).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import BadToken, ValidationError
from pb.i18n import gettext as _
from pb.services import accounts, throttle, verification
from pb.services.throttle import LoginLimits, LoginSource
from pb.web.forms import safe_next, text
from pb.web.routing import Access, route
from pb.web.security import Cookies, client_address, context, flash, make_cookie
from pb.web.state import AppState, state

DEVICE_COOKIE = "pb_device"
DEVICE_MAX_AGE = 400 * 24 * 3600
DEVICE_ACCOUNTS = 10


# --- helpers ----------------------------------------------------------------------------------


def mail_links(request: Request) -> verification.Links:
    app = state(request)
    base = app.settings.base_url or str(request.base_url).rstrip("/")
    return verification.Links(base_url=base, secret=app.settings.secret_key)


def _device_signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(state(request).settings.secret_key, salt="pb.device")


def read_device(request: Request) -> tuple[str, list[str]]:
    """This browser's device id and the accounts (tags) it has logged in to or unlocked."""
    name = ("__Host-" if context(request).https else "") + DEVICE_COOKIE
    raw = request.cookies.get(name, "")
    try:
        value = _device_signer(request).loads(raw) if raw else None
    except BadSignature:
        value = None
    if isinstance(value, dict) and isinstance(value.get("d"), str):
        tags = [t for t in value.get("a", []) if isinstance(t, str)]
        return value["d"], tags[:DEVICE_ACCOUNTS]
    return secrets.token_urlsafe(16), []


def _trust_device(request: Request, response: Response, tag: str) -> None:
    """Remember on this browser that its owner proved ``tag``'s account (password or link)."""
    device, tags = read_device(request)
    tags = [tag, *(t for t in tags if t != tag)][:DEVICE_ACCOUNTS]
    value = _device_signer(request).dumps({"d": device, "a": tags})
    https = context(request).https
    response.headers.append("set-cookie", make_cookie(DEVICE_COOKIE, value, https, DEVICE_MAX_AGE))


def _login_limits(app: AppState) -> LoginLimits:
    s = app.settings
    return LoginLimits(s.login_pair_free, s.login_account_limits, s.login_client_limits)


def _login_response(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.headers.append(
        "set-cookie", state(request).cookies.session_cookie(token, context(request).https)
    )
    return response


def _token_problem(reason: str) -> str:
    if reason == "expired":
        return _("This link has expired. Ask for a new one.")
    if reason == "used":
        return _("This link has already been used. Ask for a new one if you need it.")
    return _("This link is not valid. Check that you copied all of it, or ask for a new one.")


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
    _trust_device(request, response, tag)
    return response


# --- register and verify ----------------------------------------------------------------------


async def register_form(request: Request) -> Response:
    then = safe_next(request.query_params.get("next"), "")
    return state(request).renderer.render(
        request, "accounts/register.html", {"values": {"next": then}, "errors": {}}
    )


async def register(request: Request) -> Response:
    app = state(request)
    form = await request.form()
    values = {k: text(form, k, 1024) for k in ("email", "display_name")}
    values["next"] = safe_next(text(form, "next", 1024), "")
    password = text(form, "password", 1024)
    confirm = text(form, "password_confirm", 1024)
    client_key = throttle.key("reg", client_address(request))
    limits = app.settings

    def refuse(errors: dict[str, str], status: int = 422) -> Response:
        return app.renderer.render(
            request,
            "accounts/register.html",
            {"values": values, "errors": errors},
            status_code=status,
        )

    try:
        accounts.check_registration(values["email"], values["display_name"], password, confirm)
    except ValidationError as exc:
        return refuse(exc.errors)
    if await app.db.read(throttle.over, client_key, limits.registration_limits):
        message = _("Too many accounts were created from this connection. Try again later.")
        return refuse({"": message}, 429)
    password_hash = await app.passwords.hash(password)
    links, locale = mail_links(request), context(request).locale

    def create(session: Session) -> None:
        throttle.note(session, client_key)
        verification.register(
            session,
            values["email"],
            values["display_name"],
            password_hash,
            locale,
            links,
            limits.mail_request_limits,
            values["next"],
        )

    try:
        await app.db.write(create)
    except (IntegrityError, ValidationError):
        # Another sign-up with this address won the race (the unique constraint, or the
        # check that saw its commit): answer as for any known address.
        await app.db.write(
            verification.notify_existing,
            values["email"],
            links,
            locale,
            limits.mail_request_limits,
        )
    app.mailer.wake()
    return RedirectResponse("/register/sent", status_code=303)


async def register_sent(request: Request) -> Response:
    return state(request).renderer.render(request, "accounts/check_mail.html", {"reason": "signup"})


async def verify_form(request: Request) -> Response:
    """The link from the mail opens this page; its button (a POST) does the verifying, so a
    mail scanner that follows links changes nothing."""
    app = state(request)
    token = request.query_params.get("token", "")[:2000]
    error = None
    try:
        await app.db.read(verification.check_verification, token, app.settings.secret_key)
    except BadToken as exc:
        error = _token_problem(exc.reason)
    return app.renderer.render(
        request,
        "accounts/verify.html",
        {"token": token, "error": error},
        status_code=400 if error else 200,
    )


async def verify(request: Request) -> Response:
    app = state(request)
    token = text(await request.form(), "token", 2000)
    try:
        then = await app.db.write(verification.verify_email, token, app.settings.secret_key)
    except BadToken as exc:
        return app.renderer.render(
            request,
            "accounts/verify.html",
            {"token": "", "error": _token_problem(exc.reason)},
            status_code=400,
        )
    flash(request, _("Your email address is confirmed. Thank you!"), "success")
    then = safe_next(then, "")
    if context(request).user is not None:
        return RedirectResponse(then or "/account", status_code=303)
    flash(request, _("Log in to continue."), "info")
    target = f"/login?{urlencode({'next': then})}" if then else "/login"
    return RedirectResponse(target, status_code=303)


async def resend_verification(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    target = safe_next(text(await request.form(), "next"), "/account")
    sent = await app.db.write(
        verification.resend_verification,
        ctx.user.id,
        mail_links(request),
        ctx.locale,
        app.settings.mail_request_limits,
    )
    if sent:
        app.mailer.wake()
        flash(request, _("We have sent a new link to %(email)s.", email=ctx.user.email), "success")
    elif ctx.user.email_verified:
        flash(request, _("Your email address is already confirmed."), "info")
    else:
        flash(
            request,
            _("We have sent several links lately. Wait a while, and check your spam folder."),
            "error",
        )
    return RedirectResponse(target, status_code=303)


# --- forgotten password -----------------------------------------------------------------------


async def forgot_form(request: Request) -> Response:
    return state(request).renderer.render(
        request, "accounts/forgot.html", {"email": "", "errors": {}}
    )


async def forgot(request: Request) -> Response:
    app = state(request)
    email = text(await request.form(), "email", 254)
    if not accounts.EMAIL_RE.match(accounts.normalize_email(email)):
        errors = {"email": _("Enter a valid email address.")}
        return app.renderer.render(
            request, "accounts/forgot.html", {"email": email, "errors": errors}, status_code=422
        )
    client_key = throttle.key("reset", client_address(request))
    if await app.db.read(throttle.over, client_key, app.settings.registration_limits):
        errors = {"": _("Too many requests from this connection. Try again later.")}
        return app.renderer.render(
            request, "accounts/forgot.html", {"email": email, "errors": errors}, status_code=429
        )
    links, locale = mail_links(request), context(request).locale

    def ask(session: Session) -> None:
        throttle.note(session, client_key)
        verification.request_reset(session, email, links, locale, app.settings.mail_request_limits)

    await app.db.write(ask)
    app.mailer.wake()
    return RedirectResponse("/password/sent", status_code=303)


async def forgot_sent(request: Request) -> Response:
    return state(request).renderer.render(request, "accounts/check_mail.html", {"reason": "reset"})


def _reset_page(request: Request, token: str, errors: dict[str, str], status: int) -> Response:
    return state(request).renderer.render(
        request, "accounts/reset.html", {"token": token, "errors": errors}, status_code=status
    )


async def reset_form(request: Request) -> Response:
    app = state(request)
    token = request.query_params.get("token", "")[:2000]
    try:
        await app.db.read(verification.check_reset, token, app.settings.secret_key)
    except BadToken as exc:
        return _reset_page(request, "", {"": _token_problem(exc.reason)}, 400)
    return _reset_page(request, token, {}, 200)


async def reset(request: Request) -> Response:
    app = state(request)
    form = await request.form()
    token = text(form, "token", 2000)
    new = text(form, "new_password", 1024)
    errors = accounts.check_password_rules(
        new, text(form, "new_password_confirm", 1024), "new_password"
    )
    try:
        await app.db.read(verification.check_reset, token, app.settings.secret_key)
    except BadToken as exc:
        return _reset_page(request, "", {"": _token_problem(exc.reason)}, 400)
    if errors:
        return _reset_page(request, token, errors, 422)
    new_hash = await app.passwords.hash(new)
    try:
        email = await app.db.write(
            verification.reset_password, token, app.settings.secret_key, new_hash
        )
    except BadToken as exc:
        return _reset_page(request, "", {"": _token_problem(exc.reason)}, 400)
    flash(
        request,
        _("Your password is changed and every device is logged out. Log in with the new one."),
        "success",
    )
    response = RedirectResponse("/login", status_code=303)
    ctx = context(request)
    if ctx.session_token:
        response.headers.append("set-cookie", app.cookies.clear_session_cookie(ctx.https))
    _trust_device(request, response, throttle.account_tag(email))
    return response


# --- unlock -----------------------------------------------------------------------------------


async def unlock_form(request: Request) -> Response:
    app = state(request)
    token = request.query_params.get("token", "")[:2000]
    error = None
    try:
        await app.db.read(verification.check_unlock, token, app.settings.secret_key)
    except BadToken as exc:
        error = _token_problem(exc.reason)
    return app.renderer.render(
        request,
        "accounts/unlock.html",
        {"token": token, "error": error},
        status_code=400 if error else 200,
    )


async def unlock(request: Request) -> Response:
    app = state(request)
    token = text(await request.form(), "token", 2000)
    try:
        tag = await app.db.write(verification.use_unlock, token, app.settings.secret_key)
    except BadToken as exc:
        return app.renderer.render(
            request,
            "accounts/unlock.html",
            {"token": "", "error": _token_problem(exc.reason)},
            status_code=400,
        )
    flash(request, _("This device can log in to your account again."), "success")
    response = RedirectResponse("/login", status_code=303)
    _trust_device(request, response, tag)
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
    route("/login/unlock", unlock_form, access=Access.PUBLIC),
    route("/login/unlock", unlock, access=Access.PUBLIC, methods=["POST"]),
    route("/register", register_form, access=Access.ANONYMOUS, name="register"),
    route("/register", register, access=Access.ANONYMOUS, methods=["POST"]),
    route("/register/sent", register_sent, access=Access.PUBLIC),
    route("/account/verify", verify_form, access=Access.PUBLIC),
    route("/account/verify", verify, access=Access.PUBLIC, methods=["POST"]),
    route("/account/verify/resend", resend_verification, access=Access.USER, methods=["POST"]),
    route("/password/forgot", forgot_form, access=Access.PUBLIC, name="forgot_password"),
    route("/password/forgot", forgot, access=Access.PUBLIC, methods=["POST"]),
    route("/password/sent", forgot_sent, access=Access.PUBLIC),
    route("/password/reset", reset_form, access=Access.PUBLIC),
    route("/password/reset", reset, access=Access.PUBLIC, methods=["POST"]),
    route("/logout", logout, access=Access.USER, methods=["POST"], name="logout"),
    route("/account", account, access=Access.USER, name="account"),
    route("/account/password", change_password, access=Access.USER, methods=["POST"]),
    route("/language", choose_language, access=Access.PUBLIC, methods=["POST"], name="language"),
]
