"""The close of pledging: each campaign of a call succeeds or fails, and its backers hear of it.

After the pledging window, staff close the call (once; closing again changes nothing). A
campaign whose active pledges reach its **minimum** succeeds: the all-or-nothing threshold is
met, and from there it keeps what it raised (towards and beyond its optimum). Its pledges move
to "payment requested", each with its own ISO 11649 reference, and each backer gets a mail with
the amount, the account and the reference, and a link to the payment page with the EPC QR code.
A campaign under its minimum fails: its pledges are released, and its backers told.

Every campaign in pb has a minimum, so there is no campaign that is keep-what-you-raise from
the first euro, and no payment is asked before pledging closes: a pledge can be changed or
cancelled until then, so asking earlier would ask for money that may be released. The
amount counted is recounted from the pledge rows, not read from the running totals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import NotFound, ValidationError
from pb.i18n import format_day
from pb.i18n import gettext as _
from pb.models import (
    ACTIVE_PLEDGE_STATES,
    CallSettlement,
    Campaign,
    CampaignState,
    CampaignTotals,
    FundingCall,
    Pledge,
    PledgeEvent,
    PledgeState,
    User,
)
from pb.services import audit, outbox, payments
from pb.services.funding import calls


@dataclass(frozen=True)
class CloseSummary:
    succeeded: int  # campaigns decided now
    failed: int
    payment_requests: int  # pledges asked to pay now
    released: int  # pledges released now


def settlement_of(session: Session, call_id: int, for_update: bool = False) -> CallSettlement:
    """The call's settlement row (made on first use)."""
    query = select(CallSettlement).where(CallSettlement.call_id == call_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        row = CallSettlement(call_id=call_id)
        session.add(row)
        session.flush()
    return row


def locked_call(session: Session, call_id: int) -> FundingCall:
    """The call, its row locked (PostgreSQL) so that closing, imports and the match of one
    call take turns."""
    call = session.scalars(
        select(FundingCall).where(FundingCall.id == call_id).with_for_update()
    ).first()
    if call is None:
        raise NotFound(f"call {call_id}")
    return call


def close_pledging(
    session: Session,
    actor_id: int | None,
    call_id: int,
    today: dt.date,
    base_url: str,
    default_locale: str,
) -> CloseSummary:
    """Decide every open campaign of a call whose pledging window is over (see the module
    docstring), in the caller's transaction.

    Lock order: the call row, then the campaigns' pledges. Idempotent: campaigns already
    decided are left alone, so closing twice asks nobody to pay twice (and each mail has a
    dedupe key besides). Refused while pledging is open and once the match is published."""
    call = locked_call(session, call_id)
    if calls.phase(call, today) in (calls.CallPhase.DRAFT, calls.CallPhase.PLEDGING):
        raise ValidationError(
            {
                "": _(
                    "Pledging is open until %(day)s. Close it after that day.",
                    day=format_day(call.pledging_until),
                )
            }
        )
    settlement = settlement_of(session, call_id)
    if settlement.published_at is not None:
        raise ValidationError({"": _("The match is published and final.")})
    calls.lock(session, call)
    now = clock.now()
    succeeded = failed = requested = released = 0
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.call_id == call_id, Campaign.state == CampaignState.OPEN)
        .order_by(Campaign.id)
    ).all()
    for campaign in campaigns:
        raised = int(
            session.scalar(
                select(func.coalesce(func.sum(Pledge.amount), 0)).where(
                    Pledge.campaign_id == campaign.id, Pledge.state.in_(ACTIVE_PLEDGE_STATES)
                )
            )
            or 0
        )
        pledges = session.execute(
            select(Pledge, User)
            .join(User, User.id == Pledge.user_id)
            .where(Pledge.campaign_id == campaign.id, Pledge.state == PledgeState.PLEDGED)
            .order_by(Pledge.id)
        ).all()
        if raised >= campaign.minimum:
            campaign.state = CampaignState.SUCCEEDED
            succeeded += 1
            for pledge, user in pledges:
                _request_payment(session, pledge, now)
                _mail(
                    session,
                    user,
                    default_locale,
                    "payment_request",
                    pledge,
                    call,
                    campaign,
                    base_url,
                )
                requested += 1
        else:
            campaign.state = CampaignState.FAILED
            failed += 1
            for pledge, user in pledges:
                _release(session, actor_id, pledge, now)
                _mail(
                    session,
                    user,
                    default_locale,
                    "pledge_released",
                    pledge,
                    call,
                    campaign,
                    base_url,
                )
                released += 1
            # Released pledges no longer count: the running totals follow the pledge rows.
            session.execute(
                update(CampaignTotals)
                .where(CampaignTotals.campaign_id == campaign.id)
                .values(raised=0, backers=0, match_backers=0, match_total=0, match_sum_sqrt=0.0)
            )
        audit.record(
            session,
            actor_id,
            "campaign.succeed" if campaign.state is CampaignState.SUCCEEDED else "campaign.fail",
            f"campaign:{campaign.id}",
            before={"state": CampaignState.OPEN.value},
            after={"state": campaign.state.value, "raised": raised, "minimum": campaign.minimum},
        )
    if settlement.closed_at is None:
        settlement.closed_at, settlement.closed_by = now, actor_id
        audit.record(
            session,
            actor_id,
            "call.close_pledging",
            f"call:{call_id}",
            after={"succeeded": succeeded, "failed": failed},
        )
    return CloseSummary(succeeded, failed, requested, released)


def _request_payment(session: Session, pledge: Pledge, now: dt.datetime) -> None:
    reference = payments.reference_for(pledge.id)
    pledge.state = PledgeState.PAYMENT_REQUESTED
    pledge.payment_reference = reference
    pledge.updated_at = now
    session.add(
        PledgeEvent(
            pledge_id=pledge.id,
            at=now,
            kind="payment_requested",
            detail={"reference": reference, "amount": pledge.amount},
        )
    )


def _release(session: Session, actor_id: int | None, pledge: Pledge, now: dt.datetime) -> None:
    pledge.state = PledgeState.RELEASED
    pledge.updated_at = now
    session.add(PledgeEvent(pledge_id=pledge.id, at=now, kind="released", detail=None))
    audit.record(
        session,
        actor_id,
        "pledge.release",
        f"pledge:{pledge.id}",
        before={"state": PledgeState.PLEDGED.value, "amount": pledge.amount},
        after={"state": PledgeState.RELEASED.value},
    )


def _mail(
    session: Session,
    user: User,
    default_locale: str,
    template: str,
    pledge: Pledge,
    call: FundingCall,
    campaign: Campaign,
    base_url: str,
) -> None:
    """One mail about one pledge, in the backer's language, through the outbox (it leaves once
    this transaction commits; the dedupe key makes it one mail whatever happens)."""
    base = base_url.rstrip("/")
    mail = outbox.render(
        template,
        user.locale or default_locale,
        name=user.display_name,
        campaign=campaign.title,
        call=call.title,
        amount=pledge.amount,
        currency=call.currency,
        iban=payments.grouped(call.iban),
        bic=call.bic,
        creditor=call.creditor_name,
        reference=payments.grouped(pledge.payment_reference or ""),
        deadline=call.collection_until,
        pay_link=f"{base}/pledges/{pledge.id}/pay",
        pledges_link=f"{base}/pledges",
        epc=payments.epc_supported(call.currency),
    )
    outbox.enqueue(
        session,
        to=user.email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        kind=template,
        dedupe_key=f"{template}:{pledge.id}",
    )
