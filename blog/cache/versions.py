"""The content version: a stamp of when public content last changed, and what it means now.

blog.cache.tracking writes the stamp (a settings row) in every transaction that changes public
content; it is read with the settings (blog.settings.site_settings: one query per request). Two
versions are drawn from it: the *content version* (anything public, comments included), part of
every page's ETag, and the *posts version* (everything but comments), under which values drawn
from the posts alone are kept (blog.cache.memo). Scheduled posts move both when they come due,
with no write at all: the stamp lists when the next ones are due.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from blog.settings import content_stamp

# A change to comments, or to anything else public ("posts": posts, categories, tags, users,
# settings). The stamp records when each last changed.
POSTS, COMMENTS = "posts", "comments"
UPCOMING_LIMIT = 50  # due times of scheduled posts a stamp lists


def posts_at(stamp: str | None) -> str | None:
    """When anything but comments last changed, as ``stamp`` records it."""
    try:
        data = json.loads(stamp or "")
        return str(data.get("posts_at") or data["at"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def version_time(version: str) -> datetime | None:
    """When the content (as ``version`` describes it) last changed."""
    try:
        return datetime.fromisoformat(json.loads(version)["at"])
    except (ValueError, TypeError, KeyError):
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def effective_version(stamp: str, now: datetime | None = None) -> str:
    """The content version as of ``now``: the stored stamp, moved on by every scheduled post
    whose time has come since it was written. Its ``at`` is when the content last changed."""
    try:
        data = json.loads(stamp)
        changed = datetime.fromisoformat(data["at"])
        upcoming = [datetime.fromisoformat(t) for t in data.get("upcoming", [])]
        more = bool(data.get("more"))
    except (ValueError, TypeError, KeyError):
        return stamp
    now = now or _now()
    passed = [t for t in upcoming if t <= now]
    if passed:
        changed = max(changed, passed[-1])
    effective: dict[str, object] = {"at": changed.isoformat(), "base": data["at"]}
    effective["published"] = len(passed)
    if more and len(passed) == len(upcoming):
        # Past the last due time the stamp knows of: let the version move every minute until
        # the next write writes a fresh list.
        effective["minute"] = now.strftime("%Y-%m-%dT%H:%M")
        effective["at"] = now.replace(second=0, microsecond=0).isoformat()
    return json.dumps(effective)


def effective_posts_version(stamp: str, now: datetime | None = None) -> str:
    """The version of everything but comments as of ``now``: when that last changed, moved on
    by scheduled posts coming due exactly as :func:`effective_version` is."""
    try:
        effective = json.loads(effective_version(stamp, now))
    except ValueError:
        return stamp
    if not isinstance(effective, dict):
        return stamp
    effective.pop("at", None)
    effective["base"] = posts_at(stamp)
    return json.dumps(effective)


@dataclass(frozen=True)
class _Effective:
    stamp: str
    version: str
    posts_version: str
    changed: datetime | None
    since: datetime
    until: datetime  # when a scheduled post next comes due (the version moves then)


_last_effective: _Effective | None = None


def _valid_until(stamp: str, now: datetime) -> datetime:
    try:
        data = json.loads(stamp)
        upcoming = [datetime.fromisoformat(t) for t in data.get("upcoming", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        return datetime.max.replace(tzinfo=UTC)
    later = [t for t in upcoming if t > now]
    if later:
        return later[0]
    if data.get("more"):
        return now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return datetime.max.replace(tzinfo=UTC)


def _effective_now(stamp: str) -> _Effective:
    """The effective versions of ``stamp``, worked out once per stamp and due time.

    Most requests read the same stamp as the one before; parsing it again would cost more than
    the query that read it.
    """
    global _last_effective
    now = _now()
    last = _last_effective
    if last is not None and last.stamp == stamp and last.since <= now < last.until:
        return last
    version = effective_version(stamp, now)
    last = _Effective(
        stamp,
        version,
        effective_posts_version(stamp, now),
        version_time(version),
        now,
        _valid_until(stamp, now),
    )
    _last_effective = last
    return last


def now() -> datetime:
    """The time the versions are worked out for (a test may move it)."""
    return _now()


def next_change() -> datetime:
    """When the content version last read in this process moves by itself next (a scheduled post
    coming due); far in the future when nothing is scheduled."""
    last = _last_effective
    return last.until if last is not None else datetime.max.replace(tzinfo=UTC)


def content_version_and_time() -> tuple[str, datetime | None]:
    """The version of public content now and when that content last changed."""
    effective = _effective_now(content_stamp())
    return effective.version, effective.changed


def posts_version() -> str:
    """The version of everything public but comments, now."""
    return _effective_now(content_stamp()).posts_version
