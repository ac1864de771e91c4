"""A WordPress post's content as WordPress showed it, as HTML we can store and sanitize.

WordPress keeps a post's markup raw and applies its ``the_content`` filters on every view;
:func:`wordpress_html` applies them once, at import, in WordPress's order:

- shortcodes we can express: ``[caption]`` becomes a ``<figure class="wp-caption align...">``,
  ``[embed]``, ``[audio]`` and ``[video]`` a link to the address, ``[gallery]`` and
  ``[playlist]`` go (media are not imported); any other shortcode stays text, as WordPress shows
  one whose plugin is gone;
- oEmbed (WordPress's ``autoembed``): an address alone on its line or in its own paragraph
  (YouTube, Vimeo, X and any site with oEmbed discovery) became a frame and a third-party
  script; here it becomes a plain link, ``<a class="embed">``. A block-editor embed block holds
  its address the same way, so it is turned into a link by the same rule;
- ``<!--nextpage-->`` (the page breaks) and the first ``<!--more-->`` (the teaser's end) are
  kept, each on a line of its own; every other comment goes (block markers, notes);
- WordPress's paragraphs (:func:`blog.porting.wpautop.wpautop`) for classic-editor content.
  Content with blocks (``<!-- wp:`` anywhere, WordPress's ``has_blocks``) is left as it is:
  ``do_blocks`` takes ``wpautop`` off ``the_content`` for such a post.

The result is HTML blocks, which the Markdown renderer passes through to the sanitizer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from blog.porting.wpautop import wp_replace_in_html_tags, wpautop
from blog.sanitize import PAGE_BREAK, split_pages

BLOCK_MARKER = "<!-- wp:"
# A shortcode's attributes stop at the next `[` as well as `]`: when they could run over `[`, an
# opener without its `]` scanned on to the next shortcode's, for each opener (quadratic).
_CAPTION = re.compile(r"\[(?:wp_)?caption([^\][]*)\](.*?)\[/(?:wp_)?caption\]", re.S | re.I)
_CAPTION_IMAGE = re.compile(r"\s*((?:<a\s[^>]*>\s*)?<img\s[^>]*>(?:\s*</a>)?)(.*)", re.S | re.I)
_EMBED = re.compile(r"\[embed[^\][]*\](.*?)\[/embed\]", re.S | re.I)
_ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")
_URL_ATTRIBUTES = ("src", "mp4", "m4v", "webm", "ogv", "mp3", "ogg", "m4a", "wav", "wmv", "flv")
_ALIGN = re.compile(r"align(?:left|right|center|none)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)  # block markers, notes
# The closing marks of the lazy patterns above (see _sub_closed).
_CAPTION_END = re.compile(r"\[/(?:wp_)?caption\]", re.I)
_EMBED_END = re.compile(r"\[/embed\]", re.I)
_HTML_COMMENT_END = re.compile(r"-->")
# WordPress's get_the_content: the more tag, with its optional link text (see find_more).
_MORE_OPENER = "<!--more"
# WordPress's autoembed: an address alone on its line, or alone in its paragraph. Spaces only
# around it (WordPress's `\s*` may also take the blank lines before it, which changes nothing in
# what is matched): from each line start `\s*` ran over every following blank line (quadratic).
_URL_ON_ITS_LINE = re.compile(r"^([ \t\r\f\v]*)(https?://[^\s<>\"]+)([ \t\r\f\v]*)$", re.I | re.M)
_URL_IN_ITS_PARAGRAPH = re.compile(r"(<p(?: [^<>]*)?>\s*)(https?://[^\s<>\"]+)(\s*</p>)", re.I)
_ANY_URL = re.compile(r"(?:^|\s|>)https?://", re.I)
_LINE_BREAK_MARK = "<!-- wp-line-break -->"


def wordpress_html(content: str) -> str:
    """A post's content as WordPress shows it, as HTML: shortcodes, embeds and paragraphs
    applied, ``<!--more-->`` and ``<!--nextpage-->`` kept on lines of their own."""
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    blocks = BLOCK_MARKER in text
    text = _sub_closed(_CAPTION, _CAPTION_END, _caption, text)
    text = _sub_closed(_EMBED, _EMBED_END, lambda m: _paragraph_link(m[1]), text)
    text = _sub_kinds(("audio", "video"), _media, text)  # [video mp4="..."][/video]
    text = _sub_kinds(("gallery", "playlist"), "", text)
    text = autoembed(text)
    pages = [_page(page, blocks) for page in split_pages(text)]
    return f"\n\n{PAGE_BREAK}\n\n".join(pages)


def _page(text: str, blocks: bool) -> str:
    """One page: its teaser and the rest, each without comments and (classic content) with
    WordPress's paragraphs, joined by the more tag as it was written."""
    more = find_more(text)
    parts = [text] if more is None else [text[: more[0]], text[more[1] :]]
    shown = []
    for part in parts:
        part = _sub_closed(_HTML_COMMENT, _HTML_COMMENT_END, "", part)
        shown.append(part.strip("\n") if blocks else wpautop(part).strip("\n"))
    if more is None:
        return shown[0]
    tag = text[more[0] : more[1]]
    return f"{shown[0]}\n\n{tag}\n\n{shown[1]}".strip("\n")


