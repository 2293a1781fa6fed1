"""A live pb server in a thread and a phone-sized headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette

from tests.conftest import unavailable

CHROMIUM = os.environ.get("PB_TEST_CHROMIUM", "/usr/bin/chromium")
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(app: Starlette) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        unavailable(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        new_context = browser.new_context
        browser.new_context = lambda **k: _watch(new_context, new_context(**k), k)
        yield browser
        browser.close()


class Accessibility:
    """axe-core on every state a test reaches: each page load and each htmx update marks the
    page as changed, and the next time the test touches the page (or when it ends), axe runs
    on it first. Any violation fails the test. The axe script is the one the
    ``axe-playwright-python`` package bundles: no network needed."""

    # The Page methods a test reaches the page through (``evaluate`` is left alone: axe uses it).
    ENTRY_POINTS = (
        "goto",
        "reload",
        "go_back",
        "locator",
        "get_by_role",
        "get_by_label",
        "get_by_text",
        "get_by_placeholder",
        "click",
        "fill",
        "check",
        "select_option",
        "press",
        "screenshot",
        "content",
        "set_viewport_size",
    )

    def __init__(self, page: Any, mirror: Any = None) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.page = page
        # Without JavaScript axe cannot run in the page itself: it runs on a copy of the page's
        # HTML, at the same address, in ``mirror`` (a page of a context with JavaScript).
        self.mirror = mirror
        self.changed = False
        self.checked: list[str] = []
        self.violations: list[str] = []
        page.on("load", lambda _page: self.mark())
        page.on("requestfinished", self._after_request)
        for name in self.ENTRY_POINTS:
            setattr(page, name, self._checked_first(getattr(page, name)))

    def mark(self) -> None:
        self.changed = True

    def _after_request(self, request: Any) -> None:
        if request.headers.get("hx-request") == "true":
            self.changed = True

    def _checked_first(self, method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.check()
            return method(*args, **kwargs)

        return call

    def check(self, force: bool = False) -> None:
        """Run axe now if the page changed since the last run (or when ``force``)."""
        from playwright.sync_api import Error

        if not (self.changed or force) or self.page.is_closed():
            return
        self.changed = False
        if self.page.url.startswith("chrome-error:"):
            return  # the browser's own error page (a connection a test cut on purpose), not pb's
        try:
            self.page.wait_for_load_state()
            if self.mirror is None:
                results = self.axe.run(self.page)
            else:
                html = self.page.content()
                at = urlsplit(self.page.url)
                self.mirror.goto(f"{at.scheme}://{at.netloc}/health")
                self.mirror.set_content(html)
                results = self.axe.run(self.mirror)
        except Error as exc:
            if "context was destroyed" in str(exc) or "navigat" in str(exc):
                self.changed = True  # it moved on while axe ran: check where it lands
                return
            raise
        self.checked.append(self.page.url)
        for v in results.response["violations"]:
            targets = [" ".join(map(str, n["target"])) for n in v["nodes"]][:5]
            self.violations.append(f"{self.page.url}: {v['id']} ({v['help']}) at {targets}")


# Every page of the current test, for the final check.
_PAGES: list[Accessibility] = []


def _watch(new_context: Any, context: Any, options: dict[str, Any]) -> Any:
    """Attach :class:`Accessibility` to each page the context opens, and check its pages
    once more before the context closes."""
    new_page, close = context.new_page, context.close
    mirror: list[Any] = []
    if options.get("java_script_enabled") is False:
        mirror.append(new_context().new_page())

    def watched_new_page(*args: Any, **kwargs: Any) -> Any:
        page = new_page(*args, **kwargs)
        page.pb_a11y = Accessibility(page, mirror[0] if mirror else None)
        _PAGES.append(page.pb_a11y)
        return page

    def checked_close(*args: Any, **kwargs: Any) -> Any:
        for a11y in _PAGES:
            if a11y.page.context is context:
                a11y.check()
        if mirror:
            mirror[0].context.close()
        return close(*args, **kwargs)

    context.new_page, context.close = watched_new_page, checked_close
    return context


@pytest.fixture(autouse=True)
def _axe_on_every_state() -> Iterator[None]:
    """Fails a browser test on any axe-core violation on any state it reached."""
    _PAGES.clear()
    yield
    found: list[str] = []
    for a11y in _PAGES:
        a11y.check()
        found.extend(a11y.violations)
    _PAGES.clear()
    assert found == [], "axe-core violations:\n" + "\n".join(found)


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    """A new phone-sized browser context; every console error or CSP violation fails the test
    (and, as on every page, every axe-core violation)."""
    context = browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page
    page.pb_a11y.check()
    context.close()
    assert problems == [], f"browser console errors: {problems}"


def axe_check(page: Any) -> None:
    """Run axe on the page as it is now (e.g. after opening a disclosure) and fail at once on
    any violation."""
    a11y: Accessibility = page.pb_a11y
    a11y.check(force=True)
    assert a11y.violations == [], "axe-core violations:\n" + "\n".join(a11y.violations)
