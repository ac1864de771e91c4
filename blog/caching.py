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
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, g, make_response, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from blog.commenter import COOKIE_NAME, REMEMBER_COOKIE
from blog.extensions import db
from blog.models import Category, Comment, Post, Setting, Tag, User, post_categories, post_tags
from blog.settings import CONTENT_VERSION_KEY

F = TypeVar("F", bound=Callable[..., Any])

TRACKED_MODELS = (Post, Comment, Category, Tag, User, Setting)
TRACKED_TABLES = frozenset(
    {m.__tablename__ for m in TRACKED_MODELS} | {post_categories.name, post_tags.name}
)
_MARK = "blog_content_changed"
# Changes when templates or the stylesheet change meaning; part of every ETag.
PAGE_FORMAT = "1"
SHARED_MAX_AGE = 30


def _is_content(instance: object) -> bool:
    if isinstance(instance, Setting):
        return instance.key != CONTENT_VERSION_KEY
    return isinstance(instance, TRACKED_MODELS)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if any(_is_content(obj) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_MARK] = True


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in TRACKED_TABLES and name != Setting.__tablename__:
        state.session.info[_MARK] = True


def _before_commit(session: Session) -> None:
    if not session.info.pop(_MARK, False):
        return
    stamp = json.dumps({"at": datetime.now(UTC).isoformat()})
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
    try:
        return datetime.fromisoformat(json.loads(version)["at"])
    except (ValueError, TypeError, KeyError):
        return None


def conditional(view: F) -> F:
    """Give an anonymous GET page an ETag and Last-Modified, and answer 304 when they match.

    Signed-in users get ``private, no-cache`` and no validators. A page that carries a CSRF token
    (the reply form) is private to that browser; other anonymous pages may sit in a shared cache
    for a few seconds.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD") or current_user.is_authenticated:
            response = make_response(view(*args, **kwargs))
            response.cache_control.private = True
            response.cache_control.no_cache = True
            return response
        from blog.templating import content_version

        version = content_version()
        personal = "|".join(request.cookies.get(n, "") for n in (COOKIE_NAME, REMEMBER_COOKIE))
        seed = f"{PAGE_FORMAT}|{version}|{request.full_path}|{personal}"
        etag = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        modified = version_time(version)
        if not is_resource_modified(request.environ, etag=etag, last_modified=modified):
            response = Response(status=304)
        else:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
        response.set_etag(etag)
        if modified is not None:
            response.last_modified = modified
        response.vary.add("Cookie")
        response.cache_control.max_age = 0
        if "csrf_token" in g or personal.strip("|"):
            response.cache_control.private = True
            response.cache_control.no_cache = True
        else:
            response.cache_control.public = True
            response.cache_control.s_maxage = SHARED_MAX_AGE
        return response

    return cast(F, wrapped)


def init_app(_app: Flask) -> None:
    install_content_version_tracking()
