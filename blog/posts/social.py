"""What a page tells link previews and search engines: Open Graph and Twitter card tags, and a
schema.org ``BlogPosting`` (JSON-LD) for a post.

Every URL is absolute and built from ``SITE_URL`` when it is set (blog.links), never from the
``Host`` a client sent: the pages are shared by every reader (docs/caching.md). The values are
plain text; the templates escape them (attributes by autoescape, JSON-LD by ``tojson``, which
writes ``<``, ``>``, ``&`` and ``'`` as ``\\u003c`` and so on, so no text closes the script).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import url_for

from blog.links import absolute
from blog.models import Post
from blog.settings import Settings

DESCRIPTION_LENGTH = 300


@dataclass(frozen=True)
class MetaTag:
    """``<meta {attribute}="{key}" content="{content}">``: Open Graph names go in ``property``,
    Twitter's in ``name``."""

    attribute: str
    key: str
    content: str


@dataclass(frozen=True)
class PageMetadata:
    tags: list[MetaTag]
    json_ld: dict[str, Any] | None = None


# Stored post HTML is the sanitizer's canonical serialization (blog.sanitize): lowercase tags,
# every attribute value in double quotes. A regular expression then finds the first image in
# microseconds, where an HTML parser took 35 ms for a 45 kB post.
_IMG = re.compile(r'<img\b((?:[^>"]|"[^"]*")*)>')
_ATTRIBUTE = re.compile(r'([^\s="]+)="([^"]*)"')


def post_image(post: Post) -> str | None:
    """The absolute URL of the post's image: the first image of its text, if it has an address
    a previewer can fetch (http or https, or a path on this site)."""
    tag = _IMG.search(post.body_html)
    attributes: dict[str, str] = dict(_ATTRIBUTE.findall(tag.group(1))) if tag else {}
    src = html.unescape(attributes.get("src", "")).strip()
    parts = urlsplit(src)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return src
    if src.startswith("/") and not src.startswith("//") and not parts.scheme:
        return absolute(src)
    return None


def shorten(text: str, limit: int = DESCRIPTION_LENGTH) -> str:
    """``text`` on one line, cut on a word boundary with an ellipsis when longer than ``limit``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:.") + "\u2026"


def _published_and_modified(post: Post, settings: Settings) -> tuple[str, str]:
    """ISO 8601 times with the site's offset. A post scheduled ahead was saved before it
    appeared: it is modified when it is published, not before."""
    published = post.published_at or post.updated_at
    modified = max(post.updated_at, published)
    return _iso(published, settings), _iso(modified, settings)


def _iso(value: datetime, settings: Settings) -> str:
    return value.astimezone(settings.zone).replace(microsecond=0).isoformat()


def _og(key: str, content: str) -> MetaTag:
    return MetaTag("property", key, content)


def _twitter(key: str, content: str) -> MetaTag:
    return MetaTag("name", key, content)


def post_metadata(post: Post, settings: Settings) -> PageMetadata:
    """Open Graph (``article``), Twitter card and ``BlogPosting`` of a published post."""
    url = absolute(url_for("public.post", slug=post.slug))
    author_url = absolute(url_for("public.author", slug=post.author.slug))
    description = shorten(post.excerpt)
    image = post_image(post)
    published, modified = _published_and_modified(post, settings)
    tags = [
        _og("og:type", "article"),
        _og("og:title", post.title),
        _og("og:description", description),
        _og("og:url", url),
        _og("og:site_name", settings.site_title),
        _og("article:published_time", published),
        _og("article:modified_time", modified),
        _og("article:author", author_url),
        _twitter("twitter:card", "summary_large_image" if image else "summary"),
        _twitter("twitter:title", post.title),
        _twitter("twitter:description", description),
    ]
    if image:
        tags += [_og("og:image", image), _twitter("twitter:image", image)]
    return PageMetadata(tags, _blog_posting(post, settings, url, author_url, image))


def _blog_posting(
    post: Post, settings: Settings, url: str, author_url: str, image: str | None
) -> dict[str, Any]:
    published, modified = _published_and_modified(post, settings)
    posting: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": shorten(post.excerpt),
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "datePublished": published,
        "dateModified": modified,
        "author": {"@type": "Person", "name": post.author.display_name, "url": author_url},
        "publisher": {
            "@type": "Organization",
            "name": settings.site_title,
            "url": absolute(url_for("public.home")),
        },
        "commentCount": post.comment_count,
    }
    if image:
        posting["image"] = [image]
    return posting


def home_metadata(settings: Settings, url: str) -> PageMetadata:
    """Open Graph (``website``) and Twitter card of the home page at ``url``."""
    return PageMetadata(
        [
            _og("og:type", "website"),
            _og("og:title", settings.site_title),
            _og("og:description", settings.tagline),
            _og("og:url", url),
            _og("og:site_name", settings.site_title),
            _twitter("twitter:card", "summary"),
            _twitter("twitter:title", settings.site_title),
            _twitter("twitter:description", settings.tagline),
        ]
    )
