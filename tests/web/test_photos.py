"""Photos of proposals: added by the author (while editable) or staff, re-encoded without any
metadata, served in several widths with versioned caching, alt text required, at most four."""

from __future__ import annotations

import io
import re
import struct
import zlib
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.config import Settings
from pb.db import Database
from pb.models import AuditEvent, ProposalPhoto, ProposalPhotoSize, Role, VotingMethod
from pb.services.images import MAX_UPLOAD
from pb.web.assets import IMMUTABLE
from tests.builders import make_districts, make_proposal, make_round, make_voting_round
from tests.conftest import AuthActions, csrf_from, make_user

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def phone_photo(width: int = 1600, height: int = 1200, fmt: str = "JPEG") -> bytes:
    """A landscape-stored picture with the camera's 'rotate 90°' flag and a GPS position,
    left half red and right half blue (so the rotation can be seen in the pixels)."""
    image = Image.new("RGB", (width, height), (220, 30, 30))
    image.paste((30, 30, 220), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb's
    first line): it must be refused from the header, before any decoding."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = data[12:29]  # chunk type + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


def upload(client: TestClient, proposal_id: int, data: bytes, alt: str = "The square today") -> Any:
    token = csrf_from(client.get(f"/proposals/{proposal_id}").text)
    return client.post(
        f"/proposals/{proposal_id}/photos",
        data={"csrf_token": token, "alt": alt},
        files={"photo": ("IMG_0001.jpg", data, "image/jpeg")},
        follow_redirects=False,
    )


def photo_count(db: Database) -> int:
    return int(db.read_sync(lambda s: s.scalar(select(func.count()).select_from(ProposalPhoto))))


@pytest.fixture
def proposal(db: Database, settings: Settings, auth: AuthActions) -> int:
    """A proposal in a round taking proposals, by the logged-in resident."""
    author = make_user(db, settings, "author@example.org")
    rid = make_round(db, make_districts(db), None, "proposals")  # type: ignore[arg-type]
    pid = make_proposal(db, rid, author)
    auth.login("author@example.org")
    return pid


