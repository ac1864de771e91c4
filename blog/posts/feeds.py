"""RSS 2.0 and Atom feeds: posts, a category's posts, a post's comments, all comments.

Each feed is built with feedgen from one small constant set of queries and returned as bytes.
Links are absolute: ``site_url`` (the ``SITE_URL`` setting, or the request's host) in front of
the application's own paths. Only what a reader may see goes in: published, already visible
posts and approved comments on them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from feedgen.feed import FeedEntry, FeedGenerator
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from blog.extensions import db
from blog.models import Category, Comment, CommentStatus, Post, Tag, post_categories, utcnow
from blog.posts.excerpts import automatic_excerpt
from blog.posts.reading import category_path, descendant_ids, is_listed, is_published
from blog.sanitize import html_to_text

FEED_SIZE = 10  # WordPress's "Syndication feeds show the most recent 10 items"
ANONYMOUS = "Anonymous"
# Characters XML 1.0 cannot carry at all (lxml refuses them): C0 controls but tab, CR and LF,
# lone surrogates and the two non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class FeedFormat(enum.StrEnum):
    RSS = "rss"
    ATOM = "atom"

    @property
    def mimetype(self) -> str:
        return "application/rss+xml" if self is FeedFormat.RSS else "application/atom+xml"


@dataclass(frozen=True)
class Site:
    """What every feed says about the site, and where its pages live."""

    url: str  # scheme and host, e.g. "https://blog.example.com"
    title: str
    tagline: str
    zone: tzinfo = UTC  # the site's time zone: dates carry its offset (RFC 822 and 3339 alike)

    def link(self, endpoint: str, **values: Any) -> str:  # Any: url_for's values
        """The absolute URL of an endpoint of this application."""
        return self.url.rstrip("/") + url_for(endpoint, **values)

    def local(self, value: datetime) -> datetime:
        """The same instant on the site's clock."""
        return value.astimezone(self.zone)


def xml_safe(text: str) -> str:
    """The text without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


def posts_feed(fmt: FeedFormat, site: Site, category: Category | None = None) -> bytes:
    """The newest published posts, of a category and its sub-categories when one is given."""
    stmt = (
        select(Post)
        .where(is_listed())
        .options(joinedload(Post.author), selectinload(Post.categories), selectinload(Post.tags))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(FEED_SIZE)
    )
    if category is None:
        title = site.title
        feed_url = site.link("discovery.posts_feed", fmt=fmt.value)
        home = site.link("public.home")
    else:
        in_category = select(post_categories.c.post_id).where(
            post_categories.c.category_id.in_(descendant_ids(category))
        )
        stmt = stmt.where(Post.id.in_(in_category))
        path = category_path(category)
        title = f"{site.title} » {category.name}"
        feed_url = site.link("discovery.category_feed", path=path, fmt=fmt.value)
        home = site.link("public.category", path=path)
    posts = list(db.session.scalars(stmt).unique())
    feed = _feed(site, title, site.tagline or site.title, home, feed_url, fmt)
    for post in posts:
        _post_entry(feed.add_entry(order="append"), post, site)
    _set_updated(feed, [p.updated_at for p in posts], site)
    return _render(feed, fmt)


def comments_feed(fmt: FeedFormat, site: Site, post: Post | None = None) -> bytes:
    """The newest approved comments on visible posts, or on one post when it is given."""
    stmt = (
        select(Comment)
        .join(Comment.post)
        .where(Comment.status == CommentStatus.APPROVED, is_published())
        .options(contains_eager(Comment.post))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(FEED_SIZE)
    )
    if post is None:
        title = f"Comments for {site.title}"
        feed_url = site.link("discovery.comments_feed", fmt=fmt.value)
        home = site.link("public.home")
    else:
        stmt = stmt.where(Comment.post_id == post.id)
        title = f"Comments on: {post.title}"
        feed_url = site.link("discovery.post_comments_feed", slug=post.slug, fmt=fmt.value)
        home = site.link("public.post", slug=post.slug)
    comments = list(db.session.scalars(stmt))
    feed = _feed(site, title, site.tagline or site.title, home, feed_url, fmt)
    for comment in comments:
        _comment_entry(feed.add_entry(order="append"), comment, site, one_post=post is not None)
    _set_updated(feed, [c.created_at for c in comments], site)
    return _render(feed, fmt)


def _feed(
    site: Site, title: str, description: str, home: str, feed_url: str, fmt: FeedFormat
) -> FeedGenerator:
    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)
    feed.id(feed_url)
    feed.title(xml_safe(title))
    feed.description(xml_safe(description))
    feed.link(href=feed_url, rel="self", type=fmt.mimetype)
    feed.link(href=home, rel="alternate")  # the last link is RSS's <link>
    feed.language("en")
    feed.generator("Blog")
    return feed


def _set_updated(feed: FeedGenerator, times: Sequence[datetime], site: Site) -> None:
    newest = site.local(max(times, default=None) or utcnow())
    feed.updated(newest)
    feed.lastBuildDate(newest)


def _post_entry(entry: FeedEntry, post: Post, site: Site) -> None:
    link = site.link("public.post", slug=post.slug)
    entry.id(link)
    entry.guid(link, permalink=True)
    entry.title(xml_safe(post.title))
    entry.link(href=link, rel="alternate")
    entry.author(name=xml_safe(post.author.display_name) or ANONYMOUS)
    entry.dc.dc_creator(xml_safe(post.author.display_name) or ANONYMOUS)
    entry.published(site.local(post.published_at or post.updated_at))
    entry.updated(site.local(max(post.updated_at, post.published_at or post.updated_at)))
    entry.summary(xml_safe(post.excerpt or automatic_excerpt(post.body_source, post.body_html)))
    entry.content(xml_safe(post.body_html), type="html")
    entry.comments(link + "#comments")
    terms: list[Category | Tag] = [*post.categories, *post.tags]
    for term in terms:
        entry.category(term=xml_safe(term.name))


def _comment_entry(entry: FeedEntry, comment: Comment, site: Site, one_post: bool) -> None:
    # The id stays the same when comment pages shift; the link (its permalink) redirects to
    # whichever comment page holds the comment now.
    anchor = site.link("public.post", slug=comment.post.slug) + f"#comment-{comment.id}"
    link = site.link("reader.permalink", comment_id=comment.id)
    author = xml_safe(comment.author_name).strip() or ANONYMOUS
    title = f"By: {author}" if one_post else f"Comment on {comment.post.title} by {author}"
    entry.id(anchor)
    entry.guid(anchor, permalink=False)
    entry.title(xml_safe(title))
    entry.link(href=link, rel="alternate")
    entry.author(name=author)
    entry.dc.dc_creator(author)
    entry.published(site.local(comment.created_at))
    entry.updated(site.local(comment.created_at))
    entry.summary(xml_safe(html_to_text(comment.body_html, limit=300)))
    entry.content(xml_safe(comment.body_html), type="html")


def _render(feed: FeedGenerator, fmt: FeedFormat) -> bytes:
    if fmt is FeedFormat.ATOM:
        return feed.atom_str(pretty=True)  # type: ignore[no-any-return]
    return feed.rss_str(pretty=True)  # type: ignore[no-any-return]
