"""Pledging load benchmark: many residents pledge at once through the real server (`pb serve`
with several workers), on SQLite and on PostgreSQL; then the live match estimate under load.

Usage (from the repository root, in the project's virtualenv):

    python benchmarks/funding_load.py [--db sqlite|postgresql|both] [--residents N]
                                      [--campaigns K] [--concurrency C] [--workers W]
                                      [--resends F] [--estimates M] [--rate R]
                                      [--estimate-rate E] [--timeout S] [--pg-url URL]

For each database it prepares a fresh database (as benchmarks/vote_load.py does), creates a
quadratic-funding call in its pledging window with K campaigns and N resident accounts, and
logs each resident in by starting a server-side session (not timed; a login form per resident
would time argon2, not pledging). Then C clients send the N pledges (each resident one pledge to
a random campaign, an amount between 2 and 60 €, the idempotency key a form would carry) while a
share F of the acknowledged pledges is sent again with the same key, as a double tap or a
resent form would be (each must answer 303 and add nothing). It prints pledges/s and the
latency of the pledge requests, then times M requests of the htmx estimate fragment
(``GET /campaigns/{id}/estimate?amount=...``) from logged-in residents. By default the clients
run a closed loop (each sends its next request when answered, so latency there is mostly the
queue of C clients: about C / throughput); with ``--rate R`` (and ``--estimate-rate E``) the
first pledges (estimates) start at R (E) a second whatever the answers, as a crowd does, and
each latency counts from the request's scheduled start. In an open loop the throughput target
is judged at the offered rate R when every pledge is acknowledged: the answered rate is a little
under R by construction (the schedule ends with pledges in flight), and a server that could not
keep pace would show it in the latencies, counted from the schedule.

After the run it checks the database: exactly one pledge per acknowledged idempotency key, with
the resident, campaign and amount that were sent; no other pledge; and every campaign's
maintained totals (backers, raised, eligible sum of square roots) equal a recount from the
pledges. Exits non-zero when any check fails. Targets: >= 300 pledges/s with p99 <= 250 ms, and
the estimate's p99 <= 20 ms. Only loopback traffic; the server and every temporary file or
schema are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from pb import clock
from pb.config import Settings
from pb.db import Database, make_engine
from pb.models import CampaignTotals, Eligibility, Pledge, Role
from pb.services import accounts
from pb.services.funding import calls, campaigns
from pb.services.funding.calls import CallInput
from pb.services.funding.campaigns import CampaignInput
from pb.tally.funding import MatchingRule
from pb.web.security import Cookies

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vote_load import (  # the shared server and database helpers
    DEFAULT_PG_URL,
    SECRET_KEY,
    fresh_database,
    machine_busy_seconds,
    percentile,
    server,
    tail,
    wait_healthy,
)

PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$not-used$not-used"  # nobody logs in by form


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load-test pledging through the real server on SQLite and/or PostgreSQL, "
        "then verify what was stored.",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--residents", type=int, default=3000, help="pledgers (%(default)s)")
    parser.add_argument("--campaigns", type=int, default=20, help="campaigns (%(default)s)")
    parser.add_argument("--concurrency", type=int, default=64, help="clients (%(default)s)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server workers (%(default)s: one a core; more only lengthens the tail)",
    )
    parser.add_argument(
        "--resends", type=float, default=0.05, help="share of pledges sent twice (%(default)s)"
    )
    parser.add_argument(
        "--estimates", type=int, default=2000, help="estimate requests timed (%(default)s)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="open loop: start first pledges at this many a second, latency counted from each "
        "one's scheduled start (default: closed loop, each client sends when answered)",
    )
    parser.add_argument(
        "--estimate-rate",
        type=float,
        default=0,
        help="open loop for the estimates, as --rate (default: closed loop)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per database")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.residents < 1 or args.campaigns < 1 or args.concurrency < 1 or args.workers < 1:
        parser.error("--residents, --campaigns, --concurrency and --workers must be at least 1")
    if args.rate < 0 or args.estimate_rate < 0:
        parser.error("--rate and --estimate-rate cannot be negative")
    if not 0 <= args.resends <= 1:
        parser.error("--resends is a share between 0 and 1")
    return args


# --- the data ----------------------------------------------------------------------------------


@dataclass
class Resident:
    user_id: int
    cookie: str  # the Cookie header of a logged-in browser
    csrf: str
    campaign_id: int = 0
    amount: int = 0
    key: str = ""
    status: int | None = None


def make_call(db: Database, count: int) -> list[int]:
    """A quadratic-funding call in its pledging window with ``count`` campaigns."""
    today = clock.today("UTC")

    def build(session: Any) -> list[int]:
        data = CallInput(
            title="Fund under load",
            description="Many pledges at once.",
            currency="EUR",
            pool=50_000_00,
            rule=MatchingRule("quadratic"),
            pledging_from=today + dt.timedelta(days=1),
            pledging_until=today + dt.timedelta(days=20),
            collection_until=today + dt.timedelta(days=40),
            eligibility=Eligibility.ACCOUNT,
            iban="FR7630006000011234567890189",
            bic="AGRIFRPP",
            creditor_name="Loadville",
        )
        call = calls.create_call(session, None, data)
        ids = [
            campaigns.create_campaign(
                session,
                None,
                call.id,
                CampaignInput(f"Campaign {n}", "Under load.", [("Costs", 5_000_00)]),
                today,
            ).id
            for n in range(count)
        ]
        call.pledging_from = today - dt.timedelta(days=1)  # pledging opens
        return ids

    return db.write_sync(build)


def make_residents(db: Database, url: str, count: int) -> list[Resident]:
    """``count`` resident accounts, each with a server-side session as a login would start."""
    cookies = Cookies(Settings(database_url=url, secret_key=SECRET_KEY, var_dir=Path(".")))

    def build(session: Any) -> list[tuple[int, str]]:
        out = []
        for n in range(count):
            user = accounts.create_user(
                session, f"load{n}@example.org", f"Resident {n}", PASSWORD_HASH, Role.RESIDENT
            )
            session.flush()
            out.append((user.id, accounts.start_session(session, user.id, "funding_load")))
        return out

    residents = []
    for user_id, token in db.write_sync(build):
        value = cookies.session_cookie(token, False).split(";", 1)[0]
        csrf = cookies.csrf_token("s:" + accounts.token_digest(token))
        residents.append(Resident(user_id, value, csrf))
    return residents


# --- the client ----------------------------------------------------------------------------


class Connection:
    """A minimal HTTP/1.1 keep-alive client (as vote_load's RawHTTP), for GET and POST."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(
        self, method: str, path: str, cookie: str, body: bytes = b"", extra: str = ""
    ) -> int:
        if self.reader is None or self.reader.at_eof():
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nCookie: {cookie}\r\n"
        if method == "POST":
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write((head + extra + "\r\n").encode() + body)
        raw = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = raw.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {
            k.strip().lower(): v.strip()
            for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
        }
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        else:
            await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status


