"""Fault campaign: casting ballots through the real server while it is killed, starved of disk
or flooded with idle connections, then checking what was stored. Figures, not a timed test.

Usage (from the repository root, in the project's virtualenv):

    python benchmarks/faults.py [--db sqlite|postgresql|both] [--kills N] [--voters N]
                                [--workers W] [--concurrency C] [--private-postgresql]
                                [--pg-restart COMMAND] [--only SCENARIO]

It reuses ``benchmarks/vote_load.py``'s set-up (a fresh database, a round with access codes,
``pb serve`` on a free port, voters proving eligibility) and runs these scenarios, each a few
seconds, each with voters of its own:

- ``group-kill``: the whole server (supervisor and workers) SIGKILLed under load, N times, and
  started again at once;
- ``worker-kill``: one worker SIGKILLed (the supervisor replaces it);
- ``master-kill``: the supervisor alone SIGKILLed (its workers must exit), then started again
  on the same port;
- ``pg-restart``: PostgreSQL restarted under load, only with ``--private-postgresql`` (a
  throwaway cluster made with ``initdb``, its data on a tmpfs) or ``--pg-restart COMMAND`` (e.g.
  ``"pg_ctlcluster 15 main restart"``): restarting a shared server disturbs everyone on it;
- ``disk-full``: the database on a small tmpfs (``mount -t tmpfs``, needs root), filled up under
  load for about 3 s, then freed: SQLite's file, or with ``--private-postgresql`` the cluster's
  data directory;
- ``silent``: 500 connections that send nothing and a slowloris one during the load.

Each client takes the review step first (its form carries the signed cast token), then casts;
clients retry a cast that got no answer or a 5xx (503, 500) every 0.2 s until they get an
answer, as a resident would press again. For each scenario it prints: acknowledged (303 with a
receipt), stored (ballots added to the log), lost (acknowledged but not stored), duplicated
(ballots beyond one per voter), half-written (participation rows without a ballot or the other
way round, and hash-chain problems), receipts recoverable (stored ballots whose receipt a
voter holds, from the first answer or a retry: a retry answered with the receipt page counts,
one answered 409 "already cast" does not), the recovery time, and the statuses clients saw.
Exits non-zero when anything was lost, duplicated or half-written.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vote_load

from pb.audit import verify_chain
from pb.db import Database, make_engine
from pb.models import BallotRecord, Participation, Round

RECEIPT_WORD = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){2,}\b")
CAST_TOKEN = re.compile(r'name="cast_token" value="([^"]+)"')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=vote_load.DEFAULT_PG_URL)
    parser.add_argument("--kills", type=int, default=3, help="group kills (%(default)s)")
    parser.add_argument(
        "--voters", type=int, default=100, help="voters per scenario step (%(default)s)"
    )
    parser.add_argument("--workers", type=int, default=2, help="pb serve workers (%(default)s)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients (%(default)s)")
    parser.add_argument("--silent", type=int, default=500, help="idle connections (%(default)s)")
    parser.add_argument(
        "--pg-restart",
        default="",
        metavar="COMMAND",
        help="command restarting PostgreSQL (e.g. 'pg_ctlcluster 15 main restart'); "
        "without it the pg-restart scenario is skipped",
    )
    parser.add_argument(
        "--private-postgresql",
        action="store_true",
        help="run the PostgreSQL scenarios on a throwaway cluster of their own (initdb, data on "
        "a small tmpfs; needs root or the postgres user), which adds pg-restart and disk-full",
    )
    parser.add_argument(
        "--only", action="append", default=[], help="run only this scenario (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


# --- the server ---------------------------------------------------------------------------------


class Server:
    """``pb serve`` in a process group of its own, on a fixed port, restartable."""

    def __init__(self, url: str, workers: int, tmp: Path, port: int) -> None:
        self.url, self.workers, self.tmp, self.port = url, workers, tmp, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = tmp / "server.log"

    def start(self) -> None:
        (self.tmp / "var").mkdir(exist_ok=True)
        env = {
            **os.environ,
            "PB_DATABASE_URL": self.url,
            "PB_SECRET_KEY": vote_load.SECRET_KEY,
            "PB_VAR_DIR": str(self.tmp / "var"),
        }
        command = [sys.executable, "-m", "pb.cli", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--request-timeout", "3"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=vote_load.REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def workers_pids(self) -> set[int]:
        assert self.proc is not None
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    command = (entry / "cmdline").read_bytes()
                    mine = int(stat[1]) == self.proc.pid and b"spawn_main" in command
                    if mine and stat[0] != "Z":
                        found.add(int(entry.name))
        return found

    def kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
        self.kill_group()  # and any worker left in its group

    async def healthy(self, timeout: float = 60) -> float:
        """Seconds until /health answers 200."""
        began = time.monotonic()
        async with httpx2.AsyncClient(base_url=self.base, trust_env=False, timeout=1) as client:
            while time.monotonic() - began < timeout:
                with contextlib.suppress(httpx2.TransportError):
                    if (await client.get("/health")).status_code == 200:
                        return time.monotonic() - began
                await asyncio.sleep(0.05)
        raise TimeoutError(f"no /health in {timeout} s:\n{vote_load.tail(self.log_path)}")


# --- casting with retries -------------------------------------------------------------------------


@dataclass
class Tally:
    """What one scenario's clients saw and hold."""

    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    acknowledged: int = 0
    receipts: set[str] = field(default_factory=set)  # receipts voters hold
    acked_receipts: dict[str, list[str]] = field(default_factory=dict)
    refused_after_retry: int = 0  # 409 to a retry: committed, receipt not given
    gave_up: int = 0
    acknowledged_at: list[float] = field(default_factory=list)  # time.monotonic() of each 303


