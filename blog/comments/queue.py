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
from functools import cache

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, literal, or_, select
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.elements import True_

from blog.comments.moderation import moderation_scope
from blog.comments.reports import reports_of
from blog.comments.revisions import revisions_of
from blog.comments.spam import filter as spam
from blog.extensions import db
from blog.models import Comment, CommentReport, CommentRevision, CommentStatus, Post, User
from blog.posts.reading import Page, PageNotFound
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


def held_count(user: User | None) -> int:
    """Comments awaiting moderation within ``user``'s reach (the admin bar's number), counted up
    to COUNT_CAP + 1 in one query."""
    statements = _statements_for(_in_reach(user), _Shape(by_post=False, search=False))
    return _listed_count(statements, {"status": CommentStatus.PENDING}, COUNT_CAP + 1)


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
    shape = _Shape(by_post=where.post_id is not None, search=bool(where.q))
    statements = _statements_for(_in_reach(user), shape)
    params: dict[str, object] = {"status": where.status}
    if shape.by_post:
        params["post_id"] = where.post_id
    if shape.search:
        params["pattern"] = _pattern(where.q)
    cap = None if exact else COUNT_CAP + 1
    counts = _run_status_counts(statements, params, cap)
    total = _listed_count(statements, params, cap) if where.q else counts[where.status]
    capped = cap is not None and total > COUNT_CAP
    if capped and where.page * per_page > COUNT_CAP:
        total, capped = _listed_count(statements, params, None), False  # far back: count all
    if where.page > 1 and (where.page - 1) * per_page >= total:
        raise PageNotFound(str(where.page))
    page_params = {**params, "limit": per_page, "offset": (where.page - 1) * per_page}
    items = list(db.session.scalars(statements.items, page_params))
    listed = Page(items, where.page, per_page, total or 0)
    return _with_details(where, listed, counts, capped, settings or load_settings())


def _with_details(
    where: QueueFilter,
    listed: Page[Comment],
    counts: dict[CommentStatus, int],
    capped: bool,
    settings: Settings,
) -> Queue:
    """The queue around its listed comments: their parents' names, posts' pending counts, spam
    scores, reports and earlier texts (a query each)."""
    items = listed.items
    parent_names = _author_names({c.parent_id for c in items if c.parent_id is not None})
    post = None
    if where.post_id is not None:
        post = items[0].post if items else db.session.get(Post, where.post_id)
    spam_filter, spam_scores = spam.scores_for(items, settings)
    return Queue(
        filter=where,
        comments=listed,
        counts=counts,
        pending_by_post=pending_counts({c.post_id for c in items}),
        parent_names=parent_names,
        post=post,
        spam_filter=spam_filter,
        spam_scores=spam_scores,
        reports=reports_of([c.id for c in items]),
        revisions=revisions_of([c.id for c in items if c.edited_at is not None]),
        total_capped=capped,
    )


def _author_names(comment_ids: set[int]) -> dict[int, str]:
    """The author's name of each comment (the parents of the listed replies)."""
    if not comment_ids:
        return {}
    rows = db.session.execute(
        select(Comment.id, Comment.author_name).where(Comment.id.in_(comment_ids))
    )
    return {cid: name for cid, name in rows}


# --- The queue's statements --------------------------------------------------------------------
# Building a statement and its cache key took more Python time than SQLite took to run it: the
# queue's five statements are built once per shape, with bound parameters for what changes
# between requests. Earns its keep: the queue page (20 rows) at 9.0 ms with it, 10.9 ms without,
# 17 % of the page (python -m bench.machinery, CPU per request in process, SQLite, 2026-12-07;
# docs/benchmark.md). The queue's two other statements, built once too, saved 6 % each: gone.


@dataclass(frozen=True)
class _Shape:
    by_post: bool  # filtered to one post (parameter "post_id")
    search: bool  # filtered by a search (parameter "pattern")


