"""Photos of proposals and of funded projects' milestones, kept in the database (so a backup
holds them and two app instances serve the same ones). An upload is re-encoded into a few
widths; each width is one row of ``proposal_photo_size`` (or ``milestone_photo_size``) with its
bytes. Nothing of the uploaded file is kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from pb.models.base import Base, UTCDateTime


class PhotoColumns:
    """What every stored photo has, whatever it illustrates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    alt: Mapped[str] = mapped_column(String(200))  # the text a screen reader says
    width: Mapped[int] = mapped_column()  # of the largest size: the picture's shape
    height: Mapped[int] = mapped_column()
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the sizes: versions the URLs
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    @declared_attr
    def added_by(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class PhotoSizeColumns:
    """One width of a photo, re-encoded without any metadata."""

    width: Mapped[int] = mapped_column(primary_key=True)
    height: Mapped[int] = mapped_column()
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary())


class ProposalPhoto(PhotoColumns, Base):
    __tablename__ = "proposal_photo"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )


class ProposalPhotoSize(PhotoSizeColumns, Base):
    __tablename__ = "proposal_photo_size"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_photo.id", ondelete="CASCADE"), primary_key=True
    )


class MilestonePhoto(PhotoColumns, Base):
    """A photo of a funded project's milestone (the work done, the opening), shown on the
    project's card; the same handling and limits as a proposal's."""

    __tablename__ = "milestone_photo"

    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestone.id", ondelete="CASCADE"), index=True
    )


class MilestonePhotoSize(PhotoSizeColumns, Base):
    __tablename__ = "milestone_photo_size"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("milestone_photo.id", ondelete="CASCADE"), primary_key=True
    )
