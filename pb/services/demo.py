"""A believable demo town: districts and one account of every role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from pb.models import District, Role, Town
from pb.services import accounts


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role
    name: str


# Well-known passwords: the demo is for trying pb out, never for a real vote.
DEMO_LOGINS = (
    DemoLogin("admin@demo.pb", "demo-admin-pass", Role.ADMIN, "Ada Admin"),
    DemoLogin("staff@demo.pb", "demo-staff-pass", Role.STAFF, "Sam Staff"),
    DemoLogin("auditor@demo.pb", "demo-auditor-pass", Role.AUDITOR, "Alex Auditor"),
    DemoLogin("resident@demo.pb", "demo-resident-pass", Role.RESIDENT, "Rosa Resident"),
)
DISTRICTS = (("Old Town", 8400), ("Riverside", 12100), ("Hillcrest", 9600), ("Northgate", 15300))


def load_demo(session: Session, password_hashes: dict[str, str]) -> None:
    """Create the demo town. ``password_hashes`` maps each demo email to its argon2 hash."""
    town = Town(name="Lindenfeld", currency="EUR")
    session.add(town)
    session.flush()
    session.add_all(District(town_id=town.id, name=n, population=p) for n, p in DISTRICTS)
    for login in DEMO_LOGINS:
        accounts.create_user(
            session, login.email, login.name, password_hashes[login.email], login.role
        )
