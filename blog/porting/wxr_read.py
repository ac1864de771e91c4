"""Reading WordPress eXtended RSS (WXR 1.0 to 1.2), the file WordPress's Tools > Export writes.

:func:`read_wxr` parses the whole file with defusedxml before anything touches the database and
refuses a document type declaration outright: WordPress never writes one, and a DTD is how XML
entity expansion ("billion laughs") and external entities (reading local files) get in. The
result is plain data (:class:`WxrDocument`); :mod:`blog.porting.wxr_import` stores it.

What WordPress's markup becomes in HTML is :mod:`blog.porting.wordpress_content`'s business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import parse as defused_parse

SUPPORTED_VERSIONS = ("1.0", "1.1", "1.2")
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
_WP_NS = re.compile(r"\{(http://wordpress\.org/export/(\d+\.\d+)/)\}wxr_version")


class WxrError(Exception):
    """The file cannot be imported; the message says why, for people."""


@dataclass(frozen=True)
class WxrAuthor:
    wp_id: int | None
    login: str
    email: str
    display_name: str


@dataclass(frozen=True)
class WxrTerm:
    """A category or a tag; ``parent`` is the parent category's nicename.

    Texts are as WordPress wrote them (names and titles may carry HTML entities)."""

    term_id: int | None
    slug: str
    name: str
    parent: str = ""
    description: str = ""
    meta: dict[str, str] = field(default_factory=dict)  # wp:termmeta


@dataclass(frozen=True)
class WxrComment:
    wp_id: int
    author: str
    email: str
    url: str
    ip: str
    date: datetime | None  # UTC
    content: str
    approved: str  # "1", "0", "spam", "trash", "post-trashed"
    kind: str  # "", "comment", "pingback", "trackback", ...
    parent_wp_id: int
    user_wp_id: int


@dataclass(frozen=True)
class WxrItem:
    wp_id: int | None
    post_type: str
    status: str
    title: str
    post_name: str
    creator: str
    content: str
    excerpt: str
    date: datetime | None  # UTC
    modified: datetime | None  # UTC
    comments_open: bool
    password: str
    categories: list[WxrTerm] = field(default_factory=list)
    tags: list[WxrTerm] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    comments: list[WxrComment] = field(default_factory=list)
    # Where the item lived on the old site (its permalink and its "?p=ID" guid), its parent
    # (a page's parent page, an attachment's post) and its place among its siblings, and the
    # navigation menus it belongs to (a nav_menu_item's).
    link: str = ""
    guid: str = ""
    parent_wp_id: int = 0
    menu_order: int = 0
    menus: list[str] = field(default_factory=list)
    sticky: bool = False  # wp:is_sticky
    post_format: str = ""  # the post_format term without its "post-format-": "aside", ...
    attachment_url: str = ""  # an attachment's file on the old site (wp:attachment_url)


@dataclass(frozen=True)
class WxrDocument:
    version: str
    site_url: str
    authors: list[WxrAuthor]
    categories: list[WxrTerm]
    tags: list[WxrTerm]
    items: list[WxrItem]
    blog_url: str = ""  # wp:base_blog_url: the address the site's permalinks start with
    title: str = ""  # the channel's: the site title and tagline, HTML-escaped as WordPress wrote
    description: str = ""


def read_wxr(source: str | IO[bytes]) -> WxrDocument:
    """Parse a WXR file (a path or a binary file); raises WxrError with a clear message."""
    try:
        tree = defused_parse(source, forbid_dtd=True)
    except defusedxml.DTDForbidden:
        raise WxrError(
            "Refused: the file declares a document type (<!DOCTYPE ...>). WordPress exports "
            "never do, and a DTD is how XML entity expansion and external entities get in. "
            "Nothing was imported."
        ) from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise WxrError(
            "Refused: the file declares XML entities or refers to external ones. Nothing was "
            "imported."
        ) from None
    except ParseError as error:
        raise WxrError(f"Not well-formed XML ({error}). Nothing was imported.") from None
    except OSError as error:
        raise WxrError(f"Cannot read the file: {error.strerror or error}.") from None
    root = tree.getroot()
    channel = root.find("channel") if root is not None and root.tag == "rss" else None
    if channel is None:
        raise WxrError("Not a WordPress export: there is no <rss><channel>. Nothing was imported.")
    return _document(channel)


def _document(channel: Element) -> WxrDocument:
    version_tag = next((m for e in channel if (m := _WP_NS.fullmatch(str(e.tag)))), None)
    if version_tag is None:
        raise WxrError(
            "Not a WordPress eXtended RSS file: <wp:wxr_version> is missing. Nothing was imported."
        )
    wp_uri = version_tag[1]
    version = _text(channel, f"{{{wp_uri}}}wxr_version")
    if version not in SUPPORTED_VERSIONS:
        raise WxrError(
            f"WXR version {version!r} is not supported (1.0 to 1.2 are). Nothing was imported."
        )
    reader = _Reader(wp_uri)
    return WxrDocument(
        version=version,
        site_url=reader.wp(channel, "base_site_url") or _text(channel, "link"),
        authors=[reader.author(e) for e in channel.iter(reader.tag("author"))],
        categories=[reader.category(e) for e in channel.iter(reader.tag("category"))],
        tags=[reader.tag_term(e) for e in channel.iter(reader.tag("tag"))],
        items=[reader.item(e) for e in channel.iter("item")],
        blog_url=reader.wp(channel, "base_blog_url") or _text(channel, "link"),
        title=_text(channel, "title"),
        description=_text(channel, "description"),
    )


def _text(element: Element, tag: str) -> str:
    return element.findtext(tag) or ""


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def parse_wp_date(value: str) -> datetime | None:
    """``2024-03-05 09:30:00`` as UTC; None for WordPress's zero date or anything unreadable."""
    try:
        parsed = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)


