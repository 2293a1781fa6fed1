"""Staff: the census list and access codes (with a printable sheet of letters and QR codes)."""

from __future__ import annotations

import io
from typing import Any

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import District
from pb.services import eligibility, rounds
from pb.web.forms import optional_id, parse_int, text
from pb.web.routing import FORM_BODY, Access, route
from pb.web.security import context, flash
from pb.web.state import state

MAX_UPLOAD = 20 * 1024 * 1024


def _page_data(session: Session, round_id: int) -> dict[str, Any]:
    rnd = rounds.get_round(session, round_id)
    return {
        "round": rnd,
        "census_size": eligibility.census_size(session, rnd.id),
        "batches": eligibility.code_batches(session, rnd.id),
        "districts": list(
            session.execute(select(District.id, District.name).order_by(District.name)).all()
        ),
    }


def _page(
    request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return state(request).renderer.render(
        request, "voters/manage.html", {**values, "errors": errors}, status_code=status
    )


async def manage(request: Request) -> Response:
    values = await state(request).db.read(_page_data, request.path_params["round_id"])
    return _page(request, values, {})


async def upload_census(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    form = await request.form(max_part_size=MAX_UPLOAD)
    upload = form.get("file")
    errors: dict[str, str] = {}
    data = b""
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
    await form.close()
    if not data:
        errors["file"] = _("Choose a CSV file.")
    else:
        try:
            count = await app.db.write(
                eligibility.import_census, ctx.user.id, round_id, data, app.settings.secret_key
            )
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash(request, _("%(n)s residents added to the list of voters.", n=count), "success")
            return RedirectResponse(f"/rounds/{round_id}/voters", status_code=303)
    values = await app.db.read(_page_data, round_id)
    return _page(request, values, errors, 422)


def qr_svg(url: str) -> str:
    """An inline SVG QR code (no script, no style: allowed by the page's CSP)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=3, xmldecl=False, svgns=True, nl=False, title=None
    )
    return out.getvalue().decode()


async def generate_codes(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    round_id = request.path_params["round_id"]
    form = await request.form()
    count = parse_int(text(form, "count", 20))
    district_id = optional_id(form, "district")
    try:
        if count is None:
            raise ValidationError({"count": _("Enter a whole number.")})
        codes = await app.db.write(
            eligibility.generate_codes,
            ctx.user.id,
            round_id,
            count,
            district_id,
            app.settings.secret_key,
        )
    except ValidationError as exc:
        errors = exc.errors
    else:
        rnd = await app.db.read(rounds.get_round, round_id)
        base = str(request.base_url).rstrip("/")
        # The code follows '#': browsers never send the fragment, so it reaches no log.
        letters = [{"code": c, "qr": qr_svg(f"{base}/c#{c}")} for c in codes]
        response = app.renderer.render(
            request, "voters/letters.html", {"round": rnd, "letters": letters, "base": base}
        )
        # Codes are shown this once: never cache the sheet.
        response.headers["cache-control"] = "no-store"
        return response
    values = await app.db.read(_page_data, round_id)
    return _page(request, values, errors, 422)


routes = [
    route("/rounds/{round_id:id}/voters", manage, access=Access.STAFF),
    route(
        "/rounds/{round_id:id}/census",
        upload_census,
        access=Access.STAFF,
        methods=["POST"],
        max_body=MAX_UPLOAD + FORM_BODY,  # the file, and the form around it
    ),
    route("/rounds/{round_id:id}/codes", generate_codes, access=Access.STAFF, methods=["POST"]),
]
