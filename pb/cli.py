"""The ``pb`` command (see DESIGN.md for the contract scripts and auditors rely on).

Mistakes print a one-line message and exit with status 2, never a traceback: bad arguments,
bad input, an unreachable database, and a broken install (a missing folder or dependency).

``pb audit`` and ``pb tally`` belong to the pure packages: :mod:`pb.offline` hands them the
rest of the command line untouched, so their options, ``--help`` and output are the same as
``python3 pb-audit.pyz audit|tally``, and nothing of the web or database stack is imported
for them.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from pb import __version__, clock, offline
from pb.errors import PbError, ValidationError

if TYPE_CHECKING:
    from pb.config import Settings
    from pb.db import Database


class UsageError(PbError):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, reporting a mistake on one line (with where to find help), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}; see `{self.prog} --help`\n")


def installed_version() -> str:
    """pb's version from the installed package's metadata (pb.__version__ from a bare checkout)."""
    from importlib import metadata

    try:
        return metadata.version("pb")
    except metadata.PackageNotFoundError:
        return __version__


def _settings() -> Settings:
    from pb.config import load_settings

    return load_settings()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    from pb import migrations, resources
    from pb.web import serve

    if args.workers < 1 or args.max_connections < 1 or not args.request_timeout > 0:
        raise UsageError(
            "--workers and --max-connections must be at least 1, --request-timeout above 0"
        )
    settings = _settings()
    if not settings.trusted_hosts and not _is_loopback(args.host):
        raise UsageError(
            f"serving on {args.host} needs PB_TRUSTED_HOSTS, the host names pb answers to"
            " (e.g. PB_TRUSTED_HOSTS=pb.example.org); see docs/deployment.md"
        )
    resources.check_installation(settings.locales)
    migrations.upgrade(settings.database_url)
    serve.run(args.host, args.port, args.workers, args.request_timeout, args.max_connections)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from pb import migrations

    settings = _settings()
    migrations.upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pb import backup

    heads = backup.backup(_settings().database_url, Path(args.file))
    print(f"backed up into {args.file}")
    for head in heads:
        print(head.line())
    return 0


def cmd_db_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pb import backup

    heads = backup.restore(_settings().database_url, Path(args.file))
    print(f"restored {args.file}")
    for head in heads:
        print(head.line())
    if any(head.problems for head in heads):
        print("pb: a restored ballot log does not verify", file=sys.stderr)
        return 1
    return 0


def cmd_db_revision(args: argparse.Namespace) -> int:
    from pb import migrations, resources

    if not resources.is_checkout():
        raise UsageError(
            "pb db revision writes a new migration into a source checkout; run it from one"
        )
    migrations.revision(_settings().database_url, args.message)
    return 0


def _database() -> Database:
    from pb.db import Database, make_engine

    return Database(make_engine(_settings().database_url))


def cmd_demo(args: argparse.Namespace) -> int:
    from pb.config import load_settings
    from pb.passwords import Passwords
    from pb.services import accounts, demo, demo_texts

    texts_locale = args.locale
    demo_texts.load(texts_locale)  # an unknown language stops here, before the database
    with _database() as db:
        if db.read_sync(accounts.count_users) > 0:
            if not args.if_empty:
                raise UsageError(
                    "the database already has accounts; pb demo loads into an empty one"
                )
        else:
            passwords = Passwords(load_settings())
            hashes = {
                login.email: passwords.hash_sync(login.password) for login in demo.DEMO_LOGINS
            }
            settings = load_settings()
            db.write_sync(
                demo.load_demo,
                hashes,
                clock.today(settings.timezone),
                settings.secret_key,
                texts_locale,
            )
            print(f"demo town loaded (texts in {texts_locale})")
            if texts_locale not in settings.locales:
                print(f"pb's pages have no {texts_locale} translation yet: they stay in English")
            elif texts_locale != settings.default_locale:
                print(
                    f"the demo accounts use {texts_locale}; to show it to visitors too, "
                    f"set PB_DEFAULT_LOCALE={texts_locale}"
                )
    print("demo logins (email / password / role):")
    for login in demo.DEMO_LOGINS:
        print(f"  {login.email:<20} {login.password:<20} {login.role.value}")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    from pb.models import Role
    from pb.passwords import Passwords
    from pb.services import accounts

    if args.password_stdin:
        password = confirm = sys.stdin.readline().rstrip("\n")
    else:
        if not sys.stdin.isatty():
            raise UsageError("no terminal to prompt for a password: use --password-stdin")
        password = getpass.getpass("Password: ")
        confirm = getpass.getpass("Password again: ")
    name = args.name or args.email.split("@")[0]
    accounts.check_registration(args.email, name, password, confirm)
    password_hash = Passwords(_settings()).hash_sync(password)
    with _database() as db:
        # An administrator vouches for the address: the account is verified.
        db.write_sync(
            accounts.create_user, args.email, name, password_hash, Role(args.role), verified=True
        )
    print(f"created {args.role} account {accounts.normalize_email(args.email)}")
    return 0


def cmd_offline(args: argparse.Namespace) -> int:
    return offline.run(args.command, args.rest)


def cmd_mail_send(args: argparse.Namespace) -> int:
    import time

    from pb.mail.sender import sender_for

    settings = _settings()
    with _database() as db:
        sender = sender_for(db, settings)
        while True:
            report = sender.send_due()
            if args.once:
                print(f"sent {report.sent}, to retry {report.retrying}, failed {report.failed}")
                return 0
            time.sleep(settings.mail_poll_seconds)


def cmd_build_audit_tool(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pb import auditool

    path = Path(args.out)
    try:
        tool = auditool.write(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the file: {exc.strerror or exc}") from None
    print(f"{tool.sha256}  {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from pb.models import Role

    parser = Parser(prog="pb", description="Participatory budgeting for towns.")
    parser.add_argument(
        "--version", action="version", version=f"pb {installed_version()}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the web app (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--request-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection that has not sent a whole request in this time (%(default)s)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=1000,
        metavar="N",
        help="connections each worker serves at once; beyond, 503 (%(default)s)",
    )
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.set_defaults(func=cmd_db_upgrade)
    back = db_sub.add_parser(
        "backup",
        help="copy the database into a new FILE, consistently, also while pb serves",
        description="SQLite: the online backup API; PostgreSQL: pg_dump -Fc of pb's schema. "
        "Prints each round's ballot-log head as of the copy.",
    )
    back.add_argument("file", metavar="FILE")
    back.set_defaults(func=cmd_db_backup)
    restore = db_sub.add_parser(
        "restore",
        help="put a backup FILE into an EMPTY database and verify its ballot logs",
        description="Refuses a database that has tables. PostgreSQL: pg_restore, in one "
        "transaction, into the schema the backup was taken from.",
    )
    restore.add_argument("file", metavar="FILE")
    restore.set_defaults(func=cmd_db_restore)
    rev = db_sub.add_parser("revision", help="autogenerate a new migration (developers)")
    rev.add_argument("--message", "-m", required=True)
    rev.set_defaults(func=cmd_db_revision)

    demo = sub.add_parser("demo", help="load a demo town into an empty database")
    demo.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing (but print the logins) when the database has accounts",
    )
    demo.add_argument(
        "--locale",
        default="en",
        metavar="L",
        help="language of the demo town's texts: en, fr, es, it, el or pl (default: en)",
    )
    demo.set_defaults(func=cmd_demo)

    user = sub.add_parser("user", help="accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = user_sub.add_parser("create", help="create an account (password prompted)")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", help="display name (default: the part before @)")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    create.set_defaults(func=cmd_user_create)

    # Listed for `pb --help`; main() hands their arguments to pb.offline before parsing.
    for name, text in (
        ("tally", "tally one pabulib file"),
        ("audit", "verify a ballot bundle offline"),
    ):
        offline_command = sub.add_parser(name, help=text, add_help=False)
        offline_command.add_argument("rest", nargs=argparse.REMAINDER)
        offline_command.set_defaults(func=cmd_offline)
    mail = sub.add_parser("mail", help="the mail outbox")
    mail_sub = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    send = mail_sub.add_parser(
        "send", help="deliver the outbox (PB_SMTP_URL, or files under var/mail without it)"
    )
    send.add_argument("--once", action="store_true", help="send what is due, then exit (for cron)")
    send.set_defaults(func=cmd_mail_send)

    tool = sub.add_parser(
        "build-audit-tool",
        help="write pb-audit.pyz, the auditors' zipapp, and print its SHA-256",
        description="Write pb-audit.pyz (pb.audit and pb.tally as a zipapp that needs only "
        "Python) to OUT and print its SHA-256. The same source always gives the same bytes.",
    )
    tool.add_argument("out", metavar="OUT", help="where to write it, e.g. pb-audit.pyz")
    tool.set_defaults(func=cmd_build_audit_tool)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pb`` with ``argv`` (default: the process's arguments); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in offline.COMMANDS:
        return offline.run(args[0], args[1:])
    try:
        return _run(args)
    except ModuleNotFoundError as exc:
        print(f"pb: broken installation: {exc}; reinstall pb", file=sys.stderr)
        return 2


def _run(argv: list[str]) -> int:
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ValidationError as exc:
        print(f"pb: {'; '.join(exc.errors.values())}", file=sys.stderr)
        return 2
    except PbError as exc:
        print(f"pb: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"pb: cannot use the database: {exc.orig}".splitlines()[0], file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"pb: database error: {exc.__class__.__name__}: {exc}".splitlines()[0], file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
