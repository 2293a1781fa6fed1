"""A believable demo town: four districts, one account of every role, and a round in each
phase with real-looking proposals and projects."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb import clock
from pb.models import (
    Category,
    District,
    Eligibility,
    Proposal,
    ProposalStatus,
    Role,
    Round,
    Town,
    VotingMethod,
    VotingScope,
)
from pb.services import (
    accounts,
    demo_collection,
    demo_funding,
    demo_geo,
    demo_photos,
    demo_texts,
    demo_tracking,
    results,
    rounds,
    voting,
)
from pb.services.rounds import RoundInput


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role
    name: str


# Well-known passwords: the demo is for trying pb out, never for a real vote.
DEMO_LOGINS = (
    DemoLogin("admin@demo.pb", "demo-admin-pass", Role.ADMIN, "Ada Admin"),
    DemoLogin("staff@demo.pb", "demo-staff-pass", Role.STAFF, "Sam Staff"),
    DemoLogin("auditor@demo.pb", "demo-auditor-pass", Role.AUDITOR, "Alex Auditor"),
    DemoLogin("resident@demo.pb", "demo-resident-pass", Role.RESIDENT, "Rosa Resident"),
)
POPULATIONS = (8400, 12100, 9600, 15300)  # of the four districts, in the texts' order

# (cost in euros, district index or None for city-wide, category index) of each idea; the
# titles and summaries are in the demo texts, in the same order.
IDEAS = (
    (48_000, 0, 0),
    (160_000, 1, 1),
    (14_000, None, 2),
    (65_000, 2, 3),
    (22_000, 3, 4),
    (28_000, 1, 0),
    (90_000, None, 1),
    (35_000, 3, 0),
    (54_000, 2, 3),
    (12_000, 2, 4),
    (25_000, 0, 2),
    (120_000, None, 1),
)


def _round(
    today: dt.date,
    title: str,
    description: str,
    start: int,
    review: int,
    vote: int,
    until: int,
    method: VotingMethod,
    rule: str,
    scope: VotingScope,
    district_ids: list[int],
    categories: list[str],
    **limits: int,
) -> RoundInput:
    def day(offset: int) -> dt.date:
        return today + dt.timedelta(days=offset)

    citywide = 200_000_00 if scope is not VotingScope.DISTRICT else 0
    per_district = 100_000_00 if scope is not VotingScope.CITYWIDE else 0
    budgets = {d: per_district for d in district_ids}
    return RoundInput(
        title=title,
        description=description,
        currency="EUR",
        total_budget=citywide + per_district * len(district_ids),
        citywide_budget=citywide,
        district_budgets=budgets,
        proposals_from=day(start),
        review_from=day(review),
        voting_from=day(vote),
        voting_until=day(until),
        method=method,
        rule=rule,
        eligibility=Eligibility.ACCOUNT,
        scope=scope,
        categories=categories,
        **limits,
    )


def _add_proposals(
    session: Session,
    round_id: int,
    author_id: int,
    district_ids: list[int],
    statuses: list[ProposalStatus],
    citywide: bool,
    districts: bool,
    texts: dict[str, Any],
) -> None:
    categories = {
        c.name: c.id for c in session.scalars(select(Category).where(Category.round_id == round_id))
    }
    now = clock.now()
    kept: Proposal | None = None
    words = texts["proposal"]
    ideas = [(*words_of, *numbers) for words_of, numbers in zip(texts["ideas"], IDEAS, strict=True)]
    for (title, summary, euros, district, category), status in zip(ideas, statuses, strict=False):
        district_id = None if district is None else district_ids[district]
        if (district_id is None and not citywide) or (district_id is not None and not districts):
            continue
        p = Proposal(
            round_id=round_id,
            author_id=author_id,
            title=title,
            summary=summary,
            description=summary + "\n\n" + words["support"],
            need=words["need"],
            beneficiaries=words["beneficiaries"],
            partners=words["partners"],
            estimated_cost=euros * 100,
            district_id=district_id,
            category_id=categories[texts["categories"][category]],
            place=words["place"],
            status=status,
            created_at=now,
            updated_at=now,
        )
        if status is ProposalStatus.ACCEPTED:
            p.feasible_cost = euros * 100 + (euros * 100) // 10  # staff's estimate adds 10 %
        elif status is ProposalStatus.REJECTED:
            p.reject_reason = words["reject_reason"]
        elif status is ProposalStatus.MERGED and kept is not None:
            p.merged_into_id = kept.id
        session.add(p)
        session.flush()
        if status is ProposalStatus.ACCEPTED and kept is None:
            kept = p


def load_demo(
    session: Session,
    password_hashes: dict[str, str],
    today: dt.date,
    secret_key: str = "",
    locale: str = "en",
) -> None:
    """Create the demo town. ``password_hashes`` maps each demo email to its argon2 hash;
    ``locale`` is the language of its texts (one of :data:`demo_texts.LOCALES`), which the demo
    accounts also get as their language."""
    texts = demo_texts.load(locale)
    town = Town(name="Lindenfeld", currency="EUR")
    session.add(town)
    session.flush()
    session.add_all(
        District(town_id=town.id, name=n, population=p)
        for n, p in zip(texts["districts"], POPULATIONS, strict=True)
    )
    session.flush()
    users = {
        login.role: accounts.create_user(
            session,
            login.email,
            login.name,
            password_hashes[login.email],
            login.role,
            verified=True,
        )
        for login in DEMO_LOGINS
    }
    if locale != "en":
        for user in users.values():
            user.locale = locale
    staff, resident = users[Role.STAFF].id, users[Role.RESIDENT].id
    district_ids = list(session.scalars(select(District.id).order_by(District.id)))
    every = [ProposalStatus.ACCEPTED] * len(IDEAS)
    titles: list[str] = [title for title, _ in texts["rounds"]]
    abouts: list[str] = [about for _, about in texts["rounds"]]
    plans = (
        (
            _round(
                today,
                titles[0],
                abouts[0],
                -10,
                20,
                40,
                55,
                VotingMethod.APPROVAL,
                "greedy",
                VotingScope.BOTH,
                district_ids,
                texts["categories"],
                min_choices=1,
                max_choices=5,
            ),
            [ProposalStatus.SUBMITTED] * len(IDEAS),
        ),
        (
            _round(
                today,
                titles[1],
                abouts[1],
                -60,
                -10,
                15,
                30,
                VotingMethod.KNAPSACK,
                "equalshares/add1",
                VotingScope.DISTRICT,
                district_ids,
                texts["categories"],
            ),
            [
                ProposalStatus.ACCEPTED,
                ProposalStatus.REJECTED,
                ProposalStatus.SUBMITTED,
                ProposalStatus.ACCEPTED,
                ProposalStatus.MERGED,
                ProposalStatus.ACCEPTED,
            ]
            * 2,
        ),
        (
            _round(
                today,
                titles[2],
                abouts[2],
                -120,
                -80,
                -5,
                10,
                VotingMethod.APPROVAL,
                "greedy",
                VotingScope.BOTH,
                district_ids,
                texts["categories"],
                min_choices=1,
                max_choices=3,
            ),
            every,
        ),
        (
            _round(
                today,
                titles[3],
                abouts[3],
                -400,
                -360,
                -320,
                -300,
                VotingMethod.QUADRATIC,
                "equalshares/add1",
                VotingScope.BOTH,
                district_ids,
                texts["categories"],
                credits=100,
            ),
            every,
        ),
    )
    made = []
    for data, statuses in plans:
        rnd = rounds.create_round(session, staff, data)
        _add_proposals(
            session,
            rnd.id,
            resident,
            district_ids,
            statuses,
            citywide=data.scope is not VotingScope.DISTRICT,
            districts=data.scope is not VotingScope.CITYWIDE,
            texts=texts,
        )
        if rounds.is_locked(rnd, today):
            rounds.lock(session, rnd)
        made.append(rnd)
    demo_geo.load_geo_demo(session, texts)  # boundaries and project places, for the rounds' maps
    # Pictures on the open ballot and on a few ideas still being proposed.
    demo_photos.add_demo_photos(session, staff, made[2].id, 5, today, texts["photo_alt"])
    demo_photos.add_demo_photos(session, staff, made[0].id, 2, today, texts["photo_alt"])
    _cast_demo_ballots(session, made[2], 120, today)
    last_year = made[3]
    _cast_demo_ballots(session, last_year, 400, today)
    results.tally_round(session, staff, last_year.id, today)
    results.publish(session, staff, last_year.id, today)
    # The funding calls' ids by phase: the hook for collection and published matches.
    funding_calls = demo_funding.load_funding_demo(
        session,
        staff,
        resident,
        password_hashes["resident@demo.pb"],
        last_year,
        today,
        texts,
    )
    # The bundle's backer pseudonyms are keyed with the server's secret key.
    demo_collection.load_collection_demo(
        session, staff, funding_calls["collecting"], today, secret_key, texts, locale
    )
    # After the vote: last year's funded projects, carried out and measured.
    demo_tracking.load_tracking_demo(
        session,
        staff,
        resident,
        last_year.id,
        today,
        secret_key,
        texts["photo_alt"],
        tuple(texts["categories"]),
    )


def _cast_demo_ballots(session: Session, rnd: Round, count: int, today: dt.date) -> None:
    """Believable ballots, spread over the voting days, some of them on paper."""
    rng = random.Random(rnd.id)  # noqa: S311 - demo data, not security
    config = voting.config_of(session, rnd)
    method = config["method"]
    days = (min(rnd.voting_until, today) - rnd.voting_from).days + 1
    for n in range(count):
        day = rnd.voting_from + dt.timedelta(days=int(days * rng.random() ** 1.5))
        voter = voting.voter_key("demo", rnd.id, f"demo:{n}")
        channel = "paper" if rng.random() < 0.12 else "online"
        for slot in voting.slots(rnd):
            keys = [
                d["key"]
                for d in config["districts"]
                if (d["key"] == voting.CITYWIDE) == (slot == voting.CITYWIDE)
            ]
            key = rng.choice(keys)
            district = next(d for d in config["districts"] if d["key"] == key)
            ids = [p["id"] for p in district["projects"]]
            # A few projects are much more popular than others, as in real votes.
            weights = [1 / (k + 1) for k in range(len(ids))]
            choices = _demo_choices(rng, method, ids, weights)
            if voting.validate_choices(config, district, choices):
                continue
            voting.cast(session, rnd.id, slot, key, voter, choices, channel, day)


def _demo_choices(
    rng: random.Random, method: dict[str, Any], ids: list[str], weights: list[float]
) -> dict[str, int]:
    kind = method["kind"]
    if kind in ("approval", "knapsack"):
        high = min(method.get("max_choices") or 3, len(ids))
        picked = set(rng.choices(ids, weights, k=rng.randint(1, high)))
        return {pid: 1 for pid in picked}
    limit = int(method.get("credits") or method.get("points") or 10)
    choices: dict[str, int] = {}
    for pid in rng.choices(ids, weights, k=6):
        trial = {**choices, pid: choices.get(pid, 0) + 1}
        cost = sum(v * v for v in trial.values()) if kind == "quadratic" else sum(trial.values())
        if cost <= limit:
            choices = trial
    return choices
