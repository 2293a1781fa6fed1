"""Casting ballots: eligibility slots, validation, participation and the hash-chained log.

A cast is checked first (:func:`check_ballot`, :func:`prepare`), then appended in one
transaction (:func:`append`): the participation row is inserted (its primary key refuses a
second ballot under any concurrency) and the ballot is chained under the round's lock
(:mod:`pb.services.ballot_log`), with ``pb.audit``'s record and hash definitions, so auditors
recompute exactly what was stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.audit import ballot_problems, ballot_record, new_receipt_code
from pb.audit.config import config_sha256
from pb.errors import NotFound, PbError, ValidationError
from pb.i18n import gettext as _
from pb.i18n import ngettext
from pb.models import BallotRecord, Participation, Phase, Round, VotingScope
from pb.services import audit, ballot_log, rounds

CITYWIDE = "citywide"
DISTRICT = "district"


class AlreadyVoted(PbError):
    """This voter has already cast this ballot (participation exists)."""


class VotingClosed(PbError):
    """The round is not accepting this ballot now."""


def voter_key(secret: str, round_id: int, identity: str) -> str:
    """A keyed hash naming a voter in one round, so participation rows reveal no identity."""
    message = f"{round_id}:{identity}".encode()
    return hmac.new(secret.encode(), b"pb.participation:" + message, hashlib.sha256).hexdigest()


def slots(rnd: Round) -> list[str]:
    """The ballots a voter casts in ``rnd``: city-wide, in their district, or both."""
    return {
        VotingScope.CITYWIDE: [CITYWIDE],
        VotingScope.DISTRICT: [DISTRICT],
        VotingScope.BOTH: [CITYWIDE, DISTRICT],
    }[rnd.scope]


def config_of(session: Session, rnd: Round) -> dict[str, Any]:
    """The locked configuration (as stored, or as it will be stored: nothing can change it)."""
    if rnd.locked_config is not None:
        loaded: dict[str, Any] = json.loads(rnd.locked_config)
        return loaded
    return rounds.canonical_config(session, rnd)


def district_of(config: dict[str, Any], slot: str, key: str) -> dict[str, Any]:
    """The ballot (one district of the config) for ``slot``; a district slot never names
    ``citywide``, and the city-wide slot names nothing else."""
    if (slot == CITYWIDE) != (key == CITYWIDE):
        raise NotFound(f"ballot {slot}/{key}")
    for district in config["districts"]:
        if district["key"] == key:
            return dict(district)
    raise NotFound(f"district {key}")


def district_choices(config: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["key"], d["name"]) for d in config["districts"] if d["key"] != CITYWIDE]


def validate_choices(
    config: dict[str, Any], district: dict[str, Any], choices: dict[str, int]
) -> dict[str, str]:
    """Every reason ``choices`` is not a valid ballot, as translated messages."""
    method = config["method"]
    kind = method["kind"]
    costs = {p["id"]: p["cost"] for p in district["projects"]}
    errors: dict[str, str] = {}
    for pid, value in choices.items():
        if pid not in costs:
            errors[""] = _("The ballot names a project that is not on it.")
        elif value < 0:
            errors[pid] = _("Use 0 or more.")
        elif kind in ("approval", "knapsack") and value not in (0, 1):
            errors[pid] = _("Choose a project or leave it.")
        elif (
            kind in ("quadratic", "cumulative")
            and method.get("max_per_project")
            and (value > method["max_per_project"])
        ):
            errors[pid] = _("At most %(n)s for one project.", n=method["max_per_project"])
    if errors:
        return errors
    chosen = {pid: v for pid, v in choices.items() if v > 0}
    low, high = method.get("min_choices"), method.get("max_choices")
    if low is not None and len(chosen) < low:
        errors[""] = ngettext(
            "Choose at least %(num)s project.", "Choose at least %(num)s projects.", low
        )
    elif high is not None and len(chosen) > high:
        errors[""] = ngettext(
            "Choose at most %(num)s project.", "Choose at most %(num)s projects.", high
        )
    elif kind == "knapsack" and sum(costs[p] for p in chosen) > district["budget"]:
        errors[""] = _("The projects you chose cost more than the budget.")
    elif kind == "quadratic" and sum(v * v for v in chosen.values()) > method["credits"]:
        errors[""] = _("Your votes use more voice credits than you have.")
    elif kind == "cumulative" and sum(chosen.values()) > method["points"]:
        errors[""] = _("You gave more points than you have.")
    return errors


@dataclass(frozen=True)
class Feedback:
    """Live ballot feedback: what is used and what is left."""

    kind: str
    chosen: int
    max_choices: int | None
    spent: int  # money for knapsack, credits for quadratic, points for cumulative
    limit: int | None
    next_vote_cost: dict[str, int]  # quadratic: credits one more vote would cost


def feedback(config: dict[str, Any], district: dict[str, Any], choices: dict[str, int]) -> Feedback:
    method = config["method"]
    kind = method["kind"]
    costs = {p["id"]: p["cost"] for p in district["projects"]}
    chosen = {pid: v for pid, v in choices.items() if v > 0 and pid in costs}
    if kind == "knapsack":
        spent, limit = sum(costs[p] for p in chosen), district["budget"]
    elif kind == "quadratic":
        spent, limit = sum(v * v for v in chosen.values()), method["credits"]
    elif kind == "cumulative":
        spent, limit = sum(chosen.values()), method["points"]
    else:
        spent, limit = len(chosen), method.get("max_choices")
    next_cost = {pid: 2 * chosen.get(pid, 0) + 1 for pid in costs} if kind == "quadratic" else {}
    return Feedback(kind, len(chosen), method.get("max_choices"), spent, limit, next_cost)


@dataclass(frozen=True)
class Receipt:
    round_id: int
    code: str
    seq: int
    hash: str


@dataclass(frozen=True)
class Ballot:
    """A ballot checked against the round's configuration, ready to be appended: everything
    the serialized append needs, worked out before it."""

    round_id: int
    slot: str
    channel: str
    config: dict[str, Any]  # the configuration it was checked against
    config_sha256: str
    record: dict[str, Any]  # the ballot record, but its seq


def _check_open(rnd: Round, slot: str, channel: str, today: dt.date) -> None:
    phase = rounds.effective_phase(rnd, today)
    if phase not in _OPEN[channel]:
        raise VotingClosed(rnd.id)
    if slot not in slots(rnd):
        raise NotFound(f"slot {slot}")


# Paper ballots cast in person may be entered after the last day, until results are published.
_OPEN = {"online": (Phase.VOTING,), "paper": (Phase.VOTING, Phase.CLOSED)}


def check_ballot(
    rnd: Round,
    config: dict[str, Any],
    slot: str,
    district_key: str,
    choices: dict[str, int],
    channel: str,
    today: dt.date,
    receipt: str | None = None,
) -> Ballot:
    """Check a ballot against the round and its configuration (:func:`config_of`), without
    touching the database. Its receipt code is ``receipt`` (drawn when the voter reviewed the
    ballot: see :func:`find_cast`) or a new one. Raises :class:`VotingClosed`,
    :class:`NotFound` or :class:`ValidationError`."""
    _check_open(rnd, slot, channel, today)
    district = district_of(config, slot, district_key)
    errors = validate_choices(config, district, choices)
    if errors:
        raise ValidationError(errors)
    chosen = {pid: v for pid, v in sorted(choices.items()) if v > 0}
    assert not ballot_problems(config, district, chosen), "web and audit disagree on a ballot"
    code = receipt or new_receipt_code()
    record = ballot_record(1, district_key, code, chosen, today, channel)
    del record["seq"]
    return Ballot(rnd.id, slot, channel, config, rnd.config_sha256 or config_sha256(config), record)


def prepare(
    session: Session,
    round_id: int,
    slot: str,
    district_key: str,
    choices: dict[str, int],
    channel: str,
    today: dt.date,
) -> Ballot:
    """Load the round and check a ballot (:func:`check_ballot`)."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFound(f"round {round_id}")
    return check_ballot(rnd, config_of(session, rnd), slot, district_key, choices, channel, today)


