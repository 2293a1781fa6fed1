"""Serving the app with uvicorn, in one process or several (``pb serve --workers N``).

With several workers, uvicorn's own supervisor binds one listening socket and every worker
accepts from it. Each worker's event loop then takes connections as fast as it wakes (asyncio
accepts up to the backlog at once), so a burst of keep-alive connections lands mostly on one or
two workers, which then do most of the work while the others idle: on the voting benchmark one
worker of four took 56 % of the ballots and another none. Here each worker binds its own socket
on the same address with ``SO_REUSEPORT``, and the kernel spreads new connections evenly over
them (as nginx's ``reuseport`` does). Where ``SO_REUSEPORT`` does not exist, uvicorn's
supervisor is used.

The supervisor restarts a worker that dies and stops them all on SIGINT or SIGTERM.

The access log leaves out every request of voting (:class:`VotingRequests`): a line per cast
with the client's address and the second would pair voters with the order of the ballot log.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import re
import signal
import socket
import threading
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from pb.errors import PbError

APP = "pb.web.asgi:app"
log = logging.getLogger("uvicorn.error")


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


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up, with voting requests filtered out of the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["pb_voting"] = {"()": f"{__name__}.VotingRequests"}
    config["handlers"]["access"]["filters"] = ["pb_voting"]
    return config


def _options(host: str, port: int) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "log_level": "info",
        "log_config": log_config(),
    }


def run(host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted."""
    import uvicorn

    # Fail here, with a message, if the address is taken. Bound without SO_REUSEPORT, the
    # probe also fails if another `pb serve` holds the port (with it, they would share it).
    _bind(host, port, reuse_port=False).close()
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, workers=workers, **_options(host, port))
        return
    uvicorn.Config(APP, **_options(host, port))  # sets up uvicorn's logging, used below
    _supervise(host, port, workers)


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


def _worker(host: str, port: int) -> None:
    import uvicorn

    sock = _bind(host, port)
    config = uvicorn.Config(APP, **_options(host, port))
    uvicorn.Server(config).run(sockets=[sock])


def _supervise(host: str, port: int, workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(host, port), name="pb-worker")
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
