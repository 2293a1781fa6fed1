"""``pb audit BUNDLE.zip``: a good bundle passes, each kind of tampering is caught and named,
unreadable input exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_builders import Round, bundle_bytes, edit_manifest, log_entries, members, rezip, set_log

from pb.audit.canonical import canonical_bytes
from pb.audit.cli import main
from pb.audit.config import config_sha256
from pb.audit.verify import audit_bundle
from pb.tally import loads

Write = Callable[[bytes], Path]
REPO = Path(__file__).resolve().parents[2]


def _audit(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_good_bundle_of_every_method_passes(
    any_round: Round, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(bundle_bytes(any_round))
    code, out, err = _audit(path, capsys)
    assert (code, err) == (0, "")
    for name in ("files", "config", "chain", "ballots", "districts", "results"):
        assert f"✓ {name}: " in out
    assert "✗" not in out
    assert "All 6 checks hold." in out
    assert any_round.hashes[-1] in out
    assert f"{len(any_round.ballots)} ballots in 3 district(s)" in out
    report = audit_bundle(path)
    assert report.ok
    assert report.passed == ["files", "config", "chain", "ballots", "districts", "results"]
    assert report.problems == []
    assert sum(report.ballots_per_district.values()) == len(any_round.ballots)


def _failed(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = _audit(path, capsys)
    assert (code, err) == (1, ""), out
    assert "FAILED" in out
    return out


def _tampered(
    bundle_path: Path,
    write: Write,
    change: Callable[[dict[str, bytes]], object],
    *,
    fix_digests: bool = False,
) -> Path:
    files = members(bundle_path.read_bytes())
    change(files)
    return write(rezip(files, fix_digests=fix_digests))


def _change_choice(files: dict[str, bytes]) -> None:
    entries = log_entries(files)
    choices = entries[10]["record"]["choices"]
    choices.pop(next(iter(choices)))
    set_log(files, entries)


@pytest.mark.parametrize("fix_digests", [False, True])
def test_a_changed_choice_in_the_log_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str], fix_digests: bool
) -> None:
    out = _failed(_tampered(bundle_path, write, _change_choice, fix_digests=fix_digests), capsys)
    assert "✗ chain: " in out
    assert "hash mismatch at seq 10" in out
    assert "✗ districts: " in out  # the .pb still holds the ballot as cast
    if not fix_digests:
        assert "ballot_log.jsonl: SHA-256" in out


def test_a_dropped_record_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def drop(files: dict[str, bytes]) -> None:
        set_log(files, [e for n, e in enumerate(log_entries(files)) if n != 7])

    out = _failed(_tampered(bundle_path, write, drop, fix_digests=True), capsys)
    assert "seq 7 is missing" in out
    assert "hash mismatch at seq 8" in out
    assert "records, the manifest says" in out
    assert "is not in the ballot log" in out  # its .pb still holds the dropped ballot


def test_reordered_records_are_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def swap(files: dict[str, bytes]) -> None:
        entries = log_entries(files)
        entries[3], entries[4] = entries[4], entries[3]
        set_log(files, entries)

    out = _failed(_tampered(bundle_path, write, swap, fix_digests=True), capsys)
    assert "seq 3 is out of order (it comes after seq 4)" in out
    assert "✓ results" in out  # the same ballots: only the order of the log is wrong


def test_edited_results_are_caught_and_named(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(files: dict[str, bytes]) -> None:
        results = json.loads(files["results.json"])
        results["districts"]["north"]["spent"] += 100
        files["results.json"] = canonical_bytes(results) + b"\n"

    out = _failed(_tampered(bundle_path, write, edit, fix_digests=True), capsys)
    assert "✗ results: 2 problem(s)" in out
    assert "district 'north': spent differ" in out
    assert "district 'north', field 'spent': published " in out


def test_results_that_are_not_canonical_are_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def indent(files: dict[str, bytes]) -> None:
        files["results.json"] = json.dumps(json.loads(files["results.json"]), indent=1).encode()

    out = _failed(_tampered(bundle_path, write, indent, fix_digests=True), capsys)
    assert "holds the same values but is not in canonical form" in out


def _flip_vote(files: dict[str, bytes]) -> None:
    """Give the first ballot of north.pb's first choice to a project it did not choose."""
    text = files["districts/north.pb"].decode()
    ids = [p.id for p in loads(text).projects]
    head, votes = text.split("VOTES\n")
    lines = votes.splitlines()
    fields = lines[1].split(";")
    chosen = fields[1].split(",")
    chosen[0] = next(pid for pid in ids if pid not in chosen)
    lines[1] = ";".join([fields[0], ",".join(chosen), *fields[2:]])
    files["districts/north.pb"] = (head + "VOTES\n" + "\n".join(lines) + "\n").encode()


