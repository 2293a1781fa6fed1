"""Page weight of the ballot on a slow connection: bytes transferred and DOMContentLoaded.

Usage (from the repository root, in the project's virtualenv, with Chromium installed):

    python benchmarks/page_weight.py [--chromium /usr/bin/chromium] [--latency-ms 400]
                                     [--kbps 400] [--runs 3]

It loads the demo town (``pb demo``) into a temporary SQLite database, serves pb on a free
loopback port (uvicorn in a thread), logs the demo resident in, and then opens the city-wide
ballot of the round in its voting phase in a phone-sized Chromium whose network is throttled
through the DevTools protocol (``Network.emulateNetworkConditions``; the default is the
classic "slow 3G" profile: 400 ms round trip, 400 kbit/s each way). For each run it prints:

- first load: a new browser context (empty cache, logged in): every response's
  ``encodedDataLength`` (headers + body as sent, compressed when it was) and DOMContentLoaded;
- repeat load: the same page again in that context (what the cache saves);
- live update: the htmx request that choosing one project sends, and its response.

Then the median over the runs. Only loopback traffic; the database and server are removed at
the end. A benchmark, not a test: it prints figures and checks only that the page loaded.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(var_dir: Path) -> tuple[str, Any, int]:
    """Load the demo and start pb; returns the base URL, the server and the ballot's round."""
    import uvicorn
    from sqlalchemy import select

    from pb import cli, migrations
    from pb.config import load_settings
    from pb.db import Database, make_engine
    from pb.models import Round
    from pb.web.app import create_app

    os.environ["PB_VAR_DIR"] = str(var_dir)
    os.environ["PB_DATABASE_URL"] = f"sqlite:///{var_dir / 'pb.sqlite3'}"
    os.environ.setdefault("PB_SECRET_KEY", "benchmark-" + "x" * 40)
    settings = load_settings()
    migrations.upgrade(settings.database_url)
    if cli.main(["demo"]) != 0:
        sys.exit("pb demo failed")
    db = Database(make_engine(settings.database_url))
    round_id = db.read_sync(
        lambda s: s.scalar(select(Round.id).where(Round.title == "Participatory budget 2026"))
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            sys.exit("the server did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, int(round_id)


class Meter:
    """Bytes on the wire per response, from the DevTools protocol."""

    def __init__(self, page: Any, latency_ms: float, kbps: float) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": latency_ms,
                "downloadThroughput": kbps * 1000 / 8,
                "uploadThroughput": kbps * 1000 / 8,
            },
        )
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event: dict[str, Any]) -> None:
        self.sizes[event["requestId"]] = int(event["encodedDataLength"])

    def take(self) -> dict[str, int]:
        taken = {self.urls.get(k, k): v for k, v in self.sizes.items()}
        self.sizes.clear()
        return taken


def dom_content_loaded(page: Any) -> float:
    return float(
        page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    )


def one_run(browser: Any, base: str, state: Any, ballot: str, args: Any) -> dict[str, Any]:
    context = browser.new_context(base_url=base, storage_state=state, **PHONE)
    page = context.new_page()
    meter = Meter(page, args.latency_ms, args.kbps)
    page.goto(ballot, wait_until="load")
    page.wait_for_timeout(300)
    first, first_dcl = meter.take(), dom_content_loaded(page)
    page.goto(ballot, wait_until="load")
    page.wait_for_timeout(300)
    repeat, repeat_dcl = meter.take(), dom_content_loaded(page)
    with page.expect_response(lambda r: r.url.endswith("/feedback")):
        page.locator(".ballot input[type=checkbox]").first.check()
    page.wait_for_timeout(300)
    update = meter.take()
    context.close()
    return {
        "first": first,
        "first_dcl": first_dcl,
        "repeat": repeat,
        "repeat_dcl": repeat_dcl,
        "update": update,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--latency-ms", type=float, default=400)
    parser.add_argument("--kbps", type=float, default=400)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="pb-weight-") as tmp:
        base, server, round_id = serve(Path(tmp))
        ballot = f"/rounds/{round_id}/vote/citywide"
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=args.chromium, headless=True, args=["--no-sandbox"]
            )
            login = browser.new_context(base_url=base, **PHONE)
            page = login.new_page()
            page.goto("/login")
            page.get_by_label("Email").fill("resident@demo.pb")
            page.get_by_label("Password").fill("demo-resident-pass")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/")
            state = login.storage_state()
            login.close()
            runs = [one_run(browser, base, state, ballot, args) for _ in range(args.runs)]
            browser.close()
        server.should_exit = True
    print(f"ballot {ballot}: {args.latency_ms:.0f} ms round trip, {args.kbps:.0f} kbit/s")
    for url, size in sorted(runs[0]["first"].items()):
        print(f"  first load  {size:7,d} B  {url.replace(base, '')}")
    for name in ("first", "repeat", "update"):
        totals = [sum(r[name].values()) for r in runs]
        line = f"{name:>7}: {statistics.median(totals):8,.0f} B transferred (median of {len(runs)})"
        if name != "update":
            dcl = statistics.median(r[f"{name}_dcl"] for r in runs)
            line += f", DOMContentLoaded {dcl:,.0f} ms"
        print(line)


if __name__ == "__main__":
    main()
