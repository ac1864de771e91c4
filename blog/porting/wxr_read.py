"""Reading WordPress eXtended RSS (WXR 1.0 to 1.2), the file WordPress's Tools > Export writes.

:func:`read_wxr` parses the whole file with defusedxml before anything touches the database and
refuses a document type declaration outright: WordPress never writes one, and a DTD is how XML
entity expansion ("billion laughs") and external entities (reading local files) get in. The
result is plain data (:class:`WxrDocument`); :mod:`blog.porting.wxr_import` stores it.

Also here, WordPress's markup conventions turned into plain HTML: :func:`wordpress_html` applies
the shortcodes we can express (``[caption]`` becomes a figure, ``[embed]`` a link, ``[audio]``
and ``[video]`` a link to the file, ``[gallery]`` and ``[playlist]`` go: media are not imported)
and WordPress's automatic paragraphs (``wpautop``) to classic-editor content.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
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


@dataclass(frozen=True)
class WxrDocument:
    version: str
    site_url: str
    authors: list[WxrAuthor]
    categories: list[WxrTerm]
    tags: list[WxrTerm]
    items: list[WxrItem]
    blog_url: str = ""  # wp:base_blog_url: the address the site's permalinks start with


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
        date = parse_wp_date(wp(element, "post_date_gmt"))
        if date is None and status in ("publish", "future", "private"):
            date = _rfc822(_text(element, "pubDate"))
        date = date or parse_wp_date(wp(element, "post_date"))
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
            date=date,
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
            menus=[
                (e.get("nicename") or "").strip() for e in terms if e.get("domain") == "nav_menu"
            ],
        )

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


# --- WordPress markup to HTML ---------------------------------------------------------------

# A shortcode's attributes stop at the next `[` as well as `]`: when they could run over `[`, an
# opener without its `]` scanned on to the next shortcode's, for each opener (quadratic).
_CAPTION = re.compile(r"\[(?:wp_)?caption([^\][]*)\](.*?)\[/(?:wp_)?caption\]", re.S | re.I)
_CAPTION_IMAGE = re.compile(r"\s*((?:<a\s[^>]*>\s*)?<img\s[^>]*>(?:\s*</a>)?)(.*)", re.S | re.I)
_EMBED = re.compile(r"\[embed[^\][]*\](.*?)\[/embed\]", re.S | re.I)
_ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")
_URL_ATTRIBUTES = ("src", "mp4", "m4v", "webm", "ogv", "mp3", "ogg", "m4a", "wav", "wmv", "flv")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)  # block markers, <!--more-->, notes
_PRE = re.compile(r"<pre[\s>].*?</pre>", re.S | re.I)
# The closing marks of the lazy patterns above (see _sub_closed).
_CAPTION_END = re.compile(r"\[/(?:wp_)?caption\]", re.I)
_EMBED_END = re.compile(r"\[/embed\]", re.I)
_HTML_COMMENT_END = re.compile(r"-->")
_PRE_END = re.compile(r"</pre>", re.I)
_BLOCK_START = re.compile(
    r"<(?:address|article|aside|blockquote|caption|col|colgroup|dd|details|div|dl|dt|"
    r"fieldset|figcaption|figure|footer|h[1-6]|header|hgroup|hr|li|main|menu|nav|ol|p|"
    r"pre|section|summary|table|tbody|td|tfoot|th|thead|tr|ul|"
    # and what the sanitizer removes whole: no empty paragraph left behind
    r"audio|canvas|embed|form|iframe|math|noscript|object|script|style|svg|video)[\s/>]",
    re.I,
)


def _attributes(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _ATTRIBUTE.finditer(text or "")}


def _caption(match: re.Match[str]) -> str:
    attributes = _attributes(match[1])
    picture = _CAPTION_IMAGE.match(match[2])
    body, caption = (picture[1], picture[2].strip()) if picture else (match[2].strip(), "")
    caption = caption or html.escape(attributes.get("caption", ""))
    figcaption = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure>{body}{figcaption}</figure>"


def _media(match: re.Match[str]) -> str:
    attributes = _attributes(match[2])
    url = next((attributes[k] for k in _URL_ATTRIBUTES if attributes.get(k)), "")
    url = url or (match[3] or "").strip()
    if not url:
        return ""
    safe = html.escape(url)
    return f'<a href="{safe}">{safe}</a>'


def wordpress_html(content: str) -> str:
    """A post's content as WordPress shows it, as HTML: shortcodes and paragraphs applied.

    Shortcodes other than caption, embed, audio, video, gallery and playlist are left as text,
    as WordPress itself shows a shortcode whose plugin is gone.
    """
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    text = _sub_closed(_CAPTION, _CAPTION_END, _caption, text)
    text = _sub_closed(_EMBED, _EMBED_END, lambda m: _media_link(m[1]), text)
    text = _sub_kinds(("audio", "video"), _media, text)  # [video mp4="..."][/video]
    text = _sub_kinds(("gallery", "playlist"), "", text)
    text = _sub_closed(_HTML_COMMENT, _HTML_COMMENT_END, "", text)
    return autop(text)


def _sub_kinds(
    kinds: tuple[str, ...], replacement: str | Callable[[re.Match[str]], str], text: str
) -> str:
    """Replace the shortcodes of these kinds, each with its content up to its own closing mark
    when it has one (groups: kind, attributes, content), in linear time: past a kind's last
    closing mark only the opening shortcode is matched (see _sub_closed)."""
    for kind in kinds:
        opener = rf"\[({kind})(\s[^\][]*)?\]"
        end = 0
        for found in re.finditer(rf"\[/{kind}\]", text, re.I):
            end = found.end()
        head = re.compile(opener + r"(?:(.*?)\[/\1\])?", re.S | re.I).sub(replacement, text[:end])
        text = head + re.compile(opener + "()", re.I).sub(replacement, text[end:])
    return text


def _sub_closed(
    pattern: re.Pattern[str],
    closer: re.Pattern[str],
    replacement: str | Callable[[re.Match[str]], str],
    text: str,
) -> str:
    """``pattern.sub`` for a pattern that ends with ``closer`` after a lazy ``.*?``, in linear
    time: only the text up to the last closer is searched. Past it no opener can be closed, and
    each opener's scan to the end of the text made the work quadratic in the number of openers.
    """
    end = 0
    for found in closer.finditer(text):
        end = found.end()
    return pattern.sub(replacement, text[:end]) + text[end:] if end else text


_COMMENT_BREAK = re.compile(r"<br\s*/?>\n?", re.I)
# `(?<!\s)`: a match starts only where a run of spaces does (a match from inside a run would
# start at its beginning anyway); tried from each space of a long run, it was quadratic.
_COMMENT_PARAGRAPH = re.compile(r"(?<!\s)\s*</?p(?:\s[^>]*)?>\s*", re.I)
_LINE_BREAK = re.compile(r"(?<!\s)\s*\n\s*")


def comment_text(content: str) -> str:
    """A WordPress comment as a reader would have typed it for our comment form.

    WordPress keeps comments as typed, but editors and plugins sometimes store ``<p>`` and
    ``<br>``, which our comment sanitizer would show as text: they become the blank lines and
    newlines it turns back into paragraphs and line breaks. Any other markup is left for it.
    """
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    text = _COMMENT_BREAK.sub("\n", text)
    return re.sub(r"\n{3,}", "\n\n", _COMMENT_PARAGRAPH.sub("\n\n", text)).strip()


def _media_link(url: str) -> str:
    safe = html.escape(url.strip())
    return f'<p><a href="{safe}">{safe}</a></p>' if safe else ""


def autop(text: str) -> str:
    """WordPress's wpautop, simplified: blank lines make paragraphs, single newlines ``<br>``.

    A chunk that already starts with a block element is left alone, and ``<pre>`` blocks are kept
    whole. The result is all HTML blocks, so rendering it as Markdown changes nothing in it.
    """
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match[0])
        return f"\n\n\x00{len(kept) - 1}\x00\n\n"  # a block of its own

    text = _sub_closed(_PRE, _PRE_END, keep, text.replace("\x00", ""))
    chunks = [c.strip() for c in re.split(r"\n\s*\n", text) if c.strip()]
    blocks = []
    for chunk in chunks:
        if _BLOCK_START.match(chunk) or re.fullmatch(r"\x00\d+\x00", chunk):
            blocks.append(chunk)
        else:
            blocks.append("<p>" + _LINE_BREAK.sub("<br>\n", chunk) + "</p>")
    joined = "\n\n".join(blocks)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m[1])], joined)
