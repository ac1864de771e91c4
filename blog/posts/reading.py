"""Reading posts: what is published, lists and archives, one post, breadcrumbs."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Generic, TypeVar

from flask import url_for
from sqlalchemy import Column, ColumnElement, Select, Table, and_, exists, func, select, true
from sqlalchemy.orm import joinedload, selectinload

from blog.extensions import db
from blog.models import (
    Category,
    Post,
    PostKind,
    PostStatus,
    Tag,
    User,
    post_categories,
    post_tags,
    utcnow,
)
from blog.sanitize import PAGE_BREAK

T = TypeVar("T")
Row = TypeVar("Row", bound=tuple[object, ...])  # the columns a statement selects


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with what a pager needs."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class PageNotFound(LookupError):
    """The page number is not a positive integer or lies past the last page."""


def parse_page(raw: str | None) -> int:
    """The page number of a ``?page=`` value; raises PageNotFound for anything but 1, 2, 3..."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise PageNotFound(raw)
    page = int(raw)
    if page < 1:
        raise PageNotFound(raw)
    return page


def is_published(now: datetime | ColumnElement[datetime] | None = None) -> ColumnElement[bool]:
    """SQL condition for posts a reader may see: published, and not scheduled for later.
    ``now`` may be a bound parameter, for a statement built once."""
    return and_(
        Post.status == PostStatus.PUBLISHED,
        Post.published_at <= (utcnow() if now is None else now),
    )


def is_listed(now: datetime | ColumnElement[datetime] | None = None) -> ColumnElement[bool]:
    """SQL condition for what the blog's lists, feeds and archives show: published posts, not
    pages (a page is reached by its address and the menu)."""
    return and_(is_published(now), Post.kind == PostKind.POST)


def is_visible(post: Post, now: datetime | None = None) -> bool:
    """The same rule as :func:`is_published`, for a loaded post."""
    return (
        post.status == PostStatus.PUBLISHED
        and post.published_at is not None
        and post.published_at <= (now or utcnow())
    )


@dataclass(frozen=True)
class PostFilter:
    """Narrows a post list; every field optional."""

    category_ids: tuple[int, ...] | None = None
    tag_id: int | None = None
    author_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


# An archive with more posts than this is listed by walking the newest posts and checking each
# (EXISTS: the first page needs a few rows); a smaller one by collecting its posts first (IN).
# SQLite has no cost model to choose between the two; at 100,000 posts IN took 10.7 ms for a
# category of 16,000 posts and EXISTS 0.04 ms, while EXISTS would walk most of the table for a
# tag of ten posts.
LARGE_ARCHIVE = 2000


def _filtered(stmt: Select[Row], where: PostFilter, large: bool = False) -> Select[Row]:
    stmt = stmt.where(is_listed())

    def among(table: Table, column: Column[int], ids: tuple[int, ...]) -> ColumnElement[bool]:
        if large:
            return exists().where(table.c.post_id == Post.id, column.in_(ids))
        return Post.id.in_(select(table.c.post_id).where(column.in_(ids)))

    if where.category_ids is not None:
        categories = post_categories.c.category_id
        stmt = stmt.where(among(post_categories, categories, where.category_ids))
    if where.tag_id is not None:
        stmt = stmt.where(among(post_tags, post_tags.c.tag_id, (where.tag_id,)))
    if where.author_id is not None:
        stmt = stmt.where(Post.author_id == where.author_id)
    if where.start is not None:
        stmt = stmt.where(Post.published_at >= where.start)
    if where.end is not None:
        stmt = stmt.where(Post.published_at < where.end)
    return stmt


def count_published(where: PostFilter) -> int:
    """How many published posts ``where`` lets through (reads every post in the archive)."""
    return db.session.scalar(_filtered(select(func.count(Post.id)), where)) or 0