async def cast_with_retries(
    base: str,
    round_id: int,
    voters: list[vote_load.VoterState],
    concurrency: int,
    tally: Tally,
    deadline: float,
) -> None:
    signer = URLSafeTimedSerializer(vote_load.SECRET_KEY, salt="pb.receipt")
    queue: asyncio.Queue[vote_load.VoterState] = asyncio.Queue()
    for voter in voters:
        queue.put_nowait(voter)
    path = f"/rounds/{round_id}/vote/citywide"

    async def one(client: httpx2.AsyncClient, voter: vote_load.VoterState) -> None:
        headers = {
            "cookie": voter.cookie_header(),
            "content-type": "application/x-www-form-urlencoded",
        }
        # The review step first, as a browser does: its form carries the signed cast token that
        # makes a resent cast answer with the receipt (retried like the cast while it fails).
        fields = {"csrf_token": voter.token, "district": "citywide", "p": voter.choices}
        review = urlencode({**fields, "step": "review"}, doseq=True)
        token = ""
        while True:
            try:
                page = await client.post(path, content=review, headers=headers)
            except httpx2.HTTPError:
                page = None
            if page is not None and page.status_code < 500:
                found = CAST_TOKEN.search(page.text)
                token = found.group(1) if found else ""
                break
            if time.monotonic() > deadline:
                tally.gave_up += 1
                return
            await asyncio.sleep(0.2)
        body = urlencode({**fields, "step": "cast", "cast_token": token}, doseq=True)
        retry = False
        while True:
            try:
                response = await client.post(path, content=body, headers=headers)
            except httpx2.HTTPError as exc:
                tally.statuses[type(exc).__name__] += 1
                response = None
            if response is not None:
                tally.statuses[str(response.status_code)] += 1
                if response.status_code < 500:
                    break
            if time.monotonic() > deadline:
                tally.gave_up += 1
                return
            retry = True
            await asyncio.sleep(0.2)
        receipt = None
        for header in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            if "pb_receipt" in jar:
                with contextlib.suppress(BadData, IndexError, TypeError):
                    receipt = str(signer.loads(jar["pb_receipt"].value)[1])
        if receipt is None and response.status_code == 200:  # a receipt page, answered directly
            found = RECEIPT_WORD.findall(response.text)
            receipt = found[0] if found else None
        if receipt is not None:
            tally.receipts.add(receipt)
            if response.status_code == 303:
                tally.acknowledged += 1
                tally.acknowledged_at.append(time.monotonic())
                tally.acked_receipts[receipt] = voter.choices
        elif response.status_code == 409 and retry:
            tally.refused_after_retry += 1

    async def worker() -> None:
        async with vote_load.make_client(base, 1, 5) as client:
            while not queue.empty():
                await one(client, queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


# --- checking what was stored --------------------------------------------------------------------


@dataclass
class Stored:
    ballots: int
    participation: int
    receipts: dict[str, list[str]]
    problems: list[str]


def stored(db: Database, round_id: int) -> Stored:
    def load(session: Any) -> Stored:
        records = list(
            session.scalars(
                select(BallotRecord)
                .where(BallotRecord.round_id == round_id)
                .order_by(BallotRecord.seq)
            )
        )
        rows = session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.round_id == round_id)
        )
        rnd = session.get(Round, round_id)
        parsed = [json.loads(r.record) for r in records]
        problems = verify_chain(
            parsed,
            [r.hash for r in records],
            config=json.loads(rnd.locked_config) if rnd.locked_config else None,
        )
        ballots = {b["receipt"]: b["choices"] for b in parsed if b.get("kind") == "ballot"}
        count = sum(1 for b in parsed if b.get("kind") == "ballot")
        return Stored(count, int(rows or 0), ballots, problems)

    return db.read_sync(load)


