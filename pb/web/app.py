"""The app factory: ``create_app(settings)`` builds a complete pb web app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import BaseRoute, Mount

from pb import resources
from pb.config import Settings
from pb.db import Database, WriteBatcher, make_engine
from pb.errors import Forbidden, NotFound
from pb.mail.sender import BackgroundSender, sender_for
from pb.passwords import Passwords
from pb.services import voting as voting_service
from pb.services.funding import pledges as pledge_service
from pb.web import errors
from pb.web.assets import VersionedStaticFiles
from pb.web.security import ContextMiddleware, Cookies
from pb.web.state import AppState
from pb.web.templating import Renderer, make_environment
from pb.web.views import (
    accounts,
    admin,
    api,
    audit_tool,
    collection,
    funding,
    funding_staff,
    funding_tasks,
    geo,
    impact,
    mail,
    matches,
    pages,
    paper,
    photos,
    proposals,
    results,
    rounds,
    tracking,
    tracking_staff,
    verification,
    voters,
    voting,
)


def all_routes(static: VersionedStaticFiles | None = None) -> list[BaseRoute]:
    static = static or VersionedStaticFiles(resources.static_dir())
    return [
        *pages.routes,
        *accounts.routes,
        *verification.routes,
        *admin.routes,
        *mail.routes,
        *rounds.routes,
        *proposals.routes,
        *photos.routes,
        *voting.routes,
        *voters.routes,
        *paper.routes,
        *results.routes,
        *audit_tool.routes,
        *collection.routes,
        *matches.routes,
        *funding_staff.routes,
        *funding.routes,
        *funding_tasks.routes,
        *tracking.routes,
        *tracking_staff.routes,
        *impact.routes,
        *geo.routes,
        *api.all_routes(),
        Mount("/static", app=static, name="static"),
    ]


def create_app(settings: Settings, db: Database | None = None) -> Starlette:
    """Build the app for ``settings`` (the database may be passed in, e.g. by tests)."""
    db = db or Database(make_engine(settings.database_url, settings.db_pool_size))
    cookies = Cookies(settings)
    static = VersionedStaticFiles(resources.static_dir())
    middleware = [
        # Outermost, so it compresses the error pages too; small bodies are not worth it.
        Middleware(GZipMiddleware, minimum_size=500),
        Middleware(
            ContextMiddleware,
            settings=settings,
            db=db,
            cookies=cookies,
            on_error=errors.server_error,
        ),
    ]
    if settings.trusted_hosts:
        middleware.insert(
            0, Middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
        )
    mailer = BackgroundSender(sender_for(db, settings), settings.mail_poll_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Every worker sends the outbox in the background (claims keep them from doubling).
        if settings.mail_sender:
            mailer.start()
        try:
            yield
        finally:
            mailer.stop()

    app = Starlette(
        debug=settings.debug,
        lifespan=lifespan,
        routes=all_routes(static),
        middleware=middleware,
        exception_handlers={
            HTTPException: errors.http_exception,
            NotFound: errors.not_found,
            Forbidden: errors.forbidden,
            500: errors.server_error,
        },
    )
    app.state.settings = settings
    app.state.cookies = cookies
    env = make_environment()
    env.globals["static_url"] = static.url
    app.state.pb = AppState(
        settings=settings,
        db=db,
        passwords=Passwords(settings),
        cookies=cookies,
        renderer=Renderer(env),
        ballots=WriteBatcher(db, voting_service.append_many),
        mailer=mailer,
        pledges=WriteBatcher(db, pledge_service.make_pledges),
    )
    return app
