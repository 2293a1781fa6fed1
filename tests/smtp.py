"""A real SMTP server for tests (aiosmtpd on a free local port) and what arrived at it."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """Collects every message the server accepts. ``refuse`` holds replies to give (in order)
    to the next DATA commands instead of accepting, e.g. ``"451 4.3.0 try later"``."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 2.0.0 OK"

    def texts(self) -> list[str]:
        out = []
        for message in self.messages:
            part = message.get_body(preferencelist=("plain",))
            assert part is not None
            out.append(str(part.get_content()).replace("\r\n", "\n"))
        return out


class Authenticator:
    def __init__(self, inbox: Inbox, user: str, password: str) -> None:
        self.inbox, self.user, self.password = inbox, user, password

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.inbox.logins.append((login, password))
        return AuthResult(success=(login, password) == (self.user, self.password), handled=False)


@dataclass
class SmtpServer:
    controller: Controller
    inbox: Inbox
    port: int

    def url(self, query: str = "", credentials: str = "") -> str:
        at = f"{credentials}@" if credentials else ""
        return f"smtp://{at}127.0.0.1:{self.port}" + (f"?{query}" if query else "")

    def stop(self) -> None:
        self.controller.stop()


def start_server(**options: Any) -> SmtpServer:
    inbox = Inbox()
    port = free_port()
    user_password = options.pop("credentials", None)
    if user_password is not None:
        options["authenticator"] = Authenticator(inbox, *user_password)
        options["auth_required"] = True  # and, by aiosmtpd's default, only after STARTTLS
        options.setdefault("auth_exclude_mechanism", ["LOGIN"])
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return SmtpServer(controller, inbox, port)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
