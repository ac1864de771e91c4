"""The moderation queue of SPEC section 6: one page of comments of a status, with the counts per
status and the pending count of each post, in a constant number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import contains_eager

from blog import spam
from blog.extensions import db
from blog.models import Comment, CommentReport, CommentRevision, CommentStatus, Post, User
from blog.moderation import moderation_scope
from blog.posts import Page, PageNotFound
from blog.reports import reports_of
from blog.revisions import revisions_of
from blog.settings import Settings, load_settings

QUEUE_STATUSES = tuple(CommentStatus)
QUEUE_PER_PAGE = 20


@dataclass(frozen=True)
class QueueFilter:
    status: CommentStatus = CommentStatus.PENDING
    post_id: int | None = None
    q: str = ""
    page: int = 1


@dataclass(frozen=True)
class Queue:
    filter: QueueFilter
    comments: Page[Comment]
    counts: dict[CommentStatus, int]
    pending_by_post: dict[int, int]
    parent_names: dict[int, str]
    post: Post | None
    spam_filter: spam.FilterState | None = None
    spam_scores: dict[int, float] = field(default_factory=dict)  # while the filter is ready
    reports: dict[int, list[CommentReport]] = field(default_factory=dict)  # readers' reports
    revisions: dict[int, list[CommentRevision]] = field(default_factory=dict)  # earlier texts


def moderation_queue(
    user: User | None,
    where: QueueFilter,
    per_page: int = QUEUE_PER_PAGE,
    settings: Settings | None = None,
) -> Queue:
    """One page of the queue with the counts per status, in a constant number of queries.

    Counts follow the post filter but not the search, as WordPress's status links do. Raises
    PageNotFound past the last page.
    """
    scoped = [moderation_scope(user)]
    if where.post_id is not None:
        scoped.append(Comment.post_id == where.post_id)
    counted = db.session.execute(
        select(Comment.status, func.count(Comment.id))
        .join(Post, Post.id == Comment.post_id)
        .where(*scoped)
        .group_by(Comment.status)
    )
    counts = dict.fromkeys(QUEUE_STATUSES, 0) | {status: n for status, n in counted}
    listed = [*scoped, Comment.status == where.status]
    if where.q:
        listed.append(_search(where.q))
        total = db.session.scalar(
            select(func.count(Comment.id)).join(Post, Post.id == Comment.post_id).where(*listed)
        )
    else:
        total = counts[where.status]
    if where.page > 1 and (where.page - 1) * per_page >= (total or 0):
        raise PageNotFound(str(where.page))
    items = list(
        db.session.scalars(
            select(Comment)
            .join(Post, Post.id == Comment.post_id)
            .options(contains_eager(Comment.post).load_only(Post.title, Post.slug))
            .where(*listed)
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(per_page)
            .offset((where.page - 1) * per_page)
        )
    )
    parent_ids = {c.parent_id for c in items if c.parent_id is not None}
    parent_names: dict[int, str] = {}
    if parent_ids:
        rows = db.session.execute(
            select(Comment.id, Comment.author_name).where(Comment.id.in_(parent_ids))
        )
        parent_names = {cid: name for cid, name in rows}
    post = None
    if where.post_id is not None:
        post = items[0].post if items else db.session.get(Post, where.post_id)
    spam_filter, spam_scores = spam.scores_for(items, settings or load_settings())
    listed_ids = [c.id for c in items]
    return Queue(
        filter=where,
        comments=Page(items, where.page, per_page, total or 0),
        counts=counts,
        pending_by_post=pending_counts({c.post_id for c in items}),
        parent_names=parent_names,
        post=post,
        spam_filter=spam_filter,
        spam_scores=spam_scores,
        reports=reports_of(listed_ids),
        revisions=revisions_of([c.id for c in items if c.edited_at is not None]),
    )


def pending_counts(post_ids: Iterable[int]) -> dict[int, int]:
    """Comments awaiting moderation per post (one grouped query; posts with none are left out)."""
    ids = sorted(set(post_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Comment.post_id, func.count(Comment.id))
        .where(Comment.post_id.in_(ids), Comment.status == CommentStatus.PENDING)
        .group_by(Comment.post_id)
    )
    return {post_id: n for post_id, n in rows}


def _search(q: str) -> ColumnElement[bool]:
    """Author, email, website, IP or text containing ``q`` (case-insensitive, no wildcards)."""
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    columns = (
        Comment.author_name,
        Comment.author_email,
        Comment.author_url,
        Comment.ip_address,
        Comment.body_source,
    )
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))
