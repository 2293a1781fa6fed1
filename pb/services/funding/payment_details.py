"""What a backer needs to pay a pledge: amount, account, reference, and what was received."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.errors import NotFound
from pb.models import Campaign, FundingCall, Pledge, PledgeState
from pb.services import payments
from pb.services.funding.collection import received


@dataclass(frozen=True)
class PaymentDetails:
    pledge_id: int
    state: PledgeState
    campaign_id: int
    campaign_title: str
    call_title: str
    currency: str
    amount: int
    received: int
    iban: str  # grouped in fours, as printed
    bic: str
    creditor: str
    reference: str | None  # grouped in fours
    reference_compact: str | None
    deadline: dt.date
    epc: bool  # an EPC QR code can carry this payment (euros)

    @property
    def due(self) -> int:
        return max(self.amount - self.received, 0)


def payment_details(session: Session, user_id: int, pledge_id: int) -> PaymentDetails:
    """The payment details of one of the user's own pledges (NotFound for anyone else's)."""
    row = session.execute(
        select(Pledge, Campaign, FundingCall)
        .join(Campaign, Campaign.id == Pledge.campaign_id)
        .join(FundingCall, FundingCall.id == Campaign.call_id)
        .where(Pledge.id == pledge_id, Pledge.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"pledge {pledge_id}")
    pledge, campaign, call = row
    reference = pledge.payment_reference
    return PaymentDetails(
        pledge_id=pledge.id,
        state=pledge.state,
        campaign_id=campaign.id,
        campaign_title=campaign.title,
        call_title=call.title,
        currency=call.currency,
        amount=pledge.amount,
        received=received(session, pledge.id),
        iban=payments.grouped(call.iban),
        bic=call.bic,
        creditor=call.creditor_name,
        reference=payments.grouped(reference) if reference else None,
        reference_compact=reference,
        deadline=call.collection_until,
        epc=payments.epc_supported(call.currency),
    )


def qr_for(details: PaymentDetails) -> str | None:
    """The EPC QR code (inline SVG) asking for what is still due, or None when there is none
    to show (another currency, nothing due, no reference yet)."""
    if not details.epc or details.reference_compact is None or details.due <= 0:
        return None
    return payments.epc_qr_svg(
        name=details.creditor,
        iban=details.iban,
        bic=details.bic or None,
        amount=details.due,
        currency=details.currency,
        reference=details.reference_compact,
    )