def append(session: Session, ballot: Ballot, voter: str) -> Receipt:
    """Cast a checked ballot: the participation row and the chained record, in the session's
    transaction. ``voter`` is the keyed voter hash (:func:`voter_key`). Raises
    :class:`AlreadyVoted`, :class:`VotingClosed` or :class:`NotFound`; then nothing is kept."""
    (outcome,) = append_many(session, [(ballot, voter)])
    if isinstance(outcome, PbError):
        raise outcome
    return outcome


def append_many(session: Session, casts: list[tuple[Ballot, str]]) -> list[Receipt | PbError]:
    """Cast checked ballots ``(ballot, voter key)`` in the session's transaction, holding each
    round's lock once for all of its ballots (a group commit: see :class:`pb.db.WriteBatcher`).
    Returns, in order, each ballot's receipt or why it was refused (:class:`AlreadyVoted`,
    :class:`VotingClosed`); a refused ballot leaves nothing, the others go in.

    The ballots may have been checked in an earlier transaction: under the round's lock the
    round is read again, and a ballot only goes in if the round still takes it and the
    configuration it was checked against is the locked one (the first ballot locks it). The
    round's dates need no second look: they cannot change once voting has opened.
    """
    outcomes: list[Receipt | PbError | None] = [None] * len(casts)
    by_round: dict[int, list[int]] = {}
    for n, (ballot, _voter) in enumerate(casts):
        by_round.setdefault(ballot.round_id, []).append(n)
    log = ballot_log.Appender(session)
    try:
        for round_id in sorted(by_round):  # one lock order: no deadlock between batches
            # The participation rows first: on PostgreSQL before queueing for the round's lock,
            # whose turns this keeps short (a ballot refused below withdraws its row).
            keys = {n: (casts[n][0].slot, casts[n][1]) for n in by_round[round_id]}
            inserted = log.participate(round_id, list(dict.fromkeys(keys.values())))
            fresh = []
            for n, key in keys.items():
                if key in inserted:
                    inserted.discard(key)  # the same voter twice in one batch: the first
                    fresh.append(n)
                else:
                    outcomes[n] = AlreadyVoted(round_id)
            if not fresh:
                continue
            state = log.lock(round_id)
            if state is None:  # gone (the participation rows' foreign key would say so first)
                raise NotFound(f"round {round_id}")
            locked_sha, override = state
            if locked_sha is None:  # the first ballot freezes the configuration
                rnd = session.get(Round, round_id)
                assert rnd is not None
                locked_sha = rounds.lock(session, rnd)
                session.flush()
            accepted, withdrawn = [], []
            for n in fresh:
                ballot = casts[n][0]
                if override is not None and override.rank > _OPEN[ballot.channel][-1].rank:
                    outcomes[n] = VotingClosed(round_id)
                    withdrawn.append(keys[n])
                elif ballot.config_sha256 != locked_sha:
                    # Cannot happen (the configuration is frozen when voting opens), but must
                    # not be chained if it did: the ballot was checked against another one.
                    outcomes[n] = VotingClosed(round_id)
                    withdrawn.append(keys[n])
                else:
                    accepted.append(n)
            log.withdraw(round_id, withdrawn)
            if not accepted:
                continue
            records = [casts[n][0].record for n in accepted]
            chained = log.append(round_id, records, casts[accepted[0]][0].config)
            for n, (seq, digest) in zip(accepted, chained, strict=True):
                outcomes[n] = Receipt(round_id, casts[n][0].record["receipt"], seq, digest)
    finally:
        log.close()
    return [outcome for outcome in outcomes if outcome is not None]


