"""On a phone, in Greek and in Polish (and Spanish): vote, read the results and pledge, and find
no English left on those pages; Greek text renders with the page's fonts (no tofu boxes).

Each flow runs twice, for a resident whose account is in English and one whose account is in
the language under test, and every page of the second is compared with the same page of the
first: a word shown on both is English left over, unless it is the town's own data (names,
titles), a word the language's catalog itself uses, or the locale's own month or day names.
A language whose catalog has not landed yet is skipped; one whose catalog exists must pass.

With ``PB_SHOTS_DIR`` set, the pages are also saved there as screenshots.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from playwright.sync_api import expect
from sqlalchemy import select, update

from pb import i18n
from pb.config import Settings
from pb.db import Database
from pb.models import (
    Campaign,
    Category,
    CostItem,
    District,
    FundingCall,
    Proposal,
    Round,
    User,
    VotingScope,
)
from pb.services import demo_texts, results, rounds, voting
from tests import frozen
from tests.builders import make_voting_round
from tests.conftest import make_user
from tests.funding_builders import make_call, make_campaign

pytestmark = pytest.mark.browser

LOCALES = ("el", "pl", "es")
WORD = re.compile(r"[^\W\d_]{3,}")
HEX = re.compile(r"[0-9a-f]{16,}")  # fingerprints
Snapshots = dict[str, str]


def _needs_catalog(locale: str) -> None:
    path = i18n.TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        pytest.skip(f"no {locale} catalog yet ({path.relative_to(i18n.TRANSLATIONS_DIR.parent)})")


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(HEX.sub(" ", text))}


def _catalog_words(locale: str) -> set[str]:
    path = i18n.TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    words: set[str] = set()
    for message in catalog:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            words |= _words(form or "")
    return words


def _calendar_words(locale: str) -> set[str]:
    babel = Locale.parse(locale)
    words: set[str] = set()
    for table in (babel.months, babel.days):
        for context in table.values():
            for width in context.values():
                for name in width.values():
                    words |= _words(name)
    return words


def _data_words(db: Database) -> set[str]:
    """Words of what the town typed in: titles, descriptions, names."""
    columns = (
        Round.title,
        Round.description,
        Proposal.title,
        Proposal.summary,
        Proposal.description,
        Category.name,
        District.name,
        FundingCall.title,
        FundingCall.description,
        FundingCall.currency,  # an ISO code (EUR), the same in every language
        FundingCall.creditor_name,
        Campaign.title,
        Campaign.description,
        CostItem.label,
        User.display_name,
    )

    def read(session: Any) -> set[str]:
        words: set[str] = set()
        for column in columns:
            for value in session.scalars(select(column)):
                words |= _words(str(value or ""))
        return words

    return db.read_sync(read) | {"testville", "lindenfeld"}


def _visible(page: Any) -> str:
    """The text a resident reads: the header's menu and the main content, without commands to
    type (``pre``); the footer's language switcher names every language in itself, on purpose."""
    script = (
        "(() => { let text = ['header', 'main'].map(s => document.querySelector(s).innerText)"
        ".join('\\n'); document.querySelectorAll('main pre').forEach("
        "e => { text = text.replace(e.innerText, ' '); }); return text; })()"
    )
    return str(page.evaluate(script))


