"""The only place HTML is cleaned: readers' comments, authors' Markdown, and URLs.

Three layers. bleach (pinned >=6.4,<7, unmaintained since 2026-06-05) applies the tag and attribute
allowlists. Its output is then parsed again with html5lib, the way a browser reads it, and every
element, attribute and URL is re-checked independently before the tree is serialized: bleach alone
lets a blocked scheme followed only by digits through (`javascript:123`). Last, nh3 (ammonia on
html5ever, a parser that shares nothing with bleach's) cleans the result with the same allowlist;
where it would change anything, its stricter output is kept and a warning logged.

Cost: every step is linear in the text, and the inputs that made a parser raise or slow down
(numeric character references of thousands of digits) are rewritten before it: docs/limits.md.
A failure inside any of the parsers is raised as SanitizeFailed, which callers turn into a 400
with the text kept.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import nh3
from bleach.css_sanitizer import CSSSanitizer
from bleach.html5lib_shim import BleachHTMLParser
from bleach.linkifier import LinkifyFilter
from bleach.sanitizer import Cleaner

if TYPE_CHECKING:
    # bleach vendors html5lib and re-exports these from its shim; types-bleach types them as
    # html5lib's (types-html5lib), which is not installed at run time.
    from html5lib.filters.base import Filter
    from html5lib.html5parser import HTMLParser
    from html5lib.serializer import HTMLSerializer
    from html5lib.treewalkers import getTreeWalker

    _TokenFilter = Filter[dict[str, Any]]  # generic in the stubs only
else:
    from bleach.html5lib_shim import Filter, HTMLParser, HTMLSerializer, getTreeWalker

    _TokenFilter = Filter
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

log = logging.getLogger(__name__)

# WordPress's comment allowlist ($allowedtags); `p` and `br` are added by us, never by the reader.
COMMENT_TAGS = frozenset(
    {"a", "abbr", "acronym", "b", "blockquote", "cite", "code", "del", "em", "i", "q", "s"}
    | {"strike", "strong"}
)
COMMENT_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "acronym": frozenset({"title"}),
    "blockquote": frozenset({"cite"}),
    "del": frozenset({"datetime"}),
    "q": frozenset({"cite"}),
}
GENERATED_TAGS = frozenset({"p", "br"})
AUTHOR_TAGS = COMMENT_TAGS | GENERATED_TAGS | {"hr", "h1", "h2", "h3", "h4", "h5", "h6"} | {
    "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
    "img", "pre", "figure", "figcaption", "sup", "sub", "span", "div", "mark", "kbd",
}  # fmt: skip
# WordPress's layout classes (alignment, the attachment's id and size, the caption's frame, the
# block editor's text alignment, our oEmbed link) on these elements, and WordPress's paragraph
# alignment, `text-align`, on these.
ALIGNMENT_CLASS_TAGS = frozenset(
    {"p", "div", "figure", "figcaption", "img", "a", "span", "table", "ul", "ol", "li"}
    | {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
)
TEXT_ALIGN_TAGS = frozenset(
    {"p", "div", "figure", "figcaption", "li", "td", "th", "blockquote"}
    | {"h1", "h2", "h3", "h4", "h5", "h6"}
)
ALIGNMENT_CLASS = re.compile(
    r"align(?:left|right|center|none)|wp-image-\d{1,20}|size-[a-z0-9_-]{1,40}"
    r"|wp-caption(?:-text|-dd)?|has-text-align-(?:left|center|right|justify)|embed"
)
TEXT_ALIGN_VALUES = frozenset({"left", "right", "center", "justify", "start", "end"})
CSS_PROPERTIES = ("text-align",)
_AUTHOR_OWN_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href", "title", "rel"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"align", "colspan", "rowspan", "scope"}),
    "td": frozenset({"align", "colspan", "rowspan"}),
    # srcset and sizes only as blog.posts.media writes them, for the site's own media files.
    "img": frozenset({"src", "alt", "title", "width", "height", "srcset", "sizes"}),
    "code": frozenset({"class"}),  # language-* only
}
AUTHOR_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    tag: (
        COMMENT_ATTRIBUTES.get(tag, frozenset())
        | _AUTHOR_OWN_ATTRIBUTES.get(tag, frozenset())
        | (frozenset({"class"}) if tag in ALIGNMENT_CLASS_TAGS else frozenset())
        | (frozenset({"style"}) if tag in TEXT_ALIGN_TAGS else frozenset())
    )
    for tag in COMMENT_ATTRIBUTES.keys()
    | _AUTHOR_OWN_ATTRIBUTES
    | ALIGNMENT_CLASS_TAGS
    | TEXT_ALIGN_TAGS
}
# Removed with everything inside them from author HTML, instead of leaving their text behind.
DROP_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript"}
    | {"noembed", "noframes", "template", "xmp", "plaintext", "title", "textarea", "svg", "math"}
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
HTTP_SCHEMES = frozenset({"http", "https"})
URL_ATTRIBUTES: Mapping[str, frozenset[str]] = {"href": URL_SCHEMES, "cite": URL_SCHEMES}
IMAGE_SCHEMES = HTTP_SCHEMES
COMMENT_LINK_REL = "nofollow ugc noopener"
PARSER_FAILED = (
    "Your text could not be read as HTML (a parser failed on it). "
    "Please remove unusual markup or character references and try again."
)
MAX_COMMENT_TAGS = 1000
PAGE_BREAK = "<!--nextpage-->"  # WordPress's page break, kept between the pages of a post
MAX_AUTHOR_DEPTH = 1000  # html5lib took 25 s for 20,000 nested <div> (quadratic in depth)
_TAG_NAME = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
_NOT_NESTING = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
    | {"track", "wbr", "param", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody"}
    | {"tfoot", "option", "optgroup", "rb", "rt", "rp", "rtc", "colgroup", "caption"}
)
AUTHOR_REL_VALUES = frozenset({"nofollow", "noopener", "noreferrer", "ugc", "sponsored", "me"})

_LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]{1,40}")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
_LEADING_TRAILING = "".join(map(chr, range(0x21)))  # what a browser trims around a URL
_URL_NOISE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_BARE_HOST = re.compile(r"(?:[\w-]+\.)+[\w-]{2,}(?::\d{1,5})?(?:[/?#].*)?", re.IGNORECASE)
_TAG_START = re.compile(r"<[a-zA-Z/!?]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# A numeric character reference; html5lib and html.unescape turn its digits into an int, which
# raises past 4,300 decimal digits (and costs quadratic time before that).
_NUMERIC_REFERENCE = re.compile(r"&#(?:([xX])0*([0-9a-fA-F]+)|0*([0-9]+))")
MAX_REFERENCE_DIGITS = 8  # U+10FFFF, the last code point, has 7 decimal and 6 hex digits
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_TEXT_ALIGN = re.compile(r"text-align:\s*(left|center|right)")
_URL_END = r"""[^\s{}|\\^`<>"!?.,;:'*]"""
# Bare URLs made clickable, WordPress's make_clickable rule: http(s)://... or www.... only, so
# "setup.py", "ftp://host" or "javascript:x" never become links. A match starts only at the first
# of a run of opening parentheses: tried from each of them, a long run cost quadratic time.
_LINKIFY_URL = re.compile(
    rf"""(?<!\()\(*(?<![\w@.:/\\-])
    (?:https?://[\w-]+(?:\.[\w-]+)*|www\.[\w-]+(?:\.[\w-]+)+)
    (?::\d{{1,5}})?
    (?:[/?#](?:[^\s{{}}|\\^`<>"]*{_URL_END})?)?""",
    re.IGNORECASE | re.VERBOSE,
)
# A media file's key (blog.posts.media_storage) and its address: /media/<key>, under the site's
# script root. An img's srcset may list only these, so that it never loads from elsewhere.
MEDIA_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}(?:-[1-9][0-9]{0,4})?\.(?:jpg|png|webp|gif)")
MEDIA_URL = re.compile(rf"(?:/[A-Za-z0-9._~-]+)*/media/{MEDIA_KEY.pattern}")
MAX_SRCSET_CANDIDATES = 12
_SRCSET_CANDIDATE = re.compile(r"(\S+) ([1-9][0-9]{0,4})w")
# An <img> tag written as HTML, and its attributes (name, then a double-quoted, single-quoted
# or bare value): enough to find a media image's src; the sanitizer judges the result.
# No "<" inside: a scan never runs past the next tag, so many broken tags cost linear time.
_RAW_IMG = re.compile(r"""<img\b(?:[^<>"']|"[^<"]*"|'[^<']*')*>""", re.I)
_RAW_ATTRIBUTE = re.compile(r"""\s([^\s"'<>/=]+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_WIDTH = re.compile(r"[1-9][0-9]{0,4}")
_SIZES = re.compile(r"\(max-width: [1-9][0-9]{0,4}px\) 100vw, [1-9][0-9]{0,4}px")
# Elements whose text is a block of its own: words on either side of them never join.
_BLOCK_TEXT_TAGS = (AUTHOR_TAGS - COMMENT_TAGS - {"span", "sup", "sub", "mark", "kbd", "img"}) | {
    "blockquote"
}


def safe_url(value: str) -> str | None:
    """Return `value` cleaned up if a browser would follow it as http, https, mailto or relative.

    The scheme is judged the way a browser reads the attribute, only more suspiciously: HTML
    entities decoded (named, numeric, hex, with or without `;`, repeatedly), control, whitespace
    and invisible characters dropped, case folded. The returned URL is `value` trimmed, without
    control or invisible characters and with a lower-case scheme; it is not entity-decoded, since
    callers pass what the browser will see (a parsed attribute value or a form field).
    Returns None for anything else, including an empty value.
    """
    return _checked_url(value, URL_SCHEMES, allow_relative=True)


def safe_http_url(value: str) -> str | None:
    """Return the normalized absolute http(s) URL of a commenter's website, or None.

    A bare host such as `example.com/me` gets `http://` in front, as WordPress does.
    """
    url = _URL_NOISE.sub("", value).strip(_LEADING_TRAILING)
    if _BARE_HOST.fullmatch(url):
        url = "http://" + url
    checked = _checked_url(url, HTTP_SCHEMES, allow_relative=False)
    if checked is None or any(char.isspace() for char in checked):
        return None
    try:
        host = urlsplit(checked).hostname
    except ValueError:
        return None
    return checked if host else None


class SanitizeFailed(ValueError):
    """The text could not be cleaned: one of the parsers failed on it. ``message`` is for the
    person who typed it; nothing of theirs should be lost or stored."""

    def __init__(self, message: str = PARSER_FAILED) -> None:
        super().__init__(message)
        self.message = message


def sanitize_comment(text: str) -> str:
    """Turn a reader's comment into safe HTML.

    Only WordPress's comment tags survive; any other markup is escaped so the reader sees what was
    typed. Blank lines make paragraphs, single newlines `<br>`. Bare http(s) and www. URLs become
    links; every link has `rel="nofollow ugc noopener"` and an http, https, mailto or relative
    href (an unsafe href is removed, its text kept). A comment with more than MAX_COMMENT_TAGS
    tag-like `<` is shown entirely as typed. Raises SanitizeFailed if a parser fails on it.
    """
    text = _clean_text(text)
    if not text.strip():
        return ""
    if len(_TAG_START.findall(text)) > MAX_COMMENT_TAGS:
        text = html.escape(text, quote=False)  # html5lib is quadratic in nesting depth
    return _guarded(_clean_comment, text)


def sanitize_author_html(html: str) -> str:
    """Clean an author's HTML with the wider author allowlist.

    Disallowed tags are removed (their text kept), except script, style, iframe, object, embed and
    the other DROP_CONTENT_TAGS, which go with their content. No style, event handler or class
    (but `language-*` on code) survives; href and cite are http, https, mailto or relative, img
    src http, https or relative. Raises SanitizeFailed if a parser fails on it.
    """
    html = _clean_text(html)
    if not html.strip():
        return ""
    depth = nesting_depth(html)
    if depth > MAX_AUTHOR_DEPTH:
        raise SanitizeFailed(
            f"The HTML is nested {depth:,} elements deep; the limit is {MAX_AUTHOR_DEPTH:,}. "
            "Please close the elements you open."
        )
    return _guarded(_clean_author_html, html)


def nesting_depth(html: str) -> int:
    """How deep the elements of ``html`` nest, estimated from its tags in linear time: an
    opening tag goes one deeper and a closing tag one back, except void elements and those whose
    end tag is optional (a browser closes them itself). html5lib's cost grows with the square
    of the real depth."""
    depth = deepest = 0
    for closing, name in _TAG_NAME.findall(html):
        if name.lower() in _NOT_NESTING:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


ImageAttributes = Mapping[str, Mapping[str, str]]


def render_markdown(source: str, images: ImageAttributes | None = None) -> str:
    """Render an author's Markdown (CommonMark, tables, strikethrough, raw HTML) to safe HTML.

    ``images`` maps an image's ``src`` to attributes its Markdown image gains (srcset, sizes,
    width, height: blog.posts.media.image_attributes); the sanitizer keeps srcset and sizes
    only in the shape that function writes, for the site's own media addresses.
    WordPress's page break, ``<!--nextpage-->``, splits the text into pages: each is rendered
    and sanitized on its own (so each is whole HTML) and they are joined by PAGE_BREAK, the only
    comment sanitized HTML can hold. Raises SanitizeFailed if the Markdown parser or a sanitizer
    fails on it."""
    render = partial(_render_with_images, _tools().markdown, images or {})
    pages = split_pages(_clean_text(source))
    return PAGE_BREAK.join(sanitize_author_html(_guarded(render, page)) for page in pages)


def is_media_url(value: str) -> bool:
    """Is ``value`` the address of one of the site's own media files (a path, no host)?"""
    return bool(MEDIA_URL.fullmatch(value))


