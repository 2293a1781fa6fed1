"""Volunteer tasks: residents take or give back a place; staff add tasks and confirm who came."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import NumberFormatError, parse_decimal
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.i18n import ngettext
from pb.services.funding import campaigns, tasks
from pb.services.funding.tasks import TaskInput
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


async def sign_up(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    task_id = request.path_params["task_id"]
    task = await app.db.read(tasks.get_task, task_id)
    try:
        if await app.db.write(tasks.sign_up, ctx.user.id, task_id, app.today()):
            flash(request, _("Thank you! Your place is booked."), "success")
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    return RedirectResponse(f"/campaigns/{task.campaign_id}#task-{task_id}", status_code=303)


async def cancel(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    task_id = request.path_params["task_id"]
    task = await app.db.read(tasks.get_task, task_id)
    try:
        await app.db.write(tasks.cancel_signup, ctx.user.id, task_id, app.today())
        flash(request, _("Your place is given back."), "success")
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    return RedirectResponse(f"/campaigns/{task.campaign_id}#task-{task_id}", status_code=303)


def parse_hours(raw: str, locale: str) -> int | None:
    """Hours typed as "2" or "1,5" (in the locale) to whole minutes; None if not a number."""
    try:
        value = parse_decimal(raw.strip().replace(" ", ""), locale=locale)
    except (NumberFormatError, InvalidOperation):
        return None
    minutes = value * 60
    if minutes != minutes.to_integral_value():
        return None
    return int(minutes)


def hours_input(minutes: int) -> str:
    return (
        str(Decimal(minutes) / 60).rstrip("0").rstrip(".") if minutes % 60 else str(minutes // 60)
    )


def parse_task_form(
    form: Any, timezone: str, locale: str
) -> tuple[TaskInput | None, dict[str, str], dict[str, str]]:
    raw = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors: dict[str, str] = {}
    try:
        day = dt.date.fromisoformat(text(form, "day", 20).strip())
    except ValueError:
        errors["day"] = _("Enter a date as YYYY-MM-DD.")
        day = dt.date.min
    try:
        at = dt.time.fromisoformat(text(form, "time", 10).strip())
    except ValueError:
        errors["time"] = _("Enter a time as HH:MM.")
        at = dt.time()
    try:
        capacity = int(text(form, "capacity", 10).strip())
    except ValueError:
        errors["capacity"] = _("Enter a whole number.")
        capacity = 0
    minutes = parse_hours(text(form, "hours", 10), locale)
    if minutes is None:
        errors["hours"] = _("Enter the hours, for example 2 or 1.5.")
    if errors:
        return None, errors, raw
    return (
        TaskInput(
            title=text(form, "title", 200),
            description=text(form, "description", 6_000),
            place=text(form, "place", 300),
            starts_at=dt.datetime.combine(day, at, ZoneInfo(timezone)).astimezone(dt.UTC),
            capacity=capacity,
            minutes_each=minutes or 0,
        ),
        errors,
        raw,
    )


def _task_form(
    request: Request,
    campaign: Any,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    task: Any = None,
) -> Response:
    return state(request).renderer.render(
        request,
        "funding/task_form.html",
        {"campaign": campaign, "values": values, "errors": errors, "task": task},
        status_code=status,
    )


async def new_task(request: Request) -> Response:
    app = state(request)
    campaign = await app.db.read(campaigns.get_campaign, request.path_params["campaign_id"])
    values = {"day": app.today().isoformat(), "time": "10:00", "capacity": "5", "hours": "2"}
    return _task_form(request, campaign, values, {})


async def create_task(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    campaign = await app.db.read(campaigns.get_campaign, request.path_params["campaign_id"])
    data, errors, raw = parse_task_form(await request.form(), app.settings.timezone, ctx.locale)
    if data is not None:
        try:
            await app.db.write(tasks.create_task, ctx.user.id, campaign.id, data)
        except ValidationError as exc:
            errors = exc.errors
    if data is None or errors:
        return _task_form(request, campaign, raw, errors, 422)
    flash(request, _("The task is added."), "success")
    return RedirectResponse(f"/campaigns/{campaign.id}", status_code=303)


def _task_values(task: Any, timezone: str) -> dict[str, str]:
    """The form's values for an existing task (its start in the town's time zone)."""
    starts = task.starts_at.astimezone(ZoneInfo(timezone))
    return {
        "title": task.title,
        "description": task.description,
        "place": task.place,
        "day": starts.date().isoformat(),
        "time": starts.strftime("%H:%M"),
        "capacity": str(task.capacity),
        "hours": hours_input(task.minutes_each),
    }


async def edit_task(request: Request) -> Response:
    app = state(request)
    task_id = request.path_params["task_id"]

    def load(session: Session) -> tuple[Any, Any]:
        task = tasks.get_task(session, task_id)
        return task, campaigns.get_campaign(session, task.campaign_id)

    task, campaign = await app.db.read(load)
    values = _task_values(task, app.settings.timezone)
    return _task_form(request, campaign, values, {}, task=task)


async def update_task(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    task_id = request.path_params["task_id"]

    def load(session: Session) -> tuple[Any, Any]:
        task = tasks.get_task(session, task_id)
        return task, campaigns.get_campaign(session, task.campaign_id)

    task, campaign = await app.db.read(load)
    data, errors, raw = parse_task_form(await request.form(), app.settings.timezone, ctx.locale)
    if data is not None:
        try:
            await app.db.write(tasks.update_task, ctx.user.id, task_id, data)
        except ValidationError as exc:
            errors = exc.errors
    if data is None or errors:
        return _task_form(request, campaign, raw, errors, 422, task=task)
    flash(request, _("The task is saved."), "success")
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


async def delete_task(request: Request) -> Response:
    """Staff call a task off: a confirmation page first (it says who will be told), then the
    task goes and each volunteer who had a place gets a mail."""
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    task_id = request.path_params["task_id"]
    form = await request.form()
    if form.get("confirm") != "yes":
        task = await app.db.read(tasks.get_task, task_id)
        consequences = [
            _("The task disappears from the campaign page and nobody can sign up for it."),
            ngettext(
                "%(num)s volunteer signed up: they get a mail saying the task is called off.",
                "%(num)s volunteers signed up: each gets a mail saying the task is called off.",
                task.taken,
            )
            if task.taken
            else _("Nobody has signed up yet, so nobody needs to be told."),
            _("This cannot be undone; the audit log keeps a record of the task."),
        ]
        return app.renderer.render(
            request,
            "pages/confirm.html",
            {
                "heading": _("Call off this task?"),
                "subject": task.title,
                "consequences": consequences,
                "action": f"/tasks/{task_id}/delete",
                "confirm_label": _("Yes, call it off"),
                "back": f"/tasks/{task_id}",
            },
        )
    try:
        campaign_id = await app.db.read(lambda s: tasks.get_task(s, task_id).campaign_id)
        told = await app.db.write(
            tasks.delete_task,
            ctx.user.id,
            task_id,
            app.settings.default_locale,
            str(request.base_url),
        )
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
        return RedirectResponse(f"/tasks/{task_id}", status_code=303)
    flash(
        request,
        ngettext(
            "The task is called off; %(num)s volunteer will be told by mail.",
            "The task is called off; %(num)s volunteers will be told by mail.",
            told,
        )
        if told
        else _("The task is called off."),
        "success",
    )
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


async def show_task(request: Request) -> Response:
    """Staff: who signed up, and confirm who came and how long they helped."""
    app = state(request)
    task_id = request.path_params["task_id"]

    def load(session: Session) -> dict[str, Any]:
        task = tasks.get_task(session, task_id)
        return {
            "task": task,
            "campaign": campaigns.get_campaign(session, task.campaign_id),
            "signups": tasks.signups_of_task(session, task_id),
        }

    values = await app.db.read(load)
    return app.renderer.render(
        request, "funding/task.html", {**values, "errors": {}, "hours_input": hours_input}
    )


async def confirm(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    task_id = request.path_params["task_id"]
    form = await request.form()
    signups = await app.db.read(tasks.signups_of_task, task_id)
    attended: dict[int, int | None] = {}
    for s in signups:
        if form.get(f"came_{s.id}") == "yes":
            minutes = parse_hours(text(form, f"hours_{s.id}", 10), ctx.locale)
            attended[s.id] = minutes if minutes is not None else s.minutes_each
        elif form.get(f"came_{s.id}") == "no":
            attended[s.id] = None
    try:
        await app.db.write(tasks.confirm_attendance, ctx.user.id, task_id, attended)
        flash(request, _("Attendance is saved."), "success")
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


routes = [
    route("/tasks/{task_id:id}/signup", sign_up, access=Access.USER, methods=["POST"]),
    route("/tasks/{task_id:id}/cancel", cancel, access=Access.USER, methods=["POST"]),
    route("/campaigns/{campaign_id:id}/tasks/new", new_task, access=Access.STAFF),
    route("/campaigns/{campaign_id:id}/tasks", create_task, access=Access.STAFF, methods=["POST"]),
    route("/tasks/{task_id:id}", show_task, access=Access.STAFF),
    route("/tasks/{task_id:id}/edit", edit_task, access=Access.STAFF),
    route("/tasks/{task_id:id}/edit", update_task, access=Access.STAFF, methods=["POST"]),
    route("/tasks/{task_id:id}/delete", delete_task, access=Access.STAFF, methods=["POST"]),
    route("/tasks/{task_id:id}/attendance", confirm, access=Access.STAFF, methods=["POST"]),
]
