"""What the app factory builds once and every view reaches through ``request.app.state``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from starlette.requests import Request

from pb import clock
from pb.config import Settings
from pb.db import Database, WriteBatcher
from pb.mail.sender import BackgroundSender
from pb.passwords import Passwords
from pb.services import accounts
from pb.services.funding.pledges import CallFactsCache, PledgeOutcome, PledgeRequest
from pb.services.voting import Ballot, Receipt
from pb.web.security import Cookies
from pb.web.templating import Renderer


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database
    passwords: Passwords
    cookies: Cookies
    renderer: Renderer
    ballots: WriteBatcher[tuple[Ballot, str], Receipt]  # (ballot, voter key): appended together
    mailer: BackgroundSender  # call .wake() after a transaction that enqueued mail
    pledges: WriteBatcher[PledgeRequest, PledgeOutcome]  # pledges made together
    call_facts: CallFactsCache = field(default_factory=CallFactsCache)  # of locked calls

    def today(self) -> dt.date:
        return clock.today(self.settings.timezone)

    async def after_seal(self) -> None:
        """After a transaction that sealed a round's participation (voting closed, a count, the
        publication): forget ended sessions, whose times would order account voters, and
        vacuum the old row versions out of the database files (docs/voting.md)."""
        idle = dt.timedelta(minutes=self.settings.session_idle_minutes)
        absolute = dt.timedelta(hours=self.settings.session_max_hours)
        await self.db.write(accounts.purge_ended_sessions, idle, absolute)
        await self.db.scrub()


def state(request: Request) -> AppState:
    value = request.app.state.pb
    assert isinstance(value, AppState)
    return value
