"""Rounds: configuration, validation, phases, duplication and the lock when voting opens."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from babel.numbers import get_currency_precision
from sqlalchemy import select
from sqlalchemy.orm import Session

from pb import clock
from pb.audit import canonical_bytes, check_config, config_sha256
from pb.errors import NotFound, PbError, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    Category,
    District,
    Eligibility,
    Phase,
    Proposal,
    ProposalStatus,
    Round,
    RoundDistrict,
    VotingMethod,
    VotingScope,
)
from pb.services import audit, ballot_log

RULES = (
    "greedy",
    "greedy-no-skip",
    "greedy-threshold",
    "equalshares",
    "equalshares/add1",
    "equalshares/add1-comparison",
)
TIE_BREAK = "lower-cost, higher-score, natural-id"
APPROVAL_ONLY_RULES = ("equalshares/add1-comparison",)


class RoundLocked(PbError):
    """The round's configuration is locked because voting has opened."""


@dataclass
class RoundInput:
    """A round's configuration as plain values (money in minor units)."""

    title: str
    description: str
    currency: str
    total_budget: int
    citywide_budget: int
    district_budgets: dict[int, int]
    proposals_from: dt.date
    review_from: dt.date
    voting_from: dt.date
    voting_until: dt.date
    method: VotingMethod
    rule: str
    eligibility: Eligibility
    scope: VotingScope
    min_choices: int | None = None
    max_choices: int | None = None
    credits: int | None = None
    points: int | None = None
    max_per_project: int | None = None
    min_score_threshold: int | None = None
    categories: list[str] = field(default_factory=list)


def effective_phase(rnd: Round, today: dt.date) -> Phase:
    """The phase the dates give, or the one staff opened early, whichever is further along."""
    if today < rnd.proposals_from:
        by_date = Phase.DRAFT
    elif today < rnd.review_from:
        by_date = Phase.PROPOSALS
    elif today < rnd.voting_from:
        by_date = Phase.REVIEW
    elif today <= rnd.voting_until:
        by_date = Phase.VOTING
    else:
        by_date = Phase.CLOSED
    if rnd.phase_override is not None and rnd.phase_override.rank > by_date.rank:
        return rnd.phase_override
    return by_date


def is_locked(rnd: Round, today: dt.date) -> bool:
    return effective_phase(rnd, today).rank >= Phase.VOTING.rank


def validate(data: RoundInput, district_ids: set[int]) -> dict[str, str]:
    """Every incoherence in a configuration, as messages keyed by form field."""
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Give the round a title.")
    elif len(data.title) > 200:
        errors["title"] = _("Use at most %(n)s characters.", n=200)
    if len(data.description) > 20_000:
        errors["description"] = _("Use at most %(n)s characters.", n=20_000)
    if not re.fullmatch(r"[A-Z]{3}", data.currency):
        errors["currency"] = _("Use a three-letter currency code such as EUR.")
    # Dates in order.
    if not data.proposals_from < data.review_from:
        errors["review_from"] = _("Review must start after proposals open.")
    elif not data.review_from <= data.voting_from:
        errors["voting_from"] = _("Voting must start once review has started.")
    if not data.voting_from <= data.voting_until:
        errors["voting_until"] = _("Voting must end on or after the day it opens.")
    # Budgets that add up and fit the scope.
    unknown = set(data.district_budgets) - district_ids
    if unknown:
        errors["district_budgets"] = _("Unknown district.")
    if any(b < 0 for b in data.district_budgets.values()) or data.citywide_budget < 0:
        errors["total_budget"] = _("Budgets cannot be negative.")
    districts_total = sum(data.district_budgets.values())
    if data.citywide_budget + districts_total != data.total_budget:
        errors["total_budget"] = _(
            "The city-wide budget and the district budgets must add up to the total budget."
        )
    if data.scope in (VotingScope.CITYWIDE, VotingScope.BOTH) and data.citywide_budget <= 0:
        errors["citywide_budget"] = _("A city-wide vote needs a city-wide budget.")
    if data.scope is VotingScope.CITYWIDE and districts_total > 0:
        errors["district_budgets"] = _(
            "District budgets are only used when residents vote in their district."
        )
    if data.scope in (VotingScope.DISTRICT, VotingScope.BOTH) and districts_total <= 0:
        errors["district_budgets"] = _("A district vote needs at least one district budget.")
    if data.scope is VotingScope.DISTRICT and data.citywide_budget > 0:
        errors["citywide_budget"] = _(
            "A district-only vote has no city-wide budget; set it to 0 or vote city-wide too."
        )
    # The voting method's limits.
    if data.method is VotingMethod.APPROVAL:
        low, high = data.min_choices or 0, data.max_choices
        if low < 0:
            errors["min_choices"] = _("Use a number of 0 or more.")
        if high is None or high < 1:
            errors["max_choices"] = _("Voters must be able to choose at least one project.")
        elif high < low:
            errors["max_choices"] = _("The most choices cannot be fewer than the fewest choices.")
    if data.method is VotingMethod.QUADRATIC and (data.credits is None or data.credits <= 0):
        errors["credits"] = _("Give each voter more than 0 voice credits.")
    if data.method is VotingMethod.CUMULATIVE:
        if data.points is None or data.points <= 0:
            errors["points"] = _("Give each voter more than 0 points.")
        elif data.max_per_project is not None and not 1 <= data.max_per_project <= data.points:
            errors["max_per_project"] = _(
                "The most points for one project must be between 1 and the points allowed."
            )
    # A rule the method can use.
    if data.rule not in RULES:
        errors["rule"] = _("Choose a tally rule.")
    elif data.rule in APPROVAL_ONLY_RULES and data.method not in (
        VotingMethod.APPROVAL,
        VotingMethod.KNAPSACK,
    ):
        errors["rule"] = _("The comparison step only works with approval ballots.")
    if data.rule == "greedy-threshold" and (
        data.min_score_threshold is None or data.min_score_threshold < 1
    ):
        errors["min_score_threshold"] = _("Set the lowest score a project needs (1 or more).")
    names = [c.strip() for c in data.categories if c.strip()]
    if len({n.lower() for n in names}) != len(names):
        errors["categories"] = _("Each category must appear once.")
    elif any(len(n) > 80 for n in names):
        errors["categories"] = _("Use at most %(n)s characters.", n=80)
    return errors


