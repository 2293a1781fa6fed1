"""Every catalog present in ``pb/translations`` keeps its msgids' placeholders, has the CLDR
plural rules of its language, and picks a translated plural form for every count.

The tests discover the catalogs on disk, so a new language is covered the moment its ``.po``
file lands (and must then be listed in ``SUPPORTED_LOCALES``).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from pb import i18n
from pb.config import SUPPORTED_LOCALES

CATALOGS = sorted(
    p.parent.parent.name for p in i18n.TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po")
)
# The counts the issue asks about: they hit every CLDR category of the six languages.
COUNTS = (0, 1, 2, 5, 12, 22, 25)
# A python-format placeholder (named or not) or a literal "%%"; Jinja's {% trans %} blocks
# compile to the same %(name)s form.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
STRAY_PERCENT = re.compile(r"%(?!(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%])")


def _path(locale: str) -> Path:
    return i18n.TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"


def _catalog(locale: str) -> Catalog:
    with _path(locale).open("rb") as fh:
        return read_po(fh, locale=locale)


def _plural_of(catalog: Catalog) -> Callable[[int], int]:
    return gettext.c2py(catalog.plural_expr)


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def _plural_messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id and isinstance(m.id, tuple)]


def test_catalogs_are_found_and_supported() -> None:
    assert "fr" in CATALOGS and "es" in CATALOGS
    unlisted = [c for c in CATALOGS if c not in SUPPORTED_LOCALES]
    assert not unlisted, f"catalogs not in SUPPORTED_LOCALES (pb/config.py): {unlisted}"


@pytest.mark.parametrize("locale", CATALOGS)
def test_translations_keep_exactly_the_placeholders(locale: str) -> None:
    problems = []
    for message in _catalog(locale):
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            want = _placeholders(message.id[1])
            # The "one" form may say what the English singular says: "its only supporter"
            # needs no count (it never has more variables than the plural gives).
            singular = _placeholders(message.id[0])
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
        else:
            want = singular = _placeholders(message.id)
            forms = (str(message.string),)
        for index, form in enumerate(forms):
            if not form:
                continue  # untranslated: the completeness test reports it
            got = _placeholders(form)
            if got != want and not (index == 0 and got == singular):
                problems.append(f"{message.id!r} [{index}]: {want} became {got} in {form!r}")
            elif STRAY_PERCENT.search(form.replace("%%", "")):  # %% is a literal %
                problems.append(f"{message.id!r} [{index}]: a stray % in {form!r}")
    assert not problems, f"{locale}:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", CATALOGS)
def test_every_translation_formats_with_its_variables(locale: str) -> None:
    """Formatting each translation as pb does (``text % variables``) never raises."""
    for message in _catalog(locale):
        if not message.id or "python-format" not in message.flags:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        names = {name: 7 for text in ids for name in re.findall(r"%\((\w+)\)", text)}
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            if form:
                assert "%(" not in (form % names), (locale, message.id, form)


@pytest.mark.parametrize("locale", CATALOGS)
def test_plural_forms_are_the_cldr_ones(locale: str) -> None:
    """The catalog's plural formula sorts counts exactly as CLDR's categories do.

    Counts up to 10 000 are checked: CLDR's "many" category of French, Spanish and Italian only
    holds exact millions, which the older two-form French header folds into "other".
    """
    catalog = _catalog(locale)
    expected = get_plural(locale)
    assert catalog.num_plurals >= len(
        {Locale.parse(locale).plural_form(n) for n in range(10_001)}
    ), f"{locale}: Plural-Forms should be like {expected.plural_forms!r}"
    plural = _plural_of(catalog)
    cldr = Locale.parse(locale).plural_form
    form_of_category: dict[str, int] = {}
    for n in range(10_001):
        index = plural(n)
        assert 0 <= index < catalog.num_plurals
        category = cldr(n)
        assert form_of_category.setdefault(category, index) == index, (
            f"{locale}: {n} is CLDR {category!r} and takes form {index}, but other "
            f"{category!r} counts take form {form_of_category[category]}; "
            f"use Plural-Forms like {expected.plural_forms!r}"
        )
    assert len(set(form_of_category.values())) == len(form_of_category), (
        f"{locale}: two CLDR categories share a form: {form_of_category}"
    )


@pytest.mark.parametrize("locale", CATALOGS)
def test_counts_pick_a_translated_plural_form(locale: str) -> None:
    catalog = _catalog(locale)
    plural = _plural_of(catalog)
    messages = _plural_messages(catalog)
    assert messages, f"{locale}: no plural message"
    i18n.translations.cache_clear()
    token = i18n.set_locale(locale)
    try:
        for message in messages:
            singular, plural_id = message.id
            names = {n: "X" for n in re.findall(r"%\((\w+)\)s", plural_id) if n != "num"}
            for n in COUNTS:
                form = message.string[plural(n)]
                assert form, f"{locale}: {singular!r} has no form {plural(n)} (n={n})"
                # What a page shows is that form, not the English fallback of a missing one.
                shown = i18n.ngettext(singular, plural_id, n, **names)
                assert shown == form % {"num": n, **names}, (locale, singular, n, shown)
    finally:
        i18n.reset_locale(token)


def test_polish_uses_three_forms() -> None:
    if not _path("pl").exists():
        pytest.skip("no Polish catalog yet (pb/translations/pl/LC_MESSAGES/messages.po)")
    plural = _plural_of(_catalog("pl"))
    assert len({plural(n) for n in COUNTS}) == 3
    assert [plural(n) for n in (1, 2, 5, 12, 22, 25)] == [0, 1, 2, 2, 1, 2]
