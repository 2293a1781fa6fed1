"""The public pages: home and health."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pb.models import District, Town
from pb.web.routing import Access, route
from pb.web.state import state


def _town(session: Session) -> tuple[str | None, list[str]]:
    town = session.scalar(select(Town).order_by(Town.id).limit(1))
    if town is None:
        return None, []
    names = session.scalars(
        select(District.name).where(District.town_id == town.id).order_by(District.name)
    )
    return town.name, list(names)


async def home(request: Request) -> Response:
    town, districts = await state(request).db.read(_town)
    return state(request).renderer.render(
        request, "pages/home.html", {"town": town, "districts": districts}
    )


async def health(request: Request) -> Response:
    await state(request).db.read(lambda s: s.execute(select(1)).scalar_one())
    return PlainTextResponse("ok")


routes = [
    route("/", home, access=Access.PUBLIC, name="home"),
    route("/health", health, access=Access.PUBLIC, name="health"),
]
