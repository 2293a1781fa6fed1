"""Everything that proves an address by mail: sign up and verify, resend the link, reset a
forgotten password, unlock logging in from a new device.

Sign-up and reset never tell a visitor whether an address has an account: the page, the status
and the timing are those of the other case, and only the owner's mailbox sees a difference
(see :mod:`pb.services.verification`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import BadToken, ValidationError
from pb.i18n import gettext as _
from pb.services import accounts, throttle, verification
from pb.web.devices import trust_device
from pb.web.forms import safe_next, text
from pb.web.routing import Access, route
from pb.web.security import client_address, context, flash
from pb.web.state import state


def mail_links(request: Request) -> verification.Links:
    app = state(request)
    base = app.settings.base_url or str(request.base_url).rstrip("/")
    return verification.Links(base_url=base, secret=app.settings.secret_key)


def _token_problem(reason: str) -> str:
    if reason == "expired":
        return _("This link has expired. Ask for a new one.")
    if reason == "used":
        return _("This link has already been used. Ask for a new one if you need it.")
    return _("This link is not valid. Check that you copied all of it, or ask for a new one.")


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
    settings = app.settings

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
    if await app.db.read(throttle.over, client_key, settings.registration_limits):
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
            settings.mail_request_limits,
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
            settings.mail_request_limits,
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
    trust_device(request, response, throttle.account_tag(email))
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
    trust_device(request, response, tag)
    return response


routes = [
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
]
