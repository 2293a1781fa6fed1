"""A letter's QR code on a phone, with and without JavaScript: the access code reaches the
server only in a POST body, never in a URL (which access logs and proxies keep)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from pb.config import Settings
from pb.db import Database
from pb.models import Eligibility, VotingScope
from pb.services import eligibility
from tests.builders import make_voting_round

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_letter_code_never_travels_in_a_url(
    browser: Any, live_server: str, db: Database, settings: Settings, javascript: bool
) -> None:
    from tests.browser.conftest import PHONE

    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    (code,) = db.write_sync(eligibility.generate_codes, None, rid, 1, None, settings.secret_key)
    context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    sent: list[tuple[str, str, str]] = []  # (method, URL as sent: no fragment, body)
    page.on(
        "request",
        lambda req: sent.append(
            (req.method, urlsplit(req.url)._replace(fragment="").geturl(), req.post_data or "")
        ),
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"/c#{code}")  # what the QR code holds
    if not javascript:
        assert page.get_by_label("Access code").input_value() == ""
        page.get_by_label("Access code").fill(code)  # typed from the letter
        page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Fill in the city-wide ballot").wait_for()
    assert urlsplit(page.url).path == f"/rounds/{rid}/vote" and "#" not in page.url
    context.close()
    assert errors == []

    compact = code.replace("-", "")
    for _method, url, _body in sent:
        flat = unquote(url).upper().replace("-", "")
        assert compact not in flat, url
    posts = [(url, body) for method, url, body in sent if method == "POST"]
    assert [urlsplit(url).path for url, _ in posts] == ["/c"]
    assert f"code={code}" in unquote(posts[0][1])
