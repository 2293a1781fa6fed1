"""Who may vote: a census list (keyed hashes only) and single-use access codes.

Census identifiers and codes are never stored in the clear: each is an HMAC under the app's
secret key, so a copy of the database alone does not reveal who is on the list or let anyone
vote with an unused code.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import AccessCode, CensusEntry, District
from pb.services import audit

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 15  # 75 bits: far beyond guessing, short enough to type
CODE_LOOKALIKES = str.maketrans("OIL", "011")
MAX_CODES = 5_000
MAX_CENSUS_ROWS = 500_000


def normalize_identifier(text: str) -> str:
    """A census identifier (or proof, or district name) as compared: NFKC, case-folded, without
    any whitespace. The lookup and the guessing throttle both use it, so a variant that finds
    the same resident also counts against the same budget."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(folded.split())


def keyed_hash(secret: str, purpose: str, *parts: str) -> str:
    message = "\x1f".join(normalize_identifier(p) for p in parts).encode()
    return hmac.new(
        secret.encode(), f"pb.{purpose}:".encode() + message, hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class Voter:
    """An eligible voter, as far as a round knows them."""

    identity: str  # stable within the round: "census:<hash>", "code:<hash>", "account:<id>"
    district_id: int | None


# --- census -----------------------------------------------------------------------------------


def import_census(session: Session, actor_id: int, round_id: int, data: bytes, secret: str) -> int:
    """Add the rows of a CSV (``identifier,proof[,district]``, header first) to the census.

    Every row is checked first; one bad row refuses the whole file, naming its line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": _("The file is not UTF-8 text.")}) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["identifier", "proof"]:
        raise ValidationError(
            {"file": _("The first line must be the header: identifier,proof,district")}
        )
    if len(rows) - 1 > MAX_CENSUS_ROWS:
        raise ValidationError({"file": _("At most %(n)s rows at a time.", n=MAX_CENSUS_ROWS)})
    districts = {
        normalize_identifier(name): i
        for i, name in session.execute(select(District.id, District.name)).all()
    }
    existing = set(
        session.scalars(select(CensusEntry.id_hash).where(CensusEntry.round_id == round_id))
    )
    entries: list[CensusEntry] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ValidationError(
                {"file": _("Line %(line)s: give an identifier and a proof.", line=line)}
            )
        district_id = None
        if len(row) > 2 and row[2].strip():
            district_id = districts.get(normalize_identifier(row[2]))
            if district_id is None:
                raise ValidationError(
                    {
                        "file": _(
                            "Line %(line)s: unknown district %(name)s.",
                            line=line,
                            name=row[2].strip(),
                        )
                    }
                )
        id_hash = keyed_hash(secret, "census.id", str(round_id), row[0])
        if id_hash in existing:
            raise ValidationError(
                {"file": _("Line %(line)s: this identifier is already on the list.", line=line)}
            )
        existing.add(id_hash)
        entries.append(
            CensusEntry(
                round_id=round_id,
                id_hash=id_hash,
                district_id=district_id,
                proof_hash=keyed_hash(secret, "census.proof", str(round_id), row[0], row[1]),
            )
        )
    if not entries:
        raise ValidationError({"file": _("The file has no rows.")})
    session.add_all(entries)
    audit.record(
        session, actor_id, "census.import", f"round:{round_id}", after={"rows": len(entries)}
    )
    return len(entries)


def census_size(session: Session, round_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(CensusEntry).where(CensusEntry.round_id == round_id)
        )
        or 0
    )


def check_census(
    session: Session, round_id: int, identifier: str, proof: str, secret: str
) -> Voter | None:
    """The voter behind an identifier and its second fact, or None (same answer for an unknown
    identifier and a wrong proof)."""
    id_hash = keyed_hash(secret, "census.id", str(round_id), identifier)
    entry = session.scalars(
        select(CensusEntry).where(CensusEntry.round_id == round_id, CensusEntry.id_hash == id_hash)
    ).first()
    expected = keyed_hash(secret, "census.proof", str(round_id), identifier, proof)
    if entry is None or not hmac.compare_digest(entry.proof_hash, expected):
        return None
    return Voter(f"census:{entry.id_hash}", entry.district_id)


# --- access codes -----------------------------------------------------------------------------


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + 5] for i in range(0, len(raw), 5))


def normalize_code(text: str) -> str:
    cleaned = "".join(text.split()).replace("-", "").upper()
    return cleaned.translate(CODE_LOOKALIKES)


def generate_codes(
    session: Session, actor_id: int, round_id: int, count: int, district_id: int | None, secret: str
) -> list[str]:
    """Create ``count`` single-use codes and return them, formatted, this once only."""
    if not 1 <= count <= MAX_CODES:
        raise ValidationError({"count": _("Generate between 1 and %(n)s codes.", n=MAX_CODES)})
    if district_id is not None and session.get(District, district_id) is None:
        raise ValidationError({"district": _("Unknown district.")})
    batch = (
        session.scalar(select(func.max(AccessCode.batch)).where(AccessCode.round_id == round_id))
        or 0
    ) + 1
    now = clock.now()
    codes = []
    for _i in range(count):
        raw = "".join(secrets.choice(CODE_ALPHABET) for _j in range(CODE_LENGTH))
        codes.append(format_code(raw))
        session.add(
            AccessCode(
                round_id=round_id,
                batch=batch,
                district_id=district_id,
                created_at=now,
                code_hash=keyed_hash(secret, "code", raw),
            )
        )
    audit.record(
        session,
        actor_id,
        "codes.generate",
        f"round:{round_id}",
        after={"batch": batch, "count": count, "district_id": district_id},
    )
    return codes


def check_code(session: Session, round_id: int, text: str, secret: str) -> Voter | None:
    code_hash = keyed_hash(secret, "code", normalize_code(text))
    row = session.scalars(
        select(AccessCode).where(AccessCode.code_hash == code_hash, AccessCode.round_id == round_id)
    ).first()
    if row is None:
        return None
    return Voter(f"code:{row.code_hash}", row.district_id)


def code_round(session: Session, text: str, secret: str) -> int | None:
    """The round an access code belongs to, if it is one."""
    code_hash = keyed_hash(secret, "code", normalize_code(text))
    return session.scalar(select(AccessCode.round_id).where(AccessCode.code_hash == code_hash))


@dataclass(frozen=True)
class CodeBatch:
    batch: int
    count: int
    district: str | None


def code_batches(session: Session, round_id: int) -> list[CodeBatch]:
    rows = session.execute(
        select(AccessCode.batch, func.count(), District.name)
        .outerjoin(District, District.id == AccessCode.district_id)
        .where(AccessCode.round_id == round_id)
        .group_by(AccessCode.batch, District.name)
        .order_by(AccessCode.batch)
    ).all()
    return [CodeBatch(b, n, d) for b, n, d in rows]
