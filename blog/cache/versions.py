"""HTTP caching of anonymous pages.

Every transaction that changes public content (posts, comments, categories, tags, users,
settings) stamps a site-wide *content version* when it commits; the stamp is read with the
settings (no extra query). A page's ETag is derived from the stamp, the URL and whatever makes
the page personal, before anything is rendered, so a conditional request is answered ``304``
after one query, and any write (a newly approved comment included) changes every ETag at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, current_app, make_response, request, session
from flask_login import current_user
from sqlalchemy import event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.exc import ObjectDeletedError
from werkzeug.http import http_date, is_resource_modified
from werkzeug.wrappers import Response

from blog.cache.lru import LRU
from blog.config import REDIS_TIMEOUT
from blog.extensions import db
from blog.links import site_origin
from blog.models import (
    Category,
    Comment,
    CommentStatus,
    Post,
    PostStatus,
    Setting,
    Tag,
    User,
    post_categories,
    post_tags,
)
from blog.settings import CONTENT_VERSION_KEY
from blog.web.commenter import COOKIE_NAME, REMEMBER_COOKIE

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

TRACKED_MODELS = (Post, Comment, Category, Tag, User, Setting)
TRACKED_TABLES = frozenset(
    {m.__tablename__ for m in TRACKED_MODELS} | {post_categories.name, post_tags.name}
)
_MARK = "blog_content_changed"  # in session.info: the kinds of content changed (a set)
# A change to comments, or to anything else public ("posts": posts, categories, tags, users,
# settings). The stamp records when each last changed: what is drawn from the posts alone (the
# sidebar, archive totals) is kept per posts version and survives approvals.
POSTS, COMMENTS = "posts", "comments"
# Execution option naming the kind of a bulk statement on a tracked table (a comment count
# kept on the posts table is a comments change).
CHANGES_OPTION = "blog_changes"
# Part of every page's ETag and cache key, with a digest of the templates and static files
# (page_format()): pages cached in Redis by an older release are never served by a newer one.
PAGE_FORMAT = "3"
# How long a shared cache (nginx, a CDN) may answer with a public page before asking again, and
# for how much longer it may answer with the old copy while it asks in the background: an
# approval reaches readers behind such a cache within SHARED_MAX_AGE seconds (the one request
# that starts a revalidation may still get the old copy). docs/caching.md.
SHARED_MAX_AGE = 10
STALE_WHILE_REVALIDATE = 30
SHARED_PAGE = (
    f"public, max-age=0, s-maxage={SHARED_MAX_AGE}, stale-while-revalidate={STALE_WHILE_REVALIDATE}"
)
PRIVATE_PAGE = "private, no-cache, max-age=0"
UPCOMING_LIMIT = 50
UNSEEN = frozenset({CommentStatus.SPAM, CommentStatus.TRASH})  # statuses nobody sees on a page


def _is_content(instance: object) -> bool:
    if isinstance(instance, Setting):
        return instance.key != CONTENT_VERSION_KEY
    if isinstance(instance, Comment):
        return _changes_what_readers_see(instance)
    return isinstance(instance, TRACKED_MODELS)


def _changes_what_readers_see(comment: Comment) -> bool:
    """Whether a comment's change can show on a page: not when a comment arrives unapproved
    (only its author sees it, and their page's key holds their own comment cookie, which the
    reply changes), nor when one only moves between spam and trash. A flood of spam or held
    replies then empties no cache. An edit to a held comment does count: its author sees it."""
    state = inspect(comment)
    history = state.attrs.status.history
    if not state.has_identity:
        return CommentStatus.APPROVED in history.added or not history.added
    if history.added and not history.deleted:
        return True  # a stored comment's status set without the old one loaded: unknown
    statuses = {*history.added, *history.deleted, *history.unchanged}
    if not statuses:  # not loaded, so not changed: what is stored (no autoflush in a flush)
        try:
            statuses = {comment.status}
        except ObjectDeletedError:
            return True
    return not statuses <= UNSEEN


def _mark(session: Session, kind: str) -> None:
    session.info.setdefault(_MARK, set()).add(kind)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _is_content(obj):
            _mark(session, COMMENTS if isinstance(obj, Comment) else POSTS)


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in TRACKED_TABLES and name != Setting.__tablename__:
        kind = state.execution_options.get(CHANGES_OPTION)
        _mark(state.session, kind or (COMMENTS if name == Comment.__tablename__ else POSTS))


def _posts_at(stamp: str | None) -> str | None:
    """When anything but comments last changed, as ``stamp`` records it."""
    try:
        data = json.loads(stamp or "")
        return str(data.get("posts_at") or data["at"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _before_commit(session: Session) -> None:
    # Commit flushes only after this event: flush now, so that changes still pending (a setting
    # changed and committed with no query in between) mark the session too.
    session.flush()
    kinds = session.info.pop(_MARK, None)
    if not kinds:
        return
    now = datetime.now(UTC)
    posts_at = None
    if POSTS not in kinds:
        # Only comments changed: the posts keep their time. Read under a row lock (PostgreSQL;
        # a SQLite writer holds the database's write lock already), so that a posts change
        # committing meanwhile cannot be written over with the older time.
        previous = session.scalar(
            select(Setting.value).where(Setting.key == CONTENT_VERSION_KEY).with_for_update()
        )
        posts_at = _posts_at(previous)
    # Scheduled posts become visible with no write at all: the stamp lists when the next ones
    # are due, and effective_version() moves on by itself as each of those times passes.
    upcoming = list(
        session.scalars(
            select(Post.published_at)
            .where(Post.status == PostStatus.PUBLISHED, Post.published_at > now)
            .order_by(Post.published_at)
            .limit(UPCOMING_LIMIT)
        )
    )
    stamp = json.dumps(
        {
            "at": now.isoformat(),
            "posts_at": posts_at or now.isoformat(),
            "upcoming": [t.isoformat() for t in upcoming if t is not None],
            "more": len(upcoming) == UPCOMING_LIMIT,
        }
    )
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Setting).values(key=CONTENT_VERSION_KEY, value=stamp)
    session.execute(
        statement.on_conflict_do_update(index_elements=[Setting.key], set_={"value": stamp})
    )


def _after_rollback(session: Session) -> None:
    session.info.pop(_MARK, None)


def install_content_version_tracking() -> None:
    """Listen to every Flask-SQLAlchemy session (once per process)."""
    target = db.session
    if event.contains(target, "before_flush", _before_flush):
        return
    event.listen(target, "before_flush", _before_flush)
    event.listen(target, "do_orm_execute", _on_execute)
    event.listen(target, "before_commit", _before_commit)
    event.listen(target, "after_soft_rollback", lambda session, _tx: _after_rollback(session))


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
    effective["base"] = _posts_at(stamp)
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


def version_now(stamp: str) -> tuple[str, datetime | None]:
    """``effective_version(stamp)`` and its time."""
    effective = _effective_now(stamp)
    return effective.version, effective.changed


def posts_version_now(stamp: str) -> str:
    """``effective_posts_version(stamp)``."""
    return _effective_now(stamp).posts_version


class VersionMemo:
    """Values worked out from the posts alone (the sidebar, the number of posts in an archive),
    each kept in the worker until the posts version moves; least recently used entries go
    first."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._values: LRU[Hashable, tuple[str, Any]] = LRU(max_entries)

    def get(self, key: Hashable, version: str) -> tuple[bool, Any]:
        found = self._values.get(key)
        if found is None or found[0] != version:
            return False, None
        return True, found[1]

    def set(self, key: Hashable, version: str, value: Any) -> None:
        self._values.set(key, (version, value))