def find_more(text: str) -> tuple[int, int] | None:
    """Where WordPress's ``/<!--more(.*?)?-->/`` first matches (start, end), in linear time:
    line by line, since ``.`` stops at a newline, and on a line only its first opener can match
    (a ``-->`` after a later opener is after the first too). Searched from every opener, a line
    of openers without ``-->`` cost quadratic time."""
    offset = 0
    for line in text.split("\n"):
        opener = line.find(_MORE_OPENER)
        if opener != -1:
            closer = line.find("-->", opener + len(_MORE_OPENER))
            if closer != -1:
                return offset + opener, offset + closer + 3
        offset += len(line) + 1
    return None


def embed_link(url: str) -> str:
    """What an oEmbed address becomes: a plain link to it, no frame and no script."""
    safe = html.escape(html.unescape(url.strip()))
    return f'<a href="{safe}" class="embed">{safe}</a>' if safe else ""


def autoembed(text: str) -> str:
    """WordPress's WP_Embed::autoembed with a link instead of the embed: each address alone on
    its line or in its paragraph, outside HTML tags, becomes :func:`embed_link`."""
    text = wp_replace_in_html_tags(text, {"\n": _LINE_BREAK_MARK})
    if _ANY_URL.search(text):

        def link(match: re.Match[str]) -> str:
            return match[1] + embed_link(match[2]) + match[3]

        text = _URL_ON_ITS_LINE.sub(link, text)
        text = _URL_IN_ITS_PARAGRAPH.sub(link, text)
    return text.replace(_LINE_BREAK_MARK, "\n")


def _attributes(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _ATTRIBUTE.finditer(text or "")}


def _caption(match: re.Match[str]) -> str:
    """WordPress's img_caption_shortcode as a figure, with its alignment class."""
    attributes = _attributes(match[1])
    picture = _CAPTION_IMAGE.match(match[2])
    body, caption = (picture[1], picture[2].strip()) if picture else (match[2].strip(), "")
    caption = caption or html.escape(attributes.get("caption", ""))
    figcaption = f'<figcaption class="wp-caption-text">{caption}</figcaption>' if caption else ""
    align = attributes.get("align", "")
    classes = "wp-caption " + align if _ALIGN.fullmatch(align) else "wp-caption"
    return f'<figure class="{classes}">{body}{figcaption}</figure>'


def _media(match: re.Match[str]) -> str:
    attributes = _attributes(match[2])
    url = next((attributes[k] for k in _URL_ATTRIBUTES if attributes.get(k)), "")
    url = url or (match[3] or "").strip()
    if not url:
        return ""
    safe = html.escape(url)
    return f'<a href="{safe}">{safe}</a>'


def _paragraph_link(url: str) -> str:
    link = embed_link(url)
    return f"<p>{link}</p>" if link else ""


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


def comment_text(content: str) -> str:
    """A WordPress comment as a reader would have typed it for our comment form.

    WordPress keeps comments as typed, but editors and plugins sometimes store ``<p>`` and
    ``<br>``, which our comment sanitizer would show as text: they become the blank lines and
    newlines it turns back into paragraphs and line breaks. Any other markup is left for it.
    """
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    text = _COMMENT_BREAK.sub("\n", text)
    return re.sub(r"\n{3,}", "\n\n", _COMMENT_PARAGRAPH.sub("\n\n", text)).strip()
