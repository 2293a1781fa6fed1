"""Settings read from ``PB_*`` environment variables, with safe defaults for a local run."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pb.errors import ConfigError

SUPPORTED_LOCALES = ("en", "fr", "es", "it", "el", "pl")


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to start. Build with :func:`load_settings` or directly in tests."""

    database_url: str
    secret_key: str
    var_dir: Path
    default_locale: str = "en"
    locales: tuple[str, ...] = SUPPORTED_LOCALES
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    # Passwords: argon2id at or above OWASP's minimum (m=19 MiB, t=2, p=1).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1
    hashing_concurrency: int = 2
    # Census and code guesses (eligibility proofs): (window in seconds, most failures in it),
    # per identifier and per client. Logins have their own budget (pb.services.login_throttle).
    account_failure_limits: tuple[tuple[int, int], ...] = ((900, 10), (3600, 30))
    client_failure_limits: tuple[tuple[int, int], ...] = ((900, 50),)
    # Logins: after `login_pair_free` failures for one account from one client (or device),
    # each further try waits twice as long as the last (from 2 s, at most 15 min). An account
    # with `login_account_limits` failures from new devices is closed to new devices (those that
    # never logged in to it) until the window passes or the owner uses the mailed unlock link;
    # a client with `login_client_limits` failures is closed to new devices (not to others).
    login_pair_free: int = 5
    login_account_limits: tuple[tuple[int, int], ...] = ((900, 10), (3600, 30))
    login_client_limits: tuple[tuple[int, int], ...] = ((900, 200),)
    # Sign-ups per client, and mails one address can be sent on request (resends, resets).
    registration_limits: tuple[tuple[int, int], ...] = ((3600, 10), (86400, 30))
    mail_request_limits: tuple[tuple[int, int], ...] = ((3600, 5), (86400, 20))
    # Mail: SMTP server (empty: write .eml files under var/mail), sender, public address.
    smtp_url: str = ""
    mail_from: str = "pb <pb@localhost>"
    base_url: str = ""  # e.g. https://vote.town.example; empty: the address of the request
    mail_sender: bool = False  # run the background sender in the web app (pb serve: yes)
    mail_poll_seconds: float = 5.0
    trusted_hosts: tuple[str, ...] = field(default_factory=tuple)
    timezone: str = "UTC"  # the town's time zone: phases change at its midnight
    db_pool_size: int = 20  # PostgreSQL connections each worker keeps
    debug: bool = False


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


PB_FILES = ("secret_key", "pb.sqlite3")


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) if needed, readable by its owner only (0700): it holds
    the secret key, the SQLite database and pb's other files. A folder made by an earlier
    version (0755) is tightened too, if it is ours and holds pb's files (never, say, /tmp)."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
        return
    info = path.stat()
    if (
        info.st_mode & 0o077
        and hasattr(os, "getuid")
        and info.st_uid == os.getuid()
        and any((path / name).exists() for name in PB_FILES)
    ):
        path.chmod(0o700)


def _secret_key(env: Mapping[str, str], var_dir: Path) -> str:
    given = env.get("PB_SECRET_KEY", "")
    if given:
        if len(given) < 32:
            raise ConfigError("PB_SECRET_KEY must be at least 32 characters long")
        return given
    # First local run: generate a key into var/ (never committed) and reuse it after.
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    make_private_dir(var_dir)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("PB_VAR_DIR", "var")).resolve()
    database_url = env.get("PB_DATABASE_URL") or f"sqlite:///{var_dir / 'pb.sqlite3'}"
    if database_url.startswith("sqlite:///") or var_dir.exists():
        make_private_dir(var_dir)
    locale = env.get("PB_DEFAULT_LOCALE", "en")
    if locale not in SUPPORTED_LOCALES:
        raise ConfigError(
            f"PB_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}, got {locale!r}"
        )
    timezone = env.get("PB_TIMEZONE", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PB_TIMEZONE is not a known time zone: {timezone!r}") from None
    hosts = tuple(h.strip() for h in env.get("PB_TRUSTED_HOSTS", "").split(",") if h.strip())
    smtp_url = env.get("PB_SMTP_URL", "").strip()
    mail_from = env.get("PB_MAIL_FROM", "").strip() or "pb <pb@localhost>"
    base_url = env.get("PB_BASE_URL", "").strip().rstrip("/")
    _check_mail(smtp_url, mail_from, base_url)
    return Settings(
        database_url=database_url,
        secret_key=_secret_key(env, var_dir),
        var_dir=var_dir,
        default_locale=locale,
        session_idle_minutes=_int(env, "PB_SESSION_IDLE_MINUTES", 120),
        session_max_hours=_int(env, "PB_SESSION_MAX_HOURS", 12),
        trusted_hosts=hosts,
        timezone=timezone,
        db_pool_size=_int(env, "PB_DB_POOL_SIZE", 20),
        debug=env.get("PB_DEBUG", "") in ("1", "true", "yes"),
        smtp_url=smtp_url,
        mail_from=mail_from,
        base_url=base_url,
        mail_sender=env.get("PB_MAIL_SENDER", "1") not in ("0", "false", "no", "off"),
        mail_poll_seconds=float(_int(env, "PB_MAIL_POLL_SECONDS", 5)),
    )


def _check_mail(smtp_url: str, mail_from: str, base_url: str) -> None:
    from pb.mail.transport import check_sender_address, parse_smtp_url

    if smtp_url:
        parse_smtp_url(smtp_url)
    check_sender_address(mail_from)
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"PB_BASE_URL must start with http:// or https://, got {base_url!r}")