def is_media_srcset(value: str) -> bool:
    """A srcset of width candidates (``URL 300w, ...``) whose every URL is a media address."""
    candidates = value.split(",")
    if len(candidates) > MAX_SRCSET_CANDIDATES:
        return False
    for candidate in candidates:
        match = _SRCSET_CANDIDATE.fullmatch(candidate.strip())
        if match is None or not is_media_url(match[1]):
            return False
    return True


def _render_with_images(md: MarkdownIt, images: ImageAttributes, text: str) -> str:
    env: dict[str, Any] = {}
    tokens = md.parse(text, env)
    if images:
        for token in tokens:
            if token.type == "html_block":
                token.content = raw_images(token.content, images)
            for child in token.children or ():
                if child.type == "html_inline":
                    child.content = raw_images(child.content, images)
                extra = (
                    images.get(str(child.attrs.get("src", ""))) if child.type == "image" else None
                )
                for name, value in (extra or {}).items():
                    child.attrSet(name, value)
    return str(md.renderer.render(tokens, md.options, env))


def raw_images(html_text: str, images: ImageAttributes) -> str:
    """``<img>`` tags written as HTML (an imported WordPress post's) gain the attributes of
    ``images`` as Markdown images do: srcset, and sizes from the tag's own width when it has
    one (the width it is shown at, as WordPress's wp_calculate_image_sizes); width and height
    only when the tag has neither. The sanitizer runs after, on the whole."""
    return _RAW_IMG.sub(partial(_raw_image, images), html_text)


