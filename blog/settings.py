"""Site and discussion settings: typed, with WordPress's defaults, stored as key/value rows."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app, g
from sqlalchemy import select

from blog.database import read_value
from blog.extensions import db
from blog.models import Setting


@dataclass(frozen=True)
class Settings:
    """Everything an operator can change in the admin. Defaults are WordPress's (SPEC section 6)."""

    site_title: str = "My Blog"
    tagline: str = "Just another blog"
    # Every date shown and the date archives follow it; stored times stay UTC (docs/admin.md).
    timezone: str = "UTC"
    comment_moderation: bool = True  # "Comment must be manually approved"
    comment_previously_approved: bool = True
    comment_max_links: int = 2
    moderation_keys: str = ""  # one word, IP or phrase a line
    disallowed_keys: str = ""
    flood_interval_seconds: int = 15
    close_comments_for_old_posts: bool = False
    close_comments_days_old: int = 14
    thread_comments: bool = True
    thread_comments_depth: int = 5
    comments_per_page: int = 50
    default_comments_page: str = "oldest"  # "oldest" or "newest" first
    moderation_notify: bool = True
    comments_notify: bool = True
    require_name_email: bool = True
    spam_min_examples: int = 20  # of each kind, before the spam filter acts (rule 4b)
    spam_threshold: float = 0.9  # a spam score above this marks the comment as spam; 1 = off
    ip_retention_days: int = 0  # 0 keeps commenters' IP addresses, as WordPress does
    comment_edit_window_minutes: int = 15  # readers edit or delete their comment (Isso's); 0 off
    report_hold_threshold: int = 3  # reports that send an approved comment back; 0 = never
    require_email_confirmation: bool = False  # anonymous comments wait for a mailed link
    show_gravatar: bool = False  # avatars from gravatar.com (a third party) instead of local ones
    site_menu: str = ""  # the header's links, "Label | /address/" a line (blog.posts.menus)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone (``timezone``), for showing dates and cutting archives."""
        return site_zone(self.timezone)


FIELD_TYPES: dict[str, type] = {f.name: type(f.default) for f in fields(Settings)}


class InvalidSetting(ValueError):
    """A setting name that does not exist or a value of the wrong kind."""


def coerce(name: str, raw: Any) -> Any:
    """Turn a raw value (from a form, the CLI or JSON) into the setting's type, or raise."""
    if name not in FIELD_TYPES:
        raise InvalidSetting(f"Unknown setting {name!r}.")
    kind = FIELD_TYPES[name]
    if kind is bool:
        return _on_or_off(name, raw)
    if kind is int:
        return _whole_number(name, raw)
    if kind is float:
        return _fraction(name, raw)
    text = str(raw)
    if name == "default_comments_page" and text not in {"oldest", "newest"}:
        raise InvalidSetting("default_comments_page must be oldest or newest.")
    if name == "timezone":
        return valid_timezone(text)
    return text


def valid_timezone(name: str) -> str:
    """``name`` if it is a time zone of the IANA database (``Europe/Berlin``, ``UTC``), else
    InvalidSetting."""
    name = name.strip()
    if name not in zone_names():
        raise InvalidSetting("timezone must be a time zone name such as UTC or Europe/Berlin.")
    return name


@cache
def zone_names() -> frozenset[str]:
    """Every zone name zoneinfo knows (the tzdata package's, else the system's), read once."""
    # "localtime" and "Factory" are files of the system's database, not places.
    return frozenset(available_timezones()) - {"localtime", "Factory"}


@lru_cache(maxsize=16)
def site_zone(name: str) -> ZoneInfo:
    """The zone of a ``timezone`` setting; UTC for a name that is not one (a stored value from
    a system whose database had it)."""
    if name not in zone_names():
        return ZoneInfo("UTC")
    return ZoneInfo(name)


