"""The ``pb`` command (see DESIGN.md for the contract scripts and auditors rely on).

Mistakes print a one-line message and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from pb import clock
from pb.errors import PbError, ValidationError

if TYPE_CHECKING:
    from pb.config import Settings
    from pb.db import Database
from pb.models import Role


class UsageError(PbError):
    pass


def _settings() -> Settings:
    from pb.config import load_settings

    return load_settings()


def cmd_serve(args: argparse.Namespace) -> int:
    from pb import migrations
    from pb.web import serve

    settings = _settings()
    migrations.upgrade(settings.database_url)
    serve.run(args.host, args.port, args.workers)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from pb import migrations

    settings = _settings()
    migrations.upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_db_revision(args: argparse.Namespace) -> int:
    from pb import migrations

    migrations.revision(_settings().database_url, args.message)
    return 0


def _database() -> Database:
    from pb.db import Database, make_engine

    return Database(make_engine(_settings().database_url))


def cmd_demo(args: argparse.Namespace) -> int:
    from pb.config import load_settings
    from pb.passwords import Passwords
    from pb.services import accounts, demo

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
                demo.load_demo, hashes, clock.today(settings.timezone), settings.secret_key
            )
            print("demo town loaded")
    print("demo logins (email / password / role):")
    for login in demo.DEMO_LOGINS:
        print(f"  {login.email:<20} {login.password:<20} {login.role.value}")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
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


def cmd_tally(args: argparse.Namespace) -> int:
    from pb.tally.cli import main as tally_main

    code: int = tally_main(args.rest)
    return code


def cmd_audit(args: argparse.Namespace) -> int:
    from pb.audit.cli import main as audit_main

    code: int = audit_main(args.rest)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pb", description="Participatory budgeting for towns.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the web app (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.set_defaults(func=cmd_db_upgrade)
    rev = db_sub.add_parser("revision", help="autogenerate a new migration (developers)")
    rev.add_argument("--message", "-m", required=True)
    rev.set_defaults(func=cmd_db_revision)

    demo = sub.add_parser("demo", help="load a demo town into an empty database")
    demo.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing (but print the logins) when the database has accounts",
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

    mail = sub.add_parser("mail", help="the mail outbox")
    mail_sub = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    send = mail_sub.add_parser(
        "send", help="deliver the outbox (PB_SMTP_URL, or files under var/mail without it)"
    )
    send.add_argument("--once", action="store_true", help="send what is due, then exit (for cron)")
    send.set_defaults(func=cmd_mail_send)

    tally = sub.add_parser("tally", help="tally one pabulib file", add_help=False)
    tally.add_argument("rest", nargs=argparse.REMAINDER)
    tally.set_defaults(func=cmd_tally)

    audit = sub.add_parser("audit", help="verify a ballot bundle offline", add_help=False)
    audit.add_argument("rest", nargs=argparse.REMAINDER)
    audit.set_defaults(func=cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
        print(f"pb: cannot use the database: {exc.orig}", file=sys.stderr)
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