def test_one_altered_byte_of_a_pb_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def one_byte(files: dict[str, bytes]) -> None:
        data = bytearray(files["districts/north.pb"])
        at = data.index(b";Project ") + 1
        data[at] = ord("p")  # still a readable file, a project renamed "project ..."
        files["districts/north.pb"] = bytes(data)

    out = _failed(_tampered(bundle_path, write, one_byte), capsys)
    assert "districts/north.pb: SHA-256" in out
    assert "is named 'project" in out


def test_a_changed_vote_in_a_pb_is_named_even_with_fixed_digests(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _failed(_tampered(bundle_path, write, _flip_vote, fix_digests=True), capsys)
    assert "✗ districts: 1 problem(s)" in out
    assert "districts/north.pb: ballot " in out
    assert ", the log {" in out


def test_a_renamed_project_in_a_pb_is_named(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def rename(files: dict[str, bytes]) -> None:
        text = files["districts/north.pb"].decode()
        files["districts/north.pb"] = text.replace(";Project ", ";Projekt ", 1).encode()

    out = _failed(_tampered(bundle_path, write, rename, fix_digests=True), capsys)
    assert "is named 'Projekt" in out


def test_a_changed_digest_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def digest(files: dict[str, bytes]) -> None:
        edit_manifest(files, lambda m: m["files"].update({"results.json": "0" * 64}))

    out = _failed(_tampered(bundle_path, write, digest), capsys)
    assert "results.json: SHA-256" in out
    assert "does not match the manifest's 0000000000000000..." in out


def test_a_removed_member_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _failed(_tampered(bundle_path, write, lambda f: f.pop("districts/south-2.pb")), capsys)
    assert "districts/south-2.pb is listed in the manifest but missing from the zip" in out
    assert "the bundle has no districts/south-2.pb" in out


def test_a_removed_log_or_results_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _failed(_tampered(bundle_path, write, lambda f: f.pop("ballot_log.jsonl")), capsys)
    assert "ballot_log.jsonl is listed in the manifest but missing from the zip" in out
    assert "✗ chain: 1 problem(s)" in out
    out = _failed(
        _tampered(bundle_path, write, lambda f: f.pop("results.json"), fix_digests=True), capsys
    )
    assert "the bundle has no results.json" in out


def test_an_unlisted_member_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _failed(_tampered(bundle_path, write, lambda f: f.update({"extra.txt": b"hi"})), capsys)
    assert "extra.txt is in the zip but not listed in the manifest" in out


def test_a_repeated_member_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    from pb.audit.bundle import zip_bytes

    files = members(bundle_path.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate name
        doubled = zip_bytes([*files.items(), ("results.json", b"{}\n")])
    out = _failed(write(doubled), capsys)
    assert "results.json appears 2 times in the zip" in out


def test_a_changed_config_is_a_genesis_mismatch(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def more_money(manifest: dict[str, Any]) -> None:
        manifest["config"]["districts"][0]["budget"] += 100_000
        manifest["config_sha256"] = config_sha256(manifest["config"])

    out = _failed(
        _tampered(bundle_path, write, lambda f: edit_manifest(f, more_money), fix_digests=True),
        capsys,
    )
    assert "✗ config: 1 problem(s)" in out
    assert "genesis mismatch" in out
    assert "districts/citywide.pb: budget" in out


def test_a_config_without_its_hash_update_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def retitle(manifest: dict[str, Any]) -> None:
        manifest["config"]["round"]["title"] = "Another round"

    out = _failed(_tampered(bundle_path, write, lambda f: edit_manifest(f, retitle)), capsys)
    assert "the manifest's config_sha256 is not the SHA-256 of its config" in out
    assert "genesis mismatch" in out


def test_a_changed_version_or_rule_in_the_manifest_is_caught(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _failed(
        _tampered(
            bundle_path, write, lambda f: edit_manifest(f, lambda m: m.update(pb_version="9"))
        ),
        capsys,
    )
    assert "META pb_version is '0.1.0', expected '9'" in out
    out = _failed(
        _tampered(
            bundle_path, write, lambda f: edit_manifest(f, lambda m: m.update(rule="equalshares"))
        ),
        capsys,
    )
    assert "the manifest's rule 'equalshares' is not the config's 'greedy'" in out


def _one_line_error(path: Path, capsys: pytest.CaptureFixture[str], *words: str) -> None:
    code, out, err = _audit(path, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"pb audit: {path}: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_unreadable_input_exits_2_with_one_line(
    bundle_path: Path, write: Write, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = bundle_path.read_bytes()
    _one_line_error(write(b"this is not a zip\n"), capsys, "not a readable zip file")
    _one_line_error(write(good[: len(good) // 2]), capsys, "not a readable zip file")
    _one_line_error(write(b""), capsys, "not a readable zip file")
    _one_line_error(tmp_path / "missing.zip", capsys, "no such file")
    _one_line_error(tmp_path, capsys)
    without = members(good)
    del without["manifest.json"]
    _one_line_error(write(rezip(without)), capsys, "has no manifest.json")


@pytest.mark.parametrize(
    ("member", "data", "words"),
    [
        ("manifest.json", b'{"format": ', ("manifest.json: malformed JSON at line 1 column 12",)),
        ("manifest.json", b"[]\n", ("manifest.json: not a JSON object",)),
        ("manifest.json", b'{"format":"pb-ballot-bundle/9"}\n', ("this pb reads",)),
        ("manifest.json", b"\xff\n", ("manifest.json: not UTF-8",)),
        ("ballot_log.jsonl", b'{"hash":"00","record":{}}\n{oops}\n', ("ballot_log.jsonl: line 2",)),
        ("ballot_log.jsonl", b'{"hash":"00","record":{}}', ("the last line has no newline",)),
        ("ballot_log.jsonl", b"[1]\n", ("line 1: expected {'hash'",)),
        ("results.json", b'{"format": NaN}\n', ("results.json: malformed JSON",)),
        ("districts/north.pb", b"META\nkey;value\n", ("districts/north.pb: the file has no",)),
        ("districts/north.pb", b"\xc3\x28\n", ("districts/north.pb: line 1: not UTF-8",)),
    ],
)
def test_a_member_that_cannot_be_read_exits_2(
    bundle_path: Path,
    write: Write,
    capsys: pytest.CaptureFixture[str],
    member: str,
    data: bytes,
    words: tuple[str, ...],
) -> None:
    files = members(bundle_path.read_bytes())
    files[member] = data
    _one_line_error(write(rezip(files, fix_digests=member != "manifest.json")), capsys, *words)


def test_a_manifest_with_a_broken_config_exits_2(
    bundle_path: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(manifest: dict[str, Any]) -> None:
        del manifest["config"]["districts"][0]["budget"]

    path = _tampered(bundle_path, write, lambda f: edit_manifest(f, broken))
    _one_line_error(path, capsys, "manifest.json: config.districts[0] has no 'budget'")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: pb audit" in capsys.readouterr().err


def test_python_m_pb_audit(bundle_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "pb.audit", str(bundle_path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "All 6 checks hold." in done.stdout
    ascii_only = subprocess.run(
        [sys.executable, "-m", "pb.audit", str(bundle_path)],
        capture_output=True,
        env={**env, "PYTHONIOENCODING": "ascii"},
        check=False,
    )
    assert ascii_only.returncode == 0, ascii_only.stderr
    assert b"OK files: " in ascii_only.stdout
