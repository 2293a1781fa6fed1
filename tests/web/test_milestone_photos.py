"""Photos of a funded project's milestones: staff and the project's lead add them from the
progress page (re-encoded without metadata, alt text required, at most four per milestone),
the public card shows them, nobody else may add or delete them, and every change is audited."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import AuditEvent, MilestonePhoto, MilestonePhotoSize, Role, User
from pb.services import tracking
from pb.services.photos import MAX_PHOTOS
from pb.web.assets import IMMUTABLE
from tests import frozen
from tests.conftest import AuthActions, csrf_from
from tests.tracking_builders import published_round
from tests.web.test_photos import GPS_IFD, phone_photo


@pytest.fixture
def milestone(client: TestClient, auth: AuthActions, db: Database) -> tuple[int, int]:
    """A funded project's card and one of its milestones, staff logged in."""
    r: dict[str, Any] = published_round(db)
    card = r["cards"][r["projects"]["citywide"][0]]
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/projects/{card}/manage")
    client.post(
        f"/projects/{card}/milestones",
        data={
            "title": "Benches in",
            "planned_on": frozen.days(-5).isoformat(),
            "csrf_token": token,
        },
    )
    return card, db.read_sync(tracking.public_card, card).milestones[0].id


def upload(client: TestClient, card: int, milestone_id: int, data: bytes, alt: str) -> Any:
    token = csrf_from(client.get(f"/projects/{card}/manage").text)
    return client.post(
        f"/milestones/{milestone_id}/photos",
        data={"csrf_token": token, f"alt_{milestone_id}": alt},
        files={"photo": ("IMG_0002.jpg", data, "image/jpeg")},
        follow_redirects=False,
    )


def count(db: Database, model: type = MilestonePhoto) -> int:
    return int(db.read_sync(lambda s: s.scalar(select(func.count()).select_from(model))))


def test_staff_add_a_photo_the_card_shows_without_its_metadata(
    client: TestClient, db: Database, milestone: tuple[int, int]
) -> None:
    card, mid = milestone
    sent = phone_photo()
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD)
    added = upload(client, card, mid, sent, "The new benches on the square")
    assert added.status_code == 303
    assert added.headers["location"] == f"/projects/{card}/manage#milestone-{mid}"
    client.cookies.clear()  # the public card, logged out
    page = client.get(f"/projects/{card}").text
    tag = re.search(r'<img [^>]*alt="The new benches on the square"[^>]*>', page)
    assert tag, "the card shows the milestone's photo"
    urls = re.findall(r"(/milestone-photos/\d+/(\d+)\.webp\?v=[0-9a-f]{16}) \d+w", tag.group(0))
    assert [int(w) for _, w in urls] == [320, 640, 1200]
    for url, width in urls:
        served = client.get(url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
        assert served.headers["cache-control"] == IMMUTABLE
        assert b"PhoneMaker" not in served.content and b"Exif" not in served.content
        picture = Image.open(io.BytesIO(served.content))
        assert picture.width == int(width) and picture.height > picture.width  # upright
        assert not picture.getexif()
        assert client.get(url, headers={"if-none-match": served.headers["etag"]}).status_code == 304
    assert client.get(urls[0][0].replace("/320.", "/321.")).status_code == 404
    # A proposal's photo address does not serve a milestone's.
    assert client.get(urls[0][0].replace("/milestone-photos/", "/photos/")).status_code == 404
    actions = db.read_sync(
        lambda s: list(
            s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("%photo%")))
        )
    )
    assert actions == ["project.milestone_photo_add"]


def test_bad_uploads_rerender_with_messages_and_store_nothing(
    client: TestClient, db: Database, milestone: tuple[int, int]
) -> None:
    card, mid = milestone
    no_alt = upload(client, card, mid, phone_photo(400, 300), "  ")
    assert no_alt.status_code == 422
    assert "Describe the picture in a few words" in no_alt.text
    bad = upload(client, card, mid, b"GIF89a not really", "A bench")
    assert bad.status_code == 422
    assert "not a JPEG, PNG or WebP picture" in bad.text
    assert 'value="A bench"' in bad.text and 'aria-invalid="true"' in bad.text
    assert count(db) == 0 and count(db, MilestonePhotoSize) == 0


def test_at_most_four_then_delete_one(
    client: TestClient, db: Database, milestone: tuple[int, int]
) -> None:
    card, mid = milestone
    for i in range(MAX_PHOTOS):
        assert upload(client, card, mid, phone_photo(400, 300), f"Step {i}").status_code == 303
    page = client.get(f"/projects/{card}/manage").text
    assert f'action="/milestones/{mid}/photos"' not in page  # no room: no form
    fifth = upload(client, card, mid, phone_photo(400, 300), "One more")
    assert fifth.status_code == 422 and "at most 4 photos" in fifth.text
    assert count(db) == MAX_PHOTOS
    first = re.search(r'action="/milestone-photos/(\d+)/delete"', page)
    assert first
    token = csrf_from(page)
    sizes = count(db, MilestonePhotoSize)
    gone = client.post(f"/milestone-photos/{first.group(1)}/delete", data={"csrf_token": token})
    assert gone.status_code == 200 and "The photo is deleted." in gone.text
    assert count(db) == MAX_PHOTOS - 1
    assert count(db, MilestonePhotoSize) == sizes * (MAX_PHOTOS - 1) // MAX_PHOTOS
    assert f'action="/milestones/{mid}/photos"' in gone.text


def test_only_staff_and_the_projects_lead_add_or_delete(
    client: TestClient, auth: AuthActions, db: Database, milestone: tuple[int, int]
) -> None:
    card, mid = milestone
    assert upload(client, card, mid, phone_photo(400, 300), "By staff").status_code == 303
    photo = db.read_sync(lambda s: s.scalar(select(MilestonePhoto.id)))
    auth.logout()
    auth.login_as(Role.RESIDENT, "someone@example.org")
    token = auth.csrf("/account")
    refused = client.post(
        f"/milestones/{mid}/photos",
        data={"csrf_token": token, f"alt_{mid}": "Mine"},
        files={"photo": ("a.jpg", phone_photo(400, 300), "image/jpeg")},
    )
    assert refused.status_code == 403
    assert (
        client.post(f"/milestone-photos/{photo}/delete", data={"csrf_token": token}).status_code
        == 403
    )
    assert client.post("/milestones/999999/photos", data={"csrf_token": token}).status_code == 404
    assert count(db) == 1
    # Appointed lead of this project: now they may.
    user_id = db.read_sync(
        lambda s: s.scalar(select(User.id).where(User.email == "someone@example.org"))
    )
    staff_id = db.read_sync(lambda s: s.scalar(select(User.id).where(User.role == Role.STAFF)))
    db.write_sync(tracking.projects.appoint_lead, staff_id, card, "someone@example.org")
    assert user_id is not None
    assert upload(client, card, mid, phone_photo(400, 300), "By the lead").status_code == 303
    assert count(db) == 2
