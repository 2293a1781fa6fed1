"""Collection: money received for a call's pledges, from bank statements or at the town hall.

**Matching.** A bank line pays the pledge whose reference it carries (the structured reference,
or an RF reference found in the free text); everything else waits on the staff's list of
unmatched lines, where staff match it to a pledge by hand or set it aside. A pledge is
**fulfilled** once the payments matched to it reach its amount: equal or more. Less is a
partial payment: the line is kept against the pledge, which still waits for the rest (a second
transfer, cash at the town hall) or for staff to accept what came as the pledge (its amount
then becomes what was received). More is fulfilled at the pledged amount; the excess is shown to
staff, who refund it or not, outside pb. The match counts pledged amounts of fulfilled pledges.

A line is left for staff, with the reason, when its pledge is not waiting for payment (already
paid, released, cancelled), when its currency is not the call's, or when it was booked after the
collection deadline. A line whose reference is a pledge of another call is not stored: import
the statement into that call too.

**Duplicates.** A line id is unique per call (the database says so): a statement imported twice,
or overlapping statements, store each payment once; repeats are counted and reported.

**Transactions.** One import is one transaction under the call's row lock: a bad file raises
before anything is written, and nothing of it is kept if anything fails. Every fulfilment is in
the audit log, as is every manual match, set-aside line and hand-recorded payment. Refused once
the match is published (published is final).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    BankLine,
    Campaign,
    FundingCall,
    Pledge,
    PledgeEvent,
    PledgeState,
    StatementImport,
    User,
)
from pb.services import audit, payments
from pb.services.bank_statements import Statement, StatementLine
from pb.services.funding import pledges
from pb.services.funding.closing import locked_call, settlement_of

MATCHED, MANUAL, UNMATCHED, IGNORED = "matched", "manual", "unmatched", "ignored"
PAID = (MATCHED, MANUAL)  # the statuses whose amounts count towards a pledge
CHANNELS = ("bank", "cash", "card")


@dataclass
class ImportSummary:
    lines: int = 0  # credit lines in the file
    fulfilled: int = 0  # pledges fulfilled by this import
    partial: int = 0  # lines matched to a pledge that still waits for the rest
    unmatched: int = 0
    duplicates: int = 0
    other_call: int = 0  # references of pledges of another call (not stored)
    skipped: int = 0  # debits, pending entries, reversals
    duplicate_lines: list[StatementLine] = field(default_factory=list)


def _open_for_payments(session: Session, call_id: int) -> FundingCall:
    call = locked_call(session, call_id)
    settlement = settlement_of(session, call_id)
    if settlement.published_at is not None:
        raise ValidationError({"": _("The match is published and final.")})
    if settlement.closed_at is None:
        raise ValidationError({"": _("Close pledging first: payments are asked for then.")})
    return call


def received(session: Session, pledge_id: int) -> int:
    """What the payments matched to a pledge add up to."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(BankLine.amount), 0)).where(
                BankLine.pledge_id == pledge_id, BankLine.status.in_(PAID)
            )
        )
        or 0
    )


def _pledge_of_call(session: Session, call_id: int, pledge_id: int) -> Pledge | None:
    return session.scalars(
        select(Pledge)
        .join(Campaign, Campaign.id == Pledge.campaign_id)
        .where(Pledge.id == pledge_id, Campaign.call_id == call_id)
    ).first()


def _fulfil_if_paid(
    session: Session, actor_id: int | None, pledge: Pledge, channel: str, now: dt.datetime
) -> bool:
    """Fulfil ``pledge`` when its payments reach its amount (lines already flushed)."""
    session.flush()
    total = received(session, pledge.id)
    if total < pledge.amount:
        return False
    pledge.state = PledgeState.FULFILLED
    pledge.fulfilled_at = now
    pledge.channel = channel
    pledge.updated_at = now
    detail = {"received": total, "channel": channel}
    session.add(PledgeEvent(pledge_id=pledge.id, at=now, kind="fulfilled", detail=detail))
    audit.record(
        session,
        actor_id,
        "pledge.fulfil",
        f"pledge:{pledge.id}",
        before={"state": PledgeState.PAYMENT_REQUESTED.value, "amount": pledge.amount},
        after={"state": PledgeState.FULFILLED.value, **detail},
    )
    return True