def find_cast(
    session: Session, round_id: int, district_key: str, receipt: str, choices: dict[str, int]
) -> Receipt | None:
    """The online ballot of the round with receipt code ``receipt``, if it holds exactly
    ``choices`` in ``district_key``: a voter who has already voted and sends the same cast
    again (its answer was lost) gets their receipt back instead of "already cast".

    No new link between voters and ballots is stored for this. The code was drawn when the
    voter reviewed their ballot and reached them signed and bound to them and to these choices
    (:mod:`pb.web.views.voting`); whoever can present it is that voter, retrying that cast."""
    row = session.execute(
        select(BallotRecord.seq, BallotRecord.hash, BallotRecord.record).where(
            BallotRecord.round_id == round_id,
            BallotRecord.receipt == receipt,
            BallotRecord.kind == "ballot",
        )
    ).first()
    if row is None:
        return None
    record = json.loads(row.record)
    chosen = {pid: v for pid, v in choices.items() if v > 0}
    if (
        record.get("district") != district_key
        or record.get("channel") != "online"
        or record.get("choices") != chosen
    ):
        return None
    return Receipt(round_id, receipt, row.seq, row.hash)


def cast(
    session: Session,
    round_id: int,
    slot: str,
    district_key: str,
    voter: str,
    choices: dict[str, int],
    channel: str,
    today: dt.date,
) -> Receipt:
    """Check and cast one ballot in this one transaction (:func:`prepare`, :func:`append`).

    Raises :class:`VotingClosed`, :class:`AlreadyVoted`, :class:`ValidationError` or
    :class:`NotFound`; then nothing is kept."""
    ballot = prepare(session, round_id, slot, district_key, choices, channel, today)
    return append(session, ballot, voter)


def cast_paper(
    session: Session,
    actor_id: int,
    round_id: int,
    slot: str,
    district_key: str,
    voter: str,
    choices: dict[str, int],
    today: dt.date,
) -> Receipt:
    """Cast a paper ballot entered by staff member ``actor_id`` (:func:`cast`), and write to
    the audit log who entered a paper ballot, in which round and district: never its choices,
    its receipt or its voter."""
    receipt = cast(session, round_id, slot, district_key, voter, choices, "paper", today)
    audit.record(
        session, actor_id, "ballot.paper", f"round:{round_id}", after={"district": district_key}
    )
    return receipt


def cast_slots(session: Session, round_id: int, voter: str) -> set[str]:
    return set(
        session.scalars(
            select(Participation.slot).where(
                Participation.round_id == round_id, Participation.voter_key == voter
            )
        )
    )
