"""Photos of a funded project's milestones (the work under way, the opening day), on the
project's card beside the milestone.

Handled as proposals' photos are (:mod:`pb.services.photos`): each upload re-encoded by
:mod:`pb.services.images` (no EXIF, no GPS), an alternative text required, at most
:data:`~pb.services.photos.MAX_PHOTOS` per milestone, counted with the milestone's row locked.
Staff and the project's lead add and delete them; every change is in the audit log. Anyone may
see them: a tracked project exists only once its funding is published.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pb.errors import Forbidden, NotFound, ValidationError
from pb.i18n import ngettext
from pb.models import Milestone, MilestonePhoto, MilestonePhotoSize
from pb.services import audit
from pb.services.images import Encoded
from pb.services.photos import (
    MAX_PHOTOS,
    PhotoView,
    StoredImage,
    check_alt,
    store,
    stored_image,
    views_of,
)
from pb.services.tracking.projects import Editor, may_edit


def photos_of(session: Session, milestone_ids: list[int]) -> dict[int, list[PhotoView]]:
    """Each milestone's photos, in the order they were added."""
    return views_of(
        session, MilestonePhoto, MilestonePhotoSize, MilestonePhoto.milestone_id, milestone_ids
    )


def _milestone(session: Session, editor: Editor, milestone_id: int, lock: bool) -> Milestone:
    milestone = session.get(Milestone, milestone_id, with_for_update=lock)
    if milestone is None:
        raise NotFound(f"milestone {milestone_id}")
    if not may_edit(session, editor.user_id, editor.staff, milestone.project_id):
        raise Forbidden(f"project {milestone.project_id}")
    return milestone


def project_of(session: Session, editor: Editor, milestone_id: int) -> int:
    """The project of the milestone, when ``editor`` may add photos to it."""
    return _milestone(session, editor, milestone_id, lock=False).project_id


def add(session: Session, editor: Editor, milestone_id: int, alt: str, encoded: Encoded) -> int:
    """Store a re-encoded photo of a milestone; returns its id."""
    milestone = _milestone(session, editor, milestone_id, lock=True)
    alt = check_alt(alt)
    count = session.scalar(
        select(func.count())
        .select_from(MilestonePhoto)
        .where(MilestonePhoto.milestone_id == milestone_id)
    )
    if (count or 0) >= MAX_PHOTOS:
        raise ValidationError(
            {
                "photo": ngettext(
                    "A milestone has at most %(num)s photo: delete one first.",
                    "A milestone has at most %(num)s photos: delete one first.",
                    MAX_PHOTOS,
                )
            }
        )
    photo_id = store(
        session,
        MilestonePhoto(milestone_id=milestone_id, alt=alt, added_by=editor.user_id),
        MilestonePhotoSize,
        encoded,
    )
    audit.record(
        session,
        editor.user_id,
        "project.milestone_photo_add",
        f"project:{milestone.project_id}",
        after={"milestone": milestone_id, "photo": photo_id, "alt": alt, "digest": encoded.digest},
    )
    return photo_id


def remove(session: Session, editor: Editor, photo_id: int) -> int:
    """Delete a milestone's photo (all its sizes); returns the project's id."""
    photo = session.get(MilestonePhoto, photo_id)
    if photo is None:
        raise NotFound(f"milestone photo {photo_id}")
    milestone = _milestone(session, editor, photo.milestone_id, lock=True)
    session.execute(delete(MilestonePhotoSize).where(MilestonePhotoSize.photo_id == photo_id))
    session.delete(photo)
    audit.record(
        session,
        editor.user_id,
        "project.milestone_photo_delete",
        f"project:{milestone.project_id}",
        before={"milestone": milestone.id, "photo": photo_id, "alt": photo.alt},
    )
    return milestone.project_id


def image(session: Session, photo_id: int, width: int, version: str) -> StoredImage:
    """The bytes of one size of a milestone's photo (always public)."""
    stored, _photo = stored_image(
        session, MilestonePhoto, MilestonePhotoSize, photo_id, width, version
    )
    return stored
