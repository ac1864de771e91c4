"""The SMTP connection: plain, STARTTLS or implicit TLS, with a login when configured.

TLS always verifies the server's certificate and name (``ssl.create_default_context()``); a
private CA is trusted by naming its file in ``MAIL_CA_FILE`` (instance config), never by turning
verification off. Which security a server gets is ``MAIL_SECURITY``, settled in blog.config.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    timeout: float
    security: str = "none"  # starttls, tls or none (blog.config.mail_security)
    username: str = ""
    password: str = ""
    ca_file: str | None = None

    def __repr__(self) -> str:  # never the password, not even in a traceback
        return f"MailServer({self.host!r}, {self.port}, security={self.security!r})"


def mail_server(config: Mapping[str, Any]) -> MailServer | None:
    """The configured server, or None when the site sends no mail."""
    if not config.get("MAIL_SERVER"):
        return None
    return MailServer(
        host=config["MAIL_SERVER"],
        port=int(config.get("MAIL_PORT") or 25),
        timeout=float(config.get("MAIL_TIMEOUT", 10)),
        security=config.get("MAIL_SECURITY") or "none",
        username=config.get("MAIL_USERNAME") or "",
        password=config.get("MAIL_PASSWORD") or "",
        ca_file=config.get("MAIL_CA_FILE") or None,
    )


def connect(server: MailServer) -> smtplib.SMTP:
    """An open, secured and logged-in SMTP connection; raises OSError or SMTPException.

    STARTTLS is required when asked for: a server that does not offer it is an error (so that
    nobody in the middle can strip it), as is a login over a connection without TLS.
    """
    context = ssl.create_default_context(cafile=server.ca_file)
    smtp: smtplib.SMTP
    if server.security == "tls":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    try:
        smtp.ehlo()
        if server.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if server.username:
            smtp.login(server.username, server.password)
    except BaseException:
        smtp.close()
        raise
    return smtp
