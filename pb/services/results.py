"""Results: tally every district from the ballot log with the round's rule, let staff review
the outcome, publish it (then it is final), and build the ballot bundle auditors download.

The tally goes through ``pb.audit.results_bytes``, the very function ``pb audit`` re-runs, so
the published bytes are what an auditor recomputes, on any database, today and later.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb import __version__, clock
from pb.audit import ballots_by_district, results_bytes, write_bundle
from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import BallotRecord, Phase, Round, RoundResult
from pb.services import audit, ballot_log, rounds, tracking, voting


def chain(session: Session, round_id: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The round's ballot log: records (as hashed) and their hashes, in order."""
    rows = session.execute(
        select(BallotRecord.record, BallotRecord.hash)
        .where(BallotRecord.round_id == round_id)
        .order_by(BallotRecord.seq)
    ).all()
    return [json.loads(r) for r, _h in rows], [h for _r, h in rows]


def get_result(session: Session, round_id: int) -> RoundResult | None:
    return session.get(RoundResult, round_id)


def tally_round(
    session: Session, actor_id: int | None, round_id: int, today: dt.date
) -> RoundResult:
    """Count the ballots of a round whose voting has ended. Can be re-run until published;
    the same ballots always give the same bytes."""
    rnd = session.scalars(select(Round).where(Round.id == round_id).with_for_update()).first()
    if rnd is None:
        raise NotFound(f"round {round_id}")
    phase = rounds.effective_phase(rnd, today)
    if phase is Phase.RESULTS:
        raise ValidationError({"": _("The results are published and final.")})
    if phase is not Phase.CLOSED:
        raise ValidationError({"": _("Count the ballots once voting has ended.")})
    rounds.lock(session, rnd)
    config = voting.config_of(session, rnd)
    ballot_log.ensure_genesis(session, rnd, config)
    session.flush()
    ballot_log.seal_participation(session, round_id)
    records, hashes = chain(session, round_id)
    data = results_bytes(config, ballots_by_district(records)).decode()
    result = session.get(RoundResult, round_id)
    if result is None:
        result = RoundResult(round_id=round_id)
        session.add(result)
    result.results, result.chain_head, result.chain_length = data, hashes[-1], len(hashes)
    result.computed_at = clock.now()
    audit.record(
        session,
        actor_id,
        "round.tally",
        f"round:{round_id}",
        after={"chain_head": hashes[-1], "records": len(hashes)},
    )
    return result


def publish(session: Session, actor_id: int | None, round_id: int, today: dt.date) -> None:
    """Publish the reviewed tally. Refused if ballots were added since it was computed."""
    rnd = session.scalars(select(Round).where(Round.id == round_id).with_for_update()).first()
    if rnd is None:
        raise NotFound(f"round {round_id}")
    result = session.get(RoundResult, round_id)
    if rounds.effective_phase(rnd, today) is Phase.RESULTS or (
        result is not None and result.published_at is not None
    ):
        raise ValidationError({"": _("The results are published and final.")})
    if result is None:
        raise ValidationError({"": _("Count the ballots before publishing.")})
    head = ballot_log.log_head(session, round_id)
    if head is None or head.hash != result.chain_head:
        raise ValidationError(
            {"": _("Ballots were added after the count. Count again, review, then publish.")}
        )
    ballot_log.seal_participation(session, round_id)
    result.published_at = clock.now()
    rnd.phase_override = Phase.RESULTS
    tracking.on_publish(session)  # the funded projects get their public cards
    audit.record(
        session,
        actor_id,
        "round.publish",
        f"round:{round_id}",
        after={"chain_head": result.chain_head},
    )


def bundle(session: Session, round_id: int) -> bytes:
    """The ballot bundle (zip) of a published round: config, .pb files, log, results."""
    rnd = rounds.get_round(session, round_id)
    result = session.get(RoundResult, round_id)
    if result is None or result.published_at is None or rnd.locked_config is None:
        raise NotFound(f"bundle {round_id}")
    records, hashes = chain(session, round_id)
    # The published results count exactly this log: nothing can be added after publication.
    records, hashes = records[: result.chain_length], hashes[: result.chain_length]
    out = io.BytesIO()
    write_bundle(
        out, json.loads(rnd.locked_config), records, hashes, result.results.encode(), __version__
    )
    return out.getvalue()


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    ballots: int


def turnout_by_day(records: list[dict[str, Any]]) -> list[DayCount]:
    days = Counter(r["day"] for r in records if r["kind"] == "ballot")
    return [DayCount(dt.date.fromisoformat(d), n) for d, n in sorted(days.items())]
