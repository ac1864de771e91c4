"""Configuration: defaults, then ``instance/config.py``, then ``BLOG_*`` environment variables.

Read once, in the app factory. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from blog import resources

ENV_PREFIX = "BLOG_"
# Read before everything else: the instance folder holds config.py and the secret key.
INSTANCE_PATH_VARIABLE = "BLOG_INSTANCE_PATH"
# How long a request may wait on Redis (seconds): a slow Redis must not stall the site.
REDIS_TIMEOUT = 0.25

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
    "PROXY_COUNT": "PROXY_COUNT",
    "MEDIA_PATH": "MEDIA_PATH",
    "MEDIA_MAX_BYTES": "MEDIA_MAX_BYTES",
    "MEDIA_MAX_PIXELS": "MEDIA_MAX_PIXELS",
}
INTEGER_KEYS = {"MAIL_PORT", "PROXY_COUNT", "MEDIA_MAX_BYTES", "MEDIA_MAX_PIXELS"}


class ConfigurationError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


def variable_names() -> set[str]:
    """Every ``BLOG_*`` environment variable the application reads."""
    return {ENV_PREFIX + suffix for suffix in ENV_KEYS} | {INSTANCE_PATH_VARIABLE}


def instance_path(environ: Mapping[str, str]) -> Path:
    """``BLOG_INSTANCE_PATH``, else the default of :func:`blog.resources.default_instance_path`."""
    configured = environ.get(INSTANCE_PATH_VARIABLE)
    return Path(configured).resolve() if configured else resources.default_instance_path()


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
        # The media library (blog.posts.media): where uploads are kept (nginx serves it at
        # /media/), the largest file accepted, and the most pixels (width x height x frames)
        # decoded: a small file can hold a huge image (a decompression bomb).
        "MEDIA_PATH": str(instance_path / "media"),
        "MEDIA_MAX_BYTES": 10 * 1024 * 1024,
        "MEDIA_MAX_PIXELS": 25_000_000,
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
    """Map ``BLOG_*`` variables to config keys, converting the port and proxy count to ints."""
    found: dict[str, Any] = {}
    for suffix, key in ENV_KEYS.items():
        value = environ.get(ENV_PREFIX + suffix)
        if value:
            found[key] = _integer(ENV_PREFIX + suffix, value) if key in INTEGER_KEYS else value
    return found


def _integer(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigurationError(f"{name} must be a whole number of 0 or more, not {value!r}.")
    return number


def is_embedded_database(url: str) -> bool:
    return url.startswith("sqlite:")


def secret_key(config: Mapping[str, Any], instance: Path) -> str | bytes:
    """The configured key; else, with the embedded database only, the one kept in the instance
    folder. A database server means several workers or hosts: they must share one key, so it has
    to be given (a key generated on each host would sign out every reader between hosts)."""
    configured: str | bytes | None = config.get("SECRET_KEY")
    if configured:
        return configured
    if not is_embedded_database(str(config["SQLALCHEMY_DATABASE_URI"])):
        raise ConfigurationError(
            "BLOG_SECRET_KEY is required when the database is a server: every worker and host "
            "must sign with the same key. Generate one with "
            "python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return load_or_create_secret_key(instance)


def load_or_create_secret_key(instance: Path) -> str:
    """The key kept in ``instance/secret_key``, generated once (mode 0600).

    Workers starting together may all find no key: each writes a complete key to a temporary file
    and links it into place. Linking fails when the name exists, so exactly one key wins, every
    process reads that one, and nobody ever reads a half-written file.
    """
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=instance, prefix=".secret_key-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won: use its key
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if not key:
        raise ConfigurationError(f"{path} is empty: delete it (a new key is made) or fill it.")
    return key


def finish(config: dict[str, Any]) -> None:
    """Derive the settings that depend on others."""
    if config.get("REDIS_URL") and config.get("RATELIMIT_STORAGE_URI") == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    if str(config.get("RATELIMIT_STORAGE_URI")).startswith("redis"):
        # Redis down or slow: count in this process's memory (one warning in the log) rather
        # than refuse requests, and never wait on Redis for long.
        config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
        timeouts = {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT}
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", timeouts)
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