def _rfc822(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None or parsed.year < 1971:  # drafts say "Mon, 30 Nov -0001 ..."
        return None
    return parsed.astimezone(UTC)


class _Reader:
    """Reads the wp:-namespaced elements of one document."""

    def __init__(self, wp_uri: str) -> None:
        self.wp_uri = wp_uri
        self.excerpt_ns = f"{wp_uri}excerpt/"

    def tag(self, name: str) -> str:
        return f"{{{self.wp_uri}}}{name}"

    def wp(self, element: Element, name: str) -> str:
        return _text(element, self.tag(name))

    def author(self, element: Element) -> WxrAuthor:
        login = self.wp(element, "author_login").strip()
        return WxrAuthor(
            wp_id=_int(self.wp(element, "author_id")),
            login=login,
            email=self.wp(element, "author_email").strip(),
            display_name=self.wp(element, "author_display_name").strip() or login,
        )

    def category(self, element: Element) -> WxrTerm:
        return WxrTerm(
            term_id=_int(self.wp(element, "term_id")),
            slug=self.wp(element, "category_nicename").strip(),
            name=self.wp(element, "cat_name").strip(),
            parent=self.wp(element, "category_parent").strip(),
            description=self.wp(element, "category_description").strip(),
            meta={
                self.wp(m, "meta_key"): self.wp(m, "meta_value")
                for m in element.findall(self.tag("termmeta"))
            },
        )

    def tag_term(self, element: Element) -> WxrTerm:
        return WxrTerm(
            term_id=_int(self.wp(element, "term_id")),
            slug=self.wp(element, "tag_slug").strip(),
            name=self.wp(element, "tag_name").strip(),
            description=self.wp(element, "tag_description").strip(),
        )

    def item(self, element: Element) -> WxrItem:
        wp = self.wp
        status = wp(element, "status").strip()
        terms = [e for e in element.findall("category") if e.get("nicename") is not None]
        return WxrItem(
            wp_id=_int(wp(element, "post_id")),
            post_type=wp(element, "post_type").strip() or "post",
            status=status,
            title=_text(element, "title"),
            post_name=wp(element, "post_name").strip(),
            creator=_text(element, f"{{{DC_NS}}}creator").strip(),
            content=_text(element, f"{{{CONTENT_NS}}}encoded"),
            excerpt=_text(element, f"{{{self.excerpt_ns}}}encoded"),
            date=self.item_date(element, status),
            modified=parse_wp_date(wp(element, "post_modified_gmt")),
            comments_open=wp(element, "comment_status").strip() != "closed",
            password=wp(element, "post_password"),
            categories=[_item_term(e) for e in terms if e.get("domain") == "category"],
            tags=[_item_term(e) for e in terms if e.get("domain") == "post_tag"],
            meta={
                wp(m, "meta_key"): wp(m, "meta_value")
                for m in element.findall(self.tag("postmeta"))
            },
            comments=[self.comment(c) for c in element.findall(self.tag("comment"))],
            link=_text(element, "link").strip(),
            guid=_text(element, "guid").strip(),
            parent_wp_id=_int(wp(element, "post_parent")) or 0,
            menu_order=_int(wp(element, "menu_order")) or 0,
            menus=_slugs(terms, "nav_menu"),
            sticky=wp(element, "is_sticky").strip() == "1",
            attachment_url=wp(element, "attachment_url").strip(),
            post_format=next(iter(_slugs(terms, "post_format")), "").removeprefix("post-format-"),
        )

    def item_date(self, element: Element, status: str) -> datetime | None:
        """When the item was published: its GMT date, else (published ones) the RSS pubDate,
        else its local date."""
        date = parse_wp_date(self.wp(element, "post_date_gmt"))
        if date is None and status in ("publish", "future", "private"):
            date = _rfc822(_text(element, "pubDate"))
        return date or parse_wp_date(self.wp(element, "post_date"))

    def comment(self, element: Element) -> WxrComment:
        wp = self.wp
        return WxrComment(
            wp_id=_int(wp(element, "comment_id")) or 0,
            author=wp(element, "comment_author"),
            email=wp(element, "comment_author_email").strip(),
            url=wp(element, "comment_author_url").strip(),
            ip=wp(element, "comment_author_IP").strip(),
            date=parse_wp_date(wp(element, "comment_date_gmt"))
            or parse_wp_date(wp(element, "comment_date")),
            content=wp(element, "comment_content"),
            approved=wp(element, "comment_approved").strip(),
            kind=wp(element, "comment_type").strip(),
            parent_wp_id=_int(wp(element, "comment_parent")) or 0,
            user_wp_id=_int(wp(element, "comment_user_id")) or 0,
        )


def _item_term(element: Element) -> WxrTerm:
    return WxrTerm(
        term_id=None,
        slug=(element.get("nicename") or "").strip(),
        name=(element.text or "").strip(),
    )


def _slugs(terms: list[Element], domain: str) -> list[str]:
    """The nicenames of an item's terms of one taxonomy, in their order (blanks left out)."""
    found = ((e.get("nicename") or "").strip() for e in terms if e.get("domain") == domain)
    return [slug for slug in found if slug]