def import_statement(
    session: Session,
    actor_id: int | None,
    call_id: int,
    statement: Statement,
    filename: str,
    data: bytes,
) -> ImportSummary:
    """Store the credit lines of a parsed statement and fulfil the pledges they pay (see the
    module docstring). Refused when the statement is of another account than the call's."""
    call = _open_for_payments(session, call_id)
    if statement.account is not None and statement.account != call.iban:
        raise ValidationError(
            {
                "file": _(
                    "This statement is of the account %(account)s, not of the call's "
                    "account %(iban)s.",
                    account=payments.grouped(statement.account),
                    iban=payments.grouped(call.iban),
                )
            }
        )
    now = clock.now()
    summary = ImportSummary(lines=len(statement.lines), skipped=statement.skipped)
    record = StatementImport(
        call_id=call_id,
        kind=statement.kind,
        filename=filename[:200] or "statement",
        sha256=hashlib.sha256(data).hexdigest(),
        imported_at=now,
        imported_by=actor_id,
        lines=len(statement.lines),
        matched=0,
        unmatched=0,
        duplicates=0,
    )
    session.add(record)
    session.flush()
    ids = list({line.line_id for line in statement.lines})
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        known.update(
            session.scalars(
                select(BankLine.line_id).where(
                    BankLine.call_id == call_id, BankLine.line_id.in_(ids[start : start + 500])
                )
            )
        )
    for line in statement.lines:
        if line.line_id in known:
            summary.duplicates += 1
            summary.duplicate_lines.append(line)
            continue
        known.add(line.line_id)
        pledge_id = payments.pledge_id_of(line.reference) if line.reference else None
        pledge = _pledge_of_call(session, call_id, pledge_id) if pledge_id else None
        if pledge_id is not None and pledge is None and session.get(Pledge, pledge_id) is not None:
            summary.other_call += 1
            continue
        status = UNMATCHED
        if (
            pledge is not None
            and pledge.state is PledgeState.PAYMENT_REQUESTED
            and pledge.payment_reference == line.reference
            and line.currency == call.currency
            and (line.booked is None or line.booked <= call.collection_until)
        ):
            status = MATCHED
        session.add(
            BankLine(
                call_id=call_id,
                import_id=record.id,
                line_id=line.line_id,
                channel="bank",
                amount=line.amount,
                currency=line.currency,
                booked=line.booked,
                debtor=line.debtor,
                reference=line.reference,
                text=line.text,
                status=status,
                pledge_id=pledge.id if status == MATCHED and pledge is not None else None,
                created_at=now,
            )
        )
        if status == MATCHED and pledge is not None:
            if _fulfil_if_paid(session, actor_id, pledge, "bank", now):
                summary.fulfilled += 1
            else:
                summary.partial += 1
        else:
            summary.unmatched += 1
    record.matched = summary.fulfilled + summary.partial
    record.unmatched = summary.unmatched
    record.duplicates = summary.duplicates
    audit.record(
        session,
        actor_id,
        "call.import_statement",
        f"call:{call_id}",
        after={
            "import": record.id,
            "kind": statement.kind,
            "sha256": record.sha256,
            "lines": summary.lines,
            "fulfilled": summary.fulfilled,
            "partial": summary.partial,
            "unmatched": summary.unmatched,
            "duplicates": summary.duplicates,
        },
    )
    return summary


def _pledge_by_reference(session: Session, call_id: int, text: str) -> Pledge:
    """The call's pledge that staff named by its reference (any spacing) or its number."""
    cleaned = text.strip().lstrip("#")
    pledge_id = int(cleaned) if cleaned.isdigit() else payments.pledge_id_of(cleaned)
    pledge = _pledge_of_call(session, call_id, pledge_id) if pledge_id else None
    if pledge is None:
        raise ValidationError({"pledge": _("No pledge of this call has this reference.")})
    if pledge.state is not PledgeState.PAYMENT_REQUESTED:
        raise ValidationError({"pledge": _("This pledge is not waiting for a payment.")})
    return pledge


def _line_of_call(session: Session, call_id: int, line_id: int) -> BankLine:
    line = session.get(BankLine, line_id)
    if line is None or line.call_id != call_id:
        raise NotFound(f"bank line {line_id}")
    if line.status != UNMATCHED:
        raise ValidationError({"": _("This line was already dealt with.")})
    return line


