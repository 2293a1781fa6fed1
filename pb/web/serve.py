"""Serving the app with uvicorn, in one process or several (``pb serve --workers N``).

With several workers, uvicorn's own supervisor binds one listening socket and every worker
accepts from it. Each worker's event loop then takes connections as fast as it wakes (asyncio
accepts up to the backlog at once), so a burst of keep-alive connections lands mostly on one or
two workers, which then do most of the work while the others idle: on the voting benchmark one
worker of four took 56 % of the ballots and another none. Here each worker binds its own socket
on the same address with ``SO_REUSEPORT``, and the kernel spreads new connections evenly over
them (as nginx's ``reuseport`` does). Where ``SO_REUSEPORT`` does not exist, uvicorn's
supervisor is used.

The supervisor restarts a worker that dies and stops them all on SIGINT or SIGTERM. A worker
also stops when the supervisor dies, even by ``kill -9``: on Linux the kernel sends it SIGTERM
(``prctl(PR_SET_PDEATHSIG)``), and elsewhere a thread notices that its parent changed. Left
running, orphaned workers would serve unsupervised and hold the port, so that a new ``pb serve``
could not start.

Connections are guarded (:class:`RequestDeadline`): one that has not sent a complete request
within ``--request-timeout`` seconds of opening (or of its first byte after a keep-alive pause)
is closed, so silent and slow ("slowloris") clients cannot hold file descriptors for ever; each
worker answers 503 beyond ``--max-connections`` connections; the soft limit on open files is
raised to the hard limit at start; and a log line repeated within :data:`REPEAT_WINDOW` seconds
is dropped, with a count of those dropped on the next one (:class:`RepeatLimit`).

The access log leaves out every request of voting (:class:`VotingRequests`): a line per cast
with the client's address and the second would pair voters with the order of the ballot log.
"""

from __future__ import annotations

import asyncio
import copy
import ctypes
import logging
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from pb.errors import PbError

APP = "pb.web.asgi:app"
log = logging.getLogger("uvicorn.error")

# Seconds a connection may take to send one complete request (headers and body).
REQUEST_TIMEOUT = 10.0
# Connections one worker serves at once; beyond, requests get 503.
MAX_CONNECTIONS = 1000
# Seconds in which a repeated log line is written once.
REPEAT_WINDOW = 10.0
# Seconds a stopping worker lets requests under way finish.
GRACEFUL_SECONDS = 10


class AddressInUse(PbError):
    """The address to serve on cannot be bound (taken, or not this machine's)."""


# Proving eligibility, the ballot pages, casting, the receipt and the access-code page.
VOTING_PATHS = re.compile(r"^/(c|receipts|rounds/[^/?]+/(vote|receipt))(?=[/?]|$)")


class VotingRequests(logging.Filter):
    """Keep voting requests out of uvicorn's access log (its record's arguments are the
    client, the method, the path with its query, the HTTP version and the status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return VOTING_PATHS.match(args[2]) is None
        return True


class RepeatLimit(logging.Filter):
    """Let a log line through at most once per ``window`` seconds; the next one let through
    says how many like it were dropped. Lines are alike when their logger, level, message
    template and exception type are: a worker out of file descriptors once logged an
    ``accept()`` traceback 2 million times in two minutes, itself a way to fill the disk."""

    def __init__(self, window: float = REPEAT_WINDOW) -> None:
        super().__init__()
        self.window = window
        self.lock = threading.Lock()
        self.seen: dict[tuple[object, ...], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        exc_type = record.exc_info[0] if record.exc_info else None
        key = (record.name, record.levelno, str(record.msg), exc_type)
        now = time.monotonic()
        with self.lock:
            last, dropped = self.seen.get(key, (float("-inf"), 0))
            if now - last < self.window:
                self.seen[key] = (last, dropped + 1)
                return False
            if len(self.seen) > 10_000:  # forget old lines rather than grow
                self.seen = {k: v for k, v in self.seen.items() if now - v[0] < self.window}
            self.seen[key] = (now, 0)
        if dropped:
            # No "%" in the addition: the record's own arguments still format its message.
            record.msg = f"{record.msg} [{dropped} more like this in the last {self.window:g} s]"
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up, with voting requests filtered out of the access log, repeated
    lines of the server's log (and of any other logger, such as asyncio's) rate-limited."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    filters = config.setdefault("filters", {})
    filters["pb_voting"] = {"()": f"{__name__}.VotingRequests"}
    filters["pb_repeats"] = {"()": f"{__name__}.RepeatLimit"}
    config["handlers"]["access"]["filters"] = ["pb_voting"]
    config["handlers"]["default"]["filters"] = ["pb_repeats"]
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config


class RequestDeadline(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, closing a connection that has not sent one complete request
    (headers and body) within :attr:`timeout` seconds of opening, or of its first byte after a
    response. uvicorn's ``timeout_keep_alive`` covers only the pause between requests; a client
    that connects and sends nothing, or a header line every few seconds, was kept for ever."""

    timeout = REQUEST_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._pb_timer: asyncio.TimerHandle | None = None
        self._pb_cycle: object = None
        super().connection_made(transport)
        self._pb_arm()

    def data_received(self, data: bytes) -> None:
        if self._pb_timer is None and self._pb_idle():
            self._pb_arm()  # a new request begins
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._pb_timer is not None:
            self._pb_timer.cancel()
            self._pb_timer = None
        super().connection_lost(exc)

    def _pb_idle(self) -> bool:
        cycle = self.cycle
        return cycle is None or bool(cycle.response_complete)

    def _pb_arm(self) -> None:
        self._pb_cycle = self.cycle  # the request before the one awaited
        self._pb_timer = self.loop.call_later(self.timeout, self._pb_expire)

    def _pb_expire(self) -> None:
        self._pb_timer = None
        cycle = self.cycle
        if self.transport.is_closing():
            return
        if cycle is not self._pb_cycle and (not cycle.more_body or cycle.response_complete):
            return  # the request arrived whole in time (or was answered without its body)
        self.transport.close()


