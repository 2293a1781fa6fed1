"""The public pages: home, and health: ``/health`` (liveness: the process answers and can read
the database) and ``/health/ready`` (readiness: the database takes a write now)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pb.models import Phase, Town
from pb.services import rounds
from pb.web import errors
from pb.web.routing import Access, route
from pb.web.state import state


@dataclass(frozen=True)
class HomePage:
    """What the home page leads to: the rounds open now, coming next, and last results."""

    town: str | None
    open_now: list[rounds.RoundSummary]
    coming: list[rounds.RoundSummary]
    results: list[rounds.RoundSummary]


OPEN = (Phase.PROPOSALS, Phase.VOTING)
COMING = (Phase.REVIEW, Phase.CLOSED)


def _home(session: Session, today: dt.date) -> HomePage:
    town = session.scalar(select(Town.name).order_by(Town.id).limit(1))
    listed = rounds.list_rounds(session, today, include_drafts=False)
    # Voting first: it is what a resident most likely came for, and it ends.
    open_now = sorted(
        (r for r in listed if r.phase in OPEN), key=lambda r: (r.phase is not Phase.VOTING, r.id)
    )
    return HomePage(
        town=town,
        open_now=open_now,
        coming=[r for r in listed if r.phase in COMING],
        results=[r for r in listed if r.phase is Phase.RESULTS][:3],
    )


async def home(request: Request) -> Response:
    app = state(request)
    page = await app.db.read(_home, app.today())
    return app.renderer.render(request, "pages/home.html", {"page": page})


async def health(request: Request) -> Response:
    await state(request).db.read(lambda s: s.execute(select(1)).scalar_one())
    return PlainTextResponse("ok")


async def ready(request: Request) -> Response:
    """200 ``ok`` while the database takes writes (a tiny transaction on the heartbeat row,
    at most one per 1.5 s per process), else 503 naming the outage, with ``Retry-After``: a
    load balancer sends no resident here while their ballot could not be recorded."""
    kind = await state(request).db.ready()
    if kind is None:
        return PlainTextResponse("ok")
    return PlainTextResponse(
        f"not ready: {kind}", status_code=503, headers={"retry-after": str(errors.RETRY_AFTER)}
    )


routes = [
    route("/", home, access=Access.PUBLIC, name="home"),
    route("/health", health, access=Access.PUBLIC, name="health"),
    route("/health/ready", ready, access=Access.PUBLIC, name="ready"),
]