@dataclass(frozen=True)
class _Statements:
    capped_counts: Select[tuple[int, ...]]  # each status counted up to the parameter "cap"
    grouped_counts: Select[tuple[CommentStatus, int]]  # each status counted in full
    listed_capped: Select[tuple[int]]  # the listed rows (parameter "status") up to "cap"
    listed_count: Select[tuple[int]]  # the listed rows counted in full
    items: Select[tuple[Comment]]  # one page of them (parameters "limit" and "offset")


@cache
def _staff_statements(shape: _Shape) -> _Statements:
    return _build_statements(shape, ())


def _statements_for(reach: list[ColumnElement[bool]], shape: _Shape) -> _Statements:
    """Staff reach every comment: their statements are built once per shape. An author's hold
    their post ids, so they are built for the request."""
    return _build_statements(shape, tuple(reach)) if reach else _staff_statements(shape)


def _build_statements(shape: _Shape, reach: tuple[ColumnElement[bool], ...]) -> _Statements:
    scoped = list(reach)
    if shape.by_post:
        scoped.append(Comment.post_id == bindparam("post_id", type_=Integer))
    listed = [*scoped, Comment.status == bindparam("status")]
    if shape.search:
        listed.append(_search_condition(bindparam("pattern")))
    rows = select(literal(1)).select_from(Comment)
    per_status = (rows.where(*scoped, Comment.status == s) for s in QUEUE_STATUSES)
    return _Statements(
        capped_counts=select(*(_counted(r, capped=True).scalar_subquery() for r in per_status)),
        grouped_counts=select(Comment.status, func.count()).where(*scoped).group_by(Comment.status),
        listed_capped=_counted(rows.where(*listed), capped=True),
        listed_count=_counted(rows.where(*listed), capped=False),
        items=select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .options(contains_eager(Comment.post).load_only(Post.title, Post.slug))
        .where(*listed)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer)),
    )


def _counted(rows: Select[tuple[int]], capped: bool) -> Select[tuple[int]]:
    """``rows`` counted, up to the parameter "cap" when ``capped``."""
    if capped:
        rows = rows.limit(bindparam("cap", type_=Integer))
    return select(func.count()).select_from(rows.subquery())


def _listed_count(statements: _Statements, params: dict[str, object], cap: int | None) -> int:
    """How many comments are listed, counting no further than ``cap`` (None: all of them)."""
    if cap is None:
        return db.session.scalar(statements.listed_count, params) or 0
    return db.session.scalar(statements.listed_capped, {**params, "cap": cap}) or 0


def _run_status_counts(
    statements: _Statements, params: dict[str, object], cap: int | None
) -> dict[CommentStatus, int]:
    """The count of each status in one query: a capped count per status, or one grouped count."""
    if cap is None:
        rows = db.session.execute(statements.grouped_counts, params)
        return dict.fromkeys(QUEUE_STATUSES, 0) | {status: n for status, n in rows}
    found = db.session.execute(statements.capped_counts, {**params, "cap": cap}).one()
    return dict(zip(QUEUE_STATUSES, (int(n or 0) for n in found), strict=True))


def _status_counts(
    conditions: list[ColumnElement[bool]], cap: int | None
) -> dict[CommentStatus, int]:
    """The count of each status among the comments in a reach (``conditions``)."""
    statements = _statements_for(conditions, _Shape(by_post=False, search=False))
    return _run_status_counts(statements, {}, cap)


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


def _pattern(q: str) -> str:
    """``q`` as a LIKE pattern matching it anywhere, its wildcards escaped."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search_condition(pattern: ColumnElement[str]) -> ColumnElement[bool]:
    """Author, email, website, IP or text matching ``pattern`` (case-insensitive)."""
    columns = (
        Comment.author_name,
        Comment.author_email,
        Comment.author_url,
        Comment.ip_address,
        Comment.body_source,
    )
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))