def raise_file_limit() -> None:
    """Raise the soft limit on open files to the hard limit (each connection is one)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open files limit: %s", exc)


def _options(host: str, port: int, max_connections: int = MAX_CONNECTIONS) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "log_level": "info",
        "log_config": log_config(),
        "http": RequestDeadline,
        "limit_concurrency": max_connections,
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
    }


def run(
    host: str,
    port: int,
    workers: int = 1,
    request_timeout: float = REQUEST_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> None:
    """Serve until interrupted."""
    import uvicorn

    # Fail here, with a message, if the address is taken. Bound without SO_REUSEPORT, the
    # probe also fails if another `pb serve` holds the port (with it, they would share it).
    _bind(host, port, reuse_port=False).close()
    raise_file_limit()
    RequestDeadline.timeout = request_timeout
    options = _options(host, port, max_connections)
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, workers=workers, **options)
        return
    uvicorn.Config(APP, **options)  # sets up uvicorn's logging, used below
    _supervise(host, port, workers, request_timeout, max_connections)


def _bind(host: str, port: int, reuse_port: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections
    # whose socket says TCP, and accepted sockets take the listener's. With Nagle on, a response
    # written in two parts (head, then body) waited for the client's delayed ACK: 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise AddressInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int, interval: float = 0.5) -> None:
    """Have this process sent SIGTERM when its parent ``parent`` dies: by the kernel on Linux
    (``PR_SET_PDEATHSIG``), and by a thread that watches the parent everywhere (the fallback,
    and a check for a parent that died before the kernel was asked)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # no libc or no prctl: the thread does it
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.warning("the supervisor (%d) is gone: stopping worker %d", parent, os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="pb-parent-watch", daemon=True).start()


def _worker(
    host: str, port: int, parent: int, request_timeout: float, max_connections: int
) -> None:
    import uvicorn

    die_with_parent(parent)
    RequestDeadline.timeout = request_timeout
    sock = _bind(host, port)
    config = uvicorn.Config(APP, **_options(host, port, max_connections))
    uvicorn.Server(config).run(sockets=[sock])


def _supervise(
    host: str, port: int, workers: int, request_timeout: float, max_connections: int
) -> None:
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start() -> BaseProcess:
        process = context.Process(
            target=_worker,
            args=(host, port, os.getpid(), request_timeout, max_connections),
            name="pb-worker",
        )
        process.start()
        return process

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    log.info("serving on http://%s:%d with %d workers", host, port, workers)
    try:
        while not stopping.is_set():
            wait([p.sentinel for p in processes], timeout=0.5)
            for n, process in enumerate(processes):
                if not process.is_alive() and not stopping.is_set():
                    log.warning(
                        "worker %s exited (%s): starting another", process.pid, process.exitcode
                    )
                    processes[n] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests under way
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
