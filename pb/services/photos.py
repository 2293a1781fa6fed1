"""Photos of proposals: add (re-encoded by :mod:`pb.services.images`), list, serve, delete.

Who may change them: the author while the proposal can still be edited (submitted, in the
proposals phase), and staff at any time (a photo is not part of the ballot, so the round's
locked rules do not cover it). Every change is in the audit log. A proposal has at most
:data:`MAX_PHOTOS`; the count is checked with the proposal's row locked, so two uploads at once
cannot pass it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import Forbidden, NotFound, ValidationError
from pb.i18n import gettext as _
from pb.i18n import ngettext
from pb.models import Phase, Proposal, ProposalPhoto, ProposalPhotoSize
from pb.services import audit
from pb.services.images import CONTENT_TYPE, Encoded
from pb.services.proposals import can_edit
from pb.services.rounds import effective_phase, get_round

MAX_PHOTOS = 4
MAX_ALT = 200
VERSION_LENGTH = 16


@dataclass(frozen=True)
class PhotoView:
    id: int
    alt: str
    width: int  # of the largest size
    height: int
    digest: str
    widths: tuple[int, ...]  # the sizes stored, narrowest first

    @property
    def version(self) -> str:
        """What the URLs carry to name this exact photo (``?v=``)."""
        return self.digest[:VERSION_LENGTH]


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    content_type: str
    etag: str
    current: bool  # the URL named this version (so it may be cached for good)


def check_alt(alt: str) -> str:
    """The alternative text, stripped; refused when empty or too long."""
    alt = " ".join(alt.split())
    if not alt:
        raise ValidationError(
            {"alt": _("Describe the picture in a few words, for people who cannot see it.")}
        )
    if len(alt) > MAX_ALT:
        raise ValidationError({"alt": _("Use at most %(n)s characters.", n=MAX_ALT)})
    return alt


def may_change(
    session: Session, proposal: Proposal, user_id: int | None, is_staff: bool, today: dt.date
) -> bool:
    if user_id is None:
        return False
    if is_staff:
        return True
    return can_edit(proposal, get_round(session, proposal.round_id), user_id, today)


def photos_of(session: Session, proposal_ids: list[int]) -> dict[int, list[PhotoView]]:
    """Each proposal's photos, in the order they were added."""
    if not proposal_ids:
        return {}
    widths: dict[int, list[int]] = {}
    for photo_id, width in session.execute(
        select(ProposalPhotoSize.photo_id, ProposalPhotoSize.width)
        .join(ProposalPhoto, ProposalPhoto.id == ProposalPhotoSize.photo_id)
        .where(ProposalPhoto.proposal_id.in_(proposal_ids))
        .order_by(ProposalPhotoSize.width)
    ):
        widths.setdefault(photo_id, []).append(width)
    found: dict[int, list[PhotoView]] = {}
    for photo in session.scalars(
        select(ProposalPhoto)
        .where(ProposalPhoto.proposal_id.in_(proposal_ids))
        .order_by(ProposalPhoto.id)
    ):
        found.setdefault(photo.proposal_id, []).append(
            PhotoView(
                photo.id,
                photo.alt,
                photo.width,
                photo.height,
                photo.digest,
                tuple(widths.get(photo.id, ())),
            )
        )
    return found


@dataclass(frozen=True)
class ProjectNote:
    """What a ballot shows about a project behind its "about" disclosure."""

    summary: str
    photo: PhotoView | None


def ballot_notes(session: Session, project_ids: list[str]) -> dict[str, ProjectNote]:
    """Each ballot project's summary and first photo, by the project id as ballots spell it."""
    ids = [int(pid) for pid in project_ids if pid.isdigit()]
    if not ids:
        return {}
    pictures = photos_of(session, ids)
    return {
        str(pid): ProjectNote(summary, next(iter(pictures.get(pid, [])), None))
        for pid, summary in session.execute(
            select(Proposal.id, Proposal.summary).where(Proposal.id.in_(ids))
        )
    }


def add(
    session: Session,
    user_id: int,
    is_staff: bool,
    proposal_id: int,
    alt: str,
    encoded: Encoded,
    today: dt.date,
) -> int:
    """Store a re-encoded photo; returns its id. Refuses (:class:`Forbidden`) a user who may
    not change the proposal, and (:class:`ValidationError`) a fifth photo or a bad alt text."""
    proposal = session.get(Proposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id}")
    if not may_change(session, proposal, user_id, is_staff, today):
        raise Forbidden("photos")
    alt = check_alt(alt)
    count = session.scalar(
        select(func.count())
        .select_from(ProposalPhoto)
        .where(ProposalPhoto.proposal_id == proposal_id)
    )
    if (count or 0) >= MAX_PHOTOS:
        raise ValidationError(
            {
                "photo": ngettext(
                    "A proposal has at most %(num)s photo: delete one first.",
                    "A proposal has at most %(num)s photos: delete one first.",
                    MAX_PHOTOS,
                )
            }
        )
    largest = encoded.largest
    photo = ProposalPhoto(
        proposal_id=proposal_id,
        alt=alt,
        width=largest.width,
        height=largest.height,
        digest=encoded.digest,
        added_by=user_id,
        created_at=clock.now(),
    )
    session.add(photo)
    session.flush()
    for size in encoded.sizes:
        session.add(
            ProposalPhotoSize(
                photo_id=photo.id,
                width=size.width,
                height=size.height,
                content_type=CONTENT_TYPE,
                data=size.data,
            )
        )
    audit.record(
        session,
        user_id,
        "photo.add",
        f"proposal:{proposal_id}",
        after={"photo": photo.id, "alt": alt, "digest": encoded.digest},
    )
    return int(photo.id)


def remove(session: Session, user_id: int, is_staff: bool, photo_id: int, today: dt.date) -> int:
    """Delete a photo (all its sizes); returns the proposal's id."""
    photo = session.get(ProposalPhoto, photo_id)
    if photo is None:
        raise NotFound(f"photo {photo_id}")
    proposal = session.get(Proposal, photo.proposal_id, with_for_update=True)
    assert proposal is not None
    if not may_change(session, proposal, user_id, is_staff, today):
        raise Forbidden("photos")
    session.execute(delete(ProposalPhotoSize).where(ProposalPhotoSize.photo_id == photo_id))
    session.delete(photo)
    audit.record(
        session,
        user_id,
        "photo.delete",
        f"proposal:{proposal.id}",
        before={"photo": photo_id, "alt": photo.alt, "digest": photo.digest},
    )
    return int(proposal.id)


def image(session: Session, photo_id: int, width: int, version: str, today: dt.date) -> StoredImage:
    """The bytes of one size of a photo; a photo of a round still in draft is not found."""
    row = session.execute(
        select(ProposalPhotoSize, ProposalPhoto.digest, Proposal.round_id)
        .join(ProposalPhoto, ProposalPhoto.id == ProposalPhotoSize.photo_id)
        .join(Proposal, Proposal.id == ProposalPhoto.proposal_id)
        .where(ProposalPhotoSize.photo_id == photo_id, ProposalPhotoSize.width == width)
    ).first()
    if row is None:
        raise NotFound(f"photo {photo_id} at {width}")
    size, digest, round_id = row
    if effective_phase(get_round(session, round_id), today) is Phase.DRAFT:
        raise NotFound(f"photo {photo_id}")
    return StoredImage(
        size.data, size.content_type, f'"{digest[:32]}-{width}"', version == digest[:VERSION_LENGTH]
    )