def _district_ids(session: Session) -> set[int]:
    return set(session.scalars(select(District.id)))


def snapshot(session: Session, rnd: Round) -> dict[str, Any]:
    """The configuration as a plain dict, for the audit log's before/after."""
    budgets = {
        str(d): b
        for d, b in session.execute(
            select(RoundDistrict.district_id, RoundDistrict.budget).where(
                RoundDistrict.round_id == rnd.id
            )
        )
    }
    out: dict[str, Any] = {
        c: getattr(rnd, c)
        for c in (
            "title",
            "description",
            "currency",
            "total_budget",
            "citywide_budget",
            "min_choices",
            "max_choices",
            "credits",
            "points",
            "max_per_project",
            "rule",
            "min_score_threshold",
        )
    }
    for c in ("proposals_from", "review_from", "voting_from", "voting_until"):
        out[c] = getattr(rnd, c).isoformat()
    for c in ("method", "eligibility", "scope"):
        out[c] = getattr(rnd, c).value
    out["district_budgets"] = budgets
    out["categories"] = sorted(
        session.scalars(select(Category.name).where(Category.round_id == rnd.id))
    )
    return out


def _apply(session: Session, rnd: Round, data: RoundInput) -> None:
    _apply_fields(rnd, data)
    _apply_children(session, rnd, data)


def _apply_fields(rnd: Round, data: RoundInput) -> None:
    for name in (
        "title",
        "description",
        "currency",
        "total_budget",
        "citywide_budget",
        "proposals_from",
        "review_from",
        "voting_from",
        "voting_until",
        "method",
        "rule",
        "eligibility",
        "scope",
        "min_choices",
        "max_choices",
        "credits",
        "points",
        "max_per_project",
        "min_score_threshold",
    ):
        setattr(rnd, name, getattr(data, name))
    rnd.title = data.title.strip()


def _apply_children(session: Session, rnd: Round, data: RoundInput) -> None:
    existing = {
        rd.district_id: rd
        for rd in session.scalars(select(RoundDistrict).where(RoundDistrict.round_id == rnd.id))
    }
    for district_id, budget in data.district_budgets.items():
        if district_id in existing:
            existing[district_id].budget = budget
        else:
            session.add(RoundDistrict(round_id=rnd.id, district_id=district_id, budget=budget))
    wanted = {c.strip() for c in data.categories if c.strip()}
    current = {
        c.name: c for c in session.scalars(select(Category).where(Category.round_id == rnd.id))
    }
    for name in wanted - set(current):
        session.add(Category(round_id=rnd.id, name=name))
    for name in set(current) - wanted:
        used = session.scalar(
            select(Proposal.id).where(Proposal.category_id == current[name].id).limit(1)
        )
        if used is None:
            session.delete(current[name])


