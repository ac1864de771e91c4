"""What many tests ask of the database, written once: a comment's status, a post's count, the
moderation events of a comment, a snapshot that a refused request must leave unchanged, and data
seeded once per test function (hypothesis runs a test's body many times on one app).

The fixtures built on these (``moderator``, a client signed in as a moderator) are in conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import (
    Comment,
    CommentReport,
    CommentRevision,
    CommentStatus,
    ModerationEvent,
    Post,
)

T = TypeVar("T")


def status_of(comment: Comment | int) -> CommentStatus | None:
    """The comment's status as stored now (None once it is deleted for good)."""
    cid = comment if isinstance(comment, int) else comment.id
    return db.session.scalar(select(Comment.status).where(Comment.id == cid))


def count_of(post: Post | int) -> int:
    """The post's stored ``comment_count``."""
    pid = post if isinstance(post, int) else post.id
    return db.session.scalar(select(Post.comment_count).where(Post.id == pid)) or 0


def events_of(comment_id: int) -> list[tuple[CommentStatus | None, CommentStatus, int | None]]:
    """The comment's status changes since it was created, oldest first: (from, to, actor id).
    Its first event, from no status (blog.comments.transitions writes one for every new
    comment), is left out."""
    rows = db.session.execute(
        select(ModerationEvent.from_status, ModerationEvent.to_status, ModerationEvent.actor_id)
        .where(ModerationEvent.comment_id == comment_id, ModerationEvent.from_status.is_not(None))
        .order_by(ModerationEvent.id)
    )
    return [(row[0], row[1], row[2]) for row in rows]


def snapshot() -> tuple[Any, ...]:
    """Everything about comments that a refused or previewed request must leave as it was: each
    comment's status and text, the moderation events, revisions and reports, every post's count."""
    return (
        tuple(
            db.session.execute(
                select(Comment.id, Comment.status, Comment.body_source).order_by(Comment.id)
            )
        ),
        db.session.scalar(select(func.count(ModerationEvent.id))),
        db.session.scalar(select(func.count(CommentRevision.id))),
        db.session.scalar(select(func.count(CommentReport.id))),
        tuple(db.session.scalars(select(Post.comment_count).order_by(Post.id))),
    )


def seeded(app: Flask, name: str, build: Callable[[], T]) -> T:
    """``build()``'s result, made on the first call for this app and kept on it: the data a
    hypothesis test needs once, although hypothesis runs the test's body once per example."""
    store: dict[str, Any] = app.extensions.setdefault("tests.seeded", {})
    if name not in store:
        store[name] = build()
    return store[name]  # type: ignore[no-any-return]


def reseed(app: Flask, name: str, value: object) -> None:
    """Replace what ``seeded(app, name, ...)`` hands the next example, when an example changed it
    (a renamed post, say)."""
    app.extensions.setdefault("tests.seeded", {})[name] = value
