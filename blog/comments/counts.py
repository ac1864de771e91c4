"""Checking the exact comment count: ``posts.comment_count`` equals the post's approved comments.

The count only ever moves in :mod:`blog.comments.transitions`, with the status change that
causes it. This module finds a drift (after a fault, or data loaded behind the application's
back) and repairs it, through the same module.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from blog.comments import transitions
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post


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
    begin_write()
    drifted = find_drift()
    for drift in drifted:
        transitions.recount(drift.post_id)
    db.session.commit()
    return drifted
