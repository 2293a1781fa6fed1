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
from typing import Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import Forbidden, NotFound, ValidationError
from pb.i18n import gettext as _
from pb.i18n import ngettext
from pb.models import (
    MilestonePhoto,
    MilestonePhotoSize,
    Phase,
    Proposal,
    ProposalPhoto,
    ProposalPhotoSize,
)
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


def views_of(
    session: Session,
    photo_model: type[ProposalPhoto] | type[MilestonePhoto],
    size_model: type[ProposalPhotoSize] | type[MilestonePhotoSize],
    owner: Any,
    owner_ids: list[int],
) -> dict[int, list[PhotoView]]:
    """The photos of each owner (``owner`` is the photo's column naming it), in the order they
    were added."""
    if not owner_ids:
        return {}
    widths: dict[int, list[int]] = {}
    for photo_id, width in session.execute(
        select(size_model.photo_id, size_model.width)
        .join(photo_model, photo_model.id == size_model.photo_id)
        .where(owner.in_(owner_ids))
        .order_by(size_model.width)
    ):
        widths.setdefault(photo_id, []).append(width)
    found: dict[int, list[PhotoView]] = {}
    for owner_id, photo in session.execute(
        select(owner, photo_model).where(owner.in_(owner_ids)).order_by(photo_model.id)
    ):
        found.setdefault(owner_id, []).append(
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


def photos_of(session: Session, proposal_ids: list[int]) -> dict[int, list[PhotoView]]:
    """Each proposal's photos, in the order they were added."""
    return views_of(
        session, ProposalPhoto, ProposalPhotoSize, ProposalPhoto.proposal_id, proposal_ids
    )


def store(
    session: Session,
    photo: ProposalPhoto | MilestonePhoto,
    size_model: type[ProposalPhotoSize] | type[MilestonePhotoSize],
    encoded: Encoded,
) -> int:
    """Write ``photo`` (its owner and alt set) with the shape, digest and every size of
    ``encoded``; returns its id."""
    largest = encoded.largest
    photo.width, photo.height, photo.digest = largest.width, largest.height, encoded.digest
    photo.created_at = clock.now()
    session.add(photo)
    session.flush()
    for size in encoded.sizes:
        session.add(
            size_model(
                photo_id=photo.id,
                width=size.width,
                height=size.height,
                content_type=CONTENT_TYPE,
                data=size.data,
            )
        )
    return int(photo.id)


def stored_image(
    session: Session,
    photo_model: type[ProposalPhoto] | type[MilestonePhoto],
    size_model: type[ProposalPhotoSize] | type[MilestonePhotoSize],
    photo_id: int,
    width: int,
    version: str,
) -> tuple[StoredImage, Any]:
    """One size of a photo, and the photo's row (for the caller's visibility check)."""
    row = session.execute(
        select(size_model, photo_model)
        .join(photo_model, photo_model.id == size_model.photo_id)
        .where(size_model.photo_id == photo_id, size_model.width == width)
    ).first()
    if row is None:
        raise NotFound(f"photo {photo_id} at {width}")
    size = cast(ProposalPhotoSize | MilestonePhotoSize, row[0])
    photo = cast(ProposalPhoto | MilestonePhoto, row[1])
    digest = photo.digest
    etag = f'"{digest[:32]}-{width}"'
    current = version == digest[:VERSION_LENGTH]
    return StoredImage(size.data, size.content_type, etag, current), photo


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
    photo_id = store(
        session,
        ProposalPhoto(proposal_id=proposal_id, alt=alt, added_by=user_id),
        ProposalPhotoSize,
        encoded,
    )
    audit.record(
        session,
        user_id,
        "photo.add",
        f"proposal:{proposal_id}",
        after={"photo": photo_id, "alt": alt, "digest": encoded.digest},
    )
    return photo_id


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
    stored, photo = stored_image(
        session, ProposalPhoto, ProposalPhotoSize, photo_id, width, version
    )
    round_id = session.scalar(select(Proposal.round_id).where(Proposal.id == photo.proposal_id))
    if round_id is None or effective_phase(get_round(session, round_id), today) is Phase.DRAFT:
        raise NotFound(f"photo {photo_id}")
    return stored
