"""``pb demo --locale L``: the demo town's districts, categories, rounds, proposals and
crowdfunding in L, from the per-locale texts in ``pb/demo_texts``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from pb import cli
from pb.config import Settings
from pb.db import Database
from pb.models import Campaign, Category, District, Proposal, Round, User
from pb.models.mail import OutboxMail
from pb.services import demo_texts


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PB_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("PB_VAR_DIR", str(settings.var_dir))
    return settings


def _words(db: Database, model: type, column: str) -> set[str]:
    return db.read_sync(lambda s: set(s.scalars(select(getattr(model, column)))))


@pytest.mark.parametrize("locale", demo_texts.LOCALES)
def test_every_language_has_all_the_demo_texts(locale: str) -> None:
    texts = demo_texts.load(locale)  # raises on a missing or extra text
    assert len(texts["ideas"]) == 12 and len(texts["districts"]) == 4
    if locale != "en":
        english = demo_texts.load("en")
        assert texts["ideas"][0][0] != english["ideas"][0][0]
        assert texts["rounds"][2][0] != english["rounds"][2][0]


def test_texts_of_the_wrong_shape_are_named() -> None:
    english = demo_texts.load("en")
    broken = json.loads(json.dumps(english))
    del broken["ideas"][3]
    assert demo_texts._shape_problem(english, broken, "xx") == "xx.ideas: expected a list of 12"
    broken = json.loads(json.dumps(english))
    broken["proposal"]["need"] = " "
    assert demo_texts._shape_problem(english, broken, "xx") == "xx.proposal.need: expected a text"


def test_demo_in_polish(env: Settings, db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--locale", "pl"]) == 0
    assert "pl" in capsys.readouterr().out
    polish = demo_texts.load("pl")
    titles = _words(db, Proposal, "title")
    assert "Drzewa dające cień na Rynku" in titles
    assert titles <= {title for title, _ in polish["ideas"]}
    assert _words(db, District, "name") == set(polish["districts"])
    assert _words(db, Category, "name") == set(polish["categories"])
    assert "Budżet obywatelski 2026" in _words(db, Round, "title")
    campaigns = _words(db, Campaign, "title")
    assert "Kawiarenka naprawcza w starej bibliotece" in campaigns
    assert "Repair café in the old library" not in campaigns
    # The demo accounts see pb in Polish once they log in.
    assert _words(db, User, "locale") >= {"pl"}
    assert db.read_sync(lambda s: s.scalar(select(User.locale).where(User.email.like("admin%"))))


def test_demo_mails_in_the_demo_language(env: Settings, db: Database) -> None:
    assert cli.main(["demo", "--locale", "es"]) == 0
    subjects = _words(db, OutboxMail, "subject")
    assert subjects, "the demo's closed calls mail their backers"
    assert any("lo logró" in s or "no alcanzó" in s for s in subjects), subjects


def test_demo_in_an_unknown_language(
    env: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--locale", "xx"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "en, fr, es, it, el, pl" in err
    assert not _words(db, User, "email")  # nothing was loaded


def test_demo_in_greek(env: Settings, db: Database) -> None:
    """Greek district names have no ASCII letters to make keys of: the demo still loads, with
    its districts' ballots and maps (keys made unique, see ``rounds.district_keys``)."""
    assert cli.main(["demo", "--locale", "el"]) == 0
    greek = demo_texts.load("el")
    assert _words(db, District, "name") == set(greek["districts"])
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(District))) == 4
    assert (
        db.read_sync(lambda s: s.scalar(select(func.count()).where(District.boundary.is_not(None))))
        == 4
    )
