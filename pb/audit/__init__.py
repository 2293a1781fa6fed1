"""pb.audit: the ballot log, canonical results and the offline audit of a round.

Pure: the standard library and :mod:`pb.tally` only. The web app calls :func:`ballot_record`
and :func:`next_hash` to chain each ballot, :func:`results_bytes` to publish results and
:func:`write_bundle` to write the downloadable ballot bundle; auditors run
``pb audit BUNDLE.zip`` (:func:`pb.audit.cli.main`, :func:`audit_bundle`). Formats and the
locked-config contract are in ``docs/audit.md``.
"""

from pb.audit.bundle import read_bundle, write_bundle
from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.audit.chain import (
    ballot_record,
    chain_hashes,
    chain_head,
    genesis_record,
    next_hash,
    record_problems,
    verify_chain,
)
from pb.audit.config import check_config, config_sha256
from pb.audit.errors import AuditError, BundleError, ConfigError, RecordError
from pb.audit.method import ballot_problems
from pb.audit.receipt import format_receipt, new_receipt_code, normalize_receipt
from pb.audit.results import (
    ballots_by_district,
    district_election,
    results_bytes,
    results_document,
)
from pb.audit.verify import Check, Report, audit_bundle

__all__ = [
    "AuditError",
    "BundleError",
    "Check",
    "ConfigError",
    "RecordError",
    "Report",
    "audit_bundle",
    "ballot_problems",
    "ballot_record",
    "ballots_by_district",
    "canonical_bytes",
    "chain_hashes",
    "chain_head",
    "check_config",
    "config_sha256",
    "district_election",
    "format_receipt",
    "genesis_record",
    "new_receipt_code",
    "next_hash",
    "normalize_receipt",
    "read_bundle",
    "record_problems",
    "results_bytes",
    "results_document",
    "sha256_hex",
    "verify_chain",
    "write_bundle",
]
