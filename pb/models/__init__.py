"""The database model. Alembic migrations (``alembic/``) are the only way the schema changes."""

from pb.models.accounts import LoginFailure, Role, User, UserSession
from pb.models.audit import AuditEvent
from pb.models.base import Base
from pb.models.collection import BankLine, CallSettlement, FundingBundle, StatementImport
from pb.models.funding import (
    ACTIVE_PLEDGE_STATES,
    Campaign,
    CampaignState,
    CampaignTotals,
    CostItem,
    FundingCall,
    Pledge,
    PledgeEvent,
    PledgeState,
    TaskSignup,
    VolunteerTask,
)
from pb.models.health import Heartbeat
from pb.models.mail import OutboxMail, UsedToken
from pb.models.photos import (
    MilestonePhoto,
    MilestonePhotoSize,
    ProposalPhoto,
    ProposalPhotoSize,
)
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
from pb.models.tracking import (
    BudgetLine,
    FundedBy,
    Indicator,
    Measurement,
    Milestone,
    ProjectFollow,
    ProjectIndicator,
    ProjectStatus,
    ProjectUpdate,
    TrackedProject,
)
from pb.models.voting import AccessCode, BallotRecord, CensusEntry, Participation

__all__ = [
    "ACTIVE_PLEDGE_STATES",
    "AccessCode",
    "AuditEvent",
    "BallotRecord",
    "BankLine",
    "Base",
    "BudgetLine",
    "CallSettlement",
    "Campaign",
    "CampaignState",
    "CampaignTotals",
    "Category",
    "CensusEntry",
    "Comment",
    "CostItem",
    "District",
    "Eligibility",
    "Endorsement",
    "FundedBy",
    "FundingBundle",
    "FundingCall",
    "Heartbeat",
    "Indicator",
    "LoginFailure",
    "Measurement",
    "Milestone",
    "MilestonePhoto",
    "MilestonePhotoSize",
    "OutboxMail",
    "Participation",
    "Phase",
    "Pledge",
    "PledgeEvent",
    "PledgeState",
    "ProjectFollow",
    "ProjectIndicator",
    "ProjectStatus",
    "ProjectUpdate",
    "Proposal",
    "ProposalPhoto",
    "ProposalPhotoSize",
    "ProposalStatus",
    "Role",
    "Round",
    "RoundDistrict",
    "RoundResult",
    "StatementImport",
    "TaskSignup",
    "Town",
    "TrackedProject",
    "UsedToken",
    "User",
    "UserSession",
    "VolunteerTask",
    "VotingMethod",
    "VotingScope",
]