def per_posts_version(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, worked out once per posts version in this worker.

    Only for values that depend on posts, categories, tags, users or settings (any change to
    one moves the posts version) and the time at which scheduled posts come due, never on
    comments (an approval leaves the posts version alone), and that hold no database objects.
    """
    from blog.web.templating import posts_version

    memo: VersionMemo | None = current_app.extensions.get("blog_version_memo")
    version = posts_version()
    if memo is None or not version:
        return compute()
    found, value = memo.get(key, version)
    if found:
        return cast(T, value)
    value = compute()
    memo.set(key, version, value)
    return value


# The page store earns its keep without a proxy in front (python -m bench --duration 4, SQLite,
# gunicorn -w 2 sync, a shared 2-core machine at load 8, 2026-12-07): the post page with 50
# comments at 705 req/s with it, 22 req/s without it (--no-page-cache), the bare route at 1,207
# and 1,282; the home page 578 against 211. Behind nginx (deploy/) the shared cache answers most
# cookieless readers itself; the store still spares a render per worker after each content change
# and for every request nginx passes on (docs/caching.md).
class MemoryPageStore(LRU[str, bytes]):
    """A small LRU of rendered pages inside one worker process."""


class RedisPageStore:
    """Rendered pages shared by every worker through Redis; a Redis failure is a cache miss.

    When Redis fails (down, or too slow to answer within the timeout) the store is skipped for
    ``retry_seconds``, so that pages are rendered without waiting on Redis; one warning is logged
    per outage.
    """

    def __init__(self, url: str, ttl_seconds: int = 3600, retry_seconds: float = 30.0) -> None:
        import redis

        self.client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        self.ttl = ttl_seconds
        self.retry_seconds = retry_seconds
        self.skip_until: float | None = None  # set while Redis is considered down

    def get(self, key: str) -> bytes | None:
        if self._skipping():
            return None
        try:
            raw = self.client.get(f"blog:page:{key}")
        except Exception as error:  # the cache is an optimisation: never fail a page for it
            self._failed(error)
            return None
        self._answered()
        return raw if isinstance(raw, bytes) else None

    def set(self, key: str, page: bytes) -> None:
        if self._skipping():
            return
        try:
            self.client.setex(f"blog:page:{key}", self.ttl, page)
        except Exception as error:
            self._failed(error)

    def _skipping(self) -> bool:
        return self.skip_until is not None and time.monotonic() < self.skip_until

    def _failed(self, error: Exception) -> None:
        if self.skip_until is None:
            log.warning(
                "Redis page cache unreachable (%s): pages are rendered without it, "
                "retrying every %.0f s",
                error,
                self.retry_seconds,
            )
        self.skip_until = time.monotonic() + self.retry_seconds

    def _answered(self) -> None:
        if self.skip_until is not None:
            log.info("Redis page cache reachable again")
            self.skip_until = None


PageStore = MemoryPageStore | RedisPageStore


def page_store() -> PageStore | None:
    return current_app.extensions.get("blog_page_store")


def _render_shared(view: Callable[..., Any], args: Any, kwargs: Any, key: str) -> Response:
    """The page as every anonymous reader sees it, from the page store or rendered once into it
    (kept with its content type: feeds and sitemaps are kept as well as pages)."""
    store = page_store()
    entry = store.get(key) if store is not None else None
    if entry is None:
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or store is None or session.modified:
            return response  # a page that wrote the session is this reader's alone
        entry = f"{response.content_type}\n".encode() + response.get_data()
        store.set(key, entry)
    content_type, _, page = entry.partition(b"\n")
    return Response(page, content_type=content_type.decode())


def conditional(view: F) -> F:
    """Cache an anonymous GET page: ETag and Last-Modified, 304 when they match, and the
    rendered page kept (per worker, or in Redis) until the content version changes.

    Signed-in users get ``private, no-cache``, no validators and a fresh render. A reader with a
    pending comment or saved details gets a page of their own (not from the shared cache), marked
    private. Every other anonymous page, the post page with its reply form included, is the same
    for every reader and may sit in a shared cache (SHARED_PAGE).
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD") or current_user.is_authenticated:
            return _never_shared(make_response(view(*args, **kwargs)))
        from blog.web.templating import content_version_and_time

        version, modified = content_version_and_time()
        personal = "|".join(request.cookies.get(n, "") for n in (COOKIE_NAME, REMEMBER_COOKIE))
        page_format = current_app.extensions["blog_page_format"]
        # The origin of absolute links is part of it: without SITE_URL they follow the request's
        # host, and a request with a forged Host must not put its links into everyone's page.
        seed = f"{page_format}|{version}|{site_origin()}|{request.full_path}|{personal}"
        etag = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        response: Response
        if not is_resource_modified(request.environ, etag=etag, last_modified=modified):
            response = Response(status=304)
        elif personal.strip("|"):
            response = make_response(view(*args, **kwargs))
        else:
            response = _render_shared(view, args, kwargs, etag)
        if response.status_code in (200, 304):
            _add_validators(response, etag, modified, personal=bool(personal.strip("|")))
        return response

    return cast(F, wrapped)


def _never_shared(response: Response) -> Response:
    """A signed-in user's page, or the answer to a form: ``private, no-cache``, no validators."""
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


def _add_validators(
    response: Response, etag: str, modified: datetime | None, personal: bool
) -> None:
    """ETag, Last-Modified, ``Vary: Cookie`` and whether a shared cache may keep the page."""
    # Header values written directly: this runs on every page served from the cache.
    headers = response.headers
    headers["ETag"] = f'"{etag}"'
    if modified is not None:
        headers["Last-Modified"] = http_date(modified)
    if "Vary" in headers:
        response.vary.add("Cookie")
    else:
        headers["Vary"] = "Cookie"
    # A page that wrote to the session (it would send a cookie) is nobody else's either.
    private = personal or session.modified
    headers["Cache-Control"] = PRIVATE_PAGE if private else SHARED_PAGE


def page_format(app: Flask) -> str:
    """PAGE_FORMAT and a digest of every template and static file of this release."""
    digest = hashlib.sha256(PAGE_FORMAT.encode())
    for folder in (app.template_folder, app.static_folder):
        root = Path(app.root_path, folder or "")
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def init_app(app: Flask) -> None:
    install_content_version_tracking()
    app.extensions["blog_page_format"] = page_format(app)
    app.extensions["blog_version_memo"] = VersionMemo()
    if not app.config.get("PAGE_CACHE", True):
        return
    redis_url = app.config.get("REDIS_URL")
    store: PageStore
    if redis_url:
        store = RedisPageStore(redis_url)
    else:
        store = MemoryPageStore(int(app.config.get("PAGE_CACHE_ENTRIES", 512)))
    app.extensions["blog_page_store"] = store
