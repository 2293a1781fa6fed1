"""Friendly error pages (403, 404, 405, 422, 429, 500, 503) in the visitor's language.

A request that fails because the database cannot take writes now (disk full, read-only,
unreachable: :func:`pb.db.outage_kind`) gets 503 with ``Retry-After`` and a page saying that
nothing was recorded, and one rate-limited log line (:data:`pb.db.outages`), not a traceback."""

from __future__ import annotations

import logging
import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pb.db import outage_kind, outages
from pb.i18n import gettext as _
from pb.web.state import state

log = logging.getLogger("pb.web")


def _messages() -> dict[int, tuple[str, str]]:
    return {
        403: (_("Not allowed"), _("You do not have permission to do this.")),
        404: (_("Page not found"), _("There is no page at this address.")),
        405: (_("Not allowed"), _("This page cannot be used this way.")),
        409: (_("Not possible now"), _("This cannot be done in the current state.")),
        413: (
            _("Too large"),
            _("What you sent is larger than this page accepts. Send less, or a smaller file."),
        ),
        422: (_("Something is wrong"), _("The request could not be understood.")),
        429: (_("Too many requests"), _("Wait a few minutes and try again.")),
        500: (_("Something went wrong"), _("An error happened on our side. Try again later.")),
    }


def error_page(request: Request, status: int, detail: str | None = None) -> Response:
    if request.url.path.startswith("/api/"):  # the open-data API answers in JSON
        from pb.web.opendata import problem

        return problem(status, _messages().get(status, _messages()[500])[1])
    messages = _messages()
    title, text = messages.get(status, messages[500] if status >= 500 else messages[422])
    details = {
        "csrf": _("Your form has expired. Go back, reload the page and try again."),
        "closed": _("Voting is not open for this round."),
        "already": _("You have already cast this ballot. Ballots are final."),
        "not-eligible": _("First show that you may vote, on the round's voting page."),
    }
    if isinstance(detail, str) and detail in details:
        text = details[detail]
    if getattr(request.state, "ctx", None) is None:
        return PlainTextResponse(title, status_code=status)
    return state(request).renderer.render(
        request,
        "errors/error.html",
        {"title": title, "text": text, "status": status},
        status_code=status,
    )


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_page(request, exc.status_code, exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


# Seconds a client is asked to wait before trying again after a database outage.
RETRY_AFTER = 5
# Where a POST casts a ballot (online or paper): the 503 page then speaks of the ballot.
_CASTS = re.compile(r"^/rounds/[^/]+/(vote/(citywide|district)|paper)/?$")


def unavailable_page(request: Request) -> Response:
    """503: the database cannot take writes now; nothing was recorded, try again shortly. An
    htmx request gets the message alone (block ``message``)."""
    headers = {"retry-after": str(RETRY_AFTER)}
    if getattr(request.state, "ctx", None) is None:
        message = _("What you sent was NOT saved.")
        return PlainTextResponse(message, status_code=503, headers=headers)
    casting = request.method == "POST" and bool(_CASTS.match(request.url.path))
    response = state(request).renderer.render(
        request,
        "errors/unavailable.html",
        {"status": 503, "casting": casting},
        status_code=503,
        block="message",
    )
    response.headers.update(headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    kind = outage_kind(exc)
    if kind is not None:
        outages.report(kind, f"{request.method} {request.url.path}", exc)
        return unavailable_page(request)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500)


async def not_found(request: Request, exc: Exception) -> Response:
    return error_page(request, 404)


async def forbidden(request: Request, exc: Exception) -> Response:
    return error_page(request, 403)
