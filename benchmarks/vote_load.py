"""Voting load benchmark: many access-code voters cast their ballots at once against the real
server (uvicorn with several workers), on SQLite and on PostgreSQL.

Usage (from the repository root, in the project's virtualenv):

    python benchmarks/vote_load.py [--db sqlite|postgresql|both] [--voters N] [--concurrency C]
                                   [--workers W] [--rate R] [--duplicates F] [--timeout S]
                                   [--pg-url URL]

For each database it prepares a fresh database (a temporary SQLite file, or a private schema in
the PostgreSQL database that it creates and drops), runs the migrations, creates a town, a
city-wide approval round in its voting phase with access-code eligibility and N codes, starts
``pb serve --workers W`` (uvicorn) on a free loopback port, and logs every voter in with
their code (not timed). Then C clients cast the N ballots, each voter once, while a sample of
already-cast ballots is sent again (each must be refused with 409). It prints ballots/s, the
latency of the cast requests (with ``--rate R``, first casts start at R a second and latency
counts from each one's scheduled start), the errors, and checks the database afterwards: one
participation row and one ballot record per acknowledged ballot (the receipt and the choices
each voter was given and sent), nothing more, and the ballot log's hash chain verifies with
``pb.audit``.

Exits non-zero when any check fails. Only loopback traffic; the server and every temporary file
or schema are removed at the end, also on error or timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import http.cookiejar
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from pb import clock, migrations
from pb.audit import verify_chain
from pb.db import Database, make_engine
from pb.models import (
    BallotRecord,
    District,
    Eligibility,
    Participation,
    Proposal,
    ProposalStatus,
    Round,
    Town,
    VotingMethod,
    VotingScope,
)
from pb.services import eligibility, rounds, voting
from pb.services.rounds import RoundInput

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Fixed so that runs are comparable and the script can read the receipt cookies it is given.
SECRET_KEY = "pb-vote-load-benchmark-secret-key-0123456789abcdef"
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
PROJECT_COSTS = (60_000_00, 30_000_00, 20_000_00)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load-test casting ballots through the real server (uvicorn) on SQLite "
        "and/or PostgreSQL, then verify what was stored.",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help="PostgreSQL database to create a private, temporary schema in (default: %(default)s)",
    )
    parser.add_argument(
        "--voters", type=int, default=3000, help="access codes and ballots (%(default)s)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="simultaneous clients casting (%(default)s)"
    )
    parser.add_argument("--workers", type=int, default=4, help="uvicorn workers (%(default)s)")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="open loop: start first casts at this many a second, at most --concurrency at a "
        "time, latency counted from each cast's scheduled start; 0: as fast as the server "
        "answers (closed loop) (%(default)s)",
    )
    parser.add_argument(
        "--duplicates",
        type=float,
        default=0.05,
        help="share of voters whose ballot is sent again once cast, expecting 409 (%(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds allowed for one database's whole run (%(default)s)",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=30, help="seconds per request (%(default)s)"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx2"),
        default="raw",
        help="HTTP client casting in the timed phase: a minimal keep-alive HTTP/1.1 client "
        "(cheap on CPU, which the server shares) or httpx2 (%(default)s); voters are always "
        "prepared with httpx2",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed for choices and order")
    parser.add_argument(
        "--server",
        choices=("pb", "uvicorn"),
        default="pb",
        help="run the server with `pb serve` (each worker its own SO_REUSEPORT socket) or "
        "`uvicorn --workers` (one socket shared by the workers) (%(default)s)",
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="with --server uvicorn: extra argument for uvicorn, repeatable "
        "(e.g. --server-arg=--http=httptools)",
    )
    parser.add_argument("--keep-log", action="store_true", help="print the server's log at the end")
    args = parser.parse_args(argv)
    if not 1 <= args.voters <= eligibility.MAX_CODES:
        parser.error(f"--voters must be between 1 and {eligibility.MAX_CODES}")
    if args.concurrency < 1 or args.workers < 1:
        parser.error("--concurrency and --workers must be at least 1")
    if not 0 <= args.duplicates <= 1:
        parser.error("--duplicates is a share between 0 and 1")
    return args


# --- the database ------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(kind: str, pg_url: str, tmp: Path) -> Iterator[str]:
    """A migrated, empty database: a temporary SQLite file or a private PostgreSQL schema."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'pb.sqlite3'}"
        migrations.upgrade(url)
        yield url
        return
    schema = f"pb_bench_{secrets.token_hex(4)}"
    admin = make_engine(pg_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
            url_text = url.render_as_string(hide_password=False)
            migrations.upgrade(url_text)
            yield url_text
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


def make_round(db: Database, voters: int) -> tuple[int, list[str], list[str]]:
    """A town with two districts and a city-wide approval round in its voting phase, with
    accepted projects and ``voters`` access codes (as tests/builders.py::make_voting_round)."""

    def build(session: Any) -> tuple[int, list[str]]:
        town = Town(name="Loadville", currency="EUR")
        session.add(town)
        session.flush()
        districts = []
        for name in ("North", "South"):
            district = District(town_id=town.id, name=name)
            session.add(district)
            session.flush()
            districts.append(district.id)
        today = clock.today("UTC")
        days = [today + dt.timedelta(days=o) for o in (-30, -20, -2, 10)]
        data = RoundInput(
            title="Budget under load",
            description="Many voters at once.",
            currency="EUR",
            total_budget=100_000_00,
            citywide_budget=100_000_00,
            district_budgets={d: 0 for d in districts},
            proposals_from=days[0],
            review_from=days[1],
            voting_from=days[2],
            voting_until=days[3],
            method=VotingMethod.APPROVAL,
            rule="greedy",
            eligibility=Eligibility.CODES,
            scope=VotingScope.CITYWIDE,
            min_choices=1,
            max_choices=2,
            categories=["Green spaces", "Mobility"],
        )
        rnd = rounds.create_round(session, None, data)  # type: ignore[arg-type]
        session.flush()
        projects = []
        now = clock.now()
        for n, cost in enumerate(PROJECT_COSTS):
            proposal = Proposal(
                round_id=rnd.id,
                author_id=None,
                title=f"citywide project {n}",
                district_id=None,
                status=ProposalStatus.ACCEPTED,
                feasible_cost=cost,
                created_at=now,
                updated_at=now,
                summary="A project.",
                description="A project for the whole town.",
                need="Load.",
                beneficiaries="",
                partners="",
                place="",
                estimated_cost=cost,
            )
            session.add(proposal)
            session.flush()
            projects.append(str(proposal.id))
        return int(rnd.id), projects

    round_id, projects = db.write_sync(build)
    codes = db.write_sync(eligibility.generate_codes, None, round_id, voters, None, SECRET_KEY)
    return round_id, projects, codes


# --- the server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    base: str
    log_path: Path
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its workers (Linux /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        stats: dict[int, tuple[int, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                    stats[int(entry)] = (
                        int(fields[1]),
                        (int(fields[11]) + int(fields[12])) / ticks,
                    )
        tree, total, grew = {self.pid}, 0.0, True
        while grew:
            found = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
            tree |= found
            grew = bool(found)
        for pid in tree:
            total += stats.get(pid, (0, 0.0))[1]
        return total


def machine_busy_seconds() -> float:
    """CPU time all cores have spent busy since boot (Linux /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(url: str, workers: int, tmp: Path, kind: str, extra: list[str]) -> Iterator[Server]:
    """``pb serve`` (or ``uvicorn pb.web.asgi:app``) on a free loopback port."""
    port = free_port()
    var_dir = tmp / "var"
    var_dir.mkdir(exist_ok=True)
    log_path = tmp / "server.log"
    env = {
        **os.environ,
        "PB_DATABASE_URL": url,
        "PB_SECRET_KEY": SECRET_KEY,
        "PB_VAR_DIR": str(var_dir),
    }
    listen = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if kind == "pb":
        command = [sys.executable, "-m", "pb.cli", "serve", *listen]
    else:
        command = [
            *(sys.executable, "-m", "uvicorn", "pb.web.asgi:app", *listen),
            *("--proxy-headers", "--log-level", "info", *extra),
        ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Server(f"http://127.0.0.1:{port}", log_path, proc.pid)
    finally:
        # The supervisor stops its workers on SIGTERM; the group kill is the fallback
        # (the group is the one this script created with start_new_session).
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # any orphaned worker of this group


async def wait_healthy(base: str, deadline: float, log_path: Path) -> None:
    async with httpx2.AsyncClient(base_url=base, trust_env=False, timeout=2) as client:
        while True:
            with contextlib.suppress(httpx2.TransportError):
                if (await client.get("/health")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not answer /health; log:\n{tail(log_path)}")
            await asyncio.sleep(0.1)


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# --- the voters --------------------------------------------------------------------------------


@dataclass
class VoterState:
    code: str
    choices: list[str]
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""
    first_status: int | None = None
    receipt: str | None = None

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def take_cookies(self, response: httpx2.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value


def no_cookie_jar() -> http.cookiejar.CookieJar:
    """A jar that keeps nothing: the clients are shared, each voter's cookies go by hand."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def make_client(base: str, concurrency: int, timeout: float) -> httpx2.AsyncClient:
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx2.AsyncClient(
        base_url=base,
        trust_env=False,
        limits=limits,
        timeout=timeout,
        cookies=no_cookie_jar(),
        follow_redirects=False,
    )


async def prepare(
    client: httpx2.AsyncClient, round_id: int, voters: list[VoterState], concurrency: int
) -> list[str]:
    """Each voter opens the voting page (anonymous CSRF cookie and token) and enters their
    code (the signed voter cookie). Returns the problems."""
    problems: list[str] = []
    queue: asyncio.Queue[VoterState] = asyncio.Queue()
    for voter in voters:
        queue.put_nowait(voter)

    async def worker() -> None:
        while not queue.empty():
            voter = queue.get_nowait()
            try:
                page = await client.get(f"/rounds/{round_id}/vote")
                voter.take_cookies(page)
                match = CSRF_RE.search(page.text)
                if page.status_code != 200 or not match:
                    problems.append(f"voting page: {page.status_code}")
                    continue
                voter.token = match.group(1)
                proved = await client.post(
                    f"/rounds/{round_id}/vote/code",
                    data={"code": voter.code, "csrf_token": voter.token},
                    headers={"cookie": voter.cookie_header()},
                )
                voter.take_cookies(proved)
                if proved.status_code != 303 or "pb_voter" not in voter.cookies:
                    problems.append(f"code: {proved.status_code}")
            except httpx2.HTTPError as exc:
                problems.append(f"preparing: {type(exc).__name__}: {exc}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return problems


class RawHTTP:
    """A minimal HTTP/1.1 keep-alive client for the timed phase: one connection per client
    task, bytes prepared in advance. The load generator shares the machine's cores with the
    server; httpx2 spends about 2 ms of CPU a request, this about a tenth of that, so the
    figures measure the server rather than the client. Answers are status plus Set-Cookie."""

    def __init__(self, base: str, timeout: float) -> None:
        url = httpx2.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes, cookie: str) -> tuple[int, list[str]]:
        return await asyncio.wait_for(self._post(path, body, cookie), self.timeout)

    async def _post(self, path: str, body: bytes, cookie: str) -> tuple[int, list[str]]:
        if self.reader is None or self.reader.at_eof():
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.writer is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nCookie: {cookie}\r\n\r\n".encode()
            + body
        )
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        fields = {name.strip().lower(): value.strip() for name, value in headers}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        else:
            await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        cookies = [v.strip() for n, v in headers if n.strip().lower() == "set-cookie"]
        return status, cookies


class HttpxPoster:
    """The same calls through the shared httpx2 client (``--client httpx2``)."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, body: bytes, cookie: str) -> tuple[int, list[str]]:
        response = await self.client.post(
            path,
            content=body,
            headers={"cookie": cookie, "content-type": "application/x-www-form-urlencoded"},
        )
        return response.status_code, response.headers.get_list("set-cookie")

    async def close(self) -> None:
        return None


@dataclass
class Outcome:
    seconds: float
    first_latencies: list[float]
    duplicate_latencies: list[float]
    acknowledged: int
    duplicates_refused: int
    duplicates_sent: int
    errors: dict[str, int]
    client_cpu: float


async def cast_all(
    client: httpx2.AsyncClient,
    raw: bool,
    round_id: int,
    voters: list[VoterState],
    concurrency: int,
    duplicate_share: float,
    rng: random.Random,
    rate: float = 0,
) -> Outcome:
    """The timed phase: every voter casts once; sampled voters cast again once acknowledged."""
    order = list(voters)
    rng.shuffle(order)
    resend = {id(v) for v in rng.sample(order, round(len(order) * duplicate_share))}
    # Re-sends go ahead of the first casts still waiting, so they run during the load.
    queue: asyncio.PriorityQueue[tuple[int, int, VoterState | None]] = asyncio.PriorityQueue()
    for n, voter in enumerate(order):
        queue.put_nowait((1, n, voter))
    remaining = len(order) + len(resend)
    first_latencies: list[float] = []
    duplicate_latencies: list[float] = []
    errors: dict[str, int] = {}
    counts = {"acknowledged": 0, "refused": 0, "sent": 0}
    signer = URLSafeTimedSerializer(SECRET_KEY, salt="pb.receipt")
    path = f"/rounds/{round_id}/vote/citywide"
    bodies = {
        id(v): urlencode(
            {"csrf_token": v.token, "district": "citywide", "step": "cast", "p": v.choices},
            doseq=True,
        ).encode()
        for v in order
    }
    cookies = {id(v): v.cookie_header() for v in order}

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def finished_one() -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            for n in range(concurrency):
                queue.put_nowait((2, n, None))

    scheduled = {"next": 0}

    async def send(
        poster: RawHTTP | HttpxPoster, voter: VoterState, paced: bool = False
    ) -> tuple[tuple[int, list[str]] | None, float]:
        start = time.perf_counter()
        if paced and rate > 0:
            # Open loop: the n-th first cast is due at n / rate seconds. A late start counts
            # in its latency (no coordinated omission).
            start = began + scheduled["next"] / rate
            scheduled["next"] += 1
            await asyncio.sleep(max(0.0, start - time.perf_counter()))
        try:
            answer = await poster.post(path, bodies[id(voter)], cookies[id(voter)])
        except (httpx2.HTTPError, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            error(f"transport error {type(exc).__name__}")
            await poster.close()
            return None, time.perf_counter() - start
        return answer, time.perf_counter() - start

    async def worker() -> None:
        poster = RawHTTP(str(client.base_url), client.timeout.read or 30) if raw else None
        try:
            await work(poster or HttpxPoster(client))
        finally:
            if poster is not None:
                await poster.close()

    async def work(poster: RawHTTP | HttpxPoster) -> None:
        while True:
            priority, n, job = await queue.get()
            if job is None:
                return
            voter, duplicate = job, priority == 0
            answer, seconds = await send(poster, voter, paced=not duplicate)
            status = answer[0] if answer is not None else None
            if duplicate:
                counts["sent"] += 1
                duplicate_latencies.append(seconds)
                if status == 409:
                    counts["refused"] += 1
                elif status is not None:
                    error(f"duplicate answered {status}")
            else:
                first_latencies.append(seconds)
                voter.first_status = status
                if answer is not None and status == 303:
                    counts["acknowledged"] += 1
                    cookie: SimpleCookie = SimpleCookie()
                    for header in answer[1]:
                        cookie.load(header)
                    with contextlib.suppress(Exception):
                        voter.receipt = signer.loads(cookie["pb_receipt"].value)[1]
                    if id(voter) in resend:
                        queue.put_nowait((0, n, voter))  # counted down when answered
                else:
                    if status is not None:
                        error(f"first cast answered {status}")
                    if id(voter) in resend:
                        finished_one()  # its re-send will never be made
            finished_one()

    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - began
    return Outcome(
        seconds=seconds,
        first_latencies=first_latencies,
        duplicate_latencies=duplicate_latencies,
        acknowledged=counts["acknowledged"],
        duplicates_refused=counts["refused"],
        duplicates_sent=counts["sent"],
        errors=errors,
        client_cpu=time.process_time() - cpu,
    )


# --- checking what was stored --------------------------------------------------------------------


def check_stored(db: Database, round_id: int, voters: list[VoterState]) -> list[tuple[bool, str]]:
    def load(session: Any) -> tuple[list[str], list[BallotRecord], Round]:
        keys = list(
            session.scalars(
                select(Participation.voter_key).where(Participation.round_id == round_id)
            )
        )
        records = list(
            session.scalars(
                select(BallotRecord)
                .where(BallotRecord.round_id == round_id)
                .order_by(BallotRecord.seq)
            )
        )
        return keys, records, session.get(Round, round_id)

    keys, records, rnd = db.read_sync(load)
    acknowledged = [v for v in voters if v.first_status == 303]
    expected_keys = {
        voting.voter_key(
            SECRET_KEY,
            round_id,
            "code:"
            + eligibility.keyed_hash(SECRET_KEY, "code", eligibility.normalize_code(v.code)),
        )
        for v in acknowledged
    }
    ballots = [json.loads(r.record) for r in records if r.kind == "ballot"]
    by_receipt = {b["receipt"]: b for b in ballots}
    sent = {v.receipt: v.choices for v in acknowledged}
    matching = sum(
        1
        for receipt, choices in sent.items()
        if receipt in by_receipt and sorted(by_receipt[receipt]["choices"]) == sorted(choices)
    )
    problems = verify_chain(
        [json.loads(r.record) for r in records],
        [r.hash for r in records],
        config=json.loads(rnd.locked_config) if rnd.locked_config else None,
    )
    n = len(acknowledged)
    return [
        (
            len(keys) == n and set(keys) == expected_keys,
            f"participation rows: {len(keys)} for {n} acknowledged ballots, "
            f"{len(set(keys) & expected_keys)} of them the acknowledged voters",
        ),
        (
            len(ballots) == n and len(by_receipt) == n and matching == n and None not in sent,
            f"ballot records: {len(ballots)} for {n} acknowledged ballots, "
            f"{matching} with the receipt and choices the voter got and sent",
        ),
        (
            not problems and rnd.locked_config is not None,
            "hash chain verifies over "
            f"{len(records)} records" + (f": {'; '.join(problems[:5])}" if problems else ""),
        ),
    ]


# --- one run -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def run_one(kind: str, args: argparse.Namespace) -> bool:
    print(
        f"== {kind}: {args.voters} voters, {args.concurrency} clients, {args.workers} workers ==",
        flush=True,
    )
    deadline = time.monotonic() + args.timeout
    tmp = Path(tempfile.mkdtemp(prefix=f"pb-vote-load-{kind}-"))
    try:
        with fresh_database(kind, args.pg_url, tmp) as url:
            db = Database(make_engine(url))
            try:
                round_id, projects, codes = make_round(db, args.voters)
                with server(url, args.workers, tmp, args.server, args.server_arg) as srv:
                    ok = asyncio.run(
                        asyncio.wait_for(
                            drive(args, db, srv, round_id, projects, codes, deadline),
                            timeout=max(1.0, deadline - time.monotonic()),
                        )
                    )
                    if args.keep_log:
                        print(srv.log_path.read_text(errors="replace"))
                    return ok
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
    srv: Server,
    round_id: int,
    projects: list[str],
    codes: list[str],
    deadline: float,
) -> bool:
    base, log_path = srv.base, srv.log_path
    await wait_healthy(base, min(deadline, time.monotonic() + 60), log_path)
    rng = random.Random(args.seed)
    voters = [VoterState(code, rng.sample(projects, rng.choice((1, 2)))) for code in codes]
    async with make_client(base, args.concurrency, args.request_timeout) as client:
        started = time.perf_counter()
        problems = await prepare(client, round_id, voters, args.concurrency)
        print(
            f"prepared {len(voters)} voters in {time.perf_counter() - started:.1f} s "
            f"({len(problems)} problems)",
            flush=True,
        )
        if problems:
            print(f"FAIL preparing voters: {sorted(set(problems))[:5]}\n{tail(log_path)}")
            return False
        server_cpu, busy = srv.cpu_seconds(), machine_busy_seconds()
        outcome = await cast_all(
            client,
            args.client == "raw",
            round_id,
            voters,
            args.concurrency,
            args.duplicates,
            rng,
            args.rate,
        )
        server_cpu, busy = srv.cpu_seconds() - server_cpu, machine_busy_seconds() - busy
    ms = [s * 1000 for s in outcome.first_latencies]
    rate = outcome.acknowledged / outcome.seconds
    errors = sum(outcome.errors.values())
    paced = f", started at {args.rate:g}/s (open loop)" if args.rate else ""
    print(
        f"timed phase: {outcome.acknowledged} ballots acknowledged (303) in "
        f"{outcome.seconds:.2f} s: {rate:.0f} ballots/s{paced}"
    )
    print(
        f"cast latency ms: p50 {percentile(ms, 50):.0f}  p95 {percentile(ms, 95):.0f}  "
        f"p99 {percentile(ms, 99):.0f}  max {max(ms):.0f}  mean {statistics.fmean(ms):.0f}"
    )
    if outcome.duplicate_latencies:
        dup_ms = [s * 1000 for s in outcome.duplicate_latencies]
        print(
            f"duplicates: {outcome.duplicates_refused} of {outcome.duplicates_sent} re-sent "
            f"ballots refused (409); latency ms p50 {percentile(dup_ms, 50):.0f} "
            f"p99 {percentile(dup_ms, 99):.0f}"
        )
    print(f"errors: {errors}" + (f" {outcome.errors}" if errors else ""))
    requests = len(outcome.first_latencies) + len(outcome.duplicate_latencies)
    print(
        f"CPU in the timed phase: server {server_cpu:.1f} s "
        f"({server_cpu / requests * 1000:.1f} ms a request), load generator "
        f"{outcome.client_cpu:.1f} s ({outcome.client_cpu / requests * 1000:.1f} ms a request), "
        f"the rest (database, other work) {busy - server_cpu - outcome.client_cpu:.1f} s; "
        f"the machine's {os.cpu_count()} cores were {busy / outcome.seconds:.2f} busy",
        flush=True,
    )
    checks = [
        (errors == 0, f"no errors ({errors})"),
        (
            outcome.acknowledged == len(voters),
            f"every voter's ballot acknowledged ({outcome.acknowledged}/{len(voters)})",
        ),
        (
            outcome.duplicates_refused == outcome.duplicates_sent,
            f"every re-sent ballot refused ({outcome.duplicates_refused}/"
            f"{outcome.duplicates_sent})",
        ),
    ]
    checks += await asyncio.to_thread(check_stored, db, round_id, voters)
    for ok, label in checks:
        print(f"{'PASS' if ok else 'FAIL'} {label}")
    target = rate >= 300 and percentile(ms, 99) <= 250 and errors == 0
    print(
        f"target (>= 300 ballots/s, p99 <= 250 ms, no errors): {'met' if target else 'missed'}",
        flush=True,
    )
    if any(not ok for ok, _ in checks):
        print(f"server log (tail):\n{tail(log_path)}")
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
