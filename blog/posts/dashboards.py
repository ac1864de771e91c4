"""What the admin shows at a glance: the dashboard's counts and recent comments, and the posts
list with its filters. Each runs a constant number of queries, whatever the amount of data.

Everything is scoped by the role matrix: an author counts and lists only their own posts and the
comments on them; a moderator sees every comment and no post counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select, union_all
from sqlalchemy.orm import contains_eager, joinedload

from blog.comments.queue import pending_counts, status_counts
from blog.extensions import db
from blog.models import (
    Category,
    Comment,
    CommentStatus,
    Post,
    PostKind,
    PostStatus,
    User,
    post_categories,
    utcnow,
)
from blog.permissions import Action, can, post_scope_filter
from blog.posts.reading import Page, PageNotFound, is_published

ADMIN_PER_PAGE = 20
RECENT_COMMENTS = 5


class PostState:
    """What the posts list filters on: stored status, and "scheduled" (published, still ahead)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    SCHEDULED = "scheduled"
    ALL = (DRAFT, PUBLISHED, SCHEDULED)


def post_state(post: Post, now: datetime | None = None) -> str:
    if post.status == PostStatus.DRAFT:
        return PostState.DRAFT
    if post.published_at is not None and post.published_at > (now or utcnow()):
        return PostState.SCHEDULED
    return PostState.PUBLISHED


def _state_condition(state: str, now: datetime) -> ColumnElement[bool]:
    if state == PostState.DRAFT:
        return Post.status == PostStatus.DRAFT
    if state == PostState.SCHEDULED:
        return (Post.status == PostStatus.PUBLISHED) & (Post.published_at > now)
    return is_published(now)


@dataclass(frozen=True)
class Dashboard:
    post_counts: dict[str, int] | None  # None when the user writes no posts
    comment_counts: dict[CommentStatus, int]
    recent_comments: list[Comment]


StateCounts = Callable[[User], dict[str, int]]  # post_state_counts, or one that keeps them


def dashboard(user: User, state_counts: StateCounts | None = None) -> Dashboard:
    """Posts by state and comments by status (within the user's reach), and the latest comments:
    at most three queries (fewer when ``state_counts`` keeps the posts by state)."""
    post_counts = None
    if can(user, Action.CREATE_POST):
        counts = (state_counts or post_state_counts)(user)
        post_counts = {state: counts[state] for state in PostState.ALL}
    moderated = post_scope_filter(user, Action.MODERATE)
    # Capped as in the queue: a full count read every comment (120-180 ms at a million).
    comment_counts = status_counts(user)
    return Dashboard(post_counts, comment_counts, _recent_comments(moderated))


def post_state_counts(user: User) -> dict[str, int]:
    """The posts ``user`` may edit, by state, and all of them under "": one query, counting
    every post in reach (about 45 ms at 100,000 posts), so the web layer keeps it per posts
    version in each worker (any change to a post moves the version, and so does a scheduled
    post coming due) and passes that to :func:`dashboard` and :func:`post_list`."""
    now = utcnow()
    row = db.session.execute(
        select(
            func.count(Post.id),
            *(
                func.coalesce(func.sum(case((_state_condition(s, now), 1), else_=0)), 0)
                for s in PostState.ALL
            ),
        ).where(post_scope_filter(user, Action.EDIT_POST), Post.kind == PostKind.POST)
    ).one()
    return {"": int(row[0])} | {s: int(n) for s, n in zip(PostState.ALL, row[1:], strict=True)}


def _recent_comments(moderated: ColumnElement[bool]) -> list[Comment]:
    """The newest pending or approved comments within reach, newest first.

    The newest few of each status, then merged: each is a short walk down the (status,
    created_at) index, where ``status IN (...)`` would sort every such comment on SQLite.
    """
    newest = [
        select(Comment.id)
        .join(Post, Post.id == Comment.post_id)
        .where(moderated, Comment.status == status)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(RECENT_COMMENTS)
        .subquery()
        for status in (CommentStatus.PENDING, CommentStatus.APPROVED)
    ]
    candidates = union_all(*(select(ids.c.id) for ids in newest)).subquery()
    return list(
        db.session.scalars(
            select(Comment)
            .join(Post, Post.id == Comment.post_id)
            .options(contains_eager(Comment.post).load_only(Post.title, Post.slug))
            .where(Comment.id.in_(select(candidates.c.id)))
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(RECENT_COMMENTS)
        )
    )


