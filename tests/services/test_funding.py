"""Funding services: call validation and lock, campaigns, idempotent pledges and their running
totals, volunteer slots under concurrency."""

from __future__ import annotations

import dataclasses
import math
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from pb.config import Settings
from pb.db import Database
from pb.errors import ValidationError
from pb.models import (
    AuditEvent,
    CampaignTotals,
    Eligibility,
    Pledge,
    PledgeEvent,
    PledgeState,
    ProposalStatus,
    TaskSignup,
    VolunteerTask,
)
from pb.services.funding import board, calls, campaigns, pledges, tasks
from pb.services.funding.campaigns import CampaignInput
from pb.tally.funding import MatchingRule
from tests import frozen
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import make_user
from tests.funding_builders import (
    call_input,
    make_call,
    make_campaign,
    make_task,
    pledge,
)


def users(db: Database, settings: Settings, n: int) -> list[int]:
    return [make_user(db, settings, f"backer{i}@example.org") for i in range(n)]


def totals(db: Database, campaign_id: int) -> CampaignTotals:
    row = db.read_sync(lambda s: s.get(CampaignTotals, campaign_id))
    assert row is not None
    return row


# --- calls ------------------------------------------------------------------------------------


def test_call_validation_names_each_problem(db: Database) -> None:
    bad = call_input(
        "draft",
        title=" ",
        currency="euro",
        pool=-1,
        iban="FR76 3000 6000 0112 3456 7890 188",
        bic="NOTABIC",
        creditor_name="",
        eligibility=Eligibility.CENSUS,
        rule=MatchingRule("capped", per_pledge_cap=0),
    )
    bad = dataclasses.replace(bad, pledging_until=frozen.days(1), collection_until=frozen.days(0))
    with pytest.raises(ValidationError) as exc:
        db.write_sync(calls.create_call, None, bad)
    assert set(exc.value.errors) == {
        "title",
        "currency",
        "pool",
        "iban",
        "creditor_name",
        "eligibility",
        "per_pledge_cap",
        "pledging_until",
        "collection_until",
    }


def test_bic_must_be_valid_and_of_the_ibans_country(db: Database) -> None:
    with pytest.raises(ValidationError) as exc:
        db.write_sync(calls.create_call, None, call_input("draft", bic="COBADEFFXXX"))
    assert "another country" in exc.value.errors["bic"]
    with pytest.raises(ValidationError) as exc:
        db.write_sync(calls.create_call, None, call_input("draft", bic="NOT A BIC"))
    assert "bic" in exc.value.errors


def test_census_eligibility_only_for_a_call_of_a_census_round(
    db: Database, settings: Settings
) -> None:
    staff = make_user(db, settings, "staff@example.org")
    census_round = make_round(db, make_districts(db), staff, eligibility=Eligibility.CENSUS)
    ok = call_input("draft", eligibility=Eligibility.CENSUS, round_id=census_round)
    call_id = db.write_sync(lambda s: calls.create_call(s, staff, ok).id)
    assert db.read_sync(lambda s: calls.get_call(s, call_id).eligibility) is Eligibility.CENSUS


def test_rules_lock_with_the_first_pledge_and_then_refuse_changes(
    db: Database, settings: Settings
) -> None:
    (backer,) = users(db, settings, 1)
    call_id = make_call(db)
    campaign_id = make_campaign(db, call_id)
    assert db.read_sync(lambda s: calls.get_call(s, call_id).config_sha256) is None
    pledge(db, backer, campaign_id, 10_00)

    def read(session: Any) -> tuple[str | None, str | None, str]:
        call = calls.get_call(session, call_id)
        return (
            call.config_sha256,
            call.locked_config,
            calls.fingerprint(session, call, frozen.TODAY),
        )

    digest, config, shown = db.read_sync(read)
    assert digest is not None and digest == shown and config is not None
    assert '"goal":50000' in config and '"per_pledge_cap":null' in config
    with pytest.raises(calls.CallLocked):
        db.write_sync(calls.update_call, 1, call_id, call_input("pledging"), frozen.TODAY)
    with pytest.raises(calls.CallLocked):
        db.write_sync(
            campaigns.create_campaign,
            None,
            call_id,
            CampaignInput("Late", "", [("x", 1)]),
            frozen.TODAY,
        )
    pledge(db, backer, campaign_id, 5_00)  # a second pledge does not re-lock
    locks = db.read_sync(
        lambda s: s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "call.lock")
        )
    )
    assert locks == 1


