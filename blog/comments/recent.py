"""The latest approved comments on visible posts: the sidebar's "Recent Comments" (WordPress's
widget) and ``GET /api/v1/comments/recent``. One query, whatever the number of comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post
from blog.posts.reading import is_published

SIDEBAR_COUNT = 5
MAX_RECENT = 50


@dataclass(frozen=True)
class RecentComment:
    id: int
    author_name: str
    author_url: str
    created_at: datetime
    post_title: str
    post_slug: str
    body_html: str = ""  # only when asked for


def recent_comments(limit: int = SIDEBAR_COUNT, with_text: bool = False) -> list[RecentComment]:
    """The ``limit`` newest approved comments on published posts, newest first. Comments their
    authors deleted (kept for their replies) are left out."""
    body = Comment.body_html if with_text else literal("")
    rows = db.session.execute(
        select(
            Comment.id,
            Comment.author_name,
            Comment.author_url,
            Comment.created_at,
            Post.title,
            Post.slug,
            body,
        )
        .join(Post, Post.id == Comment.post_id)
        .where(
            Comment.status == CommentStatus.APPROVED,
            Comment.deleted_at.is_(None),
            is_published(),
        )
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(max(1, min(limit, MAX_RECENT)))
    )
    return [RecentComment(*row) for row in rows]