def match_line(
    session: Session, actor_id: int, call_id: int, line_id: int, pledge_text: str
) -> bool:
    """Staff match an unmatched line to a pledge; returns whether the pledge is now fulfilled."""
    call = _open_for_payments(session, call_id)
    line = _line_of_call(session, call_id, line_id)
    pledge = _pledge_by_reference(session, call_id, pledge_text)
    if line.currency != call.currency:
        raise ValidationError({"pledge": _("This payment is not in the call's currency.")})
    line.status, line.pledge_id, line.resolved_by = MANUAL, pledge.id, actor_id
    audit.record(
        session,
        actor_id,
        "bank_line.match",
        f"bank_line:{line.id}",
        before={"status": UNMATCHED},
        after={"status": MANUAL, "pledge": pledge.id, "amount": line.amount},
    )
    return _fulfil_if_paid(session, actor_id, pledge, line.channel, clock.now())


def ignore_line(session: Session, actor_id: int, call_id: int, line_id: int) -> None:
    """Staff set aside a line that pays no pledge (refunded or kept outside pb)."""
    _open_for_payments(session, call_id)
    line = _line_of_call(session, call_id, line_id)
    line.status, line.resolved_by = IGNORED, actor_id
    audit.record(
        session,
        actor_id,
        "bank_line.ignore",
        f"bank_line:{line.id}",
        before={"status": UNMATCHED},
        after={"status": IGNORED, "amount": line.amount},
    )


def record_payment(
    session: Session,
    actor_id: int,
    call_id: int,
    pledge_text: str,
    amount: int,
    channel: str,
    today: dt.date,
) -> bool:
    """A payment received at the town hall (cash or card), recorded by staff against a pledge;
    returns whether the pledge is now fulfilled."""
    if channel not in ("cash", "card"):
        raise ValidationError({"channel": _("Choose cash or card.")})
    if amount <= 0:
        raise ValidationError({"amount": _("Enter an amount above 0.")})
    call = _open_for_payments(session, call_id)
    pledge = _pledge_by_reference(session, call_id, pledge_text)
    now = clock.now()
    line = BankLine(
        call_id=call_id,
        import_id=None,
        line_id=f"{channel}:{secrets.token_hex(16)}",
        channel=channel,
        amount=amount,
        currency=call.currency,
        booked=today,
        debtor="",
        reference=pledge.payment_reference,
        text="",
        status=MANUAL,
        pledge_id=pledge.id,
        created_at=now,
        resolved_by=actor_id,
    )
    session.add(line)
    session.flush()
    audit.record(
        session,
        actor_id,
        "payment.record",
        f"bank_line:{line.id}",
        after={"pledge": pledge.id, "amount": amount, "channel": channel},
    )
    return _fulfil_if_paid(session, actor_id, pledge, channel, now)


def accept_partial(session: Session, actor_id: int, call_id: int, pledge_id: int) -> None:
    """Staff accept what a partly paid pledge received as the pledge: its amount becomes what
    was received, and it is fulfilled."""
    _open_for_payments(session, call_id)
    pledge = _pledge_of_call(session, call_id, pledge_id)
    if pledge is None:
        raise NotFound(f"pledge {pledge_id}")
    total = received(session, pledge.id)
    if pledge.state is not PledgeState.PAYMENT_REQUESTED or not 0 < total < pledge.amount:
        raise ValidationError({"": _("This pledge is not partly paid.")})
    before = pledge.amount
    pledge.amount = total
    # Every total moves, the sum of square roots included (a quadratic call's estimate).
    pledges.move_totals(
        session, pledge.campaign_id, pledge.user_id, pledge.eligible, total - before
    )
    audit.record(
        session,
        actor_id,
        "pledge.accept_partial",
        f"pledge:{pledge.id}",
        before={"amount": before},
        after={"amount": total},
    )
    channel = session.scalar(
        select(BankLine.channel)
        .where(BankLine.pledge_id == pledge.id, BankLine.status.in_(PAID))
        .order_by(BankLine.id.desc())
    )
    _fulfil_if_paid(session, actor_id, pledge, channel or "bank", clock.now())


