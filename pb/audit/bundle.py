"""The ballot bundle: the zip an auditor downloads from a round's results page.

Members, always in this order (``districts`` in the config's order)::

    manifest.json      canonical JSON + "\\n" (see below)
    ballot_log.jsonl   one line per chain record: canonical {"hash": h_n, "record": {...}} + "\\n"
    districts/<key>.pb the pabulib file of each district: chained ballots only, receipt codes as
                       voter ids (:func:`pb.audit.results.district_election`), META pb_version
    results.json       the published results (:func:`pb.audit.results.results_bytes`)

``manifest.json`` is ``{"format": "pb-ballot-bundle/1", "pb_version", "config": <locked config>,
"config_sha256", "rule", "tie_break", "chain": {"head", "length"}, "files": {member: SHA-256}}``
where ``files`` covers every member but the manifest itself.

The zip is deterministic: fixed member order, every timestamp 1980-01-01 00:00, Unix
permissions 0644, DEFLATE at level 9; the same inputs give the same bytes.
"""

from __future__ import annotations

import dataclasses
import io
import lzma
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.audit.chain import verify_chain
from pb.audit.config import check_config, config_sha256
from pb.audit.errors import BundleError, RecordError
from pb.audit.results import ballots_by_district, district_election
from pb.tally import dumps

__all__ = [
    "BUNDLE_FORMAT",
    "LOG",
    "MANIFEST",
    "RESULTS",
    "RawBundle",
    "district_member",
    "log_bytes",
    "pb_files",
    "read_bundle",
    "write_bundle",
    "zip_bytes",
]

BUNDLE_FORMAT = "pb-ballot-bundle/1"
MANIFEST = "manifest.json"
LOG = "ballot_log.jsonl"
RESULTS = "results.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def district_member(key: str) -> str:
    """The name of a district's pabulib file inside the bundle."""
    return f"districts/{key}.pb"


def log_bytes(records: Sequence[Mapping[str, Any]], hashes: Sequence[str]) -> bytes:
    """``ballot_log.jsonl``: one canonical ``{"hash", "record"}`` line per record."""
    return b"".join(
        canonical_bytes({"hash": h, "record": dict(r)}) + b"\n"
        for r, h in zip(records, hashes, strict=True)
    )


def pb_files(
    config: Mapping[str, Any], records: Sequence[Mapping[str, Any]], pb_version: str
) -> dict[str, bytes]:
    """Member name -> pabulib bytes for every district of ``config`` (chained ballots only)."""
    grouped = ballots_by_district(records)
    files = {}
    for district in config["districts"]:
        key = district["key"]
        election = district_election(config, key, grouped.get(key, []))
        election = dataclasses.replace(election, meta={**election.meta, "pb_version": pb_version})
        files[district_member(key)] = dumps(election).encode("utf-8")
    return files


def zip_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A deterministic zip (module docstring) of ``(name, data)`` members, in the given order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform that writes it
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    return out.getvalue()


def write_bundle(
    target: str | os.PathLike[str] | IO[bytes],
    config: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    hashes: Sequence[str],
    results: bytes,
    pb_version: str,
) -> None:
    """Write the ballot bundle of a round to a path or a binary file object.

    Inputs: the locked ``config``, the whole chain (``records`` with their ``hashes``), the
    published ``results.json`` bytes (written as given: the audit recomputes them) and the pb
    version. Raises :class:`ConfigError` for a config that breaks the contract and
    :class:`RecordError` when the chain does not verify against ``config`` (a broken log is never
    published as if it were sound).
    """
    check_config(config)
    problems = verify_chain(records, hashes, config=config)
    if problems:
        raise RecordError("the ballot log does not verify: " + "; ".join(problems[:5]))
    if not isinstance(pb_version, str) or not pb_version:
        raise ValueError(f"pb_version is {pb_version!r}, expected a version string")
    members = {LOG: log_bytes(records, hashes), **pb_files(config, records, pb_version)}
    members[RESULTS] = bytes(results)
    manifest = {
        "format": BUNDLE_FORMAT,
        "pb_version": pb_version,
        "config": dict(config),
        "config_sha256": config_sha256(config),
        "rule": config["rule"],
        "tie_break": config["tie_break"],
        "chain": {"head": hashes[-1], "length": len(records)},
        "files": {name: sha256_hex(data) for name, data in members.items()},
    }
    data = zip_bytes([(MANIFEST, canonical_bytes(manifest) + b"\n"), *members.items()])
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as out:
            out.write(data)
    else:
        target.write(data)


@dataclass(frozen=True, slots=True)
class RawBundle:
    """The members of a bundle as stored: ``names`` in zip order (repeats included, as a
    tampered zip may hold two members of one name), ``data`` the bytes of each name's first
    member."""

    names: tuple[str, ...]
    data: Mapping[str, bytes]


def read_bundle(source: str | os.PathLike[str] | IO[bytes]) -> RawBundle:
    """Read every member of a zip; :class:`BundleError` when it is not a readable zip (not a zip,
    truncated, a member whose data or CRC is damaged, an unsupported compression)."""
    try:
        archive = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise BundleError("no such file") from None
    except IsADirectoryError:
        raise BundleError("is a directory, not a zip file") from None
    except (
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        struct.error,
        OverflowError,
        NotImplementedError,  # e.g. "zip file version 8.4" from a damaged directory
    ) as exc:
        raise BundleError(f"not a readable zip file ({exc})") from None
    except OSError as exc:
        raise BundleError(f"cannot read the file ({exc.strerror or exc})") from None
    names: list[str] = []
    data: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist():
            names.append(info.filename)
            try:
                content = archive.read(info)
            except (
                zipfile.BadZipFile,
                zlib.error,
                lzma.LZMAError,
                struct.error,
                EOFError,
                ValueError,
                OverflowError,
            ) as exc:
                raise BundleError(f"damaged in the zip ({exc})", info.filename) from None
            except (NotImplementedError, RuntimeError) as exc:  # e.g. marked as encrypted
                raise BundleError(f"cannot be unpacked ({exc})", info.filename) from None
            except OSError as exc:
                raise BundleError(f"cannot be read ({exc})", info.filename) from None
            data.setdefault(info.filename, content)
    return RawBundle(tuple(names), data)