@dataclass
class Result:
    name: str
    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    half_written: int
    recoverable: int
    recovery: str
    statuses: dict[str, int]
    note: str = ""

    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.half_written == 0

    def line(self) -> str:
        seen = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.name:<12} acknowledged {self.acknowledged:>4}  stored {self.stored:>4}  "
            f"lost {self.lost}  duplicated {self.duplicated}  half-written {self.half_written}  "
            f"receipts recoverable {self.recoverable}/{self.stored}  recovery {self.recovery}  "
            f"clients saw {seen}" + (f"  ({self.note})" if self.note else "")
        )


def judge(
    name: str, db: Database, round_id: int, before: Stored, tally: Tally, recovery: str, note: str
) -> Result:
    after = stored(db, round_id)
    new = {r: c for r, c in after.receipts.items() if r not in before.receipts}
    lost = sum(
        1
        for r, choices in tally.acked_receipts.items()
        if r not in new or sorted(new[r]) != sorted(choices)
    )
    added = after.ballots - before.ballots
    duplicated = max(0, after.ballots - len(after.receipts)) + max(
        0, after.ballots - after.participation
    )
    half = abs(after.participation - after.ballots) + len(after.problems)
    recoverable = len(set(new) & tally.receipts)
    return Result(
        name,
        tally.acknowledged,
        added,
        lost,
        duplicated,
        half,
        recoverable,
        recovery,
        dict(tally.statuses),
        note,
    )


# --- scenarios -----------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    kind: str
    db: Database
    round_id: int
    projects: list[str]
    codes: list[str]
    server: Server
    rng: random.Random

    def take(self, n: int) -> list[vote_load.VoterState]:
        taken, self.codes = self.codes[:n], self.codes[n:]
        return [
            vote_load.VoterState(code, self.rng.sample(self.projects, self.rng.choice((1, 2))))
            for code in taken
        ]


