"""Where pb's files live: templates, static files, migrations and translation catalogs.

The repository keeps ``templates/``, ``static/`` and ``alembic/`` at its top level, beside the
``pb`` package. A wheel cannot install folders beside a package, so the build (``setup.py``)
copies them into the package as ``pb/_data/templates`` etc. This module is the one place that
knows both layouts: it looks in ``pb/_data/`` first (an installed wheel) and then beside the
package (a checkout, as the editable install of ``make`` uses). Paths are absolute, so pb works
from any working directory. The catalogs are inside the package in both layouts.

A folder found in neither place means a broken install: :class:`MissingFiles` names it, and the
CLI turns that into one line and exit status 2.
"""

from __future__ import annotations

from pathlib import Path

from pb.errors import PbError

PACKAGE_DIR = Path(__file__).resolve().parent
INSTALLED_DIR = PACKAGE_DIR / "_data"  # where the wheel puts the top-level folders
CHECKOUT_DIR = PACKAGE_DIR.parent  # the repository root, when pb runs from a checkout

# Each folder with a file that must be in it, so an empty or half-copied folder is caught too.
TOP_LEVEL: dict[str, str] = {
    "templates": "base.html",
    "static": "style.css",
    "alembic": "env.py",
}


class MissingFiles(PbError):
    """A folder pb needs is not where an install or a checkout puts it."""


def _find(name: str) -> Path:
    marker = TOP_LEVEL[name]
    for base in (INSTALLED_DIR, CHECKOUT_DIR):
        folder = base / name
        if (folder / marker).is_file():
            return folder
    raise MissingFiles(
        f"pb's {name}/ folder is missing (looked in {INSTALLED_DIR} and {CHECKOUT_DIR}): "
        "reinstall pb"
    )


def templates_dir() -> Path:
    """The Jinja templates."""
    return _find("templates")


def static_dir() -> Path:
    """The files served under ``/static``."""
    return _find("static")


def alembic_dir() -> Path:
    """The migrations: ``env.py``, ``script.py.mako`` and ``versions/``."""
    folder = _find("alembic")
    if not any((folder / "versions").glob("*.py")):
        raise MissingFiles(f"pb's migrations are missing ({folder / 'versions'}): reinstall pb")
    return folder


def translations_dir() -> Path:
    """The ``.po`` catalogs, one ``<locale>/LC_MESSAGES/messages.po`` per language."""
    return PACKAGE_DIR / "translations"


def is_checkout() -> bool:
    """True when pb runs from a source checkout (where new migrations may be written)."""
    return alembic_dir() == CHECKOUT_DIR / "alembic"


def check_installation(locales: tuple[str, ...] = ()) -> None:
    """Raise :class:`MissingFiles` unless every folder the web app needs is in place, with a
    catalog for each of ``locales`` but English (the source language)."""
    for name in TOP_LEVEL:
        _find(name)
    alembic_dir()
    for locale in locales:
        if locale == "en":
            continue
        catalog = translations_dir() / locale / "LC_MESSAGES" / "messages.po"
        if not catalog.is_file():
            raise MissingFiles(f"pb's {locale} translations are missing ({catalog}): reinstall pb")