@dataclass(frozen=True)
class PostListFilter:
    state: str = ""  # "", or one of PostState.ALL
    category_id: int | None = None
    author_id: int | None = None
    page: int = 1


@dataclass(frozen=True)
class PostRow:
    post: Post
    state: str
    pending: int


@dataclass(frozen=True)
class PostList:
    filter: PostListFilter
    rows: Page[PostRow]
    state_counts: dict[str, int]  # "" is every post the user may edit
    categories: list[tuple[int, str]] = field(default_factory=list)
    authors: list[tuple[int, str]] = field(default_factory=list)


def post_list(
    user: User,
    where: PostListFilter,
    per_page: int = ADMIN_PER_PAGE,
    state_counts: StateCounts | None = None,
) -> PostList:
    """One page of the posts ``user`` may edit, newest first by publish date (else creation
    date), with approved and pending comment counts, the counts per state, and the choices of
    the filters: at most six queries, fewer when ``state_counts`` keeps the counts per state
    (they give the total when neither a category nor an author is chosen).

    Raises PageNotFound past the last page.
    """
    now = utcnow()
    scoped: list[ColumnElement[bool]] = [
        post_scope_filter(user, Action.EDIT_POST),
        Post.kind == PostKind.POST,  # pages have a list of their own (blog.posts.pages)
    ]
    counts = (state_counts or post_state_counts)(user)
    listed = [*scoped, *_list_conditions(where, now)]
    if where.category_id is None and where.author_id is None:
        total = counts.get(where.state, counts[""])
    else:
        total = db.session.scalar(select(func.count(Post.id)).where(*listed)) or 0
    if where.page > 1 and (where.page - 1) * per_page >= total:
        raise PageNotFound(str(where.page))
    found = list(
        db.session.scalars(
            select(Post)
            .options(joinedload(Post.author), joinedload(Post.primary_category))
            .where(*listed)
            .order_by(func.coalesce(Post.published_at, Post.created_at).desc(), Post.id.desc())
            .limit(per_page)
            .offset((where.page - 1) * per_page)
        ).unique()
    )
    # Pending comments of the listed posts only (grouping every pending comment of the site
    # first took most of this page's 400-500 ms at a million comments).
    pending = pending_counts(post.id for post in found)
    rows = [PostRow(post, post_state(post, now), pending.get(post.id, 0)) for post in found]
    page = Page(rows, where.page, per_page, total)
    return PostList(where, page, counts, _category_choices(), _author_choices(scoped))


def _list_conditions(where: PostListFilter, now: datetime) -> list[ColumnElement[bool]]:
    """What the posts list's filters narrow it to, beyond the user's reach."""
    listed: list[ColumnElement[bool]] = []
    if where.state in PostState.ALL:
        listed.append(_state_condition(where.state, now))
    if where.category_id is not None:
        in_category = post_categories.c.category_id == where.category_id
        listed.append(Post.id.in_(select(post_categories.c.post_id).where(in_category)))
    if where.author_id is not None:
        listed.append(Post.author_id == where.author_id)
    return listed


def _category_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Category.id, Category.name).order_by(Category.name, Category.id)
    )
    return [(cid, name) for cid, name in rows]


def _author_choices(scoped: list[ColumnElement[bool]]) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(User.id, User.display_name)
        # Per user, a seek on the author index (IN read every post in reach).
        .where(select(Post.id).where(Post.author_id == User.id, *scoped).exists())
        .order_by(User.display_name, User.id)
    )
    return [(uid, name) for uid, name in rows]
