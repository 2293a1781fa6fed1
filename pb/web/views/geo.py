"""The map: staff upload district boundaries and place projects; everyone reads a round's map."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import NotFound, ValidationError
from pb.geo.geojson import MAX_BYTES
from pb.i18n import gettext as _
from pb.i18n import ngettext
from pb.models import Role
from pb.services import geo, geo_map, proposals
from pb.web.forms import optional_id, parse_int, text
from pb.web.routing import FORM_BODY, Access, route
from pb.web.security import context, flash
from pb.web.state import state


async def _districts_page(
    request: Request,
    errors: dict[str, str],
    values: dict[str, str],
    status: int = 200,
    populations: dict[str, str] | None = None,
) -> Response:
    app = state(request)
    rows = await app.db.read(geo.outlines)
    if populations is None:
        populations = {
            f"population_{d.id}": "" if d.population is None else str(d.population) for d in rows
        }
    return app.renderer.render(
        request,
        "geo/districts.html",
        {
            "districts": rows,
            "errors": errors,
            "values": values,
            "populations": populations,
            "max_mb": MAX_BYTES // 2**20,
        },
        status_code=status,
    )


async def districts(request: Request) -> Response:
    return await _districts_page(request, {}, {"property": "name", "district": ""})


async def upload_boundaries(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    form = await request.form(max_part_size=MAX_BYTES + 1)
    upload = form.get("file")
    data = b""
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
    await form.close()
    name_property = text(form, "property", 80).strip() or "name"
    district_id = optional_id(form, "district")
    values = {"property": name_property, "district": str(district_id or "")}
    if not data:
        return await _districts_page(
            request, {"file": _("Choose a GeoJSON file.")}, values, status=422
        )
    try:
        shapes = await run_in_threadpool(geo.read_boundaries, data, name_property, district_id)
        names = await app.db.write(
            geo.set_boundaries, ctx.user.id, shapes, name_property, district_id
        )
    except ValidationError as exc:
        return await _districts_page(request, exc.errors, values, status=422)
    except NotFound:
        raise HTTPException(422) from None
    flash(
        request,
        ngettext(
            "The boundary of %(names)s is saved.",
            "The boundaries of %(num)s districts are saved: %(names)s.",
            len(names),
            names=", ".join(names),
        ),
        "success",
    )
    return RedirectResponse("/admin/districts", status_code=303)


async def save_populations(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    form = await request.form()
    rows = await app.db.read(geo.outlines)
    raw = {f"population_{d.id}": text(form, f"population_{d.id}", 20).strip() for d in rows}
    values: dict[int, int | None] = {}
    errors: dict[str, str] = {}
    for d in rows:
        name = f"population_{d.id}"
        number = parse_int(re.sub(r"[\s,.\u202f]", "", raw[name]), 1) if raw[name] else None
        if raw[name] and number is None:
            errors[name] = _("Enter a whole number of residents, or leave it empty.")
        values[d.id] = number
    if errors:
        return await _districts_page(
            request, errors, {"property": "name", "district": ""}, 422, raw
        )
    await app.db.write(geo.set_populations, ctx.user.id, values)
    flash(request, _("The numbers of residents are saved."), "success")
    return RedirectResponse("/admin/districts", status_code=303)


async def clear_boundary(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    try:
        name = await app.db.write(
            geo.clear_boundary, ctx.user.id, request.path_params["district_id"]
        )
    except NotFound:
        raise HTTPException(404) from None
    flash(request, _("The boundary of %(name)s is removed.", name=name), "success")
    return RedirectResponse("/admin/districts", status_code=303)


async def _location_page(
    request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return state(request).renderer.render(
        request, "geo/location.html", {**values, "errors": errors}, status_code=status
    )


async def location(request: Request) -> Response:
    app = state(request)
    try:
        p = await app.db.read(proposals.get, request.path_params["proposal_id"])
    except NotFound:
        raise HTTPException(404) from None
    fields = {
        "latitude": "" if p.latitude is None else f"{p.latitude:g}",
        "longitude": "" if p.longitude is None else f"{p.longitude:g}",
    }
    return await _location_page(request, {"proposal": p, "fields": fields}, {})


async def save_location(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    proposal_id = request.path_params["proposal_id"]
    try:
        p = await app.db.read(proposals.get, proposal_id)
    except NotFound:
        raise HTTPException(404) from None
    form = await request.form()
    fields = {"latitude": text(form, "latitude", 40), "longitude": text(form, "longitude", 40)}
    try:
        place = geo.parse_coordinates(fields["latitude"], fields["longitude"])
    except ValidationError as exc:
        return await _location_page(request, {"proposal": p, "fields": fields}, exc.errors, 422)
    await app.db.write(geo.set_location, ctx.user.id, proposal_id, place)
    flash(
        request,
        _("The project is placed on the map.") if place else _("The project is off the map."),
        "success",
    )
    return RedirectResponse(f"/proposals/{proposal_id}", status_code=303)


async def _map_page(
    request: Request, wanted: str | None, errors: dict[str, str], status: int = 200
) -> Response:
    app = state(request)
    try:
        data = await app.db.read(
            geo_map.round_map, request.path_params["round_id"], app.today(), wanted
        )
    except NotFound:
        raise HTTPException(404) from None
    user = context(request).user
    is_staff = user is not None and user.role in (Role.STAFF, Role.ADMIN)
    return app.renderer.render(
        request,
        "geo/map.html",
        {"map": data, "is_staff": is_staff, "errors": errors},
        status_code=status,
    )


async def round_map(request: Request) -> Response:
    return await _map_page(request, request.query_params.get("shade"), {})


async def import_places(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    form = await request.form(max_part_size=MAX_BYTES + 1)
    upload = form.get("file")
    data = b""
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
    await form.close()
    try:
        if not data:
            raise ValidationError({"file": _("Choose a pabulib (.pb) file.")})
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": _("The file is not text in UTF-8.")}) from None
        done = await app.db.write(geo.places_from_pabulib, ctx.user.id, round_id, content)
    except ValidationError as exc:
        return await _map_page(request, None, exc.errors, 422)
    except NotFound:
        raise HTTPException(404) from None
    message = ngettext(
        "%(num)s project placed on the map.", "%(num)s projects placed on the map.", done.placed
    )
    if done.unknown:
        message += " " + _("Not projects of this round: %(ids)s.", ids=", ".join(done.unknown[:20]))
    flash(request, message, "success" if done.placed else "error")
    return RedirectResponse(f"/rounds/{round_id}/map", status_code=303)


routes = [
    route("/admin/districts", districts, access=Access.STAFF, name="admin_districts"),
    route(
        "/admin/districts/boundaries",
        upload_boundaries,
        access=Access.STAFF,
        methods=["POST"],
        max_body=MAX_BYTES + FORM_BODY,  # the file, and the form around it
    ),
    route(
        "/admin/districts/{district_id:id}/boundary/clear",
        clear_boundary,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route("/proposals/{proposal_id:id}/location", location, access=Access.STAFF),
    route(
        "/proposals/{proposal_id:id}/location",
        save_location,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route("/rounds/{round_id:id}/map", round_map, access=Access.PUBLIC),
    route(
        "/rounds/{round_id:id}/places",
        import_places,
        access=Access.STAFF,
        methods=["POST"],
        max_body=MAX_BYTES + FORM_BODY,
    ),
    route("/admin/districts/population", save_populations, access=Access.STAFF, methods=["POST"]),
]
