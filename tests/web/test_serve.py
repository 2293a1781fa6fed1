"""``pb serve --workers N``: a supervisor and N uvicorn workers, each with its own
``SO_REUSEPORT`` socket; a worker that dies is replaced; SIGTERM stops them all."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT") or not Path("/proc/self/stat").exists(),
    reason="needs SO_REUSEPORT and /proc (Linux)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> set[int]:
    """The worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == pid and b"spawn_main" in command and " Z " not in stat:
                found.add(int(entry.name))
    return found


def wait_for(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "PB_DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}",
        "PB_SECRET_KEY": "s" * 48,
        "PB_VAR_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "pb.cli", "serve", "--port", str(port), "--workers", "2"]
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            left = children(proc.pid)
            proc.kill()
            proc.wait()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_workers_serve_are_replaced_and_stop_on_sigterm(
    server: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, base = server
    wait_for(lambda: healthy(base) and len(children(proc.pid)) == 2, "two healthy workers")
    # Each request on a new connection: the kernel spreads them over both sockets.
    assert all(healthy(base) for _ in range(20))

    first = children(proc.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid),
        "a replacement worker",
    )
    wait_for(lambda: all(healthy(base) for _ in range(10)), "the replacement to serve")

    workers = children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    for pid in workers:  # gone (reaped by the supervisor before it exited)
        assert not Path(f"/proc/{pid}").exists()


def test_a_taken_port_is_a_message_not_a_hang(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PB_DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}"}
        env["PB_SECRET_KEY"] = "s" * 48
        done = subprocess.run(
            [sys.executable, "-m", "pb.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert "address already in use" in done.stderr.lower()
    assert "Traceback" not in done.stderr


def test_voting_requests_stay_out_of_the_access_log(
    server: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    proc, base = server
    wait_for(lambda: healthy(base), "a healthy server")
    voting = ["/rounds/1/vote", "/rounds/1/vote/citywide", "/rounds/1/receipt", "/c", "/receipts"]
    for path in ["/rounds", *voting]:
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}{path}", timeout=5).close()
    for path in ["/rounds/1/vote/code", "/c", "/rounds/1/vote/citywide"]:
        request = urllib.request.Request(f"{base}{path}", data=b"code=x", method="POST")
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5).close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    log = (tmp_path / "server.log").read_text()
    assert '"GET /rounds HTTP/1.1" 200' in log  # the access log is on
    for path in voting:
        assert f" {path} " not in log and f" {path}?" not in log, path
    assert "/vote" not in log and "/receipt" not in log


def _serve(tmp_path: Path, host: str, port: int, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PB_TRUSTED_HOSTS"}
    env.update(
        PB_DATABASE_URL=f"sqlite:///{tmp_path / 'pb.sqlite3'}", PB_SECRET_KEY="s" * 48, **extra
    )
    return subprocess.run(
        [sys.executable, "-m", "pb.cli", "serve", "--host", host, "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serving_beyond_loopback_needs_trusted_hosts(tmp_path: Path) -> None:
    done = _serve(tmp_path, "0.0.0.0", free_port())
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PB_TRUSTED_HOSTS" in lines[0], done.stderr
    assert not (tmp_path / "pb.sqlite3").exists()  # refused before touching anything
    # With it, serving goes ahead (here into a taken port, which then stops it).
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(tmp_path, "0.0.0.0", port, PB_TRUSTED_HOSTS="pb.example.org")
    assert done.returncode == 2 and "address already in use" in done.stderr.lower()


def test_behind_a_tls_proxy_forwarded_allow_ips_gives_secure_cookies(tmp_path: Path) -> None:
    """The proxy is not on loopback here in spirit: uvicorn trusts its X-Forwarded-* headers
    only from the addresses in FORWARDED_ALLOW_IPS (docs/deployment.md)."""
    port = free_port()
    env = {
        **os.environ,
        "PB_DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}",
        "PB_SECRET_KEY": "s" * 48,
        "PB_TRUSTED_HOSTS": "pb.example.org,127.0.0.1",
    }
    base = f"http://127.0.0.1:{port}"

    def headers_for(forwarded_allow: str) -> dict[str, list[str]]:
        command = [sys.executable, "-m", "pb.cli", "serve", "--port", str(port)]
        run_env = {**env, "FORWARDED_ALLOW_IPS": forwarded_allow}
        with open(tmp_path / "server.log", "wb") as log:
            proc = subprocess.Popen(command, env=run_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: healthy(base), "the server")
            request = urllib.request.Request(
                f"{base}/",
                headers={
                    "Host": "pb.example.org",
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-For": "203.0.113.7",
                },
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                found: dict[str, list[str]] = {}
                for name, value in response.headers.items():
                    found.setdefault(name.lower(), []).append(value)
                return found
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)

    # The proxy (here 127.0.0.1, standing for any address) is not trusted: plain cookies.
    plain = headers_for("192.0.2.1")
    assert "strict-transport-security" not in plain
    assert not any(c.startswith("__Host-") for c in plain["set-cookie"])
    trusted = headers_for("127.0.0.1")
    assert "strict-transport-security" in trusted
    assert all(c.startswith("__Host-") and "Secure" in c for c in trusted["set-cookie"])
