"""Configuration: defaults, then ``instance/config.py``, then ``BLOG_*`` environment variables.

Read once, in the app factory. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "BLOG_"

# Environment variable -> config key.
ENV_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "REDIS_URL": "REDIS_URL",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_PORT": "MAIL_PORT",
    "MAIL_FROM": "MAIL_FROM",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_SECURITY": "MAIL_SECURITY",
    "LOG_FORMAT": "LOG_FORMAT",
    "SITE_URL": "SITE_URL",
    "API_CORS_ORIGINS": "API_CORS_ORIGINS",
}


def defaults(instance_path: Path) -> dict[str, Any]:
    """The built-in defaults; the embedded database lives in the instance folder."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance_path / 'blog.sqlite3'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "REDIS_URL": None,
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_FROM": "blog@localhost",
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        # starttls, tls (implicit, port 465) or none; unset: from the port (see finish()).
        "MAIL_SECURITY": None,
        "MAIL_CA_FILE": None,  # a CA bundle to trust for the mail server (instance config)
        "MAIL_TIMEOUT": 10,
        "MAIL_MAX_ATTEMPTS": 10,
        # False: only `flask blog send-mail` (cron) sends, never a web worker's thread.
        "MAIL_SEND_AFTER_COMMIT": True,
        "LOG_FORMAT": "plain",  # or "json": one JSON object per request log line
        "SITE_URL": None,
        "PROXY_COUNT": 0,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "POSTS_PER_PAGE": 10,
        "SQLITE_BUSY_TIMEOUT_MS": 5000,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": 3600 * 12,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Origins allowed to read the JSON API and post comments from a browser (CORS):
        # comma-separated, "*" for any; none by default.
        "API_CORS_ORIGINS": "",
        "API_COMMENT_RATE_LIMIT": "10 per minute",
    }


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Map ``BLOG_*`` variables to config keys, converting the port to an int."""
    found: dict[str, Any] = {}
    for suffix, key in ENV_KEYS.items():
        value = environ.get(ENV_PREFIX + suffix)
        if value:
            found[key] = int(value) if key in {"MAIL_PORT", "PROXY_COUNT"} else value
    return found


def load_or_create_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in ``instance/secret_key``, generating it (mode 0600) once."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def finish(config: dict[str, Any]) -> None:
    """Derive the settings that depend on others."""
    if config.get("REDIS_URL") and config.get("RATELIMIT_STORAGE_URI") == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    site_url = config.get("SITE_URL") or ""
    secure = site_url.startswith("https://")
    config["SESSION_COOKIE_SECURE"] = secure
    config["REMEMBER_COOKIE_SECURE"] = secure
    config["MAIL_SECURITY"] = mail_security(config)
    config["LOG_FORMAT"] = str(config.get("LOG_FORMAT") or "plain").strip().lower()
    if config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ValueError(f"BLOG_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")


LOG_FORMATS = ("plain", "json")
MAIL_SECURITIES = ("starttls", "tls", "none")
PORT_SECURITY = {465: "tls", 587: "starttls"}


def mail_security(config: Mapping[str, Any]) -> str:
    """``MAIL_SECURITY`` as given, else by the port: implicit TLS on 465, STARTTLS on 587, none
    on any other (a relay on the same host, port 25). A login needs TLS of either kind."""
    given = (config.get("MAIL_SECURITY") or "").strip().lower()
    if given and given not in MAIL_SECURITIES:
        raise ValueError(f"BLOG_MAIL_SECURITY must be one of {', '.join(MAIL_SECURITIES)}")
    security = given or PORT_SECURITY.get(int(config.get("MAIL_PORT") or 25), "none")
    if config.get("MAIL_USERNAME") and security == "none":
        raise ValueError(
            "BLOG_MAIL_USERNAME is set but the mail connection has no TLS: set "
            "BLOG_MAIL_SECURITY to starttls or tls (a password is never sent in the clear)"
        )
    return security