def list_published(
    page: int,
    per_page: int,
    where: PostFilter | None = None,
    count: Callable[[PostFilter], int] = count_published,
) -> Page[Post]:
    """Published posts, newest first, with author and primary category loaded: two queries.
    ``count`` gives the archive's total (the web layer passes one kept per posts version)."""
    where = where or PostFilter()
    total = count(where)
    if page > 1 and (page - 1) * per_page >= total:
        raise PageNotFound(str(page))
    stmt = (
        _filtered(select(Post), where, large=total > LARGE_ARCHIVE)
        .options(joinedload(Post.author), joinedload(Post.primary_category))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = list(db.session.scalars(stmt).unique())
    return Page(items=items, page=page, per_page=per_page, total=total)


def list_home(
    page: int, per_page: int, count: Callable[[PostFilter], int] = count_published
) -> Page[Post]:
    """The home page's posts: :func:`list_published`, with the sticky posts first on the
    first page, as WordPress's home shows them: every sticky post at the top, newest first,
    then that page's other posts by date (so the first page may hold more than ``per_page``);
    later pages as they are, a sticky post in its place by date."""
    listed = list_published(page, per_page, None, count)
    if page != 1:
        return listed
    sticky = sticky_posts()
    if not sticky:
        return listed
    ids = {post.id for post in sticky}
    items = sticky + [post for post in listed.items if post.id not in ids]
    return Page(items=items, page=page, per_page=per_page, total=listed.total)


def sticky_posts() -> list[Post]:
    """The published sticky posts, newest first (one query, on the sticky index)."""
    stmt = (
        select(Post)
        .where(Post.sticky == true(), is_listed())
        .options(joinedload(Post.author), joinedload(Post.primary_category))
        .order_by(Post.published_at.desc(), Post.id.desc())
    )
    return list(db.session.scalars(stmt).unique())


def get_published_post(slug: str) -> Post | None:
    """The visible post with this slug, with everything its page shows loaded, or None."""
    stmt = (
        select(Post)
        .where(Post.slug == slug, is_published())
        .options(
            joinedload(Post.author),
            joinedload(Post.primary_category),
            selectinload(Post.categories),
            selectinload(Post.tags),
        )
    )
    return db.session.scalars(stmt).unique().one_or_none()


@dataclass(frozen=True)
class PostPage:
    """One page of a post split by WordPress's ``<!--nextpage-->``: its HTML, its number, and
    how many pages the post has (1 for most posts)."""

    html: str
    number: int
    count: int

    @property
    def numbers(self) -> range:
        return range(1, self.count + 1)


def post_page(post: Post, number: int = 1) -> PostPage:
    """Page ``number`` of the post's body; raises PageNotFound past its last page."""
    pages = post.body_html.split(PAGE_BREAK)
    if not 1 <= number <= len(pages):
        raise PageNotFound(str(number))
    return PostPage(html=pages[number - 1], number=number, count=len(pages))


def category_chain(category: Category | None) -> list[Category]:
    """The category and its ancestors, outermost first (parents are loaded with it)."""
    chain: list[Category] = []
    seen: set[int] = set()
    while category is not None and category.id not in seen:
        seen.add(category.id)
        chain.append(category)
        category = category.parent
    return list(reversed(chain))


def category_path(category: Category) -> str:
    """The URL path of a category archive below ``/category/``: ``parent/child``."""
    return "/".join(c.slug for c in category_chain(category))


def find_category(path: str) -> Category | None:
    """The category a ``/category/<parent>/<child>/`` path names, checking the whole chain."""
    slugs = [s for s in path.split("/") if s]
    if not slugs:
        return None
    category = db.session.scalars(select(Category).where(Category.slug == slugs[-1])).first()
    if category is None or [c.slug for c in category_chain(category)] != slugs:
        return None
    return category


def descendant_ids(category: Category) -> tuple[int, ...]:
    """The category and all categories below it (a WordPress category archive shows them all)."""
    children: dict[int | None, list[int]] = {}
    for cid, parent_id in db.session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(parent_id, []).append(cid)
    found: list[int] = []
    stack = [category.id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(children.get(current, []))
    return tuple(found)


def find_tag(slug: str) -> Tag | None:
    return db.session.scalars(select(Tag).where(Tag.slug == slug)).first()


def find_public_author(slug: str, now: datetime | None = None) -> User | None:
    """The author whose public slug is ``slug``, if they have a post visible now; None for
    anyone else alike (no such slug, staff with nothing published, a login name), so that
    the archive tells nothing about which accounts exist (SPEC 11)."""
    published = select(Post.id).where(Post.author_id == User.id, is_listed(now)).exists()
    return db.session.scalars(select(User).where(User.slug == slug, published)).first()


def month_range(year: int, month: int | None, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """Start and end (exclusive), in UTC, of a year or a month as the clocks of ``zone`` count
    it: in Europe/Berlin, May 2025 runs from April 30, 22:00 UTC to May 31, 22:00 UTC. Archives
    then ask for a range of ``published_at``, which its index serves. Raises ValueError when
    the date is invalid."""
    if not 1 <= year <= 9998 or (month is not None and not 1 <= month <= 12):
        raise ValueError("no such date")
    if month is None:
        start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    else:
        start = datetime(year, month, 1)
        end = datetime(year + (month == 12), month % 12 + 1, 1)
    # Midnight exists in every zone on the first of a month but in a few (a zone that skipped
    # it once): fold=0 takes the earlier reading, as a clock would.
    try:
        return start.replace(tzinfo=zone).astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # January of year 1 east of Greenwich starts in year 0
        raise ValueError("no such date") from None


@dataclass(frozen=True)
class SidebarData:
    recent: list[tuple[str, str]]  # (title, slug)
    categories: list[tuple[str, str, int]]  # (name, path, published posts directly in it)


def sidebar_data(recent: int = 5) -> SidebarData:
    """What the sidebar shows on every page: recent posts and the categories that have posts."""
    recent_rows = db.session.execute(
        select(Post.title, Post.slug)
        .where(is_listed())
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(recent)
    ).all()
    published_in = (
        select(post_categories.c.category_id, func.count().label("n"))
        .join(Post, Post.id == post_categories.c.post_id)
        .where(is_published())
        .group_by(post_categories.c.category_id)
        .subquery()
    )
    rows: dict[int, tuple[str, str, int | None]] = {}
    counted: dict[int, int] = {}
    for cid, name, slug, parent_id, n in db.session.execute(
        select(
            Category.id, Category.name, Category.slug, Category.parent_id, published_in.c.n
        ).outerjoin(published_in, published_in.c.category_id == Category.id)
    ):
        rows[cid] = (name, slug, parent_id)
        if n:
            counted[cid] = n

    def path(cid: int) -> str:
        chain: list[str] = []
        current: int | None = cid
        while current is not None and current in rows and len(chain) < 20:
            chain.append(rows[current][1])
            current = rows[current][2]
        return "/".join(reversed(chain))

    categories = sorted(
        (rows[cid][0], path(cid), int(n)) for cid, n in counted.items() if cid in rows
    )
    return SidebarData([(title, slug) for title, slug in recent_rows], categories)


def comments_label(count: int) -> str:
    """WordPress's wording: "No Comments", "1 Comment", "N Comments"."""
    if count == 0:
        return "No Comments"
    if count == 1:
        return "1 Comment"
    return f"{count} Comments"


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str | None  # None for the current page


def breadcrumbs_for(post: Post, site_title: str) -> list[Crumb]:
    """Site title > Blog > primary category (with its parents) > post title."""
    crumbs = [Crumb(site_title, url_for("public.home")), Crumb("Blog", url_for("public.blog"))]
    for category in category_chain(post.primary_category):
        crumbs.append(
            Crumb(category.name, url_for("public.category", path=category_path(category)))
        )
    crumbs.append(Crumb(post.title, None))
    return crumbs