def test_a_draft_call_can_be_edited_and_the_change_is_logged(
    db: Database, settings: Settings
) -> None:
    staff = make_user(db, settings, "staff@example.org")
    call_id = make_call(db, "draft")
    changed = call_input("draft", pool=20_000_00, rule=MatchingRule("capped", 50_00, 100_00))
    db.write_sync(calls.update_call, staff, call_id, changed, frozen.TODAY)
    call = db.read_sync(calls.get_call, call_id)
    assert call.pool == 20_000_00 and call.rule["per_resident_cap"] == 100_00
    assert call.iban == "FR7630006000011234567890189"
    events = db.read_sync(
        lambda s: list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    )
    assert events == ["call.create", "call.update"]


# --- campaigns --------------------------------------------------------------------------------


def test_minimum_defaults_to_the_sum_of_the_costs_and_optimum_is_checked(db: Database) -> None:
    call_id = make_call(db, "draft")
    campaign_id = make_campaign(db, call_id)
    card, _tasks = db.read_sync(board.card, campaign_id, frozen.TODAY)
    assert (card.minimum, card.goal, card.state) == (500_00, 500_00, "open")
    bad = CampaignInput("Bench", "", [("Wood", 100_00)], minimum=None, optimum=50_00)
    with pytest.raises(ValidationError) as exc:
        db.write_sync(campaigns.create_campaign, None, call_id, bad, frozen.TODAY)
    assert "optimum" in exc.value.errors
    with pytest.raises(ValidationError) as exc:
        db.write_sync(
            campaigns.create_campaign, None, call_id, CampaignInput("Nothing", ""), frozen.TODAY
        )
    assert "minimum" in exc.value.errors


def test_candidates_are_accepted_proposals_without_a_campaign(
    db: Database, settings: Settings
) -> None:
    staff = make_user(db, settings, "staff@example.org")
    rid = make_round(db, make_districts(db), staff)
    accepted = make_proposal(db, rid, staff, "Benches", status=ProposalStatus.ACCEPTED)
    make_proposal(db, rid, staff, "Rejected", status=ProposalStatus.REJECTED)
    other = make_proposal(db, rid, staff, "Lights", status=ProposalStatus.ACCEPTED)
    call_id = make_call(db, "draft", round_id=rid)
    data = db.read_sync(campaigns.proposal_input, accepted)
    assert data.title == "Benches" and data.costs == [("Benches", 10_000_00)]
    db.write_sync(campaigns.create_campaign, staff, call_id, data, frozen.TODAY)
    left = db.read_sync(
        lambda s: [p.id for p in campaigns.candidate_proposals(s, calls.get_call(s, call_id))]
    )
    assert left == [other]
    with pytest.raises(ValidationError):
        db.write_sync(campaigns.create_campaign, staff, call_id, data, frozen.TODAY)


# --- pledges ----------------------------------------------------------------------------------


def test_pledges_keep_running_totals_per_resident(db: Database, settings: Settings) -> None:
    a, b, c = users(db, settings, 3)
    campaign_id = make_campaign(db, make_call(db))
    pledge(db, a, campaign_id, 4_00)
    pledge(db, a, campaign_id, 5_00)  # the same resident again: one backer, 9 €
    pledge(db, b, campaign_id, 16_00)
    pledge(db, c, campaign_id, 25_00, eligible=False)
    t = totals(db, campaign_id)
    assert (t.backers, t.raised, t.match_backers, t.match_total) == (3, 50_00, 2, 25_00)
    assert math.isclose(t.match_sum_sqrt, math.sqrt(900) + math.sqrt(1600))
    card, _tasks = db.read_sync(board.card, campaign_id, frozen.TODAY)
    assert (card.raised, card.backers, card.percent) == (50_00, 3, 10)
    # raw match (30 + 40)^2 - 2500 = 2400 minor units; the pool is far larger
    assert card.estimated_match == 24_00


def test_one_idempotency_key_is_one_pledge(db: Database, settings: Settings) -> None:
    (a,) = users(db, settings, 1)
    campaign_id = make_campaign(db, make_call(db))
    first = pledge(db, a, campaign_id, 10_00, key="k" * 22)
    again = pledge(db, a, campaign_id, 99_00, key="k" * 22)
    assert first.created and not again.created and first.pledge_id == again.pledge_id
    assert totals(db, campaign_id).raised == 10_00
    other = make_campaign(db, make_call(db), title="Other")
    with pytest.raises(ValidationError):
        pledge(db, a, other, 10_00, key="k" * 22)