@dataclass
class Timed:
    seconds: float
    latencies: list[float]
    resend_latencies: list[float]
    resends_ok: int
    errors: dict[str, int]


class Pace:
    """Open-loop pacing: the n-th request is due at n / rate seconds after the start, and its
    latency counts from then (a late start counts against the server, as a real crowd does not
    wait for earlier answers). With rate 0, closed loop: each starts when taken."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.began = time.perf_counter()
        self.next = 0

    async def start(self) -> float:
        if self.rate <= 0:
            return time.perf_counter()
        due = self.began + self.next / self.rate
        self.next += 1
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return due


async def pledge_all(
    host: str,
    port: int,
    residents: list[Resident],
    concurrency: int,
    resends: float,
    rng: random.Random,
    rate: float = 0,
) -> Timed:
    queue: asyncio.Queue[tuple[Resident, bool]] = asyncio.Queue()
    for r in residents:
        queue.put_nowait((r, False))
    latencies: list[float] = []
    resend_latencies: list[float] = []
    errors: dict[str, int] = {}
    resends_ok = 0
    pending = len(residents)
    pace = Pace(rate)

    async def worker() -> None:
        nonlocal resends_ok, pending
        conn = Connection(host, port)
        try:
            while pending > 0:
                try:
                    resident, again = await asyncio.wait_for(queue.get(), 0.05)
                except TimeoutError:
                    continue
                body = urlencode(
                    {
                        "csrf_token": resident.csrf,
                        "key": resident.key,
                        "amount": f"{resident.amount // 100}",
                        "public_name": "",
                    }
                ).encode()
                started = time.perf_counter() if again else await pace.start()
                try:
                    status = await conn.send(
                        "POST", f"/campaigns/{resident.campaign_id}/pledge", resident.cookie, body
                    )
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    await conn.close()
                    status = 0
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                took = time.perf_counter() - started
                if again:
                    resend_latencies.append(took)
                    resends_ok += status == 303
                else:
                    resident.status = status
                    latencies.append(took)
                    if status == 303 and rng.random() < resends:
                        pending += 1
                        queue.put_nowait((resident, True))
                if status not in (303, 0):
                    errors[str(status)] = errors.get(str(status), 0) + 1
                pending -= 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Timed(time.perf_counter() - started, latencies, resend_latencies, resends_ok, errors)


async def estimate_all(
    host: str,
    port: int,
    residents: list[Resident],
    count: int,
    concurrency: int,
    rng: random.Random,
    rate: float = 0,
) -> tuple[list[float], int]:
    jobs = [(rng.choice(residents), rng.randint(1, 100)) for _ in range(count)]
    latencies: list[float] = []
    bad = 0
    pace = Pace(rate)

    async def worker(share: list[tuple[Resident, int]]) -> None:
        nonlocal bad
        conn = Connection(host, port)
        try:
            for resident, euros in share:
                started = await pace.start()
                status = await conn.send(
                    "GET",
                    f"/campaigns/{resident.campaign_id}/estimate?amount={euros}",
                    resident.cookie,
                    extra="HX-Request: true\r\n",
                )
                latencies.append(time.perf_counter() - started)
                bad += status != 200
        finally:
            await conn.close()

    await asyncio.gather(*(worker(jobs[i::concurrency]) for i in range(concurrency)))
    return latencies, bad


# --- the checks --------------------------------------------------------------------------------


def check_stored(db: Database, residents: list[Resident]) -> list[tuple[bool, str]]:
    def load(session: Any) -> tuple[list[Pledge], list[CampaignTotals]]:
        return list(session.scalars(select(Pledge))), list(session.scalars(select(CampaignTotals)))

    stored, totals = db.read_sync(load)
    by_key: dict[str, list[Pledge]] = {}
    for p in stored:
        by_key.setdefault(p.idempotency_key, []).append(p)
    acknowledged = [r for r in residents if r.status == 303]
    wrong = [
        r.key
        for r in acknowledged
        if [(p.user_id, p.campaign_id, p.amount) for p in by_key.get(r.key, [])]
        != [(r.user_id, r.campaign_id, r.amount)]
    ]
    raised: dict[int, int] = {}
    people: dict[int, dict[int, int]] = {}
    for p in stored:
        raised[p.campaign_id] = raised.get(p.campaign_id, 0) + p.amount
        by_user = people.setdefault(p.campaign_id, {})
        by_user[p.user_id] = by_user.get(p.user_id, 0) + p.amount
    off = [
        t.campaign_id
        for t in totals
        if t.raised != raised.get(t.campaign_id, 0)
        or t.backers != len(people.get(t.campaign_id, {}))
        or not math.isclose(
            t.match_sum_sqrt,
            sum(math.sqrt(c) for c in people.get(t.campaign_id, {}).values()),
            rel_tol=1e-9,
            abs_tol=1e-6,
        )
    ]
    return [
        (not wrong, f"every acknowledged pledge stored once, as sent ({len(wrong)} wrong)"),
        (
            len(stored) == len(acknowledged),
            f"no other pledge ({len(stored)} stored, {len(acknowledged)} acknowledged)",
        ),
        (not off, f"campaign totals equal a recount ({len(off)} of {len(totals)} differ)"),
    ]


# --- one run -------------------------------------------------------------------------------


def run_one(kind: str, args: argparse.Namespace) -> bool:
    print(
        f"== {kind}: {args.residents} residents, {args.campaigns} campaigns, "
        f"{args.concurrency} clients, {args.workers} workers ==",
        flush=True,
    )
    deadline = time.monotonic() + args.timeout
    tmp = Path(tempfile.mkdtemp(prefix=f"pb-funding-load-{kind}-"))
    try:
        with fresh_database(kind, args.pg_url, tmp) as url:
            db = Database(make_engine(url))
            try:
                started = time.perf_counter()
                campaign_ids = make_call(db, args.campaigns)
                residents = make_residents(db, url, args.residents)
                print(f"prepared in {time.perf_counter() - started:.1f} s", flush=True)
                with server(url, args.workers, tmp, "pb", []) as srv:
                    return asyncio.run(
                        asyncio.wait_for(
                            drive(args, db, srv, campaign_ids, residents, deadline),
                            timeout=max(1.0, deadline - time.monotonic()),
                        )
                    )
            finally:
                db.close()
    except TimeoutError as exc:
        print(f"FAIL {kind}: timed out after {args.timeout:.0f} s {exc}", flush=True)
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def drive(
    args: argparse.Namespace,
    db: Database,
    srv: Any,
    campaign_ids: list[int],
    residents: list[Resident],
    deadline: float,
) -> bool:
    await wait_healthy(srv.base, min(deadline, time.monotonic() + 60), srv.log_path)
    host, port = srv.base.removeprefix("http://").split(":")
    rng = random.Random(args.seed)
    for r in residents:
        r.campaign_id = rng.choice(campaign_ids)
        r.amount = rng.randint(2, 60) * 100
        r.key = secrets.token_urlsafe(16)
    server_cpu, busy = srv.cpu_seconds(), machine_busy_seconds()
    timed = await pledge_all(
        host, int(port), residents, args.concurrency, args.resends, rng, args.rate
    )
    server_cpu, busy = srv.cpu_seconds() - server_cpu, machine_busy_seconds() - busy
    ms = [s * 1000 for s in timed.latencies]
    acknowledged = sum(r.status == 303 for r in residents)
    rate = acknowledged / timed.seconds
    errors = sum(timed.errors.values())
    paced = f", started at {args.rate:g}/s (open loop)" if args.rate else ""
    print(
        f"pledges: {acknowledged} acknowledged (303) in {timed.seconds:.2f} s: {rate:.0f}/s{paced}"
    )
    print(
        f"pledge latency ms: p50 {percentile(ms, 50):.0f}  p95 {percentile(ms, 95):.0f}  "
        f"p99 {percentile(ms, 99):.0f}  max {max(ms):.0f}"
    )
    print(f"resent forms: {timed.resends_ok} of {len(timed.resend_latencies)} answered 303")
    print(f"errors: {errors}" + (f" {timed.errors}" if errors else ""))
    requests = len(timed.latencies) + len(timed.resend_latencies)
    print(
        f"CPU: server {server_cpu:.1f} s ({server_cpu / requests * 1000:.1f} ms a request), "
        f"machine {busy:.1f} s ({busy / timed.seconds:.2f} of {os.cpu_count()} cores busy)",
        flush=True,
    )
    est_cpu = srv.cpu_seconds()
    clients = args.concurrency if args.estimate_rate else min(args.concurrency, 8)
    est, bad = await estimate_all(
        host, int(port), residents, args.estimates, clients, rng, args.estimate_rate
    )
    est_cpu = srv.cpu_seconds() - est_cpu
    est_ms = [s * 1000 for s in est]
    est_paced = f", started at {args.estimate_rate:g}/s" if args.estimate_rate else ""
    print(
        f"estimate latency ms ({len(est)} requests, {clients} clients{est_paced}): "
        f"p50 {percentile(est_ms, 50):.1f}"
        f"  p99 {percentile(est_ms, 99):.1f}  max {max(est_ms):.1f}  ({bad} not 200); "
        f"server CPU {est_cpu / max(len(est), 1) * 1000:.1f} ms a request",
        flush=True,
    )
    checks = [
        (errors == 0 and bad == 0, f"no errors ({errors + bad})"),
        (acknowledged == len(residents), f"every pledge acknowledged ({acknowledged})"),
        (
            timed.resends_ok == len(timed.resend_latencies),
            "every resent form answered as the first",
        ),
    ]
    checks += await asyncio.to_thread(check_stored, db, residents)
    for ok, label in checks:
        print(f"{'PASS' if ok else 'FAIL'} {label}")
    # In an open loop the answered rate cannot exceed the offered one, and the last pledges
    # are still in flight when the schedule ends (3,000 pledges offered at 300/s come back in
    # 10 s plus the last one's latency: "297/s"). Latency counts from each pledge's scheduled
    # start, so a server that fell behind the schedule would show it in the p99; when every
    # pledge is acknowledged within the p99 bound, the server sustained the offered rate.
    sustained = args.rate if args.rate and acknowledged == len(residents) else rate
    target = sustained >= 300 and percentile(ms, 99) <= 250 and percentile(est_ms, 99) <= 20
    print(
        "targets (>= 300 pledges/s, p99 <= 250 ms; estimate p99 <= 20 ms): "
        f"{'met' if target else 'missed'} ({sustained:.0f} pledges/s "
        f"{'offered' if args.rate else 'answered'})",
        flush=True,
    )
    if any(not ok for ok, _ in checks):
        print(f"server log (tail):\n{tail(srv.log_path)}")
    return all(ok for ok, _ in checks)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {kind: run_one(kind, args) for kind in kinds}
    for kind, ok in results.items():
        print(f"{'PASS' if ok else 'FAIL'} {kind}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
