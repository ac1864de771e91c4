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

from sqlalchemy import ColumnElement, func, literal, or_, select
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
        return count_label(self.counts[status])

    @property
    def pages_label(self) -> str:
        """ "12", or "500+" when the number of comments is only known to pass the cap."""
        listed = self.comments
        if self.total_capped:
            return f"{max(1, COUNT_CAP // listed.per_page):,}+"
        return f"{listed.pages:,}"


def count_label(n: int) -> str:
    """A count as the admin shows it: "1,234", or "10,000+" for a count that stopped at the cap."""
    return f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"


def _in_reach(user: User | None) -> list[ColumnElement[bool]]:
    """Conditions on the comment alone for the posts ``user`` may moderate: none for staff, the
    author's post ids for an author (so that counting starts from their posts, through the
    (post_id, status) index, not from every comment of a status)."""
    scope = moderation_scope(user)
    if isinstance(scope, True_):
        return []
    return [Comment.post_id.in_(select(Post.id).where(scope))]


def status_counts(user: User | None) -> dict[CommentStatus, int]:
    """Comments within ``user``'s reach by status, each counted up to COUNT_CAP + 1."""
    return _status_counts(_in_reach(user), COUNT_CAP + 1)


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
    scoped = _in_reach(user)
    if where.post_id is not None:
        scoped.append(Comment.post_id == where.post_id)
    cap = None if exact else COUNT_CAP + 1
    counts = _status_counts(scoped, cap)
    listed = [*scoped, Comment.status == where.status]
    if where.q:
        listed.append(_search(where.q))
    total = _count(listed, cap) if where.q else counts[where.status]
    capped = cap is not None and total > COUNT_CAP
    if capped and where.page * per_page > COUNT_CAP:
        total, capped = _count(listed, None), False  # far back in a long list: count it all
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


def _count(conditions: list[ColumnElement[bool]], cap: int | None) -> int:
    """How many comments match, counting no further than ``cap`` (None: all of them)."""
    rows = select(literal(1)).select_from(Comment).where(*conditions)
    if cap is not None:
        rows = rows.limit(cap)
    return db.session.scalar(select(func.count()).select_from(rows.subquery())) or 0


def _status_counts(
    conditions: list[ColumnElement[bool]], cap: int | None
) -> dict[CommentStatus, int]:
    """The count of each status in one query: a capped count per status, or one grouped count."""
    if cap is None:
        grouped = select(Comment.status, func.count()).where(*conditions)
        rows = db.session.execute(grouped.group_by(Comment.status))
        return dict.fromkeys(QUEUE_STATUSES, 0) | {status: n for status, n in rows}
    capped = (
        select(literal(1)).select_from(Comment).where(*conditions, Comment.status == s).limit(cap)
        for s in QUEUE_STATUSES
    )
    columns = [select(func.count()).select_from(c.subquery()).scalar_subquery() for c in capped]
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