def test_200_simultaneous_pledges_with_one_key_make_one_pledge(
    db: Database, settings: Settings
) -> None:
    (a,) = users(db, settings, 1)
    campaign_id = make_campaign(db, make_call(db))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            result = (
                "new" if pledge(db, a, campaign_id, 10_00, key="same-key-123").created else "dup"
            )
        except Exception as exc:
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [o for o in outcomes if o.startswith("error")], outcomes[:3]
    assert outcomes.count("new") == 1 and outcomes.count("dup") == 199
    stored = db.read_sync(lambda s: s.scalar(select(func.count()).select_from(Pledge)))
    assert stored == 1
    t = totals(db, campaign_id)
    assert (t.backers, t.raised, t.match_total) == (1, 10_00, 10_00)


def test_simultaneous_pledges_of_one_resident_count_one_backer(
    db: Database, settings: Settings
) -> None:
    (a,) = users(db, settings, 1)
    campaign_id = make_campaign(db, make_call(db))
    threads = [threading.Thread(target=pledge, args=(db, a, campaign_id, 1_00)) for _n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t = totals(db, campaign_id)
    assert (t.backers, t.raised, t.match_backers) == (1, 20_00, 1)
    assert math.isclose(t.match_sum_sqrt, math.sqrt(2000))


def test_change_and_cancel_while_open(db: Database, settings: Settings) -> None:
    a, b = users(db, settings, 2)
    campaign_id = make_campaign(db, make_call(db))
    mine = pledge(db, a, campaign_id, 10_00).pledge_id
    pledge(db, b, campaign_id, 10_00)
    db.write_sync(pledges.change_pledge, a, mine, 30_00, "Ana", frozen.TODAY)
    assert totals(db, campaign_id).raised == 40_00
    db.write_sync(pledges.change_pledge, a, mine, 30_00, "Ana B.", frozen.TODAY)
    with pytest.raises(Exception):  # noqa: B017 - Forbidden: not the owner
        db.write_sync(pledges.cancel_pledge, b, mine, frozen.TODAY)
    db.write_sync(pledges.cancel_pledge, a, mine, frozen.TODAY)
    t = totals(db, campaign_id)
    assert (t.backers, t.raised, t.match_backers, t.match_total) == (1, 10_00, 1, 10_00)
    assert math.isclose(t.match_sum_sqrt, math.sqrt(1000))
    views = db.read_sync(pledges.my_pledges, a, frozen.TODAY)
    assert [v.state for v in views] == [PledgeState.CANCELLED]
    assert [e.kind for e in views[0].events] == ["pledged", "changed", "renamed", "cancelled"]
    assert views[0].events[1].detail == {"from": 10_00, "to": 30_00}
    assert views[0].public_name == "Ana B." and not views[0].changeable
    with pytest.raises(ValidationError):
        db.write_sync(pledges.change_pledge, a, mine, 5_00, None, frozen.TODAY)
    cancels = db.read_sync(
        lambda s: s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "pledge.cancel")
        )
    )
    assert cancels == 1


def test_no_pledge_outside_the_window_or_of_nothing(db: Database, settings: Settings) -> None:
    (a,) = users(db, settings, 1)
    for phase in ("draft", "collecting"):
        campaign_id = make_campaign(db, make_call(db, phase))
        with pytest.raises(ValidationError):
            pledge(db, a, campaign_id, 10_00)
    campaign_id = make_campaign(db, make_call(db))
    with pytest.raises(ValidationError) as exc:
        pledge(db, a, campaign_id, 0)
    assert "amount" in exc.value.errors
    count = db.read_sync(lambda s: s.scalar(select(func.count()).select_from(PledgeEvent)))
    assert count == 0


def test_estimate_is_the_marginal_match(db: Database, settings: Settings) -> None:
    a, b = users(db, settings, 2)
    campaign_id = make_campaign(db, make_call(db, pool=100_000_00))
    pledge(db, a, campaign_id, 100_00)
    # b adds 100 €: raw goes from 0 to (10+10)^2 - 200 = 200 € (in units of 100 cents)
    assert db.read_sync(pledges.estimate, campaign_id, b, 100_00, True) == 200_00
    # a adding to their own pledge adds nothing: one backer has no match
    assert db.read_sync(pledges.estimate, campaign_id, a, 100_00, True) == 0
    assert db.read_sync(pledges.estimate, campaign_id, b, 100_00, False) == 0


