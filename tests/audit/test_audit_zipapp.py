"""``pb-audit.pyz`` (``pb.auditool``): reproducible to the byte, and, run by a Python that has
nothing installed, it answers exactly as ``pb audit`` and ``pb tally`` do."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_builders import bundle_bytes, members, rezip
from conftest import REPO

from pb import __version__, auditool

pytestmark = pytest.mark.packaging

DATA = REPO / "tests" / "data" / "pabulib"
GDYNIA = DATA / "Poland_Gdynia_2024_Srodmiescie__small.pb"
TOULOUSE = DATA / "France_Toulouse_2019.pb"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python with nothing installed: a fresh virtual environment without even pip."""
    root = tmp_path_factory.mktemp("bare") / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    missing = subprocess.run(
        [python, "-I", "-c", "import sqlalchemy"], capture_output=True, text=True
    )
    assert missing.returncode == 1 and "ModuleNotFoundError" in missing.stderr
    return python


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("tool") / auditool.FILENAME
    auditool.write(path)
    yield path


def env() -> dict[str, str]:
    """The same environment for both sides (argparse wraps its help at $COLUMNS)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PB_", "PYTHON"))}
    return {**keep, "COLUMNS": "80", "LC_ALL": "C.UTF-8"}


def run(argv: list[str | Path], cwd: Path) -> tuple[int, str, str]:
    result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env())
    return result.returncode, result.stdout, result.stderr


def test_the_same_source_gives_the_same_bytes(tmp_path: Path, pyz: Path, bare_python: Path) -> None:
    first, second = auditool.build(), auditool.build()
    assert first.data == second.data == pyz.read_bytes()
    assert first.sha256 == hashlib.sha256(first.data).hexdigest()
    # An auditor rebuilds it from a checkout with nothing installed, from the checkout's root.
    out = tmp_path / "rebuilt.pyz"
    code, stdout, stderr = run([bare_python, "-m", "pb.auditool", out], cwd=REPO)
    assert (code, stderr) == (0, "")
    assert stdout == f"{first.sha256}  {out}\n"
    assert out.read_bytes() == first.data
    # `pb build-audit-tool` writes the same file.
    again = tmp_path / "again.pyz"
    code, stdout, _ = run([sys.executable, "-m", "pb.cli", "build-audit-tool", again], cwd=tmp_path)
    assert code == 0 and stdout.split()[0] == first.sha256
    assert again.read_bytes() == first.data


def test_the_zipapp_is_laid_out_deterministically(pyz: Path) -> None:
    data = pyz.read_bytes()
    assert data.startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(pyz) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(names)
        assert names[0] == "__main__.py"
        expected = {
            f"pb/{package}/{path.name}"
            for package in ("tally", "audit")
            for path in (REPO / "pb" / package).glob("*.py")
        } | {"__main__.py", "pb/__init__.py", "pb/offline.py"}
        assert set(names) == expected
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.compress_type == zipfile.ZIP_STORED, info.filename
            assert info.external_attr >> 16 == 0o100644, info.filename
            assert info.extra == b"", info.filename
            if info.filename.startswith("pb/"):
                source = (REPO / info.filename).read_bytes().replace(b"\r\n", b"\n")
                assert archive.read(info) == source, info.filename


def _bad_pb(tmp_path: Path) -> Path:
    path = tmp_path / "broken.pb"
    text = GDYNIA.read_text(encoding="utf-8")
    path.write_text(text.replace("budget;36577", "budget;lots"), encoding="utf-8")
    return path


TALLY_CASES = {
    "text": [GDYNIA],
    "json": [GDYNIA, "--format", "json"],
    "options first": ["--rule", "equalshares", "--format", "json", TOULOUSE],
    "help": ["--help"],
    "missing file": ["no-such-file.pb"],
    "malformed file": ["BROKEN"],
    "unknown rule": [GDYNIA, "--rule", "lottery"],
    "no file": [],
}


@pytest.mark.parametrize("case", TALLY_CASES)
def test_tally_answers_as_pb_tally(case: str, tmp_path: Path, pyz: Path, bare_python: Path) -> None:
    args = [_bad_pb(tmp_path) if a == "BROKEN" else a for a in TALLY_CASES[case]]
    expected = run([sys.executable, "-m", "pb.cli", "tally", *args], cwd=tmp_path)
    got = run([bare_python, "-I", pyz, "tally", *args], cwd=tmp_path)
    assert got == expected
    if case in ("text", "json", "options first", "help"):
        assert expected[0] == 0 and expected[1]
    else:
        assert expected[0] == 2 and expected[2]
        assert "Traceback" not in expected[2]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from audit_builders import make_round

    folder = tmp_path_factory.mktemp("bundles")
    good = bundle_bytes(make_round(seed=5, kind="approval"))
    files = members(good)
    files["results.json"] = files["results.json"].replace(b'"spent":', b'"spent":1', 1)
    paths = {
        "good": good,
        "tampered": rezip(files, fix_digests=True),
        "not a zip": b"PK but not really a zip",
    }
    for name, data in paths.items():
        (folder / f"{name.replace(' ', '-')}.zip").write_bytes(data)
    return {name: folder / f"{name.replace(' ', '-')}.zip" for name in paths}


@pytest.mark.parametrize(
    "case, status",
    [("good", 0), ("tampered", 1), ("not a zip", 2), ("missing", 2), ("help", 0), ("none", 2)],
)
def test_audit_answers_as_pb_audit(
    case: str, status: int, bundles: dict[str, Path], tmp_path: Path, pyz: Path, bare_python: Path
) -> None:
    args: list[str | Path] = {
        "missing": ["no-such-bundle.zip"],
        "help": ["--help"],
        "none": [],
    }.get(case, [bundles.get(case, Path())])
    expected = run([sys.executable, "-m", "pb.cli", "audit", *args], cwd=tmp_path)
    got = run([bare_python, "-I", pyz, "audit", *args], cwd=tmp_path)
    assert got == expected
    assert expected[0] == status
    if case == "good":
        assert "All 6 checks hold." in expected[1]
    if case == "tampered":
        assert "results" in expected[1] and "FAILED" in expected[1]


def test_the_zipapp_has_its_own_help_and_version(
    tmp_path: Path, pyz: Path, bare_python: Path
) -> None:
    code, out, err = run([bare_python, "-I", pyz, "--version"], cwd=tmp_path)
    assert (code, out, err) == (0, f"pb-audit {__version__}\n", "")
    code, out, _ = run([bare_python, "-I", pyz, "--help"], cwd=tmp_path)
    assert code == 0 and "pb-audit.pyz audit BUNDLE.zip" in out
    for argv in ([], ["recount"]):
        code, out, err = run([bare_python, "-I", pyz, *argv], cwd=tmp_path)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "use audit or tally" in err
