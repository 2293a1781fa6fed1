"""The funding bundle: built deterministically, audited by ``pb audit``, every tampering named."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_builders import members, rezip

from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.audit.cli import main
from pb.audit.errors import ConfigError, RecordError
from pb.audit.funding import (
    CALL,
    LEDGER,
    MATCHES,
    build_funding_bundle,
    funding_config_sha256,
    matches_document,
)
from pb.audit.funding_verify import audit_funding_bundle
from pb.tally import MatchingRule

Write = Callable[[bytes], Path]
MANIFEST = "manifest.json"


def make_call(rule: MatchingRule, pool: int = 60_000) -> dict[str, Any]:
    call: dict[str, Any] = {
        "call_id": "3",
        "title": "Neighbourhood matchfunding 2026",
        "currency": "EUR",
        "pool": pool,
        "rule": rule.to_json_dict(),
        "projects": [
            {"id": "11", "title": "Community garden", "goal": 80_000},
            {"id": "12", "title": "Repair café", "goal": 30_000},
            {"id": "15", "title": "Bike kitchen", "goal": 120_000},
            {"id": "19", "title": "Failed campaign", "goal": 50_000},
        ],
    }
    call["config_sha256"] = funding_config_sha256(call)
    return call


def make_ledger(seed: int = 1, size: int = 120) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    backers = [f"{rng.getrandbits(64):016x}" for _ in range(60)]
    return [
        {
            "backer": rng.choice(backers),
            "project": rng.choice(["11", "12", "15"]),
            "amount": rng.choice([500, 1_000, 2_000, 2_500, 5_000, rng.randint(100, 9_999)]),
            "eligible": rng.random() < 0.85,
        }
        for _ in range(size)
    ]


RULES = [
    MatchingRule("quadratic"),
    MatchingRule("capped", per_pledge_cap=2_000, per_resident_cap=5_000, per_project_cap=25_000),
]


@pytest.fixture(params=RULES, ids=lambda r: r.kind)
def bundle(request: pytest.FixtureRequest) -> bytes:
    return build_funding_bundle(make_call(request.param), make_ledger(), "0.1.0")


def audit(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_good_funding_bundle_passes(
    bundle: bytes, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = audit(write(bundle), capsys)
    assert (code, err) == (0, "")
    assert "funding call 3: Neighbourhood matchfunding 2026" in out
    for name in ("files", "call", "ledger", "matches"):
        assert f"✓ {name}: " in out
    assert "All 4 checks hold." in out
    files = members(bundle)
    assert list(files) == [MANIFEST, CALL, LEDGER, MATCHES]
    manifest = json.loads(files[MANIFEST])
    assert (manifest["kind"], manifest["pledges"]) == ("funding", 120)
    matches = json.loads(files[MATCHES])
    assert set(matches["projects"]) == {"11", "12", "15", "19"}
    assert matches["projects"]["19"]["match"] == 0
    assert 0 < matches["matched"] <= matches["pool"]
    assert matches["matched"] + matches["unmatched"] == matches["pool"]
    for entry in matches["projects"].values():
        assert entry["match"] <= entry["need"] == max(entry["goal"] - entry["raised"], 0)


def test_the_same_ledger_gives_the_same_bytes() -> None:
    call, ledger = make_call(RULES[0]), make_ledger()
    shuffled = list(ledger)
    random.Random(4).shuffle(shuffled)
    first = build_funding_bundle(call, ledger, "0.1.0")
    assert build_funding_bundle(call, ledger, "0.1.0") == first
    assert build_funding_bundle(dict(reversed(call.items())), shuffled, "0.1.0") == first


def test_matches_follow_the_rule_with_needs_from_all_fulfilled_pledges() -> None:
    rule = MatchingRule("capped", per_pledge_cap=1_000, per_resident_cap=None, per_project_cap=None)
    call = make_call(rule, pool=10**6)
    ledger = [
        {"backer": "aa", "project": "12", "amount": 1_500, "eligible": True},
        {"backer": "bb", "project": "12", "amount": 600, "eligible": True},
        {"backer": "cc", "project": "12", "amount": 27_000, "eligible": False},
    ]
    entry = matches_document(call, rule, ledger)["projects"]["12"]
    # raised 29,100 of 30,000: the need of 900 caps the 1,000 + 600 of 1:1 matching
    assert entry == {
        "goal": 30_000,
        "raised": 29_100,
        "eligible_raised": 2_100,
        "backers": 2,
        "need": 900,
        "match": 900,
    }


@pytest.mark.parametrize("name", [MANIFEST, CALL, LEDGER, MATCHES])
def test_any_one_byte_change_is_named(
    bundle: bytes, name: str, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    files = members(bundle)
    size = len(files[name])
    for at in sorted({0, 1, size // 3, size // 2, size - 3, size - 2, size - 1}):
        changed = dict(files)
        data = bytearray(files[name])
        data[at] = data[at] ^ 0x01 if data[at] != ord("\n") else ord(" ")
        changed[name] = bytes(data)
        code, out, err = audit(write(rezip(changed)), capsys)
        if name == MANIFEST and code == 2:  # an unreadable manifest: one line naming it
            assert err.startswith("pb audit: ") and MANIFEST in err and err.count("\n") == 1
            continue
        assert code == 1, (name, at, out, err)
        named = "manifest" if name == MANIFEST else name  # e.g. "the manifest's" digest
        assert named in out and "FAILED" in out, (name, at, out)


def test_an_edited_ledger_changes_the_matches_and_is_caught(
    bundle: bytes, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    files = members(bundle)
    lines = files[LEDGER].decode().split("\n")
    backer, project, amount, eligible = lines[5].split(",")
    lines[5] = f"{backer},{project},{int(amount) * 10},{eligible}"
    files[LEDGER] = "\n".join(lines).encode()
    code, out, _ = audit(write(rezip(files, fix_digests=True)), capsys)  # digests made to agree
    assert code == 1
    assert "✓ files" in out and "✓ ledger" in out
    assert "✗ matches" in out
    assert f"matches.json differs at projects.{project}." in out


def test_an_edited_call_breaks_its_locked_hash(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    files = members(build_funding_bundle(make_call(RULES[0]), make_ledger(), "0.1.0"))
    call = json.loads(files[CALL])
    call["pool"] = 90_000
    files[CALL] = canonical_bytes(call) + b"\n"
    code, out, _ = audit(write(rezip(files, fix_digests=True)), capsys)
    assert code == 1
    assert "the call's config_sha256 is not the SHA-256 of its rules" in out
    assert "matches.json differs at pool: published 60000, recomputed 90000" in out


def test_bad_ledger_lines_are_named(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    files = members(build_funding_bundle(make_call(RULES[1]), make_ledger(), "0.1.0"))
    lines = files[LEDGER].decode().split("\n")
    lines[2] = "aa,99,500,true"
    lines[3] = "bb,11,-5,true"
    lines[4] = "cc,11,500,maybe"
    lines[6] = "dd,11,500"
    files[LEDGER] = "\n".join(lines).encode()
    report = audit_funding_bundle(write(rezip(files, fix_digests=True)))
    problems = report.problems
    assert "ledger: ledger.csv line 3: project '99' is not a project of the call" in problems
    assert "ledger: ledger.csv line 4: amount '-5' is not a whole number > 0" in problems
    assert "ledger: ledger.csv line 5: eligible 'maybe' is not true or false" in problems
    assert "ledger: ledger.csv line 7: 3 fields, expected 4" in problems
    assert not report.ok


def test_reordered_ledger_lines_are_not_canonical(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    files = members(build_funding_bundle(make_call(RULES[0]), make_ledger(), "0.1.0"))
    lines = files[LEDGER].decode().split("\n")
    lines[1], lines[-2] = lines[-2], lines[1]
    files[LEDGER] = "\n".join(lines).encode()
    code, out, _ = audit(write(rezip(files, fix_digests=True)), capsys)
    assert code == 1
    assert "ledger.csv is not in canonical form" in out


def test_unreadable_input_exits_2_with_one_line(
    write: Write, bundle: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = audit(write(b"not a zip"), capsys)
    assert (code, out) == (2, "") and err.count("\n") == 1
    files = members(bundle)
    files[MANIFEST] = files[MANIFEST].replace(b'"kind":"funding"', b'"kind":"funding","x":1')
    code, out, err = audit(write(rezip(files)), capsys)
    assert (code, out) == (2, "")
    assert err.endswith("manifest.json: unknown field(s) 'x'\n")


def test_the_builder_refuses_what_would_not_verify() -> None:
    call, ledger = make_call(RULES[0]), make_ledger()
    with pytest.raises(ConfigError, match="config_sha256 is not the SHA-256"):
        build_funding_bundle({**call, "pool": 1}, ledger, "0.1.0")
    with pytest.raises(ConfigError, match=r"call.rule: matching rule 'lottery'"):
        build_funding_bundle({**call, "rule": {"kind": "lottery"}}, ledger, "0.1.0")
    with pytest.raises(ConfigError, match=r"call.projects\[0\].id is 11"):
        bad = {**call, "projects": [{"id": 11, "title": "x", "goal": 1}]}
        build_funding_bundle(bad, ledger, "0.1.0")
    with pytest.raises(ConfigError, match=r"call\['pool'\] is a float"):
        build_funding_bundle({**call, "pool": 1.5}, ledger, "0.1.0")
    bad_row = {"backer": "a b", "project": "42", "amount": 0, "eligible": 1}
    with pytest.raises(RecordError, match="ledger row 120: backer 'a b' is not a pseudonym"):
        build_funding_bundle(call, [*ledger, bad_row], "0.1.0")


def with_locked_rules(call: dict[str, Any]) -> dict[str, Any]:
    """The call as the web app publishes it: with the rules locked when pledging opened."""
    locked = json.loads(json.dumps({k: call[k] for k in ("currency", "pool", "rule", "projects")}))
    locked["pledging_until"] = "2026-05-31"
    document = {k: v for k, v in call.items() if k != "config_sha256"}
    document["locked_rules"] = locked
    document["locked_rules_sha256"] = sha256_hex(canonical_bytes(locked))
    document["config_sha256"] = funding_config_sha256(document)
    return document


def test_the_rules_locked_at_pledging_are_checked(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    call = with_locked_rules(make_call(RULES[1]))
    files = members(build_funding_bundle(call, make_ledger(), "0.1.0"))
    code, out, _ = audit(write(rezip(files)), capsys)
    assert code == 0, out
    # a goal raised after pledging opened, every hash but the locked one made to agree
    call["locked_rules"]["projects"][1]["goal"] = 1
    call["config_sha256"] = funding_config_sha256(call)
    files[CALL] = canonical_bytes(call) + b"\n"
    code, out, _ = audit(write(rezip(files, fix_digests=True)), capsys)
    assert code == 1
    assert "the locked rules do not hash to locked_rules_sha256" in out
    assert "the call's projects or goals are not the locked rules'" in out
    with pytest.raises(ConfigError, match="the locked rules do not hash"):
        build_funding_bundle(call, make_ledger(), "0.1.0")
    moved = with_locked_rules(make_call(RULES[1]))
    moved["pool"] = 1
    moved["config_sha256"] = funding_config_sha256(moved)
    with pytest.raises(ConfigError, match=r"call.pool is not the locked rules' pool"):
        build_funding_bundle(moved, make_ledger(), "0.1.0")


@pytest.mark.packaging
def test_the_auditors_tool_audits_a_funding_bundle(tmp_path: Path, write: Write) -> None:
    """``pb-audit.pyz`` run by a Python with nothing installed gives pb audit's verdict."""
    import subprocess
    import sys
    import venv

    from pb import auditool

    tool = tmp_path / auditool.FILENAME
    auditool.write(tool)
    venv.EnvBuilder(with_pip=False).create(tmp_path / "bare")
    python = tmp_path / "bare" / "bin" / "python"
    good = write(build_funding_bundle(make_call(RULES[1]), make_ledger(), "0.1.0"))
    files = members(good.read_bytes())
    files[LEDGER] = files[LEDGER].replace(b",true\n", b",false\n", 1)
    bad = write(rezip(files, fix_digests=True))
    for path, expected in ((good, 0), (bad, 1)):
        result = subprocess.run(
            [python, "-I", tool, "audit", path], capture_output=True, text=True, cwd=tmp_path
        )
        assert result.returncode == expected, result.stderr
        ours = subprocess.run(
            [sys.executable, "-m", "pb.audit", path], capture_output=True, text=True
        )
        assert (result.stdout, result.stderr) == (ours.stdout, ours.stderr)
    assert "✗ matches" in result.stdout
