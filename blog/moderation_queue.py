"""The moderation queue of SPEC section 6: one page of comments of a status, with the counts per
status and the pending count of each post, in a constant number of queries.

The counts per status stop at ``COUNT_CAP`` ("10,000+"): counting every row of a status costs
time in proportion to the table (tens of milliseconds at a million comments, seconds when the
count also joins the posts), while a capped count reads at most ``COUNT_CAP`` index entries.
The JSON API asks for exact counts (``exact=True``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, literal, or_, select
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.elements import True_

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
COUNT_CAP = 10_000


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
    total_capped: bool = False  # the listed comments are only known to be more than COUNT_CAP

    def count_label(self, status: CommentStatus) -> str:
        """The count as the status link shows it: "1,234", or "10,000+" past the cap."""
        n = self.counts[status]
        return f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"

    @property
    def pages_label(self) -> str:
        """ "12", or "500+" when the number of comments is only known to pass the cap."""
        listed = self.comments
        if self.total_capped:
            return f"{max(1, COUNT_CAP // listed.per_page):,}+"
        return f"{listed.pages:,}"


def moderation_queue(
    user: User | None,
    where: QueueFilter,
    per_page: int = QUEUE_PER_PAGE,
    settings: Settings | None = None,
    exact: bool = False,
) -> Queue:
    """One page of the queue with the counts per status, in a constant number of queries.

    Counts follow the post filter but not the search, as WordPress's status links do; unless
    ``exact``, a count past COUNT_CAP stops at COUNT_CAP + 1 (the listed status is counted in
    full only to reach a page past the cap). Raises PageNotFound past the last page.
    """
    scope = moderation_scope(user)
    everything = isinstance(scope, True_)  # staff: the counts need no join with the posts
    scoped = [] if everything else [scope]
    if where.post_id is not None:
        scoped.append(Comment.post_id == where.post_id)
    cap = None if exact else COUNT_CAP + 1
    counts = _status_counts(_Matching(scoped, not everything), cap)
    listed = [*scoped, Comment.status == where.status]
    if where.q:
        listed.append(_search(where.q))
    matching = _Matching(listed, not everything)
    total = _count(matching, cap) if where.q else counts[where.status]
    capped = cap is not None and total > COUNT_CAP
    if capped and where.page * per_page > COUNT_CAP:
        total, capped = _count(matching, None), False  # far back in a long list: count it all
    if where.page > 1 and (where.page - 1) * per_page >= total:
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
        total_capped=capped,
    )


@dataclass(frozen=True)
class _Matching:
    """Comments meeting ``conditions``; ``join_posts`` when one of them is on the post."""

    conditions: list[ColumnElement[bool]]
    join_posts: bool

    def rows(self, *more: ColumnElement[bool]) -> Select[tuple[int]]:
        rows = select(literal(1)).select_from(Comment)
        if self.join_posts:
            rows = rows.join(Post, Post.id == Comment.post_id)
        return rows.where(*self.conditions, *more)


def _count(matching: _Matching, cap: int | None) -> int:
    """How many comments match, counting no further than ``cap`` (None: all of them)."""
    rows = matching.rows()
    if cap is not None:
        rows = rows.limit(cap)
    return db.session.scalar(select(func.count()).select_from(rows.subquery())) or 0


def _status_counts(matching: _Matching, cap: int | None) -> dict[CommentStatus, int]:
    """The count of each status in one query: a capped count per status, or one grouped count."""
    if cap is None:
        grouped = matching.rows().with_only_columns(Comment.status, func.count())
        rows = db.session.execute(grouped.group_by(Comment.status))
        return dict.fromkeys(QUEUE_STATUSES, 0) | {status: n for status, n in rows}
    columns = [
        select(func.count())
        .select_from(matching.rows(Comment.status == status).limit(cap).subquery())
        .scalar_subquery()
        for status in QUEUE_STATUSES
    ]
    found = db.session.execute(select(*columns)).one()
    return dict(zip(QUEUE_STATUSES, (int(n or 0) for n in found), strict=True))


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
