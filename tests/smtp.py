"""Real SMTP servers for the mail tests: aiosmtpd on loopback, plain, or with STARTTLS or
implicit TLS and a required login, behind a certificate of a CA made for the test (trustme)."""

from __future__ import annotations

import email
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bench.load import free_port
from blog.mail import outbox

USER, PASSWORD = "blog", "s3cret pass"


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._changed:
            self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def settled(self) -> list[tuple[list[str], EmailMessage]]:
        """Every message, once everything queued so far has been sent."""
        outbox.wait_for_mail(timeout=10)
        with self._changed:
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.settled() if address in rcpt]


class RawInbox(Inbox):
    """Keeps the bytes each message arrived as, and who logged in to send it."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.original_content or envelope.content)
        self.logins.append(session.auth_data.decode() if session.authenticated else "")
        return await super().handle_DATA(server, session, envelope)


def authenticate(
    _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@contextmanager
def plain_server(handler: Inbox, **options: Any) -> Iterator[int]:
    """A server with no TLS and no login, as a local relay is (``options``: aiosmtpd's, for
    more). Yields its port; stops once what was queued so far has been sent."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        outbox.wait_for_mail(timeout=10)
        controller.stop()


@contextmanager
def secure_server(handler: Inbox, ca: trustme.CA, *, implicit_tls: bool = False) -> Iterator[int]:
    """A server that takes mail only after a login (USER, PASSWORD) over TLS: STARTTLS first, or
    TLS from the first byte (as on port 465). Yields its port."""
    tls = server_context(ca)
    options: dict[str, Any] = (
        {"ssl_context": tls, "auth_require_tls": False}  # aiosmtpd knows only STARTTLS as TLS
        if implicit_tls
        else {"tls_context": tls, "require_starttls": True, "auth_require_tls": True}
    )
    with plain_server(handler, auth_required=True, authenticator=authenticate, **options) as port:
        yield port
