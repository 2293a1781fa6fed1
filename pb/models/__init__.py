"""The database model. Alembic migrations (``alembic/``) are the only way the schema changes."""

from pb.models.accounts import LoginFailure, Role, User, UserSession
from pb.models.audit import AuditEvent
from pb.models.base import Base
from pb.models.town import District, Town

__all__ = ["AuditEvent", "Base", "District", "LoginFailure", "Role", "Town", "User", "UserSession"]
