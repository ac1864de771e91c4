"""WordPress's paragraph conversion, ``wpautop``, ported from wp-includes/formatting.php.

A step-by-step port of WordPress 6.1's ``wpautop`` (the version whose sites we import) with its
helpers ``wp_html_split``, ``wp_replace_in_html_tags`` and
``_autop_newline_preservation_helper``, so that an imported classic-editor post shows the
paragraphs and line breaks WordPress showed. tests/porting/test_wpautop.py holds WordPress's own
test cases for it, as data.

PHP's PCRE without the ``u`` flag reads bytes: its ``\\s`` is ASCII whitespace only, so every
pattern here is compiled with ``re.ASCII`` (a no-break space is text, not a paragraph break).
PCRE's conditional group in ``wp_html_split`` is written as an alternation guarded by
look-aheads: each guarded branch always matches, so the two are the same.

Linear time (docs/limits.md): PCRE, like Python's ``re``, tries a pattern from every position,
and several of WordPress's patterns then scan to the end of the text (a tag's ``[^>]*`` with no
``>``, ``\\s*\\n`` in a long run of spaces, a lazy ``.*?`` with no closer). Here a tag's attributes
stop at ``<`` as well as ``>`` (``[^<>]*``), runs of spaces are entered at their start only, and a
lazy pattern is searched only up to its last closer (per kind for script, style and svg, per line
for ``<p><li``). The results differ from PHP's only for a ``<`` inside a tag's attributes or
interleaved script, style and svg elements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_A = re.ASCII
ALL_BLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre|"
    r"form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section|"
    r"article|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)
# get_html_split_regex(): an element, a comment or a CDATA section, each to its end (or to the
# end of the input when unclosed).
_COMMENT = r"!(?:-(?!->)[^\-]*+)*+(?:-->)?"
_CDATA = r"!\[CDATA\[[^\]]*+(?:\](?!\]>)[^\]]*+)*+(?:\]\]>)?"
_HTML_SPLIT = re.compile(
    rf"(<(?:(?=!--){_COMMENT}|(?=!\[CDATA\[){_CDATA}|[^>]*>?))",
)

_DOUBLE_BR = re.compile(r"<br\s*/?>\s*<br\s*/?>", _A)
_BLOCK_OPEN = re.compile(rf"(<{ALL_BLOCKS}[\s/>])", _A)
_BLOCK_CLOSE = re.compile(rf"(</{ALL_BLOCKS}>)", _A)
_HR = re.compile(r"(<hr\s*?/?>)", _A)
_BEFORE_OPTION = re.compile(r"(?:(?<!\s)\s*)?<option", _A)
_AFTER_OPTION = re.compile(r"</option>\s*", _A)
_OBJECT_OPEN = re.compile(r"(<object[^<>]*>)\s*", _A)
_OBJECT_CLOSE = re.compile(r"(?:(?<!\s)\s*)?</object>", _A)
_PARAM_EMBED = re.compile(r"(?:(?<!\s)\s*)?(</?(?:param|embed)[^<>]*>)\s*", _A)
_MEDIA_OPEN = re.compile(r"([<\[](?:audio|video)[^<>\[\]]*[>\]])\s*", _A)
_MEDIA_CLOSE = re.compile(r"(?:(?<!\s)\s*)?([<\[]/(?:audio|video)[>\]])", _A)
_SOURCE_TRACK = re.compile(r"(?:(?<!\s)\s*)?(<(?:source|track)[^<>]*>)\s*", _A)
_FIGCAPTION_OPEN = re.compile(r"(?:(?<!\s)\s*)?(<figcaption[^<>]*>)", _A)
_FIGCAPTION_CLOSE = re.compile(r"</figcaption>\s*", _A)
_MANY_BREAKS = re.compile(r"\n\n+")
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n", _A)
_EMPTY_P = re.compile(r"<p>\s*</p>", _A)
_UNCLOSED_IN_BLOCK = re.compile(r"<p>([^<]+)</(div|address|form)>")
_P_AROUND_BLOCK_TAG = re.compile(rf"<p>\s*(</?{ALL_BLOCKS}[^<>]*>)\s*</p>", _A)
_P_AROUND_LI = re.compile(r"<p>(<li.+?)</p>")  # `.` stops at a newline: applied line by line
_P_END = re.compile("</p>")
_P_BLOCKQUOTE = re.compile(r"<p><blockquote([^>]*)>", re.I)
_P_BEFORE_BLOCK = re.compile(rf"<p>\s*(</?{ALL_BLOCKS}[^<>]*>)", _A)
_P_AFTER_BLOCK = re.compile(rf"(</?{ALL_BLOCKS}[^<>]*>)\s*</p>", _A)
_KEEP_NEWLINES = {
    kind: (re.compile(rf"<{kind}.*?</{kind}>", re.S), re.compile(f"</{kind}>"))
    for kind in ("script", "style", "svg")
}
# WordPress's `(?<!<br />)\s*\n`, started only where a run of spaces starts (or one space after a
# <br />, where WordPress's look-behind moves it): tried from each space of a long run without a
# newline, it scanned to the run's end each time (quadratic).
_NEWLINE = re.compile(r"(?:(?<![^\S\n])|(?<=<br />[^\S\n]))(?<!<br />)\s*\n", _A)
_BR_AFTER_BLOCK = re.compile(rf"(</?{ALL_BLOCKS}[^<>]*>)\s*<br />", _A)
_BR_BEFORE_BLOCK = re.compile(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^<>]*>)", _A)
_LAST_NEWLINE = re.compile(r"\n</p>$")
_PRESERVED_NEWLINE = "<WPPreserveNewline />"
_NEWLINE_MARK = " <!-- wpnl --> "


def wp_html_split(text: str) -> list[str]:
    """The text cut into text and HTML elements (comments and CDATA whole): text at even
    positions, elements at odd ones, as PHP's preg_split with PREG_SPLIT_DELIM_CAPTURE."""
    return _HTML_SPLIT.split(text)


