"""The outbox for staff: what pb has mailed and whether it arrived.

Without an SMTP server (``make run``, the demo) mails go to files under ``var/mail`` and this page
also shows each message, links included: that is how demo users "receive" their mail. With
``PB_SMTP_URL`` set, the page shows status only: a message may hold someone's reset link, which
staff must not be able to use.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pb.models import OutboxMail
from pb.services import outbox
from pb.web.routing import Access, route
from pb.web.state import state

URL_RE = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Escape ``text`` and make its web addresses clickable."""
    out: list[str] = []
    last = 0
    for match in URL_RE.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        url = escape(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704 (every piece is escaped above)


async def mail_list(request: Request) -> Response:
    app = state(request)

    def load(
        session: Session,
    ) -> tuple[outbox.OutboxCounts, list[tuple[OutboxMail, str]]]:
        mails = outbox.recent(session)
        return outbox.counts(session), [(m, outbox.status_of(m)) for m in mails]

    counts, mails = await app.db.read(load)
    return app.renderer.render(
        request,
        "admin/mail.html",
        {"counts": counts, "mails": mails, "readable": not app.settings.smtp_url},
    )


async def mail_message(request: Request) -> Response:
    app = state(request)
    if app.settings.smtp_url:
        raise HTTPException(404)
    mail = await app.db.read(outbox.get, request.path_params["mail_id"])
    if mail is None:
        raise HTTPException(404)
    return app.renderer.render(
        request,
        "admin/mail_message.html",
        {"mail": mail, "status": outbox.status_of(mail), "body": linkify(mail.text)},
    )


routes = [
    route("/admin/mail", mail_list, access=Access.STAFF, name="admin_mail"),
    route("/admin/mail/{mail_id:id}", mail_message, access=Access.STAFF),
]
