"""``/sitemap.xml`` (the sitemaps.org protocol) and ``/robots.txt``.

The sitemap lists the home page, every visible post (``lastmod`` from its ``updated_at``) and the
category, tag and author archives that have visible posts (``lastmod`` from their newest post).
A small site gets it all in one urlset. Past URLS_PER_FILE URLs (2,000, WordPress's figure; the
protocol allows 50,000), ``/sitemap.xml`` becomes a sitemap index of ``/sitemap-archives.xml``
and ``/sitemap-posts-<n>.xml``, which keeps every file small and quick to build (the index
itself costs one count). Each file costs a constant number of queries, however many posts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Category, Post, PostKind, Tag, User, post_categories, post_tags
from blog.posts.pages import page_paths
from blog.posts.reading import is_listed, is_published

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000  # the protocol's limit per file
URLS_PER_FILE = 2_000  # WordPress's wp-sitemap files

# endpoint name and its values -> absolute URL (the view binds it to the site's address)
Link = Callable[..., str]


class SitemapNotFound(LookupError):
    """No such sitemap file (a posts file past the last one)."""


@dataclass(frozen=True)
class Url:
    loc: str
    lastmod: datetime | None = None


def w3c_datetime(value: datetime) -> str:
    """W3C Datetime with seconds and the UTC offset: ``2025-03-01T09:30:00+00:00``."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def post_count() -> int:
    return db.session.scalar(select(func.count(Post.id)).where(is_published())) or 0


def post_files(total_posts: int, per_file: int = URLS_PER_FILE) -> int:
    """How many ``/sitemap-posts-<n>.xml`` files the posts fill."""
    return -(-total_posts // per_file)


def sitemap(link: Link, per_file: int = URLS_PER_FILE) -> bytes:
    """``/sitemap.xml``: every URL in one urlset, or an index when they do not fit in one."""
    per_file = min(per_file, MAX_URLS)
    total = post_count()
    if total + 2 <= per_file:  # else not even the home page and the blog fit beside the posts
        archives = archive_urls(link)
        if len(archives) + total <= per_file:
            return _urlset([*archives, *post_urls(link)])
    locations = [link("discovery.sitemap_archives")]
    files = post_files(total, per_file)
    locations += [link("discovery.sitemap_posts", number=n) for n in range(1, files + 1)]
    return _sitemap_index(locations)


def archives_sitemap(link: Link, per_file: int = URLS_PER_FILE) -> bytes:
    """``/sitemap-archives.xml``: the home page and the archives (at most MAX_URLS)."""
    return _urlset(archive_urls(link)[:MAX_URLS])


def posts_sitemap(link: Link, number: int, per_file: int = URLS_PER_FILE) -> bytes:
    """``/sitemap-posts-<number>.xml``; SitemapNotFound past the last file."""
    per_file = min(per_file, MAX_URLS)
    if not 1 <= number <= post_files(post_count(), per_file):
        raise SitemapNotFound(number)
    return _urlset(post_urls(link, offset=(number - 1) * per_file, limit=per_file))


def post_urls(link: Link, offset: int = 0, limit: int | None = None) -> list[Url]:
    """Visible posts and pages (each at its own address): two queries with pages, else one."""
    rows = db.session.execute(
        select(Post.id, Post.kind, Post.slug, Post.updated_at)
        .where(is_published())
        .order_by(Post.id)
        .offset(offset)
        .limit(limit)
    ).all()
    paths = page_paths() if any(kind == PostKind.PAGE for _, kind, _, _ in rows) else {}
    return [
        Url(link("public.page", path=paths.get(pid, slug)), updated)
        if kind == PostKind.PAGE
        else Url(link("public.post", slug=slug), updated)
        for pid, kind, slug, updated in rows
    ]


def archive_urls(link: Link) -> list[Url]:
    """Home, blog, and the category, tag and author archives with visible posts (4 queries)."""
    newest = _newest_post_change()
    urls = [Url(link("public.home"), newest), Url(link("public.blog"), newest)]
    urls += [Url(link("public.category", path=path), at) for path, at in _category_paths()]
    tag_rows = db.session.execute(
        select(Tag.slug, func.max(Post.updated_at))
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(is_published())
        .group_by(Tag.slug)
        .order_by(Tag.slug)
    )
    urls += [Url(link("public.tag", slug=slug), at) for slug, at in tag_rows]
    author_rows = db.session.execute(
        select(User.slug, func.max(Post.updated_at))
        .join(Post, Post.author_id == User.id)
        .where(is_listed())
        .group_by(User.slug)
        .order_by(User.slug)
    )
    urls += [Url(link("public.author", slug=slug), at) for slug, at in author_rows]
    return urls


def _newest_post_change() -> datetime | None:
    return db.session.scalar(select(func.max(Post.updated_at)).where(is_published()))


def _category_paths() -> list[tuple[str, datetime | None]]:
    """Categories with visible posts, by full path, newest change of their posts."""
    newest = (
        select(post_categories.c.category_id, func.max(Post.updated_at).label("at"))
        .join(Post, Post.id == post_categories.c.post_id)
        .where(is_published())
        .group_by(post_categories.c.category_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Category.id, Category.slug, Category.parent_id, newest.c.at).outerjoin(
            newest, newest.c.category_id == Category.id
        )
    ).all()
    slugs = {cid: (slug, parent) for cid, slug, parent, _ in rows}

    def path(cid: int) -> str:
        chain: list[str] = []
        current: int | None = cid
        while current is not None and current in slugs and len(chain) < 20:
            chain.append(slugs[current][0])
            current = slugs[current][1]
        return "/".join(reversed(chain))

    return sorted((path(cid), at) for cid, _, _, at in rows if at is not None)


def _lastmod(value: datetime | None) -> str:
    return f"<lastmod>{w3c_datetime(value)}</lastmod>" if value is not None else ""


def _urlset(urls: Iterable[Url]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{NAMESPACE}">']
    lines += [f"<url><loc>{escape(u.loc)}</loc>{_lastmod(u.lastmod)}</url>" for u in urls]
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")


def _sitemap_index(locations: list[str]) -> bytes:
    # No <lastmod> here (it is optional): finding each file's newest change would cost a scan
    # of every post, and the files answer conditional requests themselves.
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{NAMESPACE}">']
    lines += [f"<sitemap><loc>{escape(loc)}</loc></sitemap>" for loc in locations]
    lines.append("</sitemapindex>\n")
    return "\n".join(lines).encode("utf-8")


def robots_txt(sitemap_url: str) -> str:
    """WordPress's robots.txt, with our admin and sign-in paths, pointing at the sitemap."""
    return f"User-agent: *\nDisallow: /admin/\nDisallow: /login\n\nSitemap: {sitemap_url}\n"