def _snap(page: Any, shots: Snapshots, name: str, locale: str) -> None:
    shots[name] = _visible(page)
    folder = os.environ.get("PB_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"lang1-{locale}-{name}.png"), full_page=True)


def _resident(db: Database, settings: Settings, email: str, locale: str) -> None:
    make_user(db, settings, email)
    db.write_sync(
        lambda s: s.execute(update(User).where(User.email == email).values(locale=locale))
    )


def _context(browser: Any, live_server: str, locale: str) -> Any:
    from tests.browser.conftest import PHONE

    return browser.new_context(base_url=live_server, locale=locale, **PHONE)


def _log_in(page: Any, tr: Callable[..., str], email: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label(tr("Email")).fill(email)
    page.get_by_label(tr("Password"), exact=True).fill("correct horse battery")
    page.get_by_role("button", name=tr("Log in"), exact=True).click()


def _translator(locale: str) -> Callable[..., str]:
    def tr(message: str, **variables: object) -> str:
        text = i18n.translations(locale).gettext(message)
        return text % variables if variables else text

    return tr


def _run_twice(
    browser: Any,
    live_server: str,
    db: Database,
    settings: Settings,
    locale: str,
    flow: Callable[[Any, Callable[..., str], str, Snapshots, str], None],
) -> tuple[Snapshots, Snapshots]:
    """The flow for an English-speaking resident, then for one who reads ``locale``."""
    out = []
    for lang in ("en", locale):
        email = f"{lang}@example.org"
        _resident(db, settings, email, lang)
        context = _context(browser, live_server, lang)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None
        )
        shots: Snapshots = {}
        flow(page, _translator(lang), email, shots, lang)
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        context.close()
        assert errors == []
        out.append(shots)
    return out[0], out[1]


def _no_english_left(db: Database, locale: str, english: Snapshots, local: Snapshots) -> None:
    assert english.keys() == local.keys()
    allowed = _data_words(db) | _catalog_words(locale) | _calendar_words(locale)
    problems = {}
    for name, text in local.items():
        left = (_words(text) & _words(english[name])) - allowed
        if left:
            problems[name] = sorted(left)
    assert not problems, f"{locale}: English left on the pages: {problems}"


@pytest.mark.parametrize("locale", LOCALES)
def test_vote_in_the_language(
    browser: Any, live_server: str, db: Database, settings: Settings, locale: str
) -> None:
    _needs_catalog(locale)
    r = make_voting_round(db, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]

    def flow(page: Any, tr: Callable[..., str], email: str, shots: Snapshots, lang: str) -> None:
        _log_in(page, tr, email, f"/rounds/{rid}/vote")
        expect(page.get_by_role("link", name=tr("Fill in the city-wide ballot"))).to_be_visible()
        _snap(page, shots, "vote", lang)
        page.get_by_role("link", name=tr("Fill in the city-wide ballot")).click()
        page.get_by_label("citywide project 0").check()
        page.get_by_label("citywide project 2").check()
        _snap(page, shots, "ballot", lang)
        page.get_by_role("button", name=tr("Review my ballot")).click()
        expect(page.get_by_role("heading", name=tr("Your city-wide ballot"))).to_be_visible()
        _snap(page, shots, "review", lang)
        page.get_by_role("button", name=tr("Cast my ballot")).click()
        expect(page.get_by_role("heading", name=tr("Thank you for voting"))).to_be_visible()
        _snap(page, shots, "receipt", lang)

    english, local = _run_twice(browser, live_server, db, settings, locale, flow)
    _no_english_left(db, locale, english, local)


@pytest.mark.parametrize("locale", LOCALES)
def test_read_results_in_the_language(
    browser: Any, live_server: str, db: Database, settings: Settings, locale: str
) -> None:
    _needs_catalog(locale)
    today = frozen.TODAY
    r = make_voting_round(db, scope=VotingScope.CITYWIDE, min_choices=None, max_choices=3)
    rid, p = r["round_id"], r["projects"]["citywide"]
    for n in range(9):
        db.write_sync(
            voting.cast, rid, "citywide", "citywide", f"v{n}", {p[n % 3]: 1}, "online", today
        )
    db.write_sync(rounds.advance_phase, None, rid, today)
    db.write_sync(results.tally_round, None, rid, today)
    db.write_sync(results.publish, None, rid, today)

    def flow(page: Any, tr: Callable[..., str], email: str, shots: Snapshots, lang: str) -> None:
        _log_in(page, tr, email, f"/rounds/{rid}")
        expect(page.get_by_role("link", name=tr("Results"), exact=True)).to_be_visible()
        _snap(page, shots, "round", lang)
        page.get_by_role("link", name=tr("Results"), exact=True).click()
        expect(page.get_by_role("heading", name=tr("How the winners were chosen"))).to_be_visible()
        _snap(page, shots, "results", lang)

    english, local = _run_twice(browser, live_server, db, settings, locale, flow)
    _no_english_left(db, locale, english, local)


@pytest.mark.parametrize("locale", LOCALES)
def test_pledge_in_the_language(
    browser: Any, live_server: str, db: Database, settings: Settings, locale: str
) -> None:
    _needs_catalog(locale)
    campaign_id = make_campaign(db, make_call(db))

    def flow(page: Any, tr: Callable[..., str], email: str, shots: Snapshots, lang: str) -> None:
        _log_in(page, tr, email, f"/campaigns/{campaign_id}")
        expect(page.get_by_role("heading", name="Community garden")).to_be_visible()
        _snap(page, shots, "campaign", lang)
        page.get_by_label(tr("Amount (%(currency)s)", currency="EUR")).fill("20")
        page.get_by_role("button", name=tr("Pledge"), exact=True).click()
        expect(page.get_by_role("heading", name=tr("My pledges"))).to_be_visible()
        _snap(page, shots, "pledges", lang)

    english, local = _run_twice(browser, live_server, db, settings, locale, flow)
    _no_english_left(db, locale, english, local)


# Greek, in the demo town's words, whatever the interface language.
GREEK_LETTERS = "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΘΛΞΠΣΦΨΩάέήίόύώ"
GLYPH_WIDTHS = """(letters) => {
  const font = getComputedStyle(document.querySelector('main')).font;
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = font;
  const widths = Array.from(letters).map(c => ctx.measureText(c).width);
  return {font, widths, missing: ctx.measureText('\\uE000').width};
}"""


def test_greek_renders_with_the_page_fonts(phone: Any, db: Database, settings: Settings) -> None:
    """Tofu (the "missing glyph" box) has one width for every letter: Greek letters of many
    widths, unlike that box, mean the page's font stack has real Greek glyphs."""
    greek = demo_texts.load("el")
    r = make_voting_round(
        db,
        scope=VotingScope.CITYWIDE,
        title=greek["rounds"][2][0],
        description=greek["rounds"][2][1],
    )
    rid = r["round_id"]
    for pid, (title, summary) in zip(r["projects"]["citywide"], greek["ideas"], strict=False):
        db.write_sync(
            lambda s, pid=pid, title=title, summary=summary: s.execute(
                update(Proposal).where(Proposal.id == int(pid)).values(title=title, summary=summary)
            )
        )
    phone.goto(f"/rounds/{rid}")
    expect(phone.get_by_role("heading", name=greek["rounds"][2][0])).to_be_visible()
    measured = phone.evaluate(GLYPH_WIDTHS, GREEK_LETTERS)
    widths = [round(w, 1) for w in measured["widths"]]
    assert len(set(widths)) >= 8, measured
    assert sum(w == round(measured["missing"], 1) for w in widths) <= 2, measured
    folder = os.environ.get("PB_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        phone.goto(f"/rounds/{rid}/proposals")
        phone.screenshot(path=str(Path(folder) / "lang1-greek-glyphs.png"), full_page=True)