async def prepared(ctx: Context, n: int) -> list[vote_load.VoterState]:
    """Voters who proved eligibility (retried: a connection may drop as the server restarts)."""
    voters = ctx.take(n)
    problems: list[str] = []
    for _ in range(3):
        todo = [v for v in voters if "pb_voter" not in v.cookies]
        if not todo:
            return voters
        async with vote_load.make_client(ctx.server.base, 8, 30) as client:
            problems = await vote_load.prepare(client, ctx.round_id, todo, 8)
        await asyncio.sleep(0.5)
    raise RuntimeError(
        f"preparing voters: {sorted(set(problems))[:3]}\n{vote_load.tail(ctx.server.log_path)}"
    )


async def under_load(
    ctx: Context,
    name: str,
    fault: Callable[[], Awaitable[str]],
    after: float = 0.5,
    voters: int | None = None,
    note: str = "",
    tally: Tally | None = None,
) -> Result:
    """Cast a fresh group of voters; ``after`` seconds in, run ``fault`` (returns the recovery
    time as text) while the clients keep casting and retrying."""
    group = await prepared(ctx, voters or ctx.args.voters)
    before = stored(ctx.db, ctx.round_id)
    tally = tally or Tally()
    casting = asyncio.create_task(
        cast_with_retries(
            ctx.server.base,
            ctx.round_id,
            group,
            ctx.args.concurrency,
            tally,
            time.monotonic() + 60,
        )
    )
    await asyncio.sleep(after)
    recovery = await fault()
    await casting
    return judge(name, ctx.db, ctx.round_id, before, tally, recovery, note)


async def group_kill(ctx: Context) -> str:
    ctx.server.kill_group()
    killed = time.monotonic()
    ctx.server.start()
    await ctx.server.healthy()
    return f"{time.monotonic() - killed:.1f} s"


async def worker_kill(ctx: Context) -> str:
    victim = min(ctx.server.workers_pids())
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    while len(ctx.server.workers_pids() - {victim}) < ctx.server.workers:
        await asyncio.sleep(0.05)
        if time.monotonic() - killed > 30:
            return "no replacement in 30 s"
    await ctx.server.healthy()
    return f"{time.monotonic() - killed:.1f} s (replacement serving)"


async def master_kill(ctx: Context) -> str:
    assert ctx.server.proc is not None
    workers = ctx.server.workers_pids()
    os.kill(ctx.server.proc.pid, signal.SIGKILL)
    ctx.server.proc.wait()
    killed = time.monotonic()
    while any(Path(f"/proc/{pid}").exists() for pid in workers):
        if time.monotonic() - killed > 10:
            break
        await asyncio.sleep(0.05)
    orphans = sum(1 for pid in workers if Path(f"/proc/{pid}").exists())
    gone = time.monotonic() - killed
    ctx.server.start()
    try:
        await ctx.server.healthy(20)
    except TimeoutError:
        # Orphaned workers hold the port: the new server cannot bind. Clean up for the rest.
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        ctx.server.kill_group()
        ctx.server.start()
        await ctx.server.healthy()
        return f"FAILED: {orphans} orphaned workers kept the port; restart impossible"
    return (
        f"{time.monotonic() - killed:.1f} s (workers gone after {gone:.1f} s, {orphans} orphaned)"
    )


async def pg_restart(ctx: Context) -> str:
    began = time.monotonic()
    done = await asyncio.to_thread(
        subprocess.run, ctx.args.pg_restart, shell=True, capture_output=True, text=True
    )
    if done.returncode != 0:
        return f"restart command failed: {done.stderr.strip()[:80]}"
    await ctx.server.healthy()
    return f"{time.monotonic() - began:.1f} s (restart command included)"