def _raw_image(images: ImageAttributes, match: re.Match[str]) -> str:
    tag = match[0]
    attributes = {
        m[1].lower(): html.unescape(m[3] if m[3] is not None else m[4] or m[5] or "")
        for m in _RAW_ATTRIBUTE.finditer(tag, 4)
    }
    extra = dict(images.get(attributes.get("src", "").strip(), {}))
    if not extra:
        return tag
    width = attributes.get("width", "").strip()
    if "sizes" in extra and _WIDTH.fullmatch(width):
        extra["sizes"] = f"(max-width: {width}px) 100vw, {width}px"
    if "width" in attributes or "height" in attributes:
        extra.pop("width", None)
        extra.pop("height", None)
    kept = tag[4:]
    for m in reversed(list(_RAW_ATTRIBUTE.finditer(tag, 4))):
        if m[1].lower() in extra:
            kept = kept[: m.start() - 4] + kept[m.end() - 4 :]
    added = "".join(f' {name}="{html.escape(value)}"' for name, value in extra.items())
    return f"<img{added}{kept}"


def split_pages(text: str) -> list[str]:
    """A text's pages, split at ``<!--nextpage-->`` as WordPress's setup_postdata does (the
    newlines around the marker go with it); one page when there is no marker."""
    if PAGE_BREAK not in text:
        return [text]
    for around in (f"\n{PAGE_BREAK}\n", f"\n{PAGE_BREAK}", f"{PAGE_BREAK}\n"):
        text = text.replace(around, PAGE_BREAK)
    return text.split(PAGE_BREAK)


