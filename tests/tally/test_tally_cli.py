"""``pb tally`` (``pb.tally.cli.main``): JSON and text output, exit 2 on bad input."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
from tally_paths import DATA

from pb.tally.cli import main

GDYNIA = DATA / "Poland_Gdynia_2024_Srodmiescie__small.pb"


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(GDYNIA), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rule"] == "greedy-no-skip"
    assert out["budget"] == 36577
    assert out["selected"] == ["2024/SRO/0005", "2024/SRO/0014"]
    assert out["spent"] == 34500
    assert out["projects"][0] == {
        "id": "2024/SRO/0005",
        "cost": 16000,
        "score": 358,
        "supporters": 358,
        "selected": True,
    }
    assert {"ties", "steps", "tie_break"} <= out.keys()


def test_json_output_is_canonical(capsys: pytest.CaptureFixture[str]) -> None:
    main([str(GDYNIA), "--format", "json", "--rule", "greedy"])
    first = capsys.readouterr().out
    main([str(GDYNIA), "--format", "json", "--rule", "greedy"])
    assert capsys.readouterr().out == first
    assert (
        first
        == json.dumps(json.loads(first), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        + "\n"
    )


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(GDYNIA), "--rule", "greedy"]) == 0
    out = capsys.readouterr().out
    assert "Rule: greedy\n" in out
    assert "Spent: 34500 of 36577 (94.3%), left over: 2077" in out
    assert "2024/SRO/0020: skipped, did not fit: remaining budget 2077 < cost 14000" in out


def test_malformed_file_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pb"
    bad.write_text(GDYNIA.read_text(encoding="utf-8").replace("16000", "16k", 1), encoding="utf-8")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"pb tally: {bad}: line 25: project '2024/SRO/0005' has cost '16k', "
        "expected a whole number\n"
    )


def test_a_file_without_a_rule_needs_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleless = tmp_path / "ruleless.pb"
    text = GDYNIA.read_text(encoding="utf-8").replace("rule;greedy-no-skip\n", "")
    ruleless.write_text(text, encoding="utf-8")
    assert main([str(ruleless)]) == 2
    assert "no rule given and META names none" in capsys.readouterr().err
    assert main([str(ruleless), "--rule", "greedy"]) == 0


def test_not_utf8_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "latin1.pb"
    bad.write_bytes(b"META\nkey;value\ndescription;\xe9t\xe9\n")
    assert main([str(bad)]) == 2
    assert "line 3: not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.pb"], "missing.pb: cannot read the file"),
        ([str(GDYNIA), "--rule", "dictator"], "unknown rule 'dictator'"),
        ([str(DATA / "Switzerland_Zurich_D5.pb")], "unknown rule 'unknown'"),
        ([str(GDYNIA), "--format", "xml"], "invalid choice"),
    ],
)
def test_bad_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_python_m_pb_tally(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["python -m pb.tally", str(GDYNIA), "--format", "json"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("pb.tally", run_name="__main__")
    assert exited.value.code == 0
    assert json.loads(capsys.readouterr().out)["selected"] == ["2024/SRO/0005", "2024/SRO/0014"]
