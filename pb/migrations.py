"""Run Alembic programmatically: the schema changes only through the migrations in ``alembic/``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.util import CommandError

from pb import resources
from pb.db import make_engine
from pb.errors import PbError


class MigrationError(PbError):
    """The migrations cannot run, e.g. the database was migrated by a newer pb."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.alembic_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` in one transaction."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            try:
                command.upgrade(cfg, revision)
            except CommandError as exc:
                hint = " (migrated by a newer pb?)" if "Can't locate revision" in str(exc) else ""
                raise MigrationError(f"cannot migrate the database: {exc}{hint}") from None
    finally:
        engine.dispose()


def revision(url: str, message: str) -> None:
    """Autogenerate a new migration by comparing the models with the database at ``url``."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