def test_author_adds_a_photo_without_its_metadata(
    client: TestClient, db: Database, proposal: int
) -> None:
    sent = phone_photo()
    assert b"PhoneMaker" in sent and Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD)
    response = upload(client, proposal, sent)
    assert response.status_code == 303
    page = client.get(f"/proposals/{proposal}").text
    img = re.search(r"<img [^>]*>", page)
    assert img, "the proposal page shows the photo"
    tag = img.group(0)
    assert 'alt="The square today"' in tag and 'sizes="' in tag and 'decoding="async"' in tag
    # Stored upright: the 1600 × 1200 landscape file shows as a 1200 wide portrait.
    assert 'width="1200"' in tag and 'height="1600"' in tag
    urls = re.findall(r"(/photos/\d+/(\d+)\.webp\?v=[0-9a-f]{16}) \d+w", tag)
    assert [int(w) for _, w in urls] == [320, 640, 1200]
    for url, width in urls:
        served = client.get(url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
        assert served.headers["cache-control"] == IMMUTABLE
        assert b"PhoneMaker" not in served.content and b"Exif" not in served.content
        picture = Image.open(io.BytesIO(served.content))
        assert picture.format == "WEBP" and picture.width == int(width)
        assert picture.height > picture.width
        assert not picture.getexif() and not picture.info.get("icc_profile")
        assert "xmp" not in picture.info and "exif" not in picture.info
        # Rotated clockwise: what was the left (red) half is now the top.
        r, _, b = picture.convert("RGB").getpixel((picture.width // 2, picture.height // 4))
        assert r > 150 and b < 100
        again = client.get(url, headers={"if-none-match": served.headers["etag"]})
        assert again.status_code == 304
    stale = client.get(urls[0][0].split("?")[0] + "?v=0000000000000000")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert "set-cookie" not in stale.headers
    assert client.get(urls[0][0].replace("/320.", "/321.")).status_code == 404
    events = db.read_sync(
        lambda s: s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("photo.%")))
    )
    assert list(events) == ["photo.add"]


def test_alt_text_is_required_and_kept_on_error(
    client: TestClient, db: Database, proposal: int
) -> None:
    no_alt = upload(client, proposal, phone_photo(400, 300), alt="   ")
    assert no_alt.status_code == 422
    assert "Describe the picture in a few words" in no_alt.text
    bad_file = upload(client, proposal, b"GIF89a not really", alt="A bench")
    assert bad_file.status_code == 422
    html = bad_file.text
    assert "not a JPEG, PNG or WebP picture" in html and 'value="A bench"' in html
    assert 'aria-invalid="true"' in html
    assert photo_count(db) == 0


def test_oversized_pictures_are_refused_before_decoding(
    client: TestClient, db: Database, proposal: int
) -> None:
    bomb = upload(client, proposal, png_claiming(30_000, 30_000))
    assert bomb.status_code == 422
    assert "too many pixels" in bomb.text
    token = csrf_from(client.get(f"/proposals/{proposal}").text)
    huge = client.post(
        f"/proposals/{proposal}/photos",
        data={"csrf_token": token, "alt": "Big"},
        files={"photo": ("big.jpg", b"\xff" * (MAX_UPLOAD + 300 * 1024), "image/jpeg")},
    )
    assert huge.status_code == 413
    assert photo_count(db) == 0


def test_at_most_four_photos_and_delete(
    client: TestClient, db: Database, settings: Settings, auth: AuthActions, proposal: int
) -> None:
    for n in range(4):
        assert upload(client, proposal, phone_photo(200 + n, 150), f"View {n}").status_code == 303
    fifth = client.get(f"/proposals/{proposal}").text
    assert 'name="photo"' not in fifth  # the form is gone at four
    refused = upload(client, proposal, phone_photo(300, 200), "One too many")
    assert refused.status_code == 422 and "at most 4 photos" in refused.text
    assert photo_count(db) == 4
    first = db.read_sync(lambda s: s.scalar(select(func.min(ProposalPhoto.id))))
    url = re.search(rf"/photos/{first}/\d+\.webp", client.get(f"/proposals/{proposal}").text)
    assert url
    # Someone else may neither add nor delete.
    auth.logout()
    auth.login_as(Role.RESIDENT)
    token = csrf_from(client.get(f"/proposals/{proposal}").text)
    assert 'name="photo"' not in client.get(f"/proposals/{proposal}").text
    other = client.post(f"/photos/{first}/delete", data={"csrf_token": token})
    assert other.status_code == 403 and photo_count(db) == 4
    assert upload(client, proposal, phone_photo(300, 200)).status_code == 403
    # Staff may.
    auth.logout()
    auth.login_as(Role.STAFF)
    token = csrf_from(client.get(f"/proposals/{proposal}").text)
    gone = client.post(
        f"/photos/{first}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code == 303 and photo_count(db) == 3
    assert client.get(url.group(0)).status_code == 404
    sizes = db.read_sync(
        lambda s: s.scalar(
            select(func.count())
            .select_from(ProposalPhotoSize)
            .where(ProposalPhotoSize.photo_id == first)
        )
    )
    assert sizes == 0


def test_ballot_tells_about_each_project_without_leaving_it(
    client: TestClient, db: Database, auth: AuthActions
) -> None:
    r = make_voting_round(db, method=VotingMethod.APPROVAL)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.STAFF)
    assert (
        upload(client, int(p[0]), phone_photo(800, 600), "Trees on the square").status_code == 303
    )
    auth.logout()
    auth.login_as(Role.RESIDENT)
    page = client.get(f"/rounds/{rid}/vote/citywide").text
    assert page.count('<details class="about">') == len(p)
    assert f'href="/proposals/{p[0]}" target="_blank" rel="noopener"' in page
    details = page.split('<details class="about">')[1].split("</details>")[0]
    assert 'alt="Trees on the square"' in details and 'loading="lazy"' in details
    assert "Plant trees." in details  # the summary