def test_capped_estimate_respects_the_caps(db: Database, settings: Settings) -> None:
    (a,) = users(db, settings, 1)
    rule = MatchingRule("capped", per_pledge_cap=50_00, per_resident_cap=80_00)
    campaign_id = make_campaign(db, make_call(db, rule=rule))
    assert db.read_sync(pledges.estimate, campaign_id, a, 100_00, True) == 50_00
    pledge(db, a, campaign_id, 50_00)
    assert db.read_sync(pledges.estimate, campaign_id, a, 100_00, True) == 30_00


# --- tasks ------------------------------------------------------------------------------------


def test_sign_up_cancel_and_confirm_hours(db: Database, settings: Settings) -> None:
    a, b = users(db, settings, 2)
    campaign_id = make_campaign(db, make_call(db))
    task_id = make_task(db, campaign_id, capacity=1, minutes_each=90)
    assert db.write_sync(tasks.sign_up, a, task_id, frozen.TODAY) is True
    assert db.write_sync(tasks.sign_up, a, task_id, frozen.TODAY) is False
    with pytest.raises(ValidationError):
        db.write_sync(tasks.sign_up, b, task_id, frozen.TODAY)
    db.write_sync(tasks.cancel_signup, a, task_id, frozen.TODAY)
    assert db.write_sync(tasks.sign_up, b, task_id, frozen.TODAY) is True
    assert db.read_sync(tasks.time_totals, b) == tasks.TimeTotals(90, 0)
    (signup,) = db.read_sync(tasks.signups_of_task, task_id)
    db.write_sync(tasks.confirm_attendance, a, task_id, {signup.id: 75})
    assert db.read_sync(tasks.time_totals, b) == tasks.TimeTotals(90, 75)


def test_last_slot_is_taken_by_exactly_one_of_50(db: Database, settings: Settings) -> None:
    backers = users(db, settings, 54)
    campaign_id = make_campaign(db, make_call(db))
    task_id = make_task(db, campaign_id, capacity=5)
    for user_id in backers[:4]:
        db.write_sync(tasks.sign_up, user_id, task_id, frozen.TODAY)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(user_id: int) -> None:
        try:
            result = (
                "taken" if db.write_sync(tasks.sign_up, user_id, task_id, frozen.TODAY) else "dup"
            )
        except ValidationError:
            result = "full"
        except Exception as exc:
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(u,)) for u in backers[4:54]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [o for o in outcomes if o.startswith("error")], outcomes[:3]
    assert outcomes.count("taken") == 1 and outcomes.count("full") == 49
    taken, signups = db.read_sync(
        lambda s: (
            s.get(VolunteerTask, task_id).taken,  # type: ignore[union-attr]
            s.scalar(select(func.count()).select_from(TaskSignup)),
        )
    )
    assert (taken, signups) == (5, 5)


def test_a_batch_of_pledges_answers_each(db: Database, settings: Settings) -> None:
    """make_pledges (the group commit): a refused pledge leaves nothing, a key sent twice in
    one batch is one pledge, the others go in with their totals."""
    a, b = users(db, settings, 2)
    call_id = make_call(db)
    first, second = make_campaign(db, call_id), make_campaign(db, call_id, title="Second")

    def request(user: int, campaign: int, amount: int, key: str) -> pledges.PledgeRequest:
        return pledges.PledgeRequest(user, campaign, amount, None, key, True, frozen.TODAY)

    outcomes = db.write_sync(
        pledges.make_pledges,
        [
            request(a, second, 10_00, "key-aaaaaaaa"),
            request(b, first, 0, "key-bbbbbbbb"),
            request(b, first, 20_00, "key-cccccccc"),
            request(a, second, 10_00, "key-aaaaaaaa"),
        ],
    )
    assert isinstance(outcomes[1], ValidationError)
    made = [o for o in outcomes if isinstance(o, pledges.PledgeOutcome)]
    assert [o.created for o in made] == [True, True, False]
    assert made[0].pledge_id == made[2].pledge_id
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(Pledge))) == 2
    assert (totals(db, first).raised, totals(db, second).raised) == (20_00, 10_00)
