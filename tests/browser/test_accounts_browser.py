"""On a phone: register, log in, switch to French, change password, log out; the old session
is gone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_account_journey_on_a_phone(phone: Any, live_server: str) -> None:
    page = phone
    page.goto("/")
    page.get_by_role("link", name="Register").first.click()
    page.get_by_label("Your name").fill("Rosa Resident")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password", exact=True).fill("first secret pass")
    page.get_by_label("Password again").fill("first secret pass")
    page.get_by_role("button", name="Create my account").click()
    # Signing up does not log in: the address is confirmed by mail (see test_mail_browser).
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    # Log in through the form.
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill("first secret pass")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    # Switch to French: the choice sticks to the account.
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change language").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", name="Mon compte")).to_be_visible()

    # Keep a copy of this session's cookies, as a thief would.
    stolen = page.context.cookies()

    page.get_by_label("Mot de passe actuel").fill("first secret pass")
    page.get_by_label("Nouveau mot de passe", exact=True).fill("second secret pass")
    page.get_by_label("Nouveau mot de passe (confirmation)").fill("second secret pass")
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.get_by_text("Votre mot de passe a été changé")).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter").first).to_be_visible()

    # The copied cookie from before the password change no longer opens the account.
    thief = page.context.browser.new_context(base_url=live_server)
    thief.add_cookies(stolen)
    thief_page = thief.new_page()
    thief_page.goto("/account")
    assert "/login" in thief_page.url
    thief.close()

    # The new password works, on a phone-width page with no horizontal scrolling.
    page.get_by_role("link", name="Se connecter").first.click()
    page.get_by_label("Adresse e-mail").fill("rosa@example.org")
    page.get_by_label("Mot de passe").fill("second secret pass")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Vous êtes connecté.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
