"""Social impact: a round's impact page (everyone) and the town's indicator catalogue (staff)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.services.tracking import impact, round_impact
from pb.web.charts import CHART_WIDTH, ChartBar, scaled
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state


def _page_data(session: Session, round_id: int) -> dict[str, Any]:
    data = round_impact(session, round_id)
    totals = [
        ChartBar(t.name, scaled(t.percent, 100), t.percent >= 100, t.percent) for t in data.totals
    ]
    projects = [
        (
            p,
            [
                ChartBar(i.name, scaled(i.percent, 100), i.percent >= 100, i.percent)
                for i in p.indicators
            ],
        )
        for p in data.projects
    ]
    return {"impact": data, "total_bars": totals, "projects": projects}


async def show_impact(request: Request) -> Response:
    app = state(request)
    try:
        values = await app.db.read(_page_data, request.path_params["round_id"])
    except NotFound:
        raise HTTPException(404) from None
    return app.renderer.render(
        request, "tracking/impact.html", {**values, "chart_width": CHART_WIDTH}
    )


async def _catalogue_page(
    request: Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    editing: int | None = None,
) -> Response:
    app = state(request)
    indicators = await app.db.read(impact.catalogue)
    return app.renderer.render(
        request,
        "tracking/indicators.html",
        {
            "indicators": indicators,
            "errors": errors or {},
            "values": values or {},
            "editing": editing,
        },
        status_code=422 if errors else 200,
    )


async def catalogue(request: Request) -> Response:
    return await _catalogue_page(request)


async def save_indicator(request: Request) -> Response:
    app = state(request)
    user = context(request).user
    assert user is not None
    indicator_id: int | None = request.path_params.get("indicator_id")
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    name, unit = text(form, "name", 120), text(form, "unit", 40)
    summable = form.get("summable") == "yes"
    try:
        await app.db.write(impact.save_indicator, user.id, indicator_id, name, unit, summable)
    except ValidationError as exc:
        return await _catalogue_page(request, exc.errors, values, indicator_id)
    flash(request, _("The indicator is saved."), "success")
    return RedirectResponse("/admin/indicators", status_code=303)


async def delete_indicator(request: Request) -> Response:
    app = state(request)
    user = context(request).user
    assert user is not None
    try:
        await app.db.write(impact.delete_indicator, user.id, request.path_params["indicator_id"])
        flash(request, _("The indicator is removed."), "success")
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
    return RedirectResponse("/admin/indicators", status_code=303)


routes = [
    route("/rounds/{round_id:id}/impact", show_impact, access=Access.PUBLIC),
    route("/admin/indicators", catalogue, access=Access.STAFF),
    route("/admin/indicators", save_indicator, access=Access.STAFF, methods=["POST"]),
    route(
        "/admin/indicators/{indicator_id:id}",
        save_indicator,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route(
        "/admin/indicators/{indicator_id:id}/delete",
        delete_indicator,
        access=Access.STAFF,
        methods=["POST"],
    ),
]
