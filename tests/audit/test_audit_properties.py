"""Properties: no single-byte change to a bundle goes unnoticed."""

from __future__ import annotations

import functools
import io
import zipfile

from audit_builders import bundle_bytes, make_round, members, rezip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb.audit.errors import BundleError
from pb.audit.verify import audit_bundle


@functools.cache
def _bundle() -> bytes:
    return bundle_bytes(make_round(seed=21, kind="quadratic", rule="greedy", n_ballots=30))


@functools.cache
def _members() -> tuple[tuple[str, bytes], ...]:
    return tuple(members(_bundle()).items())


def _outcome(data: bytes) -> int:
    """0, 1 or 2, as ``pb audit`` would exit."""
    try:
        report = audit_bundle(io.BytesIO(data))
    except BundleError:
        return 2
    return 0 if report.ok else 1


def test_the_unchanged_bundle_passes() -> None:
    assert _outcome(_bundle()) == 0
    assert _outcome(rezip(dict(_members()))) == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(min_value=0), where=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_single_byte_change_in_a_member_is_detected(which: int, where: int, flip: int) -> None:
    files = list(_members())
    name, data = files[which % len(files)]
    changed = bytearray(data)
    changed[where % len(data)] ^= flip
    files[which % len(files)] = (name, bytes(changed))
    assert _outcome(rezip(dict(files))) in (1, 2), (name, where % len(data), flip)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(["ballot_log.jsonl", "results.json"]),
    where=st.integers(min_value=0),
    flip=st.integers(1, 255),
)
def test_byte_changes_in_log_and_results_survive_fixed_digests(
    which: str, where: int, flip: int
) -> None:
    """A tamperer who also rewrites the manifest's digests is still caught."""
    files = dict(_members())
    changed = bytearray(files[which])
    changed[where % len(changed)] ^= flip
    files[which] = bytes(changed)
    assert _outcome(rezip(files, fix_digests=True)) in (1, 2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.integers(min_value=0), flip=st.integers(1, 255))
def test_a_raw_byte_change_in_the_zip_is_detected_or_harmless(where: int, flip: int) -> None:
    """Changing any byte of the zip file itself either is reported (1), makes it unreadable (2),
    or leaves every member's content as it was (a date or attribute byte, say)."""
    data = bytearray(_bundle())
    data[where % len(data)] ^= flip
    outcome = _outcome(bytes(data))
    if outcome == 0:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            assert {i.filename: archive.read(i) for i in archive.infolist()} == dict(_members())


def test_every_byte_of_the_manifest_matters() -> None:
    """Exhaustive where random search is thin: the manifest holds short fields (the pb version,
    the chain length) that few random positions hit. Flip the low bit of each byte in turn."""
    files = members(
        bundle_bytes(make_round(seed=21, kind="cumulative", n_ballots=30, n_districts=1))
    )
    manifest = files["manifest.json"]
    missed = []
    for at in range(len(manifest)):
        changed = bytearray(manifest)
        changed[at] ^= 1
        if _outcome(rezip({**files, "manifest.json": bytes(changed)})) == 0:
            missed.append((at, manifest[max(0, at - 20) : at + 20]))
    assert missed == []


def test_a_damaged_zip_version_is_unreadable_not_a_crash() -> None:
    """Found by the property above: a flipped bit in the central directory's "version needed"
    makes zipfile raise NotImplementedError when opening; pb audit must exit 2, not crash."""
    data = bytearray(_bundle())
    directory = data.rfind(b"PK\x01\x02")
    data[directory + 6] = 84  # "version needed to extract" 8.4
    assert _outcome(bytes(data)) == 2
