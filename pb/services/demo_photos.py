"""Pictures for the demo's proposals, drawn with Pillow when ``pb demo`` runs (no image files
in the repository): a sky, the ground, a few trees and houses, and a sun, placed by a random
generator seeded with the proposal's id, so a demo looks the same every time. They go through
the same re-encoding and storage as a resident's upload."""

from __future__ import annotations

import datetime as dt
import io
import random

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.models import Proposal
from pb.services import images, photos

GROUNDS = ((96, 150, 80), (120, 140, 90), (150, 130, 100), (110, 160, 120), (140, 150, 140))


def scene(seed: int, width: int = 1600, height: int = 1000) -> bytes:
    """A simple landscape as a PNG."""
    rng = random.Random(seed)  # noqa: S311 - a drawing, not security
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.55, 0.7))
    for y in range(horizon):  # sky: lighter towards the horizon
        t = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(90 + 120 * t), int(150 + 80 * t), 235))
    draw.rectangle([0, horizon, width, height], fill=rng.choice(GROUNDS))
    sun = rng.randint(width // 8, width - width // 8)
    draw.ellipse([sun - 70, 80, sun + 70, 220], fill=(255, 220, 110))
    for _ in range(rng.randint(2, 4)):  # houses
        x = rng.randint(0, width - 300)
        w, h = rng.randint(160, 280), rng.randint(140, 260)
        top = horizon - h
        draw.rectangle([x, top, x + w, horizon], fill=rng.choice(((230, 210, 180), (200, 120, 90))))
        draw.polygon([(x - 20, top), (x + w // 2, top - 90), (x + w + 20, top)], fill=(150, 60, 50))
        draw.rectangle([x + w // 3, horizon - 80, x + w // 3 + 40, horizon], fill=(90, 60, 40))
    for _ in range(rng.randint(4, 9)):  # trees
        x = rng.randint(0, width)
        y = horizon + rng.randint(0, (height - horizon) // 2)
        r = rng.randint(50, 110)
        draw.rectangle([x - 12, y - r // 2, x + 12, y + r], fill=(100, 70, 40))
        draw.ellipse([x - r, y - 2 * r, x + r, y], fill=(40, rng.randint(110, 150), 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def add_demo_photos(
    session: Session,
    staff_id: int,
    round_id: int,
    count: int,
    today: dt.date,
    alt_text: str = "Drawing of the place: %(title)s",
) -> None:
    """Give the first ``count`` proposals of a round one picture each (``alt_text``: the
    pictures' description in the demo's language, with the proposal's ``%(title)s``)."""
    for proposal_id, title in session.execute(
        select(Proposal.id, Proposal.title)
        .where(Proposal.round_id == round_id)
        .order_by(Proposal.id)
        .limit(count)
    ):
        encoded = images.reencode(scene(proposal_id))
        alt = alt_text % {"title": title}
        photos.add(session, staff_id, True, proposal_id, alt, encoded, today)