# --- what staff see -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    id: int
    channel: str
    amount: int
    currency: str
    booked: dt.date | None
    debtor: str
    reference: str | None
    text: str
    status: str
    pledge_id: int | None
    reason: str  # why an unmatched line was not matched ("" otherwise)


@dataclass(frozen=True)
class PartialView:
    pledge_id: int
    reference: str | None
    campaign: str
    backer: str
    amount: int
    received: int


@dataclass(frozen=True)
class OverpaidView:
    pledge_id: int
    campaign: str
    backer: str
    amount: int
    received: int


@dataclass(frozen=True)
class CollectionState:
    awaiting: int  # pledges asked to pay, not paid yet
    awaiting_amount: int
    fulfilled: int
    fulfilled_amount: int
    unmatched: list[LineView]
    partial: list[PartialView]
    overpaid: list[OverpaidView]
    imports: list[StatementImport]


def _reason(line: BankLine, pledge: Pledge | None, call: FundingCall) -> str:
    if line.reference is None:
        return _("No payment reference.")
    if pledge is None:
        return _("The reference is not one of this call's pledges.")
    if line.currency != call.currency:
        return _("Not in the call's currency.")
    if line.booked is not None and line.booked > call.collection_until:
        return _("Booked after the collection deadline.")
    if pledge.state is PledgeState.FULFILLED:
        return _("The pledge was already paid.")
    if pledge.state is not PledgeState.PAYMENT_REQUESTED:
        return _("The pledge is not waiting for a payment.")
    return _("The reference does not match the pledge's.")


def collection_state(session: Session, call: FundingCall) -> CollectionState:
    counts = dict(
        (state, (int(n), int(total or 0)))
        for state, n, total in session.execute(
            select(Pledge.state, func.count(), func.sum(Pledge.amount))
            .join(Campaign, Campaign.id == Pledge.campaign_id)
            .where(
                Campaign.call_id == call.id,
                Pledge.state.in_([PledgeState.PAYMENT_REQUESTED, PledgeState.FULFILLED]),
            )
            .group_by(Pledge.state)
        ).all()
    )
    unmatched = []
    for line in session.scalars(
        select(BankLine)
        .where(BankLine.call_id == call.id, BankLine.status == UNMATCHED)
        .order_by(BankLine.booked, BankLine.id)
    ):
        pledge_id = payments.pledge_id_of(line.reference) if line.reference else None
        pledge = _pledge_of_call(session, call.id, pledge_id) if pledge_id else None
        unmatched.append(
            LineView(
                line.id,
                line.channel,
                line.amount,
                line.currency,
                line.booked,
                line.debtor,
                line.reference,
                line.text,
                line.status,
                pledge.id if pledge else None,
                _reason(line, pledge, call),
            )
        )
    paid = (
        select(BankLine.pledge_id, func.sum(BankLine.amount).label("paid"))
        .where(BankLine.call_id == call.id, BankLine.status.in_(PAID))
        .group_by(BankLine.pledge_id)
        .subquery()
    )
    rows = session.execute(
        select(Pledge, Campaign.title, User.display_name, paid.c.paid)
        .join(paid, paid.c.pledge_id == Pledge.id)
        .join(Campaign, Campaign.id == Pledge.campaign_id)
        .join(User, User.id == Pledge.user_id)
        .order_by(Pledge.id)
    ).all()
    partial = [
        PartialView(p.id, p.payment_reference, title, name, p.amount, int(got))
        for p, title, name, got in rows
        if p.state is PledgeState.PAYMENT_REQUESTED and got < p.amount
    ]
    overpaid = [
        OverpaidView(p.id, title, name, p.amount, int(got))
        for p, title, name, got in rows
        if p.state is PledgeState.FULFILLED and got > p.amount
    ]
    imports = list(
        session.scalars(
            select(StatementImport)
            .where(StatementImport.call_id == call.id)
            .order_by(StatementImport.id.desc())
        )
    )
    awaiting = counts.get(PledgeState.PAYMENT_REQUESTED, (0, 0))
    fulfilled = counts.get(PledgeState.FULFILLED, (0, 0))
    return CollectionState(
        awaiting=awaiting[0],
        awaiting_amount=awaiting[1],
        fulfilled=fulfilled[0],
        fulfilled_amount=fulfilled[1],
        unmatched=unmatched,
        partial=partial,
        overpaid=overpaid,
        imports=imports,
    )
