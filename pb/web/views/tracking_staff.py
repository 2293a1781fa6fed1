"""Staff and project leads report on a funded project: status, progress, updates, milestones,
spending (staff), the lead (staff) and impact indicators with their measurements.

Every form is on one page; a form with a mistake re-renders that page with its messages and
what was typed (422). The services refuse a lead acting on another project (403)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import Forbidden, ValidationError
from pb.i18n import gettext as _
from pb.models import BudgetLine, Milestone, ProjectIndicator, ProjectStatus, Role, User
from pb.services import money, photos
from pb.services.tracking import impact, projects, public_card
from pb.services.tracking.projects import Editor, Mailing
from pb.web.forms import MAX_INT, optional_id, parse_int, text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


def editor_of(request: Request) -> Editor:
    """Who changes a project in this request: staff, or a user who may lead some."""
    user = context(request).user
    assert user is not None
    return Editor(user.id, user.role in (Role.STAFF, Role.ADMIN))


def _mailing(request: Request) -> Mailing:
    settings = state(request).settings
    base = settings.base_url or str(request.base_url).rstrip("/")
    return Mailing(base, settings.default_locale, settings.secret_key)


def _manage_data(session: Session, project_id: int, editor: Editor) -> dict[str, Any]:
    if not projects.may_edit(session, editor.user_id, editor.staff, project_id):
        raise Forbidden(f"project {project_id}")
    project = projects.get_project(session, project_id)
    lead = None
    if project.lead_id is not None and editor.staff:
        found = session.get(User, project.lead_id)
        lead = found.email if found else None
    return {
        "card": public_card(session, project_id),
        "catalogue_options": [
            (str(i.id), f"{i.name} ({i.unit})") for i in impact.catalogue(session)
        ],
        "lead": lead,
    }


async def render_manage(
    request: Request,
    project_id: int,
    form: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    app = state(request)
    editor = editor_of(request)
    data = await app.db.read(_manage_data, project_id, editor)
    return app.renderer.render(
        request,
        "tracking/manage.html",
        {
            **data,
            "staff": editor.staff,
            "form": form,
            "errors": errors or {},
            "values": values or {},
            "statuses": list(ProjectStatus),
            "max_photos": photos.MAX_PHOTOS,
            "today": app.today(),
            "money_input": lambda m: money.money_input(
                m, data["card"].currency, context(request).locale
            ),
        },
        status_code=422 if errors else 200,
    )


async def manage(request: Request) -> Response:
    return await render_manage(request, request.path_params["project_id"])


def _raw(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


Action = Callable[[Session], None]


async def _act(
    request: Request,
    project_id: int,
    form_name: str,
    build: Callable[[FormData, dict[str, str]], Action | None],
    done: str,
    mails: bool = True,
    suffix: int | None = None,
) -> Response:
    """Parse the form (``build`` fills ``errors`` or returns the change), run the change in one
    transaction, and redirect to the page (or re-render it with the messages, 422)."""
    app = state(request)
    form = await request.form()
    errors: dict[str, str] = {}
    action = build(form, errors)
    if action is None or errors:
        return await render_manage(request, project_id, form_name, errors, _raw(form))
    try:
        await app.db.write(action)
    except ValidationError as exc:
        # A form repeated per row names its fields with the row's id (``done_on_7``).
        errors = {f"{k}_{suffix}" if k and suffix else k: v for k, v in exc.errors.items()}
        return await render_manage(request, project_id, form_name, errors, _raw(form))
    if mails:
        app.mailer.wake()
    flash(request, done, "success")
    return RedirectResponse(f"/projects/{project_id}/manage", status_code=303)


def _date(form: FormData, name: str, errors: dict[str, str]) -> dt.date:
    try:
        return dt.date.fromisoformat(text(form, name, 20).strip())
    except ValueError:
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return dt.date.min


def _whole(form: FormData, name: str, errors: dict[str, str]) -> int:
    value = parse_int(text(form, name, 20))
    if value is None:
        errors[name] = _("Enter a whole number.")
        return 0
    return value


def _amount(form: FormData, name: str, currency: str, locale: str, errors: dict[str, str]) -> int:
    try:
        value = money.parse_money(text(form, name, 40), currency, locale)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_INT:
        errors[name] = _("Enter an amount, for example 1250 or 1250.50.")
        return 0
    return value


async def post_status(request: Request) -> Response:
    pid, editor, mailing = request.path_params["project_id"], editor_of(request), _mailing(request)

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        try:
            status = ProjectStatus(text(form, "status", 20))
        except ValueError:
            errors["status"] = _("Choose a status.")
            return None
        reason = text(form, "reason", 4000)
        return lambda s: projects.set_status(s, editor, pid, status, reason, mailing)

    return await _act(request, pid, "status", build, _("The status is saved."))


async def post_progress(request: Request) -> Response:
    pid, editor, mailing = request.path_params["project_id"], editor_of(request), _mailing(request)

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        raw = text(form, "progress", 10).strip().rstrip("%").strip()
        percent = None if not raw else parse_int(raw, 0, 100)
        if raw and percent is None:
            errors["progress"] = _("Enter a percentage from 0 to 100.")
            return None
        return lambda s: projects.set_progress(s, editor, pid, percent, mailing)

    return await _act(request, pid, "progress", build, _("The progress is saved."))


async def post_note(request: Request) -> Response:
    pid, editor, mailing = request.path_params["project_id"], editor_of(request), _mailing(request)

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        note = text(form, "note", 4000)
        return lambda s: projects.post_note(s, editor, pid, note, mailing)

    return await _act(request, pid, "note", build, _("The update is posted."))


async def post_milestone(request: Request) -> Response:
    pid, editor, mailing = request.path_params["project_id"], editor_of(request), _mailing(request)

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        planned = _date(form, "planned_on", errors)
        title = text(form, "title", 200)

        def change(s: Session) -> None:
            projects.add_milestone(s, editor, pid, title, planned, mailing)

        return change

    return await _act(request, pid, "milestone", build, _("The milestone is added."))


async def post_milestone_done(request: Request) -> Response:
    app = state(request)
    milestone_id = request.path_params["milestone_id"]
    milestone = await app.db.read(lambda s: s.get(Milestone, milestone_id))
    if milestone is None:
        return Response(status_code=404)
    editor, mailing, today = editor_of(request), _mailing(request), app.today()

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        done_on = _date(form, f"done_on_{milestone_id}", errors)
        note = text(form, f"note_{milestone_id}", 4000)
        return lambda s: projects.complete_milestone(
            s, editor, milestone_id, done_on, note, today, mailing
        )

    return await _act(
        request,
        milestone.project_id,
        f"done_{milestone_id}",
        build,
        _("The milestone is reached."),
        suffix=milestone_id,
    )


async def post_budget_line(request: Request) -> Response:
    pid, editor = request.path_params["project_id"], editor_of(request)
    if not editor.staff:
        raise Forbidden(f"project {pid}")
    app = state(request)
    currency = await app.db.read(lambda s: projects.get_project(s, pid).currency)
    locale = context(request).locale

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        approved = _amount(form, "approved", currency, locale, errors)
        label = text(form, "label", 200)
        return lambda s: projects.add_budget_line(s, editor, pid, label, approved)

    return await _act(request, pid, "line", build, _("The budget line is added."), mails=False)


async def post_spent(request: Request) -> Response:
    app = state(request)
    editor, mailing = editor_of(request), _mailing(request)
    if not editor.staff:
        raise Forbidden("budget line")
    line_id = request.path_params["line_id"]
    found = await app.db.read(lambda s: _line_project(s, line_id))
    if found is None:
        return Response(status_code=404)
    pid, currency = found
    locale = context(request).locale

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        spent = _amount(form, f"spent_{line_id}", currency, locale, errors)
        return lambda s: projects.set_spent(s, editor, line_id, spent, mailing)

    done = _("The spending is saved.")
    return await _act(request, pid, f"spent_{line_id}", build, done, suffix=line_id)


def _line_project(session: Session, line_id: int) -> tuple[int, str] | None:
    line = session.get(BudgetLine, line_id)
    if line is None:
        return None
    return line.project_id, projects.get_project(session, line.project_id).currency


async def post_lead(request: Request) -> Response:
    pid, editor = request.path_params["project_id"], editor_of(request)
    if not editor.staff:
        raise Forbidden(f"project {pid}")

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        email = text(form, "lead", 254)
        return lambda s: projects.appoint_lead(s, editor.user_id, pid, email)

    return await _act(request, pid, "lead", build, _("The project lead is saved."), mails=False)


async def post_indicator(request: Request) -> Response:
    pid, editor = request.path_params["project_id"], editor_of(request)

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        catalogue_id = optional_id(form, "indicator")
        baseline = _whole(form, "baseline", errors)
        target = _whole(form, "target", errors)
        name, unit = text(form, "name", 120), text(form, "unit", 40)

        def change(s: Session) -> None:
            impact.add_project_indicator(s, editor, pid, catalogue_id, name, unit, baseline, target)

        return change

    return await _act(request, pid, "indicator", build, _("The indicator is added."), mails=False)


async def post_measurement(request: Request) -> Response:
    app = state(request)
    row_id = request.path_params["indicator_id"]
    row = await app.db.read(lambda s: s.get(ProjectIndicator, row_id))
    if row is None:
        return Response(status_code=404)
    editor, mailing, today = editor_of(request), _mailing(request), app.today()

    def build(form: FormData, errors: dict[str, str]) -> Action | None:
        measured_on = _date(form, f"measured_on_{row_id}", errors)
        value = _whole(form, f"value_{row_id}", errors)
        source = text(form, f"source_{row_id}", 200)
        return lambda s: impact.add_measurement(
            s, editor, row_id, measured_on, value, source, today, mailing
        )

    done = _("The measurement is saved.")
    return await _act(request, row.project_id, f"measure_{row_id}", build, done, True, row_id)


P = "/projects/{project_id:id}"
routes = [
    route(f"{P}/manage", manage, access=Access.USER),
    route(f"{P}/status", post_status, access=Access.USER, methods=["POST"]),
    route(f"{P}/progress", post_progress, access=Access.USER, methods=["POST"]),
    route(f"{P}/updates", post_note, access=Access.USER, methods=["POST"]),
    route(f"{P}/milestones", post_milestone, access=Access.USER, methods=["POST"]),
    route(
        "/milestones/{milestone_id:id}/done",
        post_milestone_done,
        access=Access.USER,
        methods=["POST"],
    ),
    route(f"{P}/budget-lines", post_budget_line, access=Access.STAFF, methods=["POST"]),
    route("/budget-lines/{line_id:id}/spent", post_spent, access=Access.STAFF, methods=["POST"]),
    route(f"{P}/lead", post_lead, access=Access.STAFF, methods=["POST"]),
    route(f"{P}/indicators", post_indicator, access=Access.USER, methods=["POST"]),
    route(
        "/project-indicators/{indicator_id:id}/measurements",
        post_measurement,
        access=Access.USER,
        methods=["POST"],
    ),
]
