"""Photos of proposals, kept in the database (so a backup holds them and two app instances
serve the same ones). An upload is re-encoded into a few widths; each width is one row of
``proposal_photo_size`` with its bytes. Nothing of the uploaded file is kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime


class ProposalPhoto(Base):
    __tablename__ = "proposal_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposal.id", ondelete="CASCADE"), index=True
    )
    alt: Mapped[str] = mapped_column(String(200))  # the text a screen reader says
    width: Mapped[int] = mapped_column()  # of the largest size: the picture's shape
    height: Mapped[int] = mapped_column()
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the sizes: versions the URLs
    added_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ProposalPhotoSize(Base):
    """One width of a photo, re-encoded without any metadata."""

    __tablename__ = "proposal_photo_size"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_photo.id", ondelete="CASCADE"), primary_key=True
    )
    width: Mapped[int] = mapped_column(primary_key=True)
    height: Mapped[int] = mapped_column()
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary())
