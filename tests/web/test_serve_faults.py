"""``pb serve`` under faults: workers die with their supervisor (even by ``kill -9``) so that a
new ``pb serve`` binds the port at once; silent and slow connections are closed; repeated log
lines are rate-limited; the open files limit is raised."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pb.web import serve
from tests.web.test_serve import children, free_port, healthy, wait_for

linux_only = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT") or not Path("/proc/self/stat").exists(),
    reason="needs SO_REUSEPORT and /proc (Linux)",
)


class Servers:
    """``pb serve`` processes, each in a process group of its own, all killed at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {
            **os.environ,
            "PB_DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}",
            "PB_SECRET_KEY": "s" * 48,
            "PB_VAR_DIR": str(tmp_path),
        }

    def start(self, port: int, *options: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "pb.cli", "serve", "--port", str(port), *options]
        with open(self.tmp_path / f"server{len(self.procs)}.log", "wb") as log:
            proc = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def log(self, n: int) -> str:
        return (self.tmp_path / f"server{n}.log").read_text(errors="replace")

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    found = Servers(tmp_path)
    try:
        yield found
    finally:
        found.close()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 1])
def test_after_kill_9_of_the_master_workers_exit_and_a_restart_serves(
    servers: Servers, workers: int
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    master = servers.start(port, "--workers", str(workers))
    expected = workers if workers > 1 else 0
    wait_for(
        lambda: healthy(base) and len(children(master.pid)) == expected, "a healthy server", 60
    )
    workers_before = children(master.pid)

    os.kill(master.pid, signal.SIGKILL)
    master.wait()
    killed = time.monotonic()
    # The orphans would still answer on the port (and keep it) if they outlived the master.
    wait_for(lambda: not any(alive(pid) for pid in workers_before), "the workers to exit", 5)

    again = servers.start(port, "--workers", str(workers))
    wait_for(lambda: healthy(base) or again.poll() is not None, "the new server", 60)
    assert again.poll() is None, servers.log(1)
    assert "address already in use" not in servers.log(1).lower()
    print(f"serving again {time.monotonic() - killed:.1f} s after kill -9")


def test_die_with_parent_stops_a_process_whose_parent_is_gone(tmp_path: Path) -> None:
    """The fallback thread alone (no prctl): a grandchild whose parent dies gets SIGTERM."""
    script = tmp_path / "orphan.py"
    script.write_text(
        "import os, sys, time\n"
        "from pb.web import serve\n"
        "if os.fork():\n"
        "    os._exit(0)\n"  # the parent exits at once
        # The pid first: the watch may stop the process at once (its parent is already gone).
        "open(sys.argv[2], 'w').write(str(os.getpid()))\n"
        "serve.PR_SET_PDEATHSIG = -1\n"  # an invalid option: prctl does nothing
        "serve.die_with_parent(int(sys.argv[1]), interval=0.05)\n"
        "time.sleep(30)\n"
        "open(sys.argv[2] + '.survived', 'w').close()\n"
    )
    marker = tmp_path / "pid"
    # The child passes its own pid as the parent to watch, then forks: the grandchild's parent
    # (the child) exits, and the watch notices.
    starter = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os, subprocess, sys; os.execv(sys.executable, "
            f"[sys.executable, {str(script)!r}, str(os.getpid()), {str(marker)!r}])",
        ],
        timeout=60,
    )
    assert starter.returncode == 0
    wait_for(marker.exists, "the orphan to start", 30)
    wait_for(lambda: marker.read_text() != "", "the orphan's pid", 5)
    pid = int(marker.read_text())
    wait_for(lambda: not alive(pid), "the orphan to stop", 10)
    assert not Path(f"{marker}.survived").exists()


@linux_only
@pytest.mark.slow
def test_silent_and_slow_connections_are_closed_and_requests_still_served(
    servers: Servers,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    master = servers.start(port, "--workers", "2", "--request-timeout", "2")
    wait_for(lambda: healthy(base) and len(children(master.pid)) == 2, "a healthy server", 60)

    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    slow = socket.create_connection(("127.0.0.1", port))
    slow_body = socket.create_connection(("127.0.0.1", port))
    slow_body.sendall(
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nemail="
    )
    opened = time.monotonic()
    for sock in [*silent, slow, slow_body]:
        sock.settimeout(8)
    assert healthy(base)  # served beside them

    # The slowloris sends a header line every 0.5 s: never a complete request.
    slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed_at = None
    while time.monotonic() - opened < 8:
        try:
            slow.sendall(b"X-Slow: 1\r\n")
        except OSError:
            closed_at = time.monotonic() - opened
            break
        time.sleep(0.5)
    assert closed_at is not None, "the slowloris connection was kept open"
    assert closed_at < 5
    for sock in silent:
        assert sock.recv(100) == b""  # closed by the server (a timeout raises instead)
    while slow_body.recv(4096):  # answered early (refused without its body) or not: closed
        pass
    assert time.monotonic() - opened < 8
    assert healthy(base)
    for sock in [*silent, slow, slow_body]:
        sock.close()


def test_repeated_log_lines_are_rate_limited() -> None:
    limit = serve.RepeatLimit(window=60)

    def record(message: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, args, None)

    first = record("socket.accept() out of system resource %s", "fd 7")
    assert limit.filter(first)
    assert not any(
        limit.filter(record("socket.accept() out of system resource %s", "x")) for _ in range(1000)
    )
    assert limit.filter(record("another line"))  # a different line passes
    limit.window = 0  # the window passes: the next one says how many were dropped
    again = record("socket.accept() out of system resource %s", "fd 9")
    assert limit.filter(again)
    assert again.getMessage() == (
        "socket.accept() out of system resource fd 9 [1000 more like this in the last 0 s]"
    )


def test_log_config_rate_limits_the_server_log_but_not_the_access_log() -> None:
    config = serve.log_config()
    assert config["handlers"]["default"]["filters"] == ["pb_repeats"]
    assert config["handlers"]["access"]["filters"] == ["pb_voting"]
    assert config["root"]["handlers"] == ["default"]


@pytest.mark.skipif(sys.platform == "win32", reason="Unix resource limits")
def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lower = min(soft, 256, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lower, hard))
    try:
        serve.raise_file_limit()
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@linux_only
@pytest.mark.slow
def test_a_worker_answers_503_beyond_max_connections(servers: Servers) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    servers.start(port, "--max-connections", "5", "--request-timeout", "30")
    wait_for(lambda: healthy(base), "a healthy server", 60)
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        time.sleep(0.5)  # accepted
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.settimeout(10)
            assert sock.recv(100).startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: healthy(base), "serving again once they are gone", 10)


@pytest.mark.parametrize(
    "options", [["--workers", "0"], ["--request-timeout", "0"], ["--max-connections", "0"]]
)
def test_serve_options_out_of_range_are_one_line(
    options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pb import cli

    assert cli.main(["serve", *options]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "at least 1" in err
    assert not list(tmp_path.iterdir())