async def silent(ctx: Context) -> tuple[str, str]:
    """Open idle connections and a slowloris one; return when they were closed."""
    opened = time.monotonic()
    socks = []
    for _ in range(ctx.args.silent):
        try:
            socks.append(socket.create_connection(("127.0.0.1", ctx.server.port)))
        except OSError:
            break
    slow = socket.create_connection(("127.0.0.1", ctx.server.port))
    slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    for sock in [*socks, slow]:
        sock.setblocking(False)
    closed: dict[int, float] = {}
    while time.monotonic() - opened < 20 and len(closed) < len(socks) + 1:
        for n, sock in enumerate([*socks, slow]):
            if n in closed:
                continue
            try:
                if n == len(socks):
                    sock.sendall(b"X-Slow: 1\r\n")
                if sock.recv(1) == b"":
                    closed[n] = time.monotonic() - opened
            except BlockingIOError:
                pass
            except OSError:
                closed[n] = time.monotonic() - opened
        await asyncio.sleep(0.5)
    for sock in [*socks, slow]:
        sock.close()
    kept = len(socks) + 1 - len(closed)
    latest = max(closed.values(), default=0)
    return (
        f"{len(closed)}/{len(socks) + 1} closed, the last after {latest:.1f} s",
        f"{kept} still open after 20 s" if kept else "",
    )


# --- disk full (SQLite on a small tmpfs) ------------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(path: Path, megabytes: int) -> Iterator[None]:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise PermissionError(done.stderr.strip() or "mount failed")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path) -> Path:
    filler = path / "filler"
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


async def filled(
    ctx: Context, mount: Path, recover: Callable[[], Awaitable[str]] | None = None
) -> Result:
    """Fill the file system at ``mount`` under load for about 2 s, then free it."""
    ready: collections.Counter[str] = collections.Counter()
    freed: list[float] = []
    notes: list[str] = []

    async def fault() -> str:
        filler = await asyncio.to_thread(fill, mount)
        async with httpx2.AsyncClient(base_url=ctx.server.base, trust_env=False, timeout=2) as c:
            for _ in range(15):  # readiness during the fault, about 3 s
                try:
                    ready[str((await c.get("/health/ready")).status_code)] += 1
                except httpx2.HTTPError as exc:
                    ready[type(exc).__name__] += 1
                await asyncio.sleep(0.2)
        filler.unlink()
        freed.append(time.monotonic())
        if recover is not None:
            notes.append(await recover())
        return ""

    tally = Tally()
    voters = ctx.args.voters * 2
    result = await under_load(ctx, "disk-full", fault, after=0.3, tally=tally, voters=voters)
    later = [t - freed[0] for t in tally.acknowledged_at if t > freed[0]]
    result.recovery = (
        f"{min(later):.1f} s from freeing space to the next 303"
        if later
        else "no cast left when space was freed"
    )
    seen = " ".join(f"{k}:{v}" for k, v in sorted(ready.items()))
    result.note = "; ".join(
        [f"/health/ready during the fault: {seen}", *(note for note in notes if note)]
    )
    return result


async def sqlite_disk_full(args: argparse.Namespace, tmp: Path) -> Result:
    """A database of its own on a 24 MiB tmpfs, and a server for it."""
    mount = tmp / "small"
    try:
        context = small_tmpfs(mount, 24)
        context.__enter__()
    except OSError as exc:
        return Result("disk-full", 0, 0, 0, 0, 0, 0, "-", {}, f"skipped: cannot mount: {exc}")
    try:
        url = f"sqlite:///{mount / 'pb.sqlite3'}"
        vote_load.migrations.upgrade(url)
        db = Database(make_engine(url))
        try:
            round_id, projects, codes = vote_load.make_round(db, args.voters * 3)
            server_tmp = tmp / "disk-server"
            server_tmp.mkdir()
            server = Server(url, args.workers, server_tmp, vote_load.free_port())
            server.start()
            try:
                await server.healthy()
                ctx = Context(
                    args, "sqlite", db, round_id, projects, codes, server, random.Random(args.seed)
                )
                result = await filled(ctx, mount)
                result.note = f"SQLite on a 24 MiB tmpfs; {result.note}"
                return result
            finally:
                server.stop()
        finally:
            db.close()
    finally:
        context.__exit__(None, None, None)