def _on_or_off(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise InvalidSetting(f"{name} must be on or off.")


def _whole_number(name: str, raw: Any) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidSetting(f"{name} must be a whole number.") from None
    if value < 0 or value > 1_000_000:
        raise InvalidSetting(f"{name} must be between 0 and 1000000.")
    return value


def _fraction(name: str, raw: Any) -> float:
    try:
        number = float(str(raw).strip())
    except ValueError:
        raise InvalidSetting(f"{name} must be a number from 0 to 1, like 0.9.") from None
    if not 0 <= number <= 1:  # NaN fails too
        raise InvalidSetting(f"{name} must be a number from 0 to 1, like 0.9.")
    return number


# Not a setting: a stamp of the last change to public content, kept beside the settings so that
# one query per request reads both (blog/cache/tracking.py writes it, blog/cache/versions.py
# reads it).
CONTENT_VERSION_KEY = "content_version"


def load_settings() -> Settings:
    """Read every stored setting in one query; missing keys keep their defaults."""
    return load_settings_and_version()[0]


# Only the keys read here: other rows (the spam filter's model) can be large.
_SETTINGS_QUERY = select(Setting.key, Setting.value).where(
    Setting.key.in_([*FIELD_TYPES, CONTENT_VERSION_KEY])
)
VERSION_SQL = f"SELECT value FROM settings WHERE key = '{CONTENT_VERSION_KEY}'"


def load_settings_and_version() -> tuple[Settings, str]:
    """The settings and the content version stamp, in one query."""
    stored: dict[str, Any] = {}
    version = ""
    for key, value in db.session.execute(_SETTINGS_QUERY):
        if key == CONTENT_VERSION_KEY:
            version = value
        elif key in FIELD_TYPES:
            try:
                stored[key] = coerce(key, json.loads(value))
            except (InvalidSetting, ValueError):
                continue
    return Settings(**stored), version


def current_settings_and_version(cache: dict[str, Any]) -> tuple[Settings, str]:
    """The settings and the content version, reading only the version when it has not moved.

    Every commit that changes a setting also writes a new content version (blog/cache/tracking.py),
    so settings parsed under one version stay right for as long as the version stays the same:
    ``cache`` (one per app, shared by the worker's threads) keeps them. A page then costs one
    small query; the first request after a change costs two.
    """
    # Not through the session: a page served from the cache then never opens a transaction.
    version = read_value(VERSION_SQL) or ""
    entry = cache.get("settings")
    if version and entry is not None and entry[0] == version:
        return entry[1], version
    settings, version = load_settings_and_version()
    cache["settings"] = (version, settings)
    return settings, version


def site_settings() -> Settings:
    """The settings, read once per request (with the content stamp: one small query)."""
    if "blog_settings" not in g:
        cache = current_app.extensions.setdefault("blog_settings_cache", {})
        g.blog_settings, g.blog_content_version = current_settings_and_version(cache)
    return g.blog_settings  # type: ignore[no-any-return]


def content_stamp() -> str:
    """The content version stamp, read with this request's settings."""
    site_settings()
    return g.blog_content_version  # type: ignore[no-any-return]


def assume_defaults() -> None:
    """For the rest of this request, the default settings and no content stamp: the database
    is down, and the error page must render without it."""
    g.blog_settings = Settings()
    g.blog_content_version = ""


def save_settings(changes: dict[str, Any]) -> Settings:
    """Validate and store changed settings, then commit. Raises InvalidSetting on bad input."""
    stage_settings(changes)
    db.session.commit()
    return load_settings()


def stage_settings(changes: dict[str, Any]) -> None:
    """Validate changed settings and add them to the caller's transaction (no commit), for a
    change that belongs with others (an import). Raises InvalidSetting on bad input."""
    clean = {name: coerce(name, raw) for name, raw in changes.items()}
    for name, value in clean.items():
        row = db.session.get(Setting, name)
        if row is None:
            db.session.add(Setting(key=name, value=json.dumps(value)))
        else:
            row.value = json.dumps(value)
