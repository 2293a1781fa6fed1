"""The database model. Alembic migrations (``alembic/``) are the only way the schema changes."""

from pb.models.accounts import LoginFailure, Role, User, UserSession
from pb.models.audit import AuditEvent
from pb.models.base import Base
from pb.models.mail import OutboxMail, UsedToken
from pb.models.proposals import Comment, Endorsement, Proposal, ProposalStatus
from pb.models.results import RoundResult
from pb.models.rounds import (
    Category,
    Eligibility,
    Phase,
    Round,
    RoundDistrict,
    VotingMethod,
    VotingScope,
)
from pb.models.town import District, Town
from pb.models.voting import AccessCode, BallotRecord, CensusEntry, Participation

__all__ = [
    "AccessCode",
    "AuditEvent",
    "BallotRecord",
    "Base",
    "Category",
    "CensusEntry",
    "Comment",
    "District",
    "Eligibility",
    "Endorsement",
    "LoginFailure",
    "OutboxMail",
    "Participation",
    "Phase",
    "Proposal",
    "ProposalStatus",
    "Role",
    "Round",
    "RoundDistrict",
    "RoundResult",
    "Town",
    "UsedToken",
    "User",
    "UserSession",
    "VotingMethod",
    "VotingScope",
]
