"""Writing the ballot bundle: members, manifest, determinism."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from audit_builders import PB_VERSION, Round, bundle_bytes, make_round, members

from pb.audit.bundle import write_bundle
from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.audit.config import config_sha256
from pb.audit.errors import ConfigError, RecordError
from pb.audit.results import ballots_by_district, results_bytes
from pb.tally import loads


def test_members_and_manifest(any_round: Round) -> None:
    data = bundle_bytes(any_round)
    files = members(data)
    keys = [d["key"] for d in any_round.config["districts"]]
    assert list(files) == [
        "manifest.json",
        "ballot_log.jsonl",
        *(f"districts/{k}.pb" for k in keys),
        "results.json",
    ]
    manifest = json.loads(files["manifest.json"])
    assert files["manifest.json"] == canonical_bytes(manifest) + b"\n"
    assert manifest == {
        "format": "pb-ballot-bundle/1",
        "pb_version": PB_VERSION,
        "config": any_round.config,
        "config_sha256": config_sha256(any_round.config),
        "rule": any_round.config["rule"],
        "tie_break": any_round.config["tie_break"],
        "chain": {"head": any_round.hashes[-1], "length": len(any_round.records)},
        "files": {n: sha256_hex(d) for n, d in files.items() if n != "manifest.json"},
    }
    lines = files["ballot_log.jsonl"].decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"hash": h, "record": r} for h, r in zip(any_round.hashes, any_round.records, strict=True)
    ]
    grouped = ballots_by_district(any_round.records)
    for key in keys:
        election = loads(files[f"districts/{key}.pb"].decode())
        assert {b.voter_id: dict(b.points) for b in election.ballots} == {
            r["receipt"]: r["choices"] for r in grouped.get(key, [])
        }
        assert election.meta["pb_version"] == PB_VERSION
    assert files["results.json"] == results_bytes(any_round.config, grouped)


def test_zip_entries_are_fixed() -> None:
    with zipfile.ZipFile(io.BytesIO(bundle_bytes(make_round(seed=8)))) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.create_system == 3
            assert info.external_attr >> 16 == 0o644


def test_same_inputs_give_the_same_zip_bytes(tmp_path: Path) -> None:
    round_ = make_round(seed=8, kind="cumulative")
    first = bundle_bytes(round_)
    path = tmp_path / "bundle.zip"
    results = results_bytes(round_.config, ballots_by_district(round_.records))
    write_bundle(path, round_.config, round_.records, round_.hashes, results, PB_VERSION)
    assert path.read_bytes() == first
    # the same data with every dict in another key order, results computed from shuffled ballots
    config = json.loads(json.dumps(round_.config, sort_keys=True))
    records = [dict(reversed(list(r.items()))) for r in round_.records]
    grouped = {k: list(reversed(v)) for k, v in reversed(ballots_by_district(records).items())}
    again = Round(config, records, round_.hashes)
    assert results_bytes(config, grouped) == results
    assert bundle_bytes(again) == first


def test_a_broken_chain_or_config_is_not_written() -> None:
    round_ = make_round(seed=8)
    out = io.BytesIO()
    with pytest.raises(RecordError, match="hash mismatch at seq 3"):
        hashes = list(round_.hashes)
        hashes[3] = hashes[4]
        write_bundle(out, round_.config, round_.records, hashes, b"{}\n", PB_VERSION)
    with pytest.raises(RecordError, match="genesis record holds another config"):
        config = dict(round_.config, rule="equalshares")
        write_bundle(out, config, round_.records, round_.hashes, b"{}\n", PB_VERSION)
    with pytest.raises(ConfigError, match=r"config\.rule"):
        config = dict(round_.config, rule="borda")
        write_bundle(out, config, round_.records, round_.hashes, b"{}\n", PB_VERSION)
    assert out.getvalue() == b""
