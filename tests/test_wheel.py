"""pb runs installed from its wheel, far from the checkout: build the wheel, install it into a
fresh virtual environment, and from an empty directory run ``pb --version``, ``pb db upgrade``,
``pb demo`` and ``pb serve``, then ask the served demo for pages, htmx and the auditors' tool.
Then break the install as a bad copy would, and see one-line messages rather than tracebacks.

The slow packaging test (~20 s). It downloads nothing: the wheel is built with the test
environment's setuptools (``--no-build-isolation``), and the fresh environment sees the test
environment's packages through a ``.pth`` file, so only pb itself comes from the wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import pb
from pb import auditool

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]
# What a build needs; the rest of the checkout (tests, caches, .venv, var/) stays out of it.
NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", "*.py[co]", ".*_cache",
    ".hypothesis", "tests", "benchmarks", "test-results",
)  # fmt: skip


@dataclass(frozen=True)
class Install:
    wheel: Path
    python: Path
    bin: Path
    site_packages: Path
    cwd: Path  # an empty directory outside the checkout

    def env(self) -> dict[str, str]:
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PB_", "PYTHON", "VIRTUAL_ENV"))
        }
        return {**keep, "PATH": f"{self.bin}{os.pathsep}{keep.get('PATH', '')}"}

    def pb(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "pb"), *args],
            cwd=self.cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Install:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_BUILT)
    dist = root / "dist"
    build = ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(source)]
    subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", *build],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("pb-*.whl")

    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    paths = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site_packages = Path(paths.stdout.strip())
    # pb's dependencies, already installed in the test environment (after pb's own folder).
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "pb-test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    into = ["--python", str(python), "install", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", *into],
        check=True,
        capture_output=True,
        timeout=300,
    )
    cwd = root / "elsewhere"
    cwd.mkdir()
    return Install(wheel, python, bin_dir, site_packages, cwd)


def test_the_wheel_carries_templates_static_files_catalogs_and_migrations(
    install: Install,
) -> None:
    with zipfile.ZipFile(install.wheel) as archive:
        names = set(archive.namelist())
    for folder in ("templates", "static", "alembic"):
        in_checkout = {
            f"pb/_data/{path.relative_to(REPO).as_posix()}"
            for path in (REPO / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        }
        assert in_checkout and in_checkout <= names, folder
    assert {
        "pb/_data/alembic/env.py",
        "pb/_data/alembic/script.py.mako",
        "pb/_data/alembic/versions/0001_initial.py",
        "pb/_data/static/htmx-2.0.11.min.js",
        "pb/_data/templates/results/show.html",
        "pb/translations/fr/LC_MESSAGES/messages.po",
    } <= names
    # Every catalog and every language of `pb demo --locale`.
    shipped = {
        f"pb/{path.relative_to(REPO / 'pb').as_posix()}"
        for pattern in ("translations/*/LC_MESSAGES/messages.po", "demo_texts/*.json")
        for path in (REPO / "pb").glob(pattern)
    }
    assert len(shipped) >= 8 and shipped <= names, sorted(shipped - names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers.items()), response.read()


@pytest.fixture(scope="module")
def served(install: Install) -> Iterator[str]:
    """pb db upgrade, pb demo and pb serve, run by the installed pb from an empty directory."""
    version = install.pb("--version")
    assert (version.returncode, version.stdout) == (0, f"pb {pb.__version__}\n")
    upgraded = install.pb("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == "database is up to date\n"
    assert (install.cwd / "var" / "pb.sqlite3").is_file()
    demo = install.pb("demo")
    assert demo.returncode == 0, demo.stderr
    assert "demo town loaded" in demo.stdout and "resident@demo.pb" in demo.stdout

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = install.cwd / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(install.bin / "pb"), "serve", "--port", str(port)],
            cwd=install.cwd,
            env=install.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if get(f"{base}/health")[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "pb serve did not answer within 30 s"
            time.sleep(0.1)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_installed_pb_is_the_wheel_not_the_checkout(install: Install) -> None:
    where = subprocess.run(
        [install.python, "-c", "import pb.resources as r; print(r.templates_dir())"],
        cwd=install.cwd,
        env=install.env(),
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip() == str(install.site_packages / "pb" / "_data" / "templates")


def test_pb_serves_the_demo_from_the_wheel(served: str) -> None:
    status, _, body = get(f"{served}/")
    assert status == 200 and "Lindenfeld" in body.decode()
    status, _, body = get(f"{served}/", {"accept-language": "fr"})
    assert status == 200 and 'lang="fr"' in body.decode()
    status, headers, body = get(f"{served}/static/htmx-2.0.11.min.js")
    assert status == 200 and "javascript" in headers["content-type"]
    assert body == (REPO / "static" / "htmx-2.0.11.min.js").read_bytes()

    rounds = get(f"{served}/rounds")[2].decode()
    published = []
    for round_id in sorted(set(re.findall(r'href="/rounds/(\d+)"', rounds))):
        try:
            page = get(f"{served}/rounds/{round_id}/results")[2].decode()
        except urllib.error.HTTPError:
            continue  # not counted yet
        if "pb-audit.pyz" in page:
            published.append(page)
    assert published, "the demo has a published round"
    # The wheel builds the same auditors' tool as the checkout: the digest is the source's.
    tool = auditool.build()
    assert tool.sha256 in published[0]
    status, headers, body = get(f"{served}/audit/pb-audit.pyz")
    assert status == 200 and body == tool.data
    assert headers["content-disposition"] == 'attachment; filename="pb-audit.pyz"'


def test_a_broken_install_is_a_one_line_message(install: Install, served: str) -> None:
    # After the server test (it needs the files): remove what a bad copy could lose.
    revision = install.pb("db", "revision", "-m", "from a wheel")
    assert revision.returncode == 2 and "source checkout" in revision.stderr
    data = install.site_packages / "pb" / "_data"
    shutil.rmtree(data / "alembic" / "versions")
    result = install.pb("db", "upgrade")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "migrations are missing" in result.stderr and "reinstall pb" in result.stderr
    shutil.rmtree(data / "templates")
    result = install.pb("serve", "--port", str(free_port()))
    assert result.returncode == 2
    assert result.stderr.startswith("pb: pb's templates/ folder is missing")
    assert result.stderr.count("\n") == 1
