"""The exact comment count: ``posts.comment_count`` equals the post's approved comments.

Every change is an atomic ``UPDATE ... SET comment_count = comment_count + n`` issued in the same
transaction as the status change that causes it, never a read-modify-write in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post


def count_delta(from_status: CommentStatus | None, to_status: CommentStatus | None) -> int:
    """How a status change moves the approved count: +1, -1 or 0 (None: created or deleted)."""
    was = from_status == CommentStatus.APPROVED
    now = to_status == CommentStatus.APPROVED
    return int(now) - int(was)


def apply_count_delta(post_id: int, delta: int) -> None:
    """Move the post's count by ``delta`` in SQL, in the caller's transaction (no commit)."""
    if delta:
        db.session.execute(
            update(Post)
            .where(Post.id == post_id)
            # updated_at set to itself: a comment is not an edit of the post (the column's
            # onupdate would otherwise move the sitemap's lastmod on every approval).
            .values(comment_count=Post.comment_count + delta, updated_at=Post.updated_at)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class Drift:
    post_id: int
    slug: str
    stored: int
    actual: int


def find_drift() -> list[Drift]:
    """Posts whose stored count differs from their approved comments (one query)."""
    approved = (
        select(Comment.post_id, func.count(Comment.id).label("n"))
        .where(Comment.status == CommentStatus.APPROVED)
        .group_by(Comment.post_id)
        .subquery()
    )
    actual = func.coalesce(approved.c.n, 0)
    rows = db.session.execute(
        select(Post.id, Post.slug, Post.comment_count, actual)
        .outerjoin(approved, approved.c.post_id == Post.id)
        .where(Post.comment_count != actual)
        .order_by(Post.id)
    )
    return [Drift(pid, slug, stored, int(real)) for pid, slug, stored, real in rows]


def recount_comments() -> list[Drift]:
    """Repair every drifted count from the comments themselves, commit, and report what changed."""
    from blog.database import begin_write

    begin_write()
    drifted = find_drift()
    for drift in drifted:
        approved = (
            select(func.count(Comment.id))
            .where(Comment.post_id == drift.post_id, Comment.status == CommentStatus.APPROVED)
            .scalar_subquery()
        )
        db.session.execute(
            update(Post)
            .where(Post.id == drift.post_id)
            .values(comment_count=approved)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return drifted
