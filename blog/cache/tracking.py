"""Seeing writes: every transaction that changes public content stamps a new content version
when it commits, found by watching the session, never told by the code that writes.

- ``before_flush``: the objects added, changed or deleted (posts, comments, categories, tags,
  users, settings), each a change to comments or to "posts" (everything else public);
- ``do_orm_execute``: bulk ``INSERT``/``UPDATE``/``DELETE`` statements on those tables; one that
  only moves a post's comment count is a comments change;
- ``before_commit``: the stamp (blog.cache.versions reads it) written in the same transaction;
- ``after_commit``: :func:`writes_seen` moves on (what this process keeps without asking the
  database, blog.cache.replay, is stale from then on).

A comment arriving unapproved, or moving between spam and trash, changes no page anyone else sees:
a flood of spam or held replies then empties no cache.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.exc import ObjectDeletedError

from blog.cache.versions import COMMENTS, POSTS, UPCOMING_LIMIT, posts_at
from blog.extensions import db
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

TRACKED_MODELS = (Post, Comment, Category, Tag, User, Setting)
TRACKED_TABLES = frozenset(
    {m.__tablename__ for m in TRACKED_MODELS} | {post_categories.name, post_tags.name}
)
_MARK = "blog_content_changed"  # in session.info: the kinds of content changed (a set)
_STAMPED = "blog_content_stamped"  # in session.info: this transaction wrote a new stamp
_writes_seen = 0  # commits in this process that changed public content
UNSEEN = frozenset({CommentStatus.SPAM, CommentStatus.TRASH})  # statuses nobody sees on a page
# What a statement moving a post's comment count sets (updated_at to itself: a comment is not an
# edit of the post). Such a statement is a comments change: the posts version, and what is kept
# per posts version (the sidebar, archive totals), survives an approval.
COUNT_COLUMNS = frozenset({"comment_count", "updated_at"})


def _is_content(instance: object) -> bool:
    if isinstance(instance, Setting):
        return instance.key != CONTENT_VERSION_KEY
    if isinstance(instance, Comment):
        return _changes_what_readers_see(instance)
    return isinstance(instance, TRACKED_MODELS)


def _changes_what_readers_see(comment: Comment) -> bool:
    """Whether a comment's change can show on a page: not when a comment arrives unapproved
    (only its author sees it, and their page's key holds their own comment cookie, which the
    reply changes), nor when one only moves between spam and trash. An edit to a held comment
    does count: its author sees it."""
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


def _columns_set(statement: Any) -> set[str]:
    """The names of the columns an UPDATE sets (SQLAlchemy keeps them in ``_values``; no public
    accessor). Empty when unknown: then the statement counts as a posts change."""
    values = getattr(statement, "_values", None) or {}
    return {str(getattr(column, "key", column)) for column in values}


def _kind_of_bulk(state: ORMExecuteState, table: str) -> str:
    if table == Comment.__tablename__:
        return COMMENTS
    columns = _columns_set(state.statement) if state.is_update else set()
    if table == Post.__tablename__ and "comment_count" in columns and columns <= COUNT_COLUMNS:
        return COMMENTS
    return POSTS


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in TRACKED_TABLES and table != Setting.__tablename__:
        _mark(state.session, _kind_of_bulk(state, table))


def _before_commit(session: Session) -> None:
    # Commit flushes only after this event: flush now, so that changes still pending (a setting
    # changed and committed with no query in between) mark the session too.
    session.flush()
    kinds = session.info.pop(_MARK, None)
    if kinds:
        _write_stamp(session, _new_stamp(session, kinds))
        session.info[_STAMPED] = True


def _after_commit(session: Session) -> None:
    global _writes_seen
    if session.info.pop(_STAMPED, False):
        _writes_seen += 1


def writes_seen() -> int:
    """How many commits in this process have changed public content: it moves on after each,
    once the change is visible to other transactions."""
    return _writes_seen


def _new_stamp(session: Session, kinds: set[str]) -> str:
    now = datetime.now(UTC)
    kept_posts_at = None
    if POSTS not in kinds:
        # Only comments changed: the posts keep their time. Read under a row lock (PostgreSQL;
        # a SQLite writer holds the database's write lock already), so that a posts change
        # committing meanwhile cannot be written over with the older time.
        previous = session.scalar(
            select(Setting.value).where(Setting.key == CONTENT_VERSION_KEY).with_for_update()
        )
        kept_posts_at = posts_at(previous)
    # Scheduled posts become visible with no write at all: the stamp lists when the next ones
    # are due, and versions.effective_version() moves on by itself as each of those times passes.
    upcoming = list(
        session.scalars(
            select(Post.published_at)
            .where(Post.status == PostStatus.PUBLISHED, Post.published_at > now)
            .order_by(Post.published_at)
            .limit(UPCOMING_LIMIT)
        )
    )
    return json.dumps(
        {
            "at": now.isoformat(),
            "posts_at": kept_posts_at or now.isoformat(),
            "upcoming": [t.isoformat() for t in upcoming if t is not None],
            "more": len(upcoming) == UPCOMING_LIMIT,
        }
    )


def _write_stamp(session: Session, stamp: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Setting).values(key=CONTENT_VERSION_KEY, value=stamp)
    session.execute(
        statement.on_conflict_do_update(index_elements=[Setting.key], set_={"value": stamp})
    )


def _after_rollback(session: Session, _transaction: Any) -> None:
    session.info.pop(_MARK, None)
    session.info.pop(_STAMPED, None)


def install_content_version_tracking() -> None:
    """Listen to every Flask-SQLAlchemy session (once per process)."""
    target = db.session
    if event.contains(target, "before_flush", _before_flush):
        return
    event.listen(target, "before_flush", _before_flush)
    event.listen(target, "do_orm_execute", _on_execute)
    event.listen(target, "before_commit", _before_commit)
    event.listen(target, "after_commit", _after_commit)
    event.listen(target, "after_soft_rollback", _after_rollback)