def wp_replace_in_html_tags(haystack: str, replace_pairs: Mapping[str, str]) -> str:
    """Replace within HTML elements only (the odd parts of :func:`wp_html_split`); PHP's strtr
    replaces the longest needle first at each position."""
    parts = wp_html_split(haystack)
    needles = sorted(replace_pairs, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, needles)))
    changed = False
    for i in range(1, len(parts), 2):
        if any(needle in parts[i] for needle in needles):
            parts[i] = pattern.sub(lambda m: replace_pairs[m[0]], parts[i])
            changed = True
    return "".join(parts) if changed else haystack


def _autop_newline_preservation_helper(match: re.Match[str]) -> str:
    return match[0].replace("\n", _PRESERVED_NEWLINE)


def _sub_closed(
    pattern: re.Pattern[str], closer: re.Pattern[str], replacement: Any, text: str
) -> str:
    """``pattern.sub`` for a pattern ending in ``closer`` after a lazy ``.*?``, searched only up
    to the last closer: past it no opener is closed, and each opener's scan to the end of the
    text made the work quadratic in the number of openers."""
    end = 0
    for found in closer.finditer(text):
        end = found.end()
    return pattern.sub(replacement, text[:end]) + text[end:] if end else text


def _hide_pre(text: str) -> tuple[str, dict[str, str]]:
    """``<pre>`` elements replaced by placeholders, which autop leaves alone."""
    pre_tags: dict[str, str] = {}
    if "<pre" not in text:
        return text, pre_tags
    *parts, last = text.split("</pre>")
    out = ""
    for part in parts:
        start = part.find("<pre")
        if start == -1:  # malformed HTML
            out += part
            continue
        name = f"<pre wp-pre-tag-{len(pre_tags)}></pre>"
        pre_tags[name] = part[start:] + "</pre>"
        out += part[:start] + name
    return out + last, pre_tags


def _collapse_inside_elements(text: str) -> str:
    """Line breaks around <option>, inside <object>, <audio>, <video> and around <figcaption>
    collapsed, so that they are not made paragraphs or <br />."""
    if "<option" in text:
        text = _AFTER_OPTION.sub("</option>", _BEFORE_OPTION.sub("<option", text))
    if "</object>" in text:
        text = _OBJECT_CLOSE.sub("</object>", _OBJECT_OPEN.sub(r"\1", text))
        text = _PARAM_EMBED.sub(r"\1", text)
    if "<source" in text or "<track" in text:
        text = _MEDIA_CLOSE.sub(r"\1", _MEDIA_OPEN.sub(r"\1", text))
        text = _SOURCE_TRACK.sub(r"\1", text)
    if "<figcaption" in text:
        text = _FIGCAPTION_OPEN.sub(r"\1", text)
        text = _FIGCAPTION_CLOSE.sub("</figcaption>", text)
    return text


def _paragraphs(text: str) -> str:
    """Every chunk between blank lines wrapped in <p>, then the <p> around block tags undone."""
    text = _MANY_BREAKS.sub("\n\n", text)
    chunks = [chunk for chunk in _PARAGRAPH_SPLIT.split(text) if chunk]
    text = "".join("<p>" + chunk.strip("\n") + "</p>\n" for chunk in chunks)
    text = _EMPTY_P.sub("", text)
    text = _UNCLOSED_IN_BLOCK.sub(r"<p>\1</p></\2>", text)
    text = _P_AROUND_BLOCK_TAG.sub(r"\1", text)
    text = "\n".join(_sub_closed(_P_AROUND_LI, _P_END, r"\1", line) for line in text.split("\n"))
    text = _P_BLOCKQUOTE.sub(r"<blockquote\1><p>", text)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = _P_BEFORE_BLOCK.sub(r"\1", text)
    return _P_AFTER_BLOCK.sub(r"\1", text)


def _line_breaks(text: str) -> str:
    """Each remaining newline made a <br />, except inside script, style and svg."""
    for pattern, closer in _KEEP_NEWLINES.values():
        text = _sub_closed(pattern, closer, _autop_newline_preservation_helper, text)
    text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
    text = _NEWLINE.sub("<br />\n", text)
    return text.replace(_PRESERVED_NEWLINE, "\n")


def wpautop(text: str, br: bool = True) -> str:
    """Double line breaks made paragraphs and, with ``br``, single ones ``<br />``, as
    WordPress's ``wpautop($text, $br)`` does."""
    if text.strip(" \t\n\r\0\x0b") == "":
        return ""
    text, pre_tags = _hide_pre(text + "\n")
    text = _DOUBLE_BR.sub("\n\n", text)
    text = _BLOCK_OPEN.sub(r"\n\n\1", text)
    text = _BLOCK_CLOSE.sub(r"\1\n\n", text)
    text = _HR.sub(r"\1\n\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = wp_replace_in_html_tags(text, {"\n": _NEWLINE_MARK})
    text = _paragraphs(_collapse_inside_elements(text))
    if br:
        text = _line_breaks(text)
    text = _BR_AFTER_BLOCK.sub(r"\1", text)
    text = _BR_BEFORE_BLOCK.sub(r"\1", text)
    text = _LAST_NEWLINE.sub("</p>", text)
    for name, original in pre_tags.items():
        text = text.replace(name, original)
    if "<!-- wpnl -->" in text:
        text = text.replace(_NEWLINE_MARK, "\n").replace("<!-- wpnl -->", "\n")
    return text