def second_wall(html: str, *, author: bool = False) -> str:
    """nh3's cleaning of already sanitized HTML with the same allowlist (the author's wider one
    with ``author``): ``html`` itself when nh3 would change nothing, else nh3's stricter result,
    with a warning logged that names the input by a short digest only."""
    cleaned = nh3.clean(html, **(_NH3_AUTHOR if author else _NH3_COMMENT))
    if _canonical(cleaned) == _canonical(html):
        return html
    digest = hashlib.sha256(html.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    log.warning(
        "nh3 changed the output of bleach (%s HTML, %d characters, sha256 %s); nh3's kept",
        "author" if author else "comment",
        len(html),
        digest,
    )
    return cleaned


def count_links(html: str) -> int:
    """Count the `<a href>` links in sanitized HTML, linkified bare URLs included."""
    root = _tools().parser.parseFragment(html, scripting=True)
    return sum(1 for element in root.iter("a") if "href" in element.attrib)


def html_to_text(html: str, limit: int | None = None) -> str:
    """Return the plain text of sanitized HTML, whitespace collapsed (not HTML-escaped).

    With `limit`, the result is at most `limit` characters: cut on a word boundary and ended
    with an ellipsis when the text is longer.
    """
    return shorten(" ".join(text_blocks(html)), limit)


def text_blocks(html: str) -> list[str]:
    """The text of each block of sanitized HTML (heading, paragraph, list item, table cell,
    quotation, code block...), in order, whitespace collapsed, empty blocks left out. Words of
    two blocks are never in one string; inline markup (``<em>``, ``<a>``) splits nothing."""
    tools = _tools()
    blocks: list[str] = []
    parts: list[str] = []
    skipping = 0
    for token in tools.walker(tools.parser.parseFragment(html, scripting=True)):
        kind, name = token["type"], token.get("name")
        if name in DROP_CONTENT_TAGS and kind in ("StartTag", "EndTag"):
            skipping += 1 if kind == "StartTag" else -1
        elif kind in ("Characters", "SpaceCharacters") and not skipping:
            parts.append(token["data"])
        elif name in _BLOCK_TEXT_TAGS:
            _end_block(parts, blocks)
    _end_block(parts, blocks)
    return blocks


def _end_block(parts: list[str], blocks: list[str]) -> None:
    text = " ".join("".join(parts).split())
    if text:
        blocks.append(text)
    parts.clear()


def shorten(text: str, limit: int | None) -> str:
    """``text`` when it has at most ``limit`` characters (or no limit is given), else cut on a
    word boundary and ended with an ellipsis, ``limit`` characters at most in all."""
    if limit is None or len(text) <= limit:
        return text
    if limit < 1:
        return ""
    cut = text[: limit - 1]
    if text[limit - 1] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-·") + "…"


# --- the edge: failures, references, the second wall -----------------------------------------


def _guarded(clean: Callable[[str], str], text: str) -> str:
    """``clean(text)``, any failure of a parser raised as SanitizeFailed."""
    try:
        return clean(text)
    except SanitizeFailed:
        raise
    except Exception as error:  # a parser's bug can raise anything: refuse the text, never 500
        log.warning("a parser failed on %d characters: %s", len(text), type(error).__name__)
        raise SanitizeFailed() from error


def _short_reference(match: re.Match[str]) -> str:
    hex_mark, hex_digits, digits = match.groups()
    value = hex_digits or digits
    if len(value) > MAX_REFERENCE_DIGITS:  # past U+10FFFF: a browser shows U+FFFD
        return "&#65533"
    return f"&#{hex_mark or ''}{value}"


def short_references(text: str) -> str:
    """``text`` with each numeric character reference's leading zeros dropped and a reference
    past the last code point replaced by U+FFFD's, as a browser reads them: what the parsers see
    then has at most MAX_REFERENCE_DIGITS digits per reference. Linear time."""
    return _NUMERIC_REFERENCE.sub(_short_reference, text) if "&#" in text else text


def _clean_comment(text: str) -> str:
    cleaned = _tools().comment_cleaner.clean(short_references(text))
    return second_wall(_recheck(cleaned, _COMMENT_POLICY))


def _clean_author_html(text: str) -> str:
    cleaned = _tools().author_cleaner.clean(short_references(text))
    return second_wall(_recheck(cleaned, _AUTHOR_POLICY), author=True)


def _nh3_options(tags: frozenset[str], attributes: Mapping[str, frozenset[str]]) -> dict[str, Any]:
    return {
        "tags": set(tags),
        "attributes": {tag: set(names) for tag, names in attributes.items()},
        "url_schemes": set(URL_SCHEMES),
        "link_rel": None,
        "strip_comments": True,
    }


def _sizes_allowed(value: str) -> bool:
    return bool(_SIZES.fullmatch(value))


_RESPONSIVE_CHECKS: Mapping[str, Callable[[str], bool]] = {
    "srcset": is_media_srcset,
    "sizes": _sizes_allowed,
}


_NH3_COMMENT = {
    **_nh3_options(COMMENT_TAGS | GENERATED_TAGS, COMMENT_ATTRIBUTES),
    "tag_attribute_values": {"a": {"rel": {COMMENT_LINK_REL}}},
}


def _nh3_attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's check of an author's attribute value: the same rule as bleach's, nothing more
    (srcset and sizes on img only for the site's own media, classes and text-align)."""
    if tag == "img" and name in _RESPONSIVE_CHECKS:
        return value if _RESPONSIVE_CHECKS[name](value) else None
    if tag == "code" and name == "class":
        return value if _LANGUAGE_CLASS.fullmatch(value) else None
    return allowed_value(tag, name, value)


_NH3_AUTHOR = {
    **_nh3_options(AUTHOR_TAGS, AUTHOR_ATTRIBUTES),
    "clean_content_tags": set(DROP_CONTENT_TAGS),
    "attribute_filter": _nh3_attribute,
}


def _canonical(html: str) -> str:
    """What html5lib's and html5ever's serializers write differently for the same tree: nh3
    escapes `>` in attribute values and writes U+00A0 as `&nbsp;`."""
    return html.replace("&gt;", ">").replace("&nbsp;", "\u00a0")


# --- URL check ------------------------------------------------------------------------------


def _checked_url(value: str, schemes: frozenset[str], *, allow_relative: bool) -> str | None:
    url = _URL_NOISE.sub("", value).strip(_LEADING_TRAILING)
    if not url:
        return None
    decoded = url
    for _ in range(5):  # `&amp;#106;` is `&#106;` is `j`: keep decoding while it changes
        decoded, previous = html.unescape(short_references(decoded)), decoded
        if decoded == previous:
            break
    else:
        return None
    squeezed = "".join(
        char for char in decoded if unicodedata.category(char) not in _INVISIBLE_CATEGORIES
    )
    scheme = _SCHEME.match(squeezed.replace("\ufffd", ""))
    if scheme is None:
        return url if allow_relative else None
    if scheme[1].lower() not in schemes:
        return None
    own_scheme = _SCHEME.match(url)
    return url if own_scheme is None else own_scheme[1].lower() + url[own_scheme.end(1) :]


# --- bleach pass ----------------------------------------------------------------------------


def _allows_attribute(
    attributes: Mapping[str, frozenset[str]], tag: str, name: str, value: str
) -> bool:
    if name not in attributes.get(tag, ()):
        return False
    if tag == "img" and name in _RESPONSIVE_CHECKS:
        return _RESPONSIVE_CHECKS[name](value)
    if tag == "code":
        return bool(_LANGUAGE_CLASS.fullmatch(value))
    return name not in ("class", "style") or bool(allowed_value(tag, name, value))


def allowed_value(tag: str, name: str, value: str) -> str | None:
    """An author's class or style value reduced to what the allowlist keeps: the alignment
    classes (:data:`ALIGNMENT_CLASS`), and one ``text-align: <keyword>;`` written afresh from
    its keyword (never the author's own text, so no expression(), url(), escape or comment
    survives). None when nothing is left. Other attributes are returned as they are."""
    if name == "class" and tag != "code":
        kept = [c for c in value.split() if ALIGNMENT_CLASS.fullmatch(c)]
        return " ".join(dict.fromkeys(kept)) or None
    if name == "style":
        align = None
        for declaration in value.split(";"):
            prop, colon, keyword = declaration.partition(":")
            if colon and prop.strip().lower() == "text-align":
                keyword = keyword.strip().lower()
                align = keyword if keyword in TEXT_ALIGN_VALUES else None
        return f"text-align: {align};" if align else None
    return value


class _DropContentFilter(_TokenFilter):
    """Remove DROP_CONTENT_TAGS elements from a tree-walker stream, with everything inside."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        depth = 0
        for token in super().__iter__():
            kind = token["type"]
            if depth:
                depth += {"StartTag": 1, "EndTag": -1}.get(kind, 0)
            elif token.get("name") in DROP_CONTENT_TAGS and kind != "EndTag":
                depth = int(kind == "StartTag")
            elif token.get("name") not in DROP_CONTENT_TAGS:
                yield token


class _AuthorCleaner(Cleaner):
    """bleach's Cleaner in strip mode that also drops the content of DROP_CONTENT_TAGS.

    bleach's tokenizer turns a tag outside the allowlist into text before the tree is built, so
    `<script>` content would survive as visible text. Here those tags are parsed for what they are
    (raw-text elements, as a browser does) and removed with their content before bleach's filter.
    """

    def __init__(self) -> None:
        super().__init__(
            tags=AUTHOR_TAGS,
            attributes=partial(_allows_attribute, AUTHOR_ATTRIBUTES),
            protocols=URL_SCHEMES,
            strip=True,
            strip_comments=True,
            css_sanitizer=CSSSanitizer(allowed_css_properties=CSS_PROPERTIES),
        )
        self.parser = BleachHTMLParser(
            tags=AUTHOR_TAGS | DROP_CONTENT_TAGS,
            strip=True,
            consume_entities=False,
            namespaceHTMLElements=False,
        )
        self._walk = _TreeWalker
        # types-bleach types `walker` as a walker instance; bleach calls it with the tree.
        self.walker = self._walk_without_dropped  # type: ignore[assignment]

    def _walk_without_dropped(self, tree: Element) -> _DropContentFilter:
        return _DropContentFilter(self._walk(tree))


class _LinkifyFilter(LinkifyFilter):
    """bleach's LinkifyFilter, keeping a closing parenthesis only when it has an opening one."""

    def strip_non_url_bits(self, fragment: str) -> tuple[str, str, str]:
        url, prefix, suffix = super().strip_non_url_bits(fragment)
        while url.endswith(")") and url.count(")") > url.count("("):
            url, suffix = url[:-1], ")" + suffix
        return url, prefix, suffix


def _comment_cleaner() -> Cleaner:
    linkify = partial(
        _LinkifyFilter, callbacks=[], skip_tags={"code"}, parse_email=False, url_re=_LINKIFY_URL
    )
    return Cleaner(
        tags=COMMENT_TAGS,
        attributes=partial(_allows_attribute, COMMENT_ATTRIBUTES),
        protocols=URL_SCHEMES,
        strip=False,
        strip_comments=True,
        filters=[linkify],
    )


def _align_table_cells(state: StateCore) -> None:
    """markdown-it aligns cells with `style`, which we strip; use the `align` attribute."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and "style" in token.attrs:
            align = _TEXT_ALIGN.fullmatch(str(token.attrs.pop("style")))
            if align:
                token.attrSet("align", align[1])


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.core.ruler.push("align_table_cells", _align_table_cells)
    return md


_EtreeWalker: Any = getTreeWalker("etree")


class _TreeWalker(_EtreeWalker):  # type: ignore[misc]
    """html5lib's etree walker, without its quadratic step: going back up to a parent, it found
    the parent's position by counting and searching the grandparent's children (a table of
    10,000 rows took 6 s). Here each element's children are indexed once per walk."""

    def __init__(self, tree: Element) -> None:
        super().__init__(tree)
        self._positions: dict[Element, dict[Element, int]] = {}

    def getParentNode(self, node: Any) -> Any:  # html5lib's name
        if not isinstance(node, tuple) or node[3] == "text" or len(node[2]) < 2:
            return super().getParentNode(node)
        parents = node[2]
        parent = parents.pop()
        grandparent = parents[-1]
        positions = self._positions.get(grandparent)
        if positions is None:
            positions = self._positions[grandparent] = {c: i for i, c in enumerate(grandparent)}
        return parent, positions[parent], parents, None


class _Tools:
    """Parsers and cleaners, built once per thread: bleach's Cleaner is not thread-safe."""

    def __init__(self) -> None:
        self.comment_cleaner = _comment_cleaner()
        # types-bleach types `walker` as a walker instance; bleach calls it with the tree.
        self.comment_cleaner.walker = _TreeWalker  # type: ignore[assignment]
        self.author_cleaner = _AuthorCleaner()
        self.markdown = _markdown()
        self.parser = HTMLParser(namespaceHTMLElements=False)
        self.walker = _TreeWalker
        self.serializer = HTMLSerializer(
            quote_attr_values="always",
            use_best_quote_char=False,  # `"` always, as nh3 writes it: the walls' outputs compare
            escape_lt_in_attrs=True,
            escape_rcdata=True,
            omit_optional_tags=False,
        )


_PER_THREAD = threading.local()


def _tools() -> _Tools:
    tools: _Tools | None = getattr(_PER_THREAD, "tools", None)
    if tools is None:
        tools = _PER_THREAD.tools = _Tools()
    return tools


def _clean_text(text: str) -> str:
    """Lone surrogates (not encodable as UTF-8) become U+FFFD; NUL goes; newlines become \\n."""
    if _SURROGATES.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


# --- independent re-check on the parsed output ------------------------------------------------


@dataclass(frozen=True)
class _Policy:
    tags: frozenset[str]
    attributes: Mapping[str, frozenset[str]]
    link_rel: str | None  # forced on every link, or None to keep AUTHOR_REL_VALUES only
    paragraphs: bool


_COMMENT_POLICY = _Policy(COMMENT_TAGS, COMMENT_ATTRIBUTES, COMMENT_LINK_REL, paragraphs=True)
_AUTHOR_POLICY = _Policy(AUTHOR_TAGS, AUTHOR_ATTRIBUTES, None, paragraphs=False)


def _recheck(html: str, policy: _Policy) -> str:
    tools = _tools()
    root = tools.parser.parseFragment(html, scripting=True)
    # Reverse document order handles children before their parent, without recursion (deeply
    # nested input must not hit the recursion limit).
    parents = {child: parent for parent in root.iter() for child in parent}
    for element in reversed(list(root.iter())):
        if element is root:
            continue
        tag = element.tag
        if isinstance(tag, str) and tag in policy.tags:
            _recheck_attributes(element, policy)
        else:  # comments, foreign (svg/math) and unknown elements
            keep = isinstance(tag, str) and tag.rpartition("}")[2] not in DROP_CONTENT_TAGS
            _unwrap(parents[element], element, keep_content=keep)
    if policy.paragraphs:
        for element in list(root.iter()):
            if element is root or element.tag == "blockquote":
                _make_paragraphs(element)
            else:
                _fill(element, _with_line_breaks(_take_content(element)))
    return tools.serializer.render(tools.walker(root))


def _recheck_attributes(element: Element, policy: _Policy) -> None:
    tag = element.tag
    for name, value in list(element.attrib.items()):
        if not _allows_attribute(policy.attributes, tag, name, value):
            del element.attrib[name]
        elif name in ("class", "style") and tag != "code":
            element.set(name, allowed_value(tag, name, value) or "")
        elif name in URL_ATTRIBUTES or (tag, name) == ("img", "src"):
            schemes = IMAGE_SCHEMES if name == "src" else URL_ATTRIBUTES[name]
            url = _checked_url(value, schemes, allow_relative=True)
            if url is None:
                del element.attrib[name]
            else:
                element.set(name, url)
    if tag == "img" and not is_media_url(element.get("src", "")):
        element.attrib.pop("srcset", None)  # a media file's sizes on another image: dropped
        element.attrib.pop("sizes", None)
    if tag != "a":
        return
    rel = element.attrib.pop("rel", "")
    if "href" in element.attrib:
        kept = [value for value in rel.lower().split() if value in AUTHOR_REL_VALUES]
        rel = policy.link_rel or " ".join(dict.fromkeys(kept))
        if rel:
            element.set("rel", rel)


# --- tree editing (ElementTree keeps text in .text and .tail, hence these helpers) ----------

_Content = list[str | Element]


def _take_content(element: Element) -> _Content:
    """Detach and return the element's text and children (each followed by its tail)."""
    content: _Content = [element.text or ""]
    for child in element:
        content += [child, child.tail or ""]
        child.tail = None
    element.text = None
    element[:] = []
    return [item for item in content if item != ""]


def _fill(element: Element, content: _Content) -> None:
    """Append text and elements to an element, placing text in .text or the last child's .tail."""
    for item in content:
        if isinstance(item, str):
            last = element[-1] if len(element) else None
            if last is None:
                element.text = (element.text or "") + item
            else:
                last.tail = (last.tail or "") + item
        else:
            element.append(item)


def _unwrap(parent: Element, element: Element, *, keep_content: bool) -> None:
    content = _take_content(element) if keep_content else []
    content.append(element.tail or "")
    before = _take_content(parent)
    position = next(i for i, item in enumerate(before) if item is element)
    _fill(parent, before[:position] + content + before[position + 1 :])


def _with_line_breaks(content: _Content) -> _Content:
    result: _Content = []
    for item in content:
        if isinstance(item, str):
            lines = item.split("\n")
            result.append(lines[0])
            for line in lines[1:]:
                result += [Element("br"), "\n" + line]
        else:
            result.append(item)
    return result


def _paragraph_groups(container: Element) -> list[_Content | Element]:
    """The container's content split at blank lines, each blockquote a group of its own."""
    groups: list[_Content | Element] = []
    current: _Content = []
    for item in _take_content(container):
        if isinstance(item, Element) and item.tag == "blockquote":
            groups += [current, item]
            current = []
        elif isinstance(item, Element):
            current.append(item)
        else:
            first, *rest = _PARAGRAPH_BREAK.split(item)
            current.append(first)
            for part in rest:
                groups.append(current)
                current = [part]
    groups.append(current)
    return groups


def _paragraph(group: _Content) -> Element | None:
    """A ``<p>`` of a group, trimmed; None when nothing is left of it."""
    if group and isinstance(group[0], str):
        group[0] = group[0].lstrip()
    if group and isinstance(group[-1], str):
        group[-1] = group[-1].rstrip()
    if not any(isinstance(item, Element) or item for item in group):
        return None
    paragraph = Element("p")
    _fill(paragraph, _with_line_breaks(group))
    return paragraph


def _make_paragraphs(container: Element) -> None:
    """WordPress's wpautop on a parsed tree: blank lines split paragraphs, blockquotes stand alone.

    Structure is built as elements, never as markup strings, so text cannot turn into tags.
    """
    blocks: list[Element] = []
    for group in _paragraph_groups(container):
        block = group if isinstance(group, Element) else _paragraph(group)
        if block is not None:
            blocks.append(block)
    for number, block in enumerate(blocks):
        _fill(container, ["\n", block] if number else [block])
