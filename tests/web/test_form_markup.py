"""Every rendered form is well-formed for screen readers: each attribute of each field is a real
HTML attribute (no two glued together, as ``requiredaria-describedby`` once was), every id a
field points to exists, and every field has a label. axe-core does not catch glued attributes,
so this parses the HTML itself, on pages as shown and re-rendered with errors (422)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Role
from tests.builders import make_districts, make_proposal, make_round, make_voting_round
from tests.conftest import AuthActions, csrf_from, make_user

FIELD_TAGS = {"input", "textarea", "select", "button"}
KNOWN = {
    "accept", "autocomplete", "autofocus", "checked", "class", "cols", "disabled", "for",
    "form", "hidden", "id", "inputmode", "lang", "list", "max", "maxlength", "min",
    "minlength", "multiple", "name", "pattern", "placeholder", "readonly", "required", "rows",
    "selected", "size", "step", "title", "type", "value", "formaction", "formmethod",
    "formnovalidate", "spellcheck", "enterkeyhint", "aria-describedby", "aria-invalid",
    "aria-label", "aria-labelledby", "aria-live", "aria-controls", "aria-required",
}  # fmt: skip


class Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.wrapped: set[int] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "label":
            self.label_depth += 1
            if values.get("for"):
                self.label_for.add(str(values["for"]))
        if tag in FIELD_TAGS:
            if self.label_depth:
                self.wrapped.add(len(self.fields))
            self.fields.append((tag, values))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1


def problems(html: str) -> list[str]:
    parser = Fields()
    parser.feed(html)
    found = []
    for n, (tag, attrs) in enumerate(parser.fields):
        where = f"<{tag} name={attrs.get('name')!r}>"
        for name in attrs:
            if name not in KNOWN and not name.startswith(("hx-", "data-")):
                found.append(f"{where}: unknown attribute {name!r}")
        for ref in (attrs.get("aria-describedby") or "").split():
            if ref not in parser.ids:
                found.append(f"{where}: aria-describedby points to missing id {ref!r}")
        visible = tag in {"textarea", "select"} or (
            tag == "input" and attrs.get("type") not in {"hidden", "submit", "button"}
        )
        labelled = (
            attrs.get("id") in parser.label_for
            or n in parser.wrapped
            or "aria-label" in attrs
            or "aria-labelledby" in attrs
        )
        if visible and not labelled:
            found.append(f"{where}: no label")
    return found


def page_ok(client: TestClient, path: str, status: int = 200) -> None:
    response = client.get(path)
    assert response.status_code == status, path
    assert problems(response.text) == [], path


def post_empty(client: TestClient, form_page: str, action: str, marked: bool = True) -> None:
    token = csrf_from(client.get(form_page).text)
    response = client.post(action, data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 422, action
    assert ('aria-invalid="true"' in response.text) is marked, action
    assert problems(response.text) == [], action


def test_the_required_attribute_is_not_glued_to_the_next_one(client: TestClient) -> None:
    html = client.get("/login").text
    assert " required " in html.replace("\n", " ") or " required>" in html
    assert "requiredaria" not in html and "requiredautofocus" not in html


def test_anonymous_forms(client: TestClient) -> None:
    for path in ("/login", "/register", "/receipts"):
        page_ok(client, path)
    post_empty(client, "/login", "/login", marked=False)  # one message, no field blamed
    post_empty(client, "/register", "/register")


@pytest.mark.parametrize("role", [Role.STAFF, Role.RESIDENT])
def test_forms_behind_a_login(
    client: TestClient, auth: AuthActions, db: Database, settings: object, role: Role
) -> None:
    staff = make_user(db, settings, "staff@example.org", role=Role.STAFF)  # type: ignore[arg-type]
    districts = make_districts(db)
    proposing = make_round(db, districts, staff, "proposals")
    voting = make_voting_round(db)["round_id"]
    auth.login_as(role)
    page_ok(client, "/account")
    page_ok(client, f"/rounds/{proposing}/proposals/new")
    post_empty(client, f"/rounds/{proposing}/proposals/new", f"/rounds/{proposing}/proposals")
    page_ok(client, f"/rounds/{voting}/vote")
    page_ok(client, f"/rounds/{voting}/vote/citywide")
    if role is Role.STAFF:
        page_ok(client, "/rounds/new")
        post_empty(client, "/rounds/new", "/rounds")
        # The proposal page with its photo form, as shown and refused (no file, no alt).
        pid = make_proposal(db, proposing, staff)
        page_ok(client, f"/proposals/{pid}")
        post_empty(client, f"/proposals/{pid}", f"/proposals/{pid}/photos")
        page_ok(client, f"/rounds/{proposing}/edit")
        page_ok(client, f"/rounds/{voting}/voters")
        page_ok(client, f"/rounds/{voting}/paper")
