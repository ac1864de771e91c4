"""The comment section of a post page, paginated by top-level threads as WordPress does
(``?cpage=N``, the comments-per-page and default-page settings), and where a comment lives.

Two queries whatever the number of comments: the outline of the thread (ids and parents of every
comment shown), then the full rows of the comments on the requested page only. A reply belongs
to the page of its top-level comment; a reply whose parent is not shown counts as top-level,
as on the unpaginated page (:func:`blog.comments.threads.build_thread`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import joinedload

from blog.comments.policy import max_thread_depth
from blog.comments.threads import ThreadNode, build_thread
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role
from blog.posts.reading import PageNotFound, is_published
from blog.settings import Settings

# A reader's own comments that only they see: held for moderation, or waiting for the link
# mailed to them. Spam is never shown, not even to its author.
OWN_SHOWN = (CommentStatus.PENDING, CommentStatus.UNCONFIRMED)
MAX_OWN = 200
STAFF_BADGES = {Role.ADMIN: "Administrator", Role.EDITOR: "Editor", Role.MODERATOR: "Moderator"}


@dataclass(frozen=True)
class CommentSection:
    """One page of a post's comment threads, with what the comment navigation needs."""

    thread: list[ThreadNode]
    comments: list[Comment]  # the page's comments, oldest first
    page: int
    pages: int
    default_page: int  # the page /blog/<slug>/ shows without ?cpage

    def page_arg(self, page: int) -> int | None:
        """The ``cpage`` of a link to ``page``: none for the page shown by default."""
        return None if page == self.default_page else page

    @property
    def numbers(self) -> range:
        return range(1, self.pages + 1)


@dataclass(frozen=True)
class CommentLocation:
    """Where a comment is shown: its post and the comment page holding its thread."""

    comment_id: int
    slug: str
    page: int
    default_page: int

    @property
    def page_arg(self) -> int | None:
        return None if self.page == self.default_page else self.page


def _shown(own_ids: Iterable[int]) -> ColumnElement[bool]:
    own = [i for i in own_ids if isinstance(i, int)][:MAX_OWN]
    shown: ColumnElement[bool] = Comment.status == CommentStatus.APPROVED
    if own:
        shown = or_(shown, Comment.id.in_(own) & Comment.status.in_(OWN_SHOWN))
    return shown


def _outline(post_id: int, own_ids: Iterable[int]) -> list[tuple[int, int | None]]:
    """(id, parent id) of every comment shown on the post, oldest first (one query)."""
    rows = db.session.execute(
        select(Comment.id, Comment.parent_id)
        .where(Comment.post_id == post_id, _shown(own_ids))
        .order_by(Comment.created_at, Comment.id)
    )
    return [(cid, parent) for cid, parent in rows]


def _roots(outline: Sequence[tuple[int, int | None]]) -> tuple[list[int], dict[int, int]]:
    """The top-level comments in order, and the top-level comment of every comment."""
    root_of: dict[int, int] = {}
    roots: list[int] = []
    for cid, parent in outline:
        if parent is not None and parent in root_of:
            root_of[cid] = root_of[parent]
        else:
            root_of[cid] = cid
            roots.append(cid)
    return roots, root_of


def _paging(threads: int, settings: Settings) -> tuple[int, int, int]:
    """(per page, pages, default page). "newest" shows the last page first, as WordPress does."""
    per_page = max(1, settings.comments_per_page)
    pages = max(1, math.ceil(threads / per_page))
    default = pages if settings.default_comments_page == "newest" else 1
    return per_page, pages, default


def comment_section(
    post: Post, own_ids: Iterable[int], settings: Settings, page: int | None = None
) -> CommentSection:
    """The threads of one comment page (the default page when ``page`` is None), with their
    authors' accounts loaded (for badges). Raises PageNotFound past the last page."""
    outline = _outline(post.id, own_ids)
    roots, root_of = _roots(outline)
    per_page, pages, default = _paging(len(roots), settings)
    current = default if page is None else page
    if current > pages:
        raise PageNotFound(str(page))
    on_page = set(roots[(current - 1) * per_page : current * per_page])
    ids = [cid for cid, _ in outline if root_of[cid] in on_page]
    comments: list[Comment] = []
    if ids:
        comments = list(
            db.session.scalars(
                select(Comment)
                .where(Comment.id.in_(ids))
                .options(joinedload(Comment.user))
                .order_by(Comment.created_at, Comment.id)
            )
        )
    thread = build_thread(comments, max_depth=max_thread_depth(settings))
    return CommentSection(thread, comments, current, pages, default)


def locate_comment(
    comment_id: int, settings: Settings, own_ids: Iterable[int] = ()
) -> CommentLocation | None:
    """The post and comment page of a comment this reader can see (approved, or their own while
    held), on a post readers can see; None otherwise."""
    own = list(own_ids)
    row = db.session.execute(
        select(Comment.post_id, Post.slug)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id == comment_id, _shown(own), is_published())
    ).one_or_none()
    if row is None:
        return None
    post_id, slug = row
    roots, root_of = _roots(_outline(post_id, own))
    per_page, _pages, default = _paging(len(roots), settings)
    page = roots.index(root_of[comment_id]) // per_page + 1
    return CommentLocation(comment_id, slug, page, default)


def comment_badge(comment: Comment, post: Post) -> str | None:
    """The badge of a comment: "Post author" for the post's author (by account, as WordPress
    does), else the staff role of the commenter's account; None for readers. The account must
    be loaded with the comment."""
    if comment.deleted_at is not None or comment.user_id is None:
        return None
    if comment.user_id == post.author_id:
        return "Post author"
    user = comment.user
    if user is None or not user.active:
        return None
    return STAFF_BADGES.get(user.role)
