"""Run Alembic programmatically: the schema changes only through the migrations in ``alembic/``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from pb.db import make_engine

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` in one transaction."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def revision(url: str, message: str) -> None:
    """Autogenerate a new migration by comparing the models with the database at ``url``."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