def create_round(session: Session, actor_id: int, data: RoundInput) -> Round:
    errors = validate(data, _district_ids(session))
    if errors:
        raise ValidationError(errors)
    rnd = Round(
        title="",
        description="",
        currency="EUR",
        total_budget=0,
        citywide_budget=0,
        tie_break=TIE_BREAK,
        created_at=clock.now(),
    )
    _apply_fields(rnd, data)
    session.add(rnd)
    session.flush()
    _apply_children(session, rnd, data)  # district budgets and categories need the round's id
    session.flush()
    audit.record(session, actor_id, "round.create", f"round:{rnd.id}", after=snapshot(session, rnd))
    return rnd


def get_round(session: Session, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFound(f"round {round_id}")
    return rnd


@dataclass(frozen=True)
class Visibility:
    draft: bool  # a draft: only staff may see it
    settled: bool  # its rules are locked: it can never be a draft again


def visibility(
    session: Session, today: dt.date, round_id: int | None = None, proposal_id: int | None = None
) -> Visibility:
    """Whether a round (given, or the one of a proposal) is a draft, which only staff may see.
    A missing round is neither. Reads three columns: it runs before every round-scoped page
    for non-staff (and the answer for a locked round may be kept: it cannot change)."""
    query = select(Round.proposals_from, Round.phase_override, Round.config_sha256)
    if round_id is not None:
        query = query.where(Round.id == round_id)
    else:
        query = query.join(Proposal, Proposal.round_id == Round.id).where(
            Proposal.id == proposal_id
        )
    row = session.execute(query).first()
    if row is None:
        return Visibility(draft=False, settled=False)
    proposals_from, override, locked = row
    # As effective_phase: the dates say draft, and staff opened no later phase.
    draft = today < proposals_from and (override is None or override is Phase.DRAFT)
    return Visibility(draft=draft, settled=locked is not None)


def update_round(
    session: Session, actor_id: int, round_id: int, data: RoundInput, today: dt.date
) -> Round:
    rnd = get_round(session, round_id)
    if is_locked(rnd, today):
        raise RoundLocked(round_id)
    errors = validate(data, _district_ids(session))
    if errors:
        raise ValidationError(errors)
    before = snapshot(session, rnd)
    _apply(session, rnd, data)
    session.flush()
    after = snapshot(session, rnd)
    if before != after:
        audit.record(session, actor_id, "round.update", f"round:{rnd.id}", before, after)
    return rnd


def record_refused_change(
    session: Session, actor_id: int, round_id: int, action: str, attempted: dict[str, Any]
) -> None:
    """Log an attempt to change a locked round (in its own transaction, so it survives)."""
    audit.record(
        session,
        actor_id,
        "round.change_refused",
        f"round:{round_id}",
        before={"action": action},
        after=attempted,
    )


def round_input(session: Session, rnd: Round) -> RoundInput:
    """A round's configuration as a form-ready :class:`RoundInput`."""
    budgets = {
        district_id: budget
        for district_id, budget in session.execute(
            select(RoundDistrict.district_id, RoundDistrict.budget).where(
                RoundDistrict.round_id == rnd.id
            )
        ).all()
    }
    categories = sorted(session.scalars(select(Category.name).where(Category.round_id == rnd.id)))
    return RoundInput(
        title=rnd.title,
        description=rnd.description,
        currency=rnd.currency,
        total_budget=rnd.total_budget,
        citywide_budget=rnd.citywide_budget,
        district_budgets=budgets,
        proposals_from=rnd.proposals_from,
        review_from=rnd.review_from,
        voting_from=rnd.voting_from,
        voting_until=rnd.voting_until,
        method=rnd.method,
        rule=rnd.rule,
        eligibility=rnd.eligibility,
        scope=rnd.scope,
        min_choices=rnd.min_choices,
        max_choices=rnd.max_choices,
        credits=rnd.credits,
        points=rnd.points,
        max_per_project=rnd.max_per_project,
        min_score_threshold=rnd.min_score_threshold,
        categories=categories,
    )


def _shift_year(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def duplicate_round(session: Session, actor_id: int, round_id: int, today: dt.date) -> Round:
    """Copy a round's configuration (not its proposals), dates moved on whole years until the
    proposal phase starts in the future."""
    source = get_round(session, round_id)
    data = round_input(session, source)
    years = 1
    while _shift_year(data.proposals_from, years) <= today:
        years += 1
    copy = replace(
        data,
        title=_("%(title)s (copy)", title=data.title)[:200],
        proposals_from=_shift_year(data.proposals_from, years),
        review_from=_shift_year(data.review_from, years),
        voting_from=_shift_year(data.voting_from, years),
        voting_until=_shift_year(data.voting_until, years),
    )
    rnd = create_round(session, actor_id, copy)
    audit.record(
        session, actor_id, "round.duplicate", f"round:{rnd.id}", before={"from_round": source.id}
    )
    return rnd


NEXT_PHASE = {
    Phase.DRAFT: Phase.PROPOSALS,
    Phase.PROPOSALS: Phase.REVIEW,
    Phase.REVIEW: Phase.VOTING,
    Phase.VOTING: Phase.CLOSED,
}


def advance_phase(session: Session, actor_id: int, round_id: int, today: dt.date) -> Phase:
    """Open the next phase now (closing the current one early)."""
    rnd = get_round(session, round_id)
    current = effective_phase(rnd, today)
    following = NEXT_PHASE.get(current)
    if following is None:
        raise ValidationError({"": _("This round has no next phase to open.")})
    if following is Phase.VOTING:
        check_ready_for_voting(session, rnd)
    rnd.phase_override = following
    audit.record(
        session,
        actor_id,
        "round.phase",
        f"round:{rnd.id}",
        before={"phase": current.value},
        after={"phase": following.value},
    )
    if following is Phase.VOTING:
        lock(session, rnd)
    if current is Phase.VOTING:
        ballot_log.seal_participation(session, rnd.id)
    return following


def check_ready_for_voting(session: Session, rnd: Round) -> None:
    """Refuse to open voting on a ballot residents could not fill: one with no project."""
    if not ballot_projects(session, rnd.id):
        raise ValidationError({"": _("Accept at least one proposal before voting opens.")})
    empty = empty_ballots(session, rnd)
    if empty:
        raise ValidationError(
            {
                "": _(
                    "These ballots have no accepted project: %(names)s. Accept a project for "
                    "each, or give the district no budget, before voting opens.",
                    names=", ".join(empty),
                )
            }
        )


def _ballot_name(district: dict[str, Any]) -> str:
    return _("City-wide") if district["key"] == "citywide" else str(district["name"])


def empty_ballots(session: Session, rnd: Round) -> list[str]:
    """The names of the ballots of ``rnd`` that have no accepted project."""
    return [
        _ballot_name(d) for d in canonical_config(session, rnd)["districts"] if not d["projects"]
    ]


def ballot_warnings(session: Session, rnd: Round) -> list[str]:
    """What staff should fix before voting opens: ballots without a project, and projects that
    cost more than their ballot's whole budget (they could never be funded)."""
    warnings = []
    empty = empty_ballots(session, rnd)
    if empty:
        warnings.append(
            _(
                "These ballots have no accepted project yet: %(names)s. Voting cannot open "
                "until each has one.",
                names=", ".join(empty),
            )
        )
    for district in canonical_config(session, rnd)["districts"]:
        for project in district["projects"]:
            if project["cost"] > district["budget"]:
                warnings.append(
                    _(
                        "“%(title)s” costs more than the whole budget of %(ballot)s: it can "
                        "never be funded.",
                        title=project["title"],
                        ballot=_ballot_name(district),
                    )
                )
    return warnings


def ballot_projects(session: Session, round_id: int) -> list[Proposal]:
    """The projects on the ballot: accepted proposals, in id order."""
    return list(
        session.scalars(
            select(Proposal)
            .where(Proposal.round_id == round_id, Proposal.status == ProposalStatus.ACCEPTED)
            .order_by(Proposal.id)
        )
    )


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower())[:60].strip("-") or "district"


def district_keys(session: Session) -> dict[int, str]:
    """A stable, readable key per district: its name as a slug, unique. Names that give the
    same slug (names in Greek letters all give ``district``; "Nord" and "Nörd") keep it for the
    oldest district and add their id to it for the others, so adding a district never changes
    the key of one that exists."""
    keys: dict[int, str] = {}
    taken: set[str] = set()
    for district_id, name in session.execute(
        select(District.id, District.name).order_by(District.id)
    ):
        key = slugify(name)
        if key in taken:
            key = f"{key[:50]}-{district_id}"
        taken.add(key)
        keys[district_id] = key
    return keys


def canonical_config(session: Session, rnd: Round) -> dict[str, Any]:
    """The configuration that anchors the ballot log (the contract of docs/audit.md)."""
    keys = district_keys(session)
    names = {i: n for i, n in session.execute(select(District.id, District.name)).all()}
    projects = ballot_projects(session, rnd.id)
    districts: list[dict[str, Any]] = []

    def entry(key: str, name: str, budget: int, district_id: int | None) -> dict[str, Any]:
        return {
            "key": key,
            "name": name,
            "budget": budget,
            "projects": [
                {"id": str(p.id), "title": p.title, "cost": p.feasible_cost}
                for p in projects
                if p.district_id == district_id
            ],
        }

    if rnd.scope in (VotingScope.CITYWIDE, VotingScope.BOTH):
        districts.append(entry("citywide", "City-wide", rnd.citywide_budget, None))
    if rnd.scope in (VotingScope.DISTRICT, VotingScope.BOTH):
        rows = session.execute(
            select(RoundDistrict.district_id, RoundDistrict.budget)
            .where(RoundDistrict.round_id == rnd.id, RoundDistrict.budget > 0)
            .order_by(RoundDistrict.district_id)
        ).all()
        districts.extend(entry(keys[d], names[d], b, d) for d, b in rows)
    return {
        "round": {
            "id": str(rnd.id),
            "title": rnd.title,
            "currency": rnd.currency,
            # Money is in minor units; Add1 raises shares by one whole unit of the currency.
            "currency_unit": 10 ** get_currency_precision(rnd.currency),
        },
        "method": {
            "kind": rnd.method.value,
            "min_choices": rnd.min_choices,
            "max_choices": rnd.max_choices,
            "credits": rnd.credits,
            "points": rnd.points,
            "max_per_project": rnd.max_per_project,
        },
        "rule": rnd.rule,
        "min_project_score_threshold": rnd.min_score_threshold,
        "tie_break": rnd.tie_break,
        "eligibility": rnd.eligibility.value,
        "districts": districts,
    }


def lock(session: Session, rnd: Round) -> str:
    """Freeze the configuration (idempotent) and return its SHA-256."""
    if rnd.config_sha256 is not None:
        return rnd.config_sha256
    config = canonical_config(session, rnd)
    check_config(config)  # the contract auditors rely on (docs/audit.md)
    rnd.locked_config = canonical_bytes(config).decode()
    rnd.config_sha256 = config_sha256(config)
    rnd.locked_at = clock.now()
    audit.record(
        session, None, "round.lock", f"round:{rnd.id}", after={"config_sha256": rnd.config_sha256}
    )
    return rnd.config_sha256


def config_fingerprint(session: Session, rnd: Round, today: dt.date) -> str | None:
    """The locked configuration's SHA-256 once voting has opened (computed if not yet stored:
    nothing can change it any more, so the value is the one the lock will store)."""
    if rnd.config_sha256 is not None:
        return rnd.config_sha256
    if not is_locked(rnd, today):
        return None
    return config_sha256(canonical_config(session, rnd))


@dataclass(frozen=True)
class RoundSummary:
    id: int
    title: str
    phase: Phase
    currency: str
    total_budget: int
    proposals_from: dt.date
    voting_from: dt.date
    voting_until: dt.date


def list_rounds(session: Session, today: dt.date, include_drafts: bool) -> list[RoundSummary]:
    rounds = session.scalars(select(Round).order_by(Round.voting_from.desc(), Round.id.desc()))
    out = []
    for r in rounds:
        phase = effective_phase(r, today)
        if phase is Phase.DRAFT and not include_drafts:
            continue
        out.append(
            RoundSummary(
                r.id,
                r.title,
                phase,
                r.currency,
                r.total_budget,
                r.proposals_from,
                r.voting_from,
                r.voting_until,
            )
        )
    return out


@dataclass(frozen=True)
class BudgetLine:
    key: str
    name: str
    budget: int


def budget_lines(session: Session, rnd: Round) -> list[BudgetLine]:
    keys = district_keys(session)
    lines = []
    if rnd.citywide_budget > 0:
        lines.append(BudgetLine("citywide", _("City-wide"), rnd.citywide_budget))
    rows = session.execute(
        select(District.id, District.name, RoundDistrict.budget)
        .join(RoundDistrict, RoundDistrict.district_id == District.id)
        .where(RoundDistrict.round_id == rnd.id, RoundDistrict.budget > 0)
        .order_by(District.name)
    ).all()
    lines.extend(BudgetLine(keys[i], n, b) for i, n, b in rows)
    return lines


def area_budget(session: Session, rnd: Round, district_id: int | None) -> int:
    """The budget a project of ``district_id`` (None: city-wide) would come out of, in minor
    units: the district's own budget in ``rnd``, or the city-wide budget."""
    if district_id is None:
        return rnd.citywide_budget
    budget = session.scalar(
        select(RoundDistrict.budget).where(
            RoundDistrict.round_id == rnd.id, RoundDistrict.district_id == district_id
        )
    )
    return int(budget or 0)
