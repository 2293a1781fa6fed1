"""Photos of proposals and of funded projects' milestones: add one (a multipart upload,
size-limited before it is parsed), delete one, and serve each stored size with an ETag and, for
the versioned URL the pages name, a year of immutable caching."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import Role
from pb.services import images, photos, proposals
from pb.services.tracking import photos as milestone_photos
from pb.web.assets import IMMUTABLE, REVALIDATE
from pb.web.forms import text
from pb.web.routing import FORM_BODY, Access, route
from pb.web.security import context, flash
from pb.web.state import state
from pb.web.views.proposals import render_page
from pb.web.views.tracking_staff import editor_of, render_manage

# The largest upload and the form's other fields; nothing past this is read.
UPLOAD_BODY = images.MAX_UPLOAD + FORM_BODY


def _is_staff(request: Request) -> bool:
    user = context(request).user
    return user is not None and user.role in (Role.STAFF, Role.ADMIN)


async def add_photo(request: Request) -> Response:
    # The CSRF check parsed the form already (the file spooled to disk): close it whatever
    # happens next.
    form = await request.form()
    try:
        return await _add_photo(request, form)
    finally:
        await form.close()


async def read_upload(
    form: FormData, errors: dict[str, str], alt_field: str = "alt"
) -> tuple[str, images.Encoded | None]:
    """The alt text and the re-encoded picture (field ``photo``) of an upload form; what is
    wrong goes into ``errors`` (as ``alt`` and ``photo``)."""
    alt = text(form, alt_field, photos.MAX_ALT + 1)
    upload = form.get("photo")
    try:
        alt = photos.check_alt(alt)
    except ValidationError as exc:
        errors.update(exc.errors)
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read(images.MAX_UPLOAD + 1)
    try:
        # Decoding and encoding take a moment of CPU: off the event loop.
        return alt, await run_in_threadpool(images.reencode, data)
    except ValidationError as exc:
        errors.update(exc.errors)
        return alt, None


async def _add_photo(request: Request, form: FormData) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    user_id, staff = ctx.user.id, _is_staff(request)
    proposal_id = request.path_params["proposal_id"]
    allowed = await app.db.read(
        lambda s: photos.may_change(s, proposals.get(s, proposal_id), user_id, staff, app.today())
    )
    if not allowed:
        raise HTTPException(403)
    errors: dict[str, str] = {}
    alt, encoded = await read_upload(form, errors)
    if not errors and encoded is not None:
        try:
            await app.db.write(photos.add, user_id, staff, proposal_id, alt, encoded, app.today())
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        return await render_page(request, photo_errors=errors, photo_alt=alt, status=422)
    flash(request, _("The photo is added."), "success")
    return RedirectResponse(f"/proposals/{proposal_id}#photos", status_code=303)


async def delete_photo(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    proposal_id = await app.db.write(
        photos.remove, ctx.user.id, _is_staff(request), request.path_params["photo_id"], app.today()
    )
    flash(request, _("The photo is deleted."), "success")
    return RedirectResponse(f"/proposals/{proposal_id}#photos", status_code=303)


def _image_response(request: Request, stored: photos.StoredImage) -> Response:
    headers = {
        "etag": stored.etag,
        # A versioned URL never changes: a new photo gets a new id and digest.
        "cache-control": IMMUTABLE if stored.current else REVALIDATE,
    }
    if stored.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(stored.data, media_type=stored.content_type, headers=headers)


async def photo_file(request: Request) -> Response:
    app = state(request)
    stored = await app.db.read(
        photos.image,
        request.path_params["photo_id"],
        request.path_params["width"],
        request.query_params.get("v", ""),
        app.today(),
    )
    return _image_response(request, stored)


async def add_milestone_photo(request: Request) -> Response:
    form = await request.form()
    try:
        return await _add_milestone_photo(request, form)
    finally:
        await form.close()


async def _add_milestone_photo(request: Request, form: FormData) -> Response:
    app = state(request)
    editor = editor_of(request)
    milestone_id = request.path_params["milestone_id"]
    project_id = await app.db.read(milestone_photos.project_of, editor, milestone_id)
    errors: dict[str, str] = {}
    alt, encoded = await read_upload(form, errors, f"alt_{milestone_id}")
    if not errors and encoded is not None:
        try:
            await app.db.write(milestone_photos.add, editor, milestone_id, alt, encoded)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        # The form is repeated per milestone: its fields carry the milestone's id.
        named = {f"{k}_{milestone_id}": v for k, v in errors.items()}
        return await render_manage(
            request, project_id, f"photo_{milestone_id}", named, {f"alt_{milestone_id}": alt}
        )
    flash(request, _("The photo is added."), "success")
    return RedirectResponse(
        f"/projects/{project_id}/manage#milestone-{milestone_id}", status_code=303
    )


async def delete_milestone_photo(request: Request) -> Response:
    app = state(request)
    project_id = await app.db.write(
        milestone_photos.remove, editor_of(request), request.path_params["photo_id"]
    )
    flash(request, _("The photo is deleted."), "success")
    return RedirectResponse(f"/projects/{project_id}/manage", status_code=303)


async def milestone_photo_file(request: Request) -> Response:
    stored = await state(request).db.read(
        milestone_photos.image,
        request.path_params["photo_id"],
        request.path_params["width"],
        request.query_params.get("v", ""),
    )
    return _image_response(request, stored)


routes = [
    route(
        "/proposals/{proposal_id:id}/photos",
        add_photo,
        access=Access.USER,
        methods=["POST"],
        max_body=UPLOAD_BODY,
    ),
    route("/photos/{photo_id:id}/delete", delete_photo, access=Access.USER, methods=["POST"]),
    route("/photos/{photo_id:id}/{width:id}.webp", photo_file, access=Access.PUBLIC),
    route(
        "/milestones/{milestone_id:id}/photos",
        add_milestone_photo,
        access=Access.USER,
        methods=["POST"],
        max_body=UPLOAD_BODY,
    ),
    route(
        "/milestone-photos/{photo_id:id}/delete",
        delete_milestone_photo,
        access=Access.USER,
        methods=["POST"],
    ),
    route(
        "/milestone-photos/{photo_id:id}/{width:id}.webp",
        milestone_photo_file,
        access=Access.PUBLIC,
    ),
]
