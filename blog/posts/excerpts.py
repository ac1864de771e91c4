"""A post's automatic excerpt: the start of its text, its blocks kept apart, or the part
before the ``<!--more-->`` tag.

Blocks (headings, paragraphs, list items, table cells, quotations, code blocks) stay apart:
a block that ends a sentence is followed by a space, any other by " · ", so a table's cells
read "Step · Who · Isolate the machine · IT lead", never as one sentence, and two words of
different blocks are never joined.

``<!--more-->`` (WordPress's "more" tag, optionally with text: ``<!--more Read on-->``) in the
Markdown body ends the excerpt there: lists show the part before it, the post page shows all.
The sanitizer removes HTML comments, so the tag is looked for in the source, before rendering;
one inside a code block or a code span is text, not a tag.
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt

from blog.models import Post
from blog.sanitize import SanitizeFailed, html_to_text, render_markdown, shorten, text_blocks

EXCERPT_LENGTH = 300  # characters of an excerpt made from the start of the text
TEASER_LENGTH = 5_000  # at most, of the part before <!--more--> (the longest typed excerpt)
BLOCK_SEPARATOR = " · "
# What ends a block so that the next one reads as a new sentence without a separator.
_SENTENCE_ENDS = frozenset(".!?:;,…")
_CLOSING = "\"'\u201d\u2019\u00bb)]*"  # quotes and brackets that close a sentence
# The tag, with its optional text bounded so that a run of "<!--more" costs linear time.
MORE_TAG = re.compile(r"<!--more(?:\s[^>\n]{0,200})?-->")
_CODE_BLOCKS = frozenset({"fence", "code_block"})


def readable_text(html: str) -> str:
    """The plain text of sanitized HTML with its blocks kept apart (see the module's note)."""
    pieces: list[str] = []
    for block in text_blocks(html):
        if pieces:
            ends_sentence = pieces[-1].rstrip(_CLOSING)[-1:] in _SENTENCE_ENDS
            pieces.append(" " if ends_sentence else BLOCK_SEPARATOR)
        pieces.append(block)
    return "".join(pieces)


def split_more(source: str) -> tuple[str, str] | None:
    """The Markdown before and after the first ``<!--more-->`` tag outside code, or None."""
    code_lines: list[tuple[int, int]] | None = None
    for match in MORE_TAG.finditer(source):
        if code_lines is None:
            code_lines = _code_line_ranges(source)
        line = source.count("\n", 0, match.start())
        if any(start <= line < end for start, end in code_lines):
            continue
        line_start = source.rfind("\n", 0, match.start()) + 1
        if source.count("`", line_start, match.start()) % 2:
            continue  # inside a code span
        return source[: match.start()], source[match.end() :]
    return None


def automatic_excerpt(source: str, body_html: str) -> str:
    """The excerpt a post gets when none is typed: the text before ``<!--more-->``, or the
    first EXCERPT_LENGTH characters of the text, cut on a word."""
    parts = split_more(source)
    if parts is not None:
        try:
            return shorten(readable_text(render_markdown(parts[0])), TEASER_LENGTH)
        except SanitizeFailed:
            pass  # the whole body rendered; a part of it that does not is cut like any text
    return shorten(readable_text(body_html), EXCERPT_LENGTH)


def typed_excerpt(post: Post) -> str:
    """The excerpt its writer typed, or "" when the post has the automatic one."""
    return "" if is_automatic(post.excerpt, post.body_source, post.body_html) else post.excerpt


def is_automatic(excerpt: str, source: str, body_html: str) -> bool:
    """Whether ``excerpt`` is the automatic one of this text, as made now or as made before
    blocks were kept apart (their text joined by plain spaces)."""
    return excerpt in (
        automatic_excerpt(source, body_html),
        html_to_text(body_html, limit=EXCERPT_LENGTH),
    )


def _code_line_ranges(source: str) -> list[tuple[int, int]]:
    """The line ranges [start, end) of the fenced and indented code blocks of ``source``."""
    tokens = _markdown().parse(source)
    return [(t.map[0], t.map[1]) for t in tokens if t.type in _CODE_BLOCKS and t.map]


@cache
def _markdown() -> MarkdownIt:
    # Only block structure is wanted here; parsing keeps its state per call.
    return MarkdownIt("commonmark")
