"""Collection: the resident's payment page, and the staff's close of pledging, statement
import (camt.053 or CSV with a column mapping), manual matching and town-hall payments."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pb.errors import NotFound, ValidationError
from pb.i18n import format_day, format_money, get_locale, ngettext
from pb.i18n import gettext as _
from pb.models import CallSettlement
from pb.services import bank_statements
from pb.services.funding import calls, closing, collection
from pb.services.funding.payment_details import payment_details, qr_for
from pb.services.money import amount_message, parse_money
from pb.web.forms import text
from pb.web.routing import Access, route
from pb.web.security import context, flash
from pb.web.state import state

MAX_UPLOAD = bank_statements.MAX_STATEMENT_BYTES
MAX_CARRIED_CSV = 2 * 1024 * 1024  # a CSV carried in the mapping form between two steps


# --- the resident's payment page ----------------------------------------------------------------


async def payment_page(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    try:
        details = await app.db.read(payment_details, ctx.user.id, request.path_params["pledge_id"])
    except NotFound:
        raise HTTPException(404) from None
    return app.renderer.render(
        request, "collection/pay.html", {"pay": details, "qr": qr_for(details)}
    )


# --- staff: the collection page -----------------------------------------------------------------


def _page_data(session: Session, call_id: int) -> dict[str, Any]:
    call = calls.get_call(session, call_id)
    return {
        "call": call,
        "settlement": session.get(CallSettlement, call_id),
        "collected": collection.collection_state(session, call),
    }


def _mapping_defaults() -> dict[str, str]:
    return {
        "col_amount": "",
        "col_date": "",
        "col_text": "",
        "col_name": "",
        "col_id": "",
        "col_currency": "",
        "decimal": "comma",
    }


async def _page(
    request: Request,
    call_id: int,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    app = state(request)
    try:
        values = await app.db.read(_page_data, call_id)
    except NotFound:
        raise HTTPException(404) from None
    values["phase"] = calls.phase(values["call"], app.today())
    values.setdefault("mapping", _mapping_defaults())
    return app.renderer.render(
        request,
        "collection/manage.html",
        {
            "errors": errors or {},
            "columns": [],
            "carried": "",
            "carried_name": "",
            "form": {},
            **values,
            **extra,
        },
        status_code=status,
    )


async def manage(request: Request) -> Response:
    return await _page(request, request.path_params["call_id"])


def _back(call_id: int) -> RedirectResponse:
    return RedirectResponse(f"/funding/{call_id}/collection", status_code=303)


async def close_pledging(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id = request.path_params["call_id"]
    try:
        summary = await app.db.write(
            closing.close_pledging,
            ctx.user.id,
            call_id,
            app.today(),
            str(request.base_url),
            app.settings.default_locale,
        )
    except NotFound:
        raise HTTPException(404) from None
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
        return _back(call_id)
    if summary.succeeded or summary.failed:
        flash(
            request,
            _(
                "Pledging is closed. Campaigns that succeeded: %(ok)s; failed: %(failed)s. "
                "Backers asked to pay: %(asked)s; pledges released: %(released)s. "
                "The mails are on their way.",
                ok=summary.succeeded,
                failed=summary.failed,
                asked=summary.payment_requests,
                released=summary.released,
            ),
            "success",
        )
    else:
        flash(request, _("Pledging was already closed: nothing changed."), "info")
    return _back(call_id)


def _mapping_from(form: FormData) -> dict[str, str]:
    values = _mapping_defaults()
    for key in values:
        values[key] = text(form, key, 100).strip()
    if values["decimal"] not in ("comma", "point"):
        values["decimal"] = "comma"
    return values


def _is_xml(data: bytes) -> bool:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    return head.startswith(b"<")


async def import_statement(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id = request.path_params["call_id"]
    form = await request.form(max_part_size=MAX_UPLOAD)
    upload = form.get("file")
    data, filename = b"", ""
    if isinstance(upload, UploadFile) and upload.filename:
        data, filename = await upload.read(), upload.filename
    carried = text(form, "carried", MAX_CARRIED_CSV * 2)
    if not data and carried:
        try:
            data = base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            data = b""
        filename = text(form, "carried_name", 200)
    await form.close()
    mapping = _mapping_from(form)
    if not data:
        return await _page(
            request, call_id, {"file": _("Choose a statement file.")}, 422, mapping=mapping
        )
    call = await app.db.read(calls.get_call, call_id)
    try:
        if _is_xml(data):
            statement = bank_statements.parse_camt053(data)
        else:
            columns = bank_statements.csv_header(data)
            if not (mapping["col_amount"] and mapping["col_date"] and mapping["col_text"]):
                return await _csv_mapping(request, call_id, data, filename, columns, mapping, {})
            statement = bank_statements.parse_csv(
                data,
                bank_statements.ColumnMapping(
                    amount=mapping["col_amount"],
                    date=mapping["col_date"],
                    text=mapping["col_text"],
                    name=mapping["col_name"],
                    line_id=mapping["col_id"],
                    currency=mapping["col_currency"],
                    decimal_comma=mapping["decimal"] == "comma",
                ),
                call.currency,
            )
        summary = await app.db.write(
            collection.import_statement, ctx.user.id, call_id, statement, filename, data
        )
    except ValidationError as exc:
        if not _is_xml(data) and len(data) <= MAX_CARRIED_CSV:
            try:
                columns = bank_statements.csv_header(data)
            except ValidationError:
                columns = []
            if columns:
                return await _csv_mapping(
                    request, call_id, data, filename, columns, mapping, exc.errors
                )
        return await _page(request, call_id, exc.errors, 422, mapping=mapping)
    flash(request, _import_message(summary, call.currency), "success")
    return _back(call_id)


async def _csv_mapping(
    request: Request,
    call_id: int,
    data: bytes,
    filename: str,
    columns: list[str],
    mapping: dict[str, str],
    errors: dict[str, str],
) -> Response:
    """Ask which column is which; the file rides along in the form (no server-side state)."""
    if len(data) > MAX_CARRIED_CSV:
        return await _page(
            request,
            call_id,
            {"file": _("Give the column names with the file: it is too large to carry over.")},
            422,
            mapping=mapping,
        )
    if not errors:
        errors = {"mapping": _("Say which column holds what, then import.")}
    return await _page(
        request,
        call_id,
        errors,
        422,
        mapping=mapping,
        columns=[(c, c) for c in columns if c],
        carried=base64.b64encode(data).decode(),
        carried_name=filename,
    )


def _import_message(summary: collection.ImportSummary, currency: str) -> str:
    parts = [
        ngettext("%(num)s payment line read.", "%(num)s payment lines read.", summary.lines),
        ngettext("%(num)s pledge fulfilled.", "%(num)s pledges fulfilled.", summary.fulfilled),
    ]
    if summary.partial:
        parts.append(
            ngettext("%(num)s partial payment.", "%(num)s partial payments.", summary.partial)
        )
    parts.append(
        ngettext(
            "%(num)s line to match by hand.", "%(num)s lines to match by hand.", summary.unmatched
        )
    )
    if summary.duplicates:
        seen = "; ".join(
            f"{line.debtor or '?'} {format_money(line.amount, line.currency)}"
            + (f" ({format_day(line.booked)})" if line.booked else "")
            for line in summary.duplicate_lines[:10]
        )
        parts.append(
            ngettext(
                "%(num)s line was already imported and is ignored: %(lines)s.",
                "%(num)s lines were already imported and are ignored: %(lines)s.",
                summary.duplicates,
                lines=seen,
            )
        )
    if summary.other_call:
        parts.append(
            ngettext(
                "%(num)s line pays a pledge of another call: import it there.",
                "%(num)s lines pay pledges of another call: import them there.",
                summary.other_call,
            )
        )
    return " ".join(parts)


async def match_line(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id, line_id = request.path_params["call_id"], request.path_params["line_id"]
    form = await request.form()
    reference = text(form, "pledge", 60)
    try:
        fulfilled = await app.db.write(
            collection.match_line, ctx.user.id, call_id, line_id, reference
        )
    except NotFound:
        raise HTTPException(404) from None
    except ValidationError as exc:
        errors = {f"line-{line_id}": " ".join(exc.errors.values())}
        return await _page(request, call_id, errors, 422, form={"line": line_id, "ref": reference})
    flash(
        request,
        _("The payment is matched and the pledge fulfilled.")
        if fulfilled
        else _("The payment is matched; the pledge still waits for the rest."),
        "success",
    )
    return _back(call_id)


async def ignore_line(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id, line_id = request.path_params["call_id"], request.path_params["line_id"]
    try:
        await app.db.write(collection.ignore_line, ctx.user.id, call_id, line_id)
    except NotFound:
        raise HTTPException(404) from None
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
        return _back(call_id)
    flash(request, _("The line is set aside: it pays no pledge."), "success")
    return _back(call_id)


async def accept_partial(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id, pledge_id = request.path_params["call_id"], request.path_params["pledge_id"]
    try:
        await app.db.write(collection.accept_partial, ctx.user.id, call_id, pledge_id)
    except NotFound:
        raise HTTPException(404) from None
    except ValidationError as exc:
        flash(request, " ".join(exc.errors.values()), "error")
        return _back(call_id)
    flash(request, _("The pledge is fulfilled with what was received."), "success")
    return _back(call_id)


async def record_payment(request: Request) -> Response:
    app = state(request)
    ctx = context(request)
    assert ctx.user is not None
    call_id = request.path_params["call_id"]
    form = await request.form()
    values = {
        "pay_pledge": text(form, "pay_pledge", 60),
        "pay_amount": text(form, "pay_amount", 40),
        "pay_channel": text(form, "pay_channel", 10),
    }
    call = await app.db.read(calls.get_call, call_id)
    errors: dict[str, str] = {}
    try:
        amount = parse_money(values["pay_amount"], call.currency, get_locale())
    except ValueError as exc:
        errors["pay_amount"] = amount_message(exc, _("Enter an amount such as 25 or 25.50."))
        amount = 0
    if not errors:
        try:
            fulfilled = await app.db.write(
                collection.record_payment,
                ctx.user.id,
                call_id,
                values["pay_pledge"],
                amount,
                values["pay_channel"],
                app.today(),
            )
        except ValidationError as exc:
            errors = {
                {"pledge": "pay_pledge", "amount": "pay_amount", "channel": "pay_channel"}.get(
                    k, "pay_pledge"
                ): v
                for k, v in exc.errors.items()
            }
    if errors:
        return await _page(request, call_id, errors, 422, form=values)
    flash(
        request,
        _("The payment is recorded and the pledge fulfilled.")
        if fulfilled
        else _("The payment is recorded; the pledge still waits for the rest."),
        "success",
    )
    return _back(call_id)


routes = [
    route("/pledges/{pledge_id:id}/pay", payment_page, access=Access.USER),
    route("/funding/{call_id:id}/collection", manage, access=Access.STAFF),
    route("/funding/{call_id:id}/close", close_pledging, access=Access.STAFF, methods=["POST"]),
    route(
        "/funding/{call_id:id}/statements",
        import_statement,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route(
        "/funding/{call_id:id}/lines/{line_id:id}/match",
        match_line,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route(
        "/funding/{call_id:id}/lines/{line_id:id}/ignore",
        ignore_line,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route(
        "/funding/{call_id:id}/pledges/{pledge_id:id}/accept",
        accept_partial,
        access=Access.STAFF,
        methods=["POST"],
    ),
    route("/funding/{call_id:id}/payments", record_payment, access=Access.STAFF, methods=["POST"]),
]