# --- a private PostgreSQL cluster ----------------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster (``initdb``) on a small tmpfs of its own, run as the
    ``postgres`` user when this runs as root: it can be restarted and its disk filled without
    disturbing anyone else's database."""

    def __init__(self, tmp: Path, megabytes: int = 160) -> None:
        self.tmp = tmp
        self.mount = tmp / "pgdata"
        self.data = self.mount / "data"
        self.port = vote_load.free_port()
        self.megabytes = megabytes
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        self.bindir = Path(bindir)
        if not (self.bindir / "initdb").exists():  # Debian: pg_config is the client's
            found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
            if not found:
                raise FileNotFoundError("initdb not found")
            self.bindir = found[-1].parent
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.mounted: contextlib.AbstractContextManager[None] | None = None

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """pg_ctl; its output goes to a file: a postmaster it starts inherits it, and would
        hold a pipe open for as long as it runs."""
        command = [*self.user, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        with open(self.tmp / "pg_ctl.out", "w+") as out:
            done = subprocess.run(command, stdout=out, stderr=out, text=True, check=False)
            out.seek(0)
            return subprocess.CompletedProcess(command, done.returncode, "", out.read())

    def start(self) -> None:
        os.chmod(self.tmp, 0o755)  # the postgres user goes through it
        self.mounted = small_tmpfs(self.mount, self.megabytes)
        self.mounted.__enter__()
        log_dir = self.tmp / "pglog"
        log_dir.mkdir()
        if self.user:
            import pwd

            owner = pwd.getpwnam("postgres")
            for path in (self.mount, log_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        init = [*self.user, str(self.bindir / "initdb"), "-D", str(self.data)]
        init += ["-A", "trust", "-U", "postgres", "--wal-segsize=1", "-N"]
        subprocess.run(init, capture_output=True, text=True, check=True)
        options = (
            f"-p {self.port} -k {log_dir} -c listen_addresses=127.0.0.1 "
            "-c shared_buffers=16MB -c min_wal_size=4MB -c max_wal_size=32MB"
        )
        self.log = log_dir / "postgresql.log"
        done = self.ctl("-l", str(self.log), "-o", options, "-w", "start")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start: {done.stderr.strip() or done.stdout.strip()}")

    async def restart(self) -> str:
        began = time.monotonic()
        done = await asyncio.to_thread(self.ctl, "-l", str(self.log), "-m", "fast", "-w", "restart")
        if done.returncode != 0:
            return f"pg_ctl restart failed: {done.stderr.strip()[:80]}"
        return f"PostgreSQL down and up in {time.monotonic() - began:.1f} s"

    async def ensure_running(self) -> str:
        """After the disk was full: PostgreSQL may have stopped (a failed WAL write is a
        PANIC); start it again if so."""
        for _ in range(50):
            if self.ctl("status").returncode == 0:
                return ""
            await asyncio.sleep(0.1)
        done = await asyncio.to_thread(self.ctl, "-l", str(self.log), "-w", "start")
        if done.returncode != 0:
            return f"PostgreSQL stopped and did not start again: {done.stderr.strip()[:80]}"
        return "PostgreSQL stopped when the disk filled: started again by hand"

    def stop(self) -> None:
        self.ctl("-m", "immediate", "stop")
        if self.mounted is not None:
            self.mounted.__exit__(None, None, None)


# --- one database --------------------------------------------------------------------------------


async def campaign(ctx: Context, tmp: Path, cluster: Cluster | None) -> list[Result]:
    args, results = ctx.args, []
    wanted = set(args.only)

    def want(name: str) -> bool:
        return not wanted or name in wanted

    await ctx.server.healthy()
    if want("group-kill"):
        for n in range(args.kills):
            result = await under_load(
                ctx,
                f"group-kill{n + 1}",
                lambda: group_kill(ctx),
                after=ctx.rng.uniform(0.2, 0.8),
            )
            results.append(result)
            print(result.line(), flush=True)
    for name, fault in (("worker-kill", worker_kill), ("master-kill", master_kill)):
        if want(name):
            result = await under_load(ctx, name, lambda f=fault: f(ctx))  # type: ignore[misc]
            results.append(result)
            print(result.line(), flush=True)
    if want("pg-restart"):
        if ctx.kind != "postgresql":
            print("pg-restart   not applicable (SQLite)")
        elif cluster is None and not args.pg_restart:
            print(
                "pg-restart   skipped: restarting a shared PostgreSQL disturbs everyone on it; "
                "pass --private-postgresql or --pg-restart COMMAND to run it"
            )
        else:
            fault = cluster.restart if cluster is not None else (lambda: pg_restart(ctx))
            result = await under_load(ctx, "pg-restart", fault)
            results.append(result)
            print(result.line(), flush=True)
    if want("disk-full"):
        if ctx.kind == "sqlite":
            result = await sqlite_disk_full(args, tmp)
            results.append(result)
            print(result.line(), flush=True)
        elif cluster is not None:
            result = await filled(ctx, cluster.mount, cluster.ensure_running)
            result.note = f"PostgreSQL's data on a {cluster.megabytes} MiB tmpfs; {result.note}"
            results.append(result)
            print(result.line(), flush=True)
        else:
            print(
                "disk-full    skipped on a shared PostgreSQL: its data directory would have to "
                "be on a small file system of its own (--private-postgresql does that)"
            )
    if want("silent"):
        notes: list[str] = []

        async def flood() -> str:
            recovery, note = await silent(ctx)
            notes.append(note)
            return recovery

        result = await under_load(ctx, "silent", flood, after=0.2)
        result.note = notes[0] if notes and notes[0] else ""
        results.append(result)
        print(result.line(), flush=True)
    return results


def run_one(kind: str, args: argparse.Namespace) -> bool:
    steps = args.kills + 6
    print(
        f"== {kind}: {args.workers} workers, {args.concurrency} clients, "
        f"{args.voters} voters a step ==",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix=f"pb-faults-{kind}-"))
    cluster = None
    pg_url = args.pg_url
    try:
        if kind == "postgresql" and args.private_postgresql:
            cluster = Cluster(tmp)
            cluster.start()
            pg_url = cluster.url
            print(f"a private PostgreSQL cluster on port {cluster.port}", flush=True)
        with vote_load.fresh_database(kind, pg_url, tmp) as url:
            db = Database(make_engine(url))
            server = Server(url, args.workers, tmp, vote_load.free_port())
            try:
                round_id, projects, codes = vote_load.make_round(db, args.voters * steps)
                server.start()
                ctx = Context(
                    args, kind, db, round_id, projects, codes, server, random.Random(args.seed)
                )
                results = asyncio.run(campaign(ctx, tmp, cluster))
            finally:
                server.stop()
                db.close()
        ok = all(r.ok() for r in results)
        total = {
            key: sum(getattr(r, key) for r in results)
            for key in (
                "acknowledged",
                "stored",
                "lost",
                "duplicated",
                "half_written",
                "recoverable",
            )
        }
        print(
            f"{kind} total: acknowledged {total['acknowledged']}, stored {total['stored']}, "
            f"lost {total['lost']}, duplicated {total['duplicated']}, half-written "
            f"{total['half_written']}, receipts recoverable {total['recoverable']}/"
            f"{total['stored']}",
            flush=True,
        )
        return ok
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Stopped from outside (e.g. `timeout`): still unmount, stop servers and clusters.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {kind: run_one(kind, args) for kind in kinds}
    for kind, ok in results.items():
        print(
            f"{'PASS' if ok else 'FAIL'} {kind}: nothing lost, duplicated or half-written"
            if ok
            else f"FAIL {kind}"
        )
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
