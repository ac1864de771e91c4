"""Unit tests of blog.sanitize: hostile input comes out inert, polite input as a person expects."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import pytest
from bleach.html5lib_shim import HTMLParser
from hypothesis import given, settings
from hypothesis import strategies as st

from blog.sanitize import (
    MAX_AUTHOR_DEPTH,
    SanitizeFailed,
    count_links,
    html_to_text,
    render_markdown,
    safe_http_url,
    safe_url,
    sanitize_author_html,
    sanitize_comment,
    second_wall,
)
from tests.paths import PUBLIC_VECTORS
from tests.xss_payloads import PAYLOADS

XHTML = "http://www.w3.org/1999/xhtml"
REL = "nofollow ugc noopener"


# --- the inert checker: the output parsed as a browser parses it ------------------------------


@dataclass(frozen=True)
class Allowed:
    tags: frozenset[str]
    attributes: Mapping[str, frozenset[str]]
    forced_rel: str | None


_COMMENT_ATTRS = {
    "a": frozenset({"href", "title", "rel"}),
    "abbr": frozenset({"title"}),
    "acronym": frozenset({"title"}),
    "blockquote": frozenset({"cite"}),
    "del": frozenset({"datetime"}),
    "q": frozenset({"cite"}),
}
COMMENT = Allowed(
    frozenset(
        {
            "a",
            "abbr",
            "acronym",
            "b",
            "blockquote",
            "cite",
            "code",
            "del",
            "em",
            "i",
            "q",
            "s",
            "strike",
            "strong",
            "p",
            "br",
        }
    ),
    _COMMENT_ATTRS,
    REL,
)
AUTHOR = Allowed(
    COMMENT.tags
    | frozenset(
        {
            "hr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "ul",
            "ol",
            "li",
            "dl",
            "dt",
            "dd",
            "table",
            "thead",
            "tbody",
            "tfoot",
            "tr",
            "th",
            "td",
            "img",
            "pre",
            "figure",
            "figcaption",
            "sup",
            "sub",
            "span",
            "div",
            "mark",
            "kbd",
        }
    ),
    {
        **_COMMENT_ATTRS,
        "ol": frozenset({"start"}),
        "th": frozenset({"align", "colspan", "rowspan", "scope"}),
        "td": frozenset({"align", "colspan", "rowspan"}),
        "img": frozenset({"src", "alt", "title", "width", "height"}),
        "code": frozenset({"class"}),
    },
    None,
)
# WordPress's layout classes and paragraph alignment, on post bodies only.
_CLASS_TAGS = {"p", "div", "figure", "figcaption", "img", "a", "span", "table", "ul", "ol", "li"}
_CLASS_TAGS |= {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
_STYLE_TAGS = {"p", "div", "figure", "figcaption", "li", "td", "th", "blockquote"}
_STYLE_TAGS |= {"h1", "h2", "h3", "h4", "h5", "h6"}
AUTHOR = Allowed(
    AUTHOR.tags,
    {
        tag: AUTHOR.attributes.get(tag, frozenset())
        | ({"class"} if tag in _CLASS_TAGS else set())
        | ({"style"} if tag in _STYLE_TAGS else set())
        for tag in AUTHOR.attributes.keys() | _CLASS_TAGS | _STYLE_TAGS
    },
    None,
)
ALIGNMENT_CLASS = (
    r"align(left|right|center|none)|wp-image-\d+|size-[a-z0-9_-]+|wp-caption(-text|-dd)?"
    r"|has-text-align-(left|center|right|justify)|embed"
)


def browser_scheme(url: str) -> str | None:
    """The scheme of a URL attribute value, read generously: None means a relative URL."""
    previous = None
    while previous != url:
        previous, url = url, html.unescape(url)
    squeezed = "".join(c for c in url if unicodedata.category(c)[0] not in "CZ").lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", squeezed)
    return match[1] if match else None


def parse(output: str) -> Element:
    return HTMLParser(namespaceHTMLElements=False).parseFragment(output, scripting=True)


def assert_inert(output: str, allowed: Allowed) -> None:
    """Fail unless `output`, read by a browser, has only allowlisted elements and safe URLs."""
    assert not re.search(r"<\s*/?\s*(script|style|iframe|svg|math|object|embed)", output, re.I)
    root = HTMLParser(namespaceHTMLElements=True).parseFragment(output, scripting=True)
    for element in root.iter():
        if element is root:
            continue
        assert isinstance(element.tag, str), f"comment or instruction in {output!r}"
        namespace, _, name = element.tag[1:].partition("}")
        assert namespace == XHTML, f"foreign element {element.tag} in {output!r}"
        assert name in allowed.tags, f"<{name}> in {output!r}"
        for attribute, value in element.attrib.items():
            where = f"{name}[{attribute}={value!r}] in {output!r}"
            assert not attribute.lower().startswith("on"), where
            assert attribute in allowed.attributes.get(name, ()), where
            if attribute in ("href", "src", "cite"):
                assert safe_url(value) is not None, where
                schemes = {"http", "https"} if attribute == "src" else {"http", "https", "mailto"}
                assert browser_scheme(value) in schemes | {None}, where
            if attribute == "class" and name == "code":
                assert re.fullmatch(r"language-[\w+#.-]+", value), where
            elif attribute == "class":
                assert all(re.fullmatch(ALIGNMENT_CLASS, c) for c in value.split()), where
            if attribute == "style":
                assert re.fullmatch(r"text-align: (left|right|center|justify|start|end);", value)
            if attribute == "rel" and allowed.forced_rel:
                assert value == allowed.forced_rel, where


CLEANERS: list[tuple[Callable[[str], str], Allowed]] = [
    (sanitize_comment, COMMENT),
    (render_markdown, AUTHOR),
    (sanitize_author_html, AUTHOR),
]
CLEANER_IDS = ["comment", "markdown", "author_html"]


@pytest.mark.parametrize(("clean", "allowed"), CLEANERS, ids=CLEANER_IDS)
@pytest.mark.parametrize("payload", [p for _, p in PAYLOADS], ids=[i for i, _ in PAYLOADS])
def test_hostile_payload_comes_out_inert(
    clean: Callable[[str], str], allowed: Allowed, payload: str
) -> None:
    assert_inert(clean(payload), allowed)


def test_hostile_payloads_are_many_and_distinct() -> None:
    assert len(PAYLOADS) >= 80
    assert len({i for i, _ in PAYLOADS}) == len({p for _, p in PAYLOADS}) == len(PAYLOADS)


@pytest.mark.skipif(not PUBLIC_VECTORS.exists(), reason="shared XSS corpus not present")
@pytest.mark.parametrize(("clean", "allowed"), CLEANERS, ids=CLEANER_IDS)
def test_every_public_vector_comes_out_inert(clean: Callable[[str], str], allowed: Allowed) -> None:
    vectors = [json.loads(line) for line in PUBLIC_VECTORS.read_text("utf-8").splitlines() if line]
    assert len(vectors) >= 562
    failures = []
    for vector in vectors:
        output = clean(vector["payload"])
        try:
            assert_inert(output, allowed)
        except AssertionError as error:
            failures.append(f"{vector['id']}: {error}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "payload",
    [
        '<a href="javascript:123">x</a>',
        '<a href="javascript:0">x</a>',
        '<blockquote cite="javascript:1">x</blockquote>',
    ],
)
def test_scheme_followed_by_digits_is_dropped_but_link_text_kept(payload: str) -> None:
    output = sanitize_comment(payload)
    assert "javascript" not in output
    assert html_to_text(output) == "x"


# --- comments: polite input --------------------------------------------------------------


def test_quotes_stay_readable() -> None:
    output = sanitize_comment('Don\'t say “never” or "always"')
    assert html_to_text(output) == 'Don\'t say “never” or "always"'
    assert "&amp;" not in output and "&#" not in output


def test_code_with_less_than_is_shown() -> None:
    output = sanitize_comment("<code>x < y</code>")
    assert [c.text for c in parse(output).iter("code")] == ["x < y"]


def test_comparison_operators_display_as_text() -> None:
    output = sanitize_comment("a < b and c > d")
    assert html_to_text(output) == "a < b and c > d"
    assert [e.tag for e in parse(output).iter()][1:] == ["p"]


def test_bare_url_becomes_nofollow_link() -> None:
    output = sanitize_comment("see https://example.com/path?a=1&b=2 now")
    [link] = parse(output).iter("a")
    assert link.get("href") == "https://example.com/path?a=1&b=2"
    assert link.text == "https://example.com/path?a=1&b=2"
    assert link.get("rel") == REL


def test_bare_www_domain_becomes_http_link() -> None:
    [link] = parse(sanitize_comment("try www.example.org.")).iter("a")
    assert link.get("href") == "http://www.example.org"
    assert link.text == "www.example.org"


@pytest.mark.parametrize(
    "text",
    [
        "ftp://files.example.com/x",
        "setup.py and README.md",
        "javascript:alert(1)",
        "mail me at someone@example.com",
        "<code>https://example.com</code>",
    ],
)
def test_only_http_urls_and_www_are_linkified(text: str) -> None:
    assert count_links(sanitize_comment(text)) == 0


def test_url_in_parentheses_keeps_its_own_parentheses() -> None:
    output = sanitize_comment("(see https://en.wikipedia.org/wiki/Foo_(bar)).")
    [link] = parse(output).iter("a")
    assert link.get("href") == "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert html_to_text(output) == "(see https://en.wikipedia.org/wiki/Foo_(bar))."


def test_user_rel_is_replaced() -> None:
    output = sanitize_comment('<a href="https://x.org" rel="dofollow" title="t">x</a>')
    [link] = parse(output).iter("a")
    assert link.attrib == {"href": "https://x.org", "rel": REL, "title": "t"}


def test_emoji_and_right_to_left_text_untouched() -> None:
    text = "مرحبا بالعالم — שלום עולם 😀👍🏽"
    assert html_to_text(sanitize_comment(text)) == text
    assert text in sanitize_comment(text)


def test_blank_line_makes_two_paragraphs_and_newline_a_break() -> None:
    root = parse(sanitize_comment("first line\nsecond line\n\nsecond paragraph\r\n"))
    paragraphs = list(root.iter("p"))
    assert len(paragraphs) == 2
    assert len(list(paragraphs[0].iter("br"))) == 1
    assert not list(paragraphs[1].iter("br"))
    assert "".join(paragraphs[1].itertext()) == "second paragraph"


def test_blockquote_gets_its_own_paragraphs() -> None:
    output = sanitize_comment("intro\n<blockquote>one\n\ntwo</blockquote>\nafter")
    root = parse(output)
    assert [e.tag for e in root] == ["p", "blockquote", "p"]
    assert [e.tag for e in root[1]] == ["p", "p"]


def test_script_is_displayed_as_text_in_comments() -> None:
    output = sanitize_comment("<script>alert(1)</script>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in output
    assert html_to_text(output) == "<script>alert(1)</script>"


def test_allowed_comment_markup_survives() -> None:
    source = (
        "<b>b</b> <i>i</i> <em>em</em> <strong>st</strong> <s>s</s> <strike>k</strike> "
        '<del datetime="2024-01-01">d</del> <abbr title="t">a</abbr> '
        '<acronym title="t">ac</acronym> <cite>c</cite> <code>co</code> <q cite="https://x.org">q</q>'
    )
    tags = {e.tag for e in parse(sanitize_comment(source)).iter()}
    assert tags >= {
        "b",
        "i",
        "em",
        "strong",
        "s",
        "strike",
        "del",
        "abbr",
        "acronym",
        "cite",
        "code",
        "q",
        "p",
    }


def test_empty_and_blank_comments_give_empty_html() -> None:
    assert sanitize_comment("") == ""
    assert sanitize_comment(" \n\n\t") == ""


def test_mailto_link_kept() -> None:
    [link] = parse(sanitize_comment('<a href="MAILTO:me@example.com">me</a>')).iter("a")
    assert link.get("href") == "mailto:me@example.com"


def test_nul_and_lone_surrogates_do_not_crash() -> None:
    output = sanitize_comment("a\x00b \ud800 c \udfff\ud83d")
    output.encode("utf-8")
    assert html_to_text(output) == "ab \ufffd c \ufffd\ufffd"
    assert sanitize_comment("\ud83d\ude00") == "<p>\U0001f600</p>"  # a pair is joined


def test_deeply_nested_markup_neither_crashes_nor_hangs() -> None:
    assert_inert(sanitize_comment("<b>" * 5000 + "x"), COMMENT)
    assert_inert(sanitize_comment("<blockquote>\n\n" * 900 + "x"), COMMENT)
    assert_inert(sanitize_author_html("<div>" * MAX_AUTHOR_DEPTH + "x"), AUTHOR)
    with pytest.raises(SanitizeFailed, match="nested 3,000 elements deep"):
        sanitize_author_html("<div>" * 3000 + "x")  # refused: html5lib is quadratic in depth


def test_comment_with_absurd_amount_of_markup_is_shown_as_typed() -> None:
    output = sanitize_comment("<b>x</b>" * 600)
    assert not list(parse(output).iter("b"))
    assert html_to_text(output).startswith("<b>x</b><b>")


def test_concurrent_threads_get_the_same_result() -> None:
    texts = [f"<b>{i}</b> https://example.com/{i}\n\n<script>{i}</script>" for i in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(sanitize_comment, texts))
    assert results == [sanitize_comment(text) for text in texts]


# --- authors' Markdown and HTML ----------------------------------------------------------

ARTICLE = """# Heading

## Sub heading

Some *emphasis*, **strong**, ~~gone~~ and `code`.

- one
- two

1. first
2. second

| Name | Count |
| :--- | ----: |
| a    | 1     |

```python
print("x < y")
```

![A cat](https://example.com/cat.png "Cat")

> Quoted wisdom.

[a link](https://example.com/page)
"""


def test_markdown_article_survives() -> None:
    root = parse(render_markdown(ARTICLE))
    tags = {e.tag for e in root.iter()}
    assert tags >= {
        "h1",
        "h2",
        "em",
        "strong",
        "s",
        "code",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "pre",
    }
    assert {"img", "blockquote", "a"} <= tags
    [code] = [c for c in root.iter("code") if c.get("class")]
    assert code.get("class") == "language-python"
    assert code.text == 'print("x < y")\n'
    [img] = root.iter("img")
    assert img.attrib == {"src": "https://example.com/cat.png", "alt": "A cat", "title": "Cat"}
    assert [th.get("align") for th in root.iter("th")] == ["left", "right"]
    [link] = root.iter("a")
    assert link.attrib == {"href": "https://example.com/page"}


@pytest.mark.parametrize("source", ["![x](javascript:alert(1))", "[x](javascript:alert(1))"])
def test_markdown_javascript_links_are_neutralized(source: str) -> None:
    root = parse(render_markdown(source))
    assert not [e for e in root.iter() if e.get("href") or e.get("src")]


@pytest.mark.parametrize("tag", ["script", "style", "iframe", "object", "noscript", "template"])
def test_author_dangerous_element_content_removed_entirely(tag: str) -> None:
    output = sanitize_author_html(f"<p>before</p><{tag}>secret payload</{tag}><p>after</p>")
    assert html_to_text(output) == "before after"


def test_author_disallowed_tags_stripped_text_kept() -> None:
    output = sanitize_author_html('<p>a <font color="red">red</font> <u>b</u></p>')
    assert [e.tag for e in parse(output).iter()][1:] == ["p"]
    assert html_to_text(output) == "a red b"


@pytest.mark.parametrize(
    ("src", "kept"),
    [
        ("https://example.com/a.png", True),
        ("/media/a.png", True),
        ("data:image/png;base64,iVBORw0KGgo=", False),
        ("mailto:a@example.com", False),
        ("javascript:alert(1)", False),
    ],
)
def test_author_image_sources(src: str, kept: bool) -> None:
    [img] = parse(sanitize_author_html(f'<img src="{src}" alt="a">')).iter("img")
    assert (img.get("src") == src) is kept


def test_author_rel_keeps_known_values_only() -> None:
    output = sanitize_author_html('<a href="https://x.org" rel="sponsored import">x</a>')
    [link] = parse(output).iter("a")
    assert link.get("rel") == "sponsored"


def test_author_attributes_filtered() -> None:
    source = (
        '<ol start="3" class="x" style="color:red"><li id="i">x</li></ol>'
        '<td colspan="2" onclick="x">c</td><code class="language-js evil">c</code>'
    )
    root = parse(sanitize_author_html(f"<table><tr>{source}</tr></table>"))
    for element in root.iter():
        assert set(element.attrib) <= {"start", "colspan"}


# --- URL checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com", "https://example.com"),
        ("http://example.com/a?b=c&d=e#f", "http://example.com/a?b=c&d=e#f"),
        ("HTTPS://Example.com/Path", "https://Example.com/Path"),
        ("  https://example.com/ \n", "https://example.com/"),
        ("https://exa\tmple.com/", "https://example.com/"),
        ("https://example.com/?a=1&copy=2", "https://example.com/?a=1&copy=2"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("/relative/path", "/relative/path"),
        ("relative.html", "relative.html"),
        ("#anchor", "#anchor"),
        ("?page=2", "?page=2"),
        ("//example.com/x", "//example.com/x"),
        ("/wiki/Special:Random", "/wiki/Special:Random"),
        ("https://example.com/wiki/Special:Random", "https://example.com/wiki/Special:Random"),
        ("javascript:alert(1)", None),
        ("javascript:123", None),
        ("JaVaScRiPt:alert(1)", None),
        (" javascript:alert(1)", None),
        ("\x01javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("java\x00script:alert(1)", None),
        ("java script:alert(1)", None),
        ("&#106;avascript:alert(1)", None),
        ("&#x6A;avascript:alert(1)", None),
        ("&#X6a;avascript:alert(1)", None),
        ("&#0000106avascript:alert(1)", None),
        ("&#106&#97&#118&#97script:alert(1)", None),
        ("javascript&colon;alert(1)", None),
        ("javascript&#58alert(1)", None),
        ("java&Tab;script:alert(1)", None),
        ("&amp;#106;avascript:alert(1)", None),
        ("java\u200bscript:alert(1)", None),
        ("java\u00adscript:alert(1)", None),
        ("\ufeffjavascript:alert(1)", None),
        ("javascript\u2060:alert(1)", None),
        ("\u00a0javascript:alert(1)", None),
        ("vbscript:msgbox(1)", None),
        ("livescript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("data:image/png;base64,iVBORw0KGgo=", None),
        ("file:///etc/passwd", None),
        ("ftp://example.com/file", None),
        ("blob:https://example.com/x", None),
        ("about:blank", None),
        ("tel:+123", None),
        ("", None),
        ("   ", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/me", "https://example.com/me"),
        ("HTTP://Example.com", "http://Example.com"),
        ("example.com", "http://example.com"),
        ("www.example.com/blog", "http://www.example.com/blog"),
        (" https://example.com ", "https://example.com"),
        ("mailto:me@example.com", None),
        ("/relative", None),
        ("//example.com", None),
        ("javascript:alert(1)", None),
        ("&#106;avascript:alert(1)", None),
        ("http:example.com", None),
        ("https://", None),
        ("http://exa mple.com", None),
        ("http://[::1", None),
        ("ftp://example.com", None),
        ("", None),
    ],
)
def test_safe_http_url(url: str, expected: str | None) -> None:
    assert safe_http_url(url) == expected


# --- links and text ----------------------------------------------------------------------


def test_count_links_includes_linkified_urls() -> None:
    text = 'https://a.example <a href="https://b.example">b</a> <a>no href</a> www.c.example'
    assert count_links(sanitize_comment(text)) == 3


def test_html_to_text_collapses_whitespace_and_separates_blocks() -> None:
    source = "<h1>Title</h1><p>Hello   <b>wor</b>ld &amp; more</p><ul><li>a</li><li>b</li></ul>"
    assert html_to_text(source) == "Title Hello world & more a b"


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (None, "one two three four"),
        (100, "one two three four"),
        (18, "one two three four"),
        (10, "one two…"),
        (8, "one two…"),
        (4, "one…"),
        (3, "on…"),
    ],
)
def test_html_to_text_truncates_on_word_boundary(limit: int | None, expected: str) -> None:
    output = html_to_text("<p>one two</p><p>three four</p>", limit)
    assert output == expected
    assert limit is None or len(output) <= limit


# --- properties --------------------------------------------------------------------------

HOSTILE_PIECES = [
    "<", ">", "/", '"', "'", "=", " ", "\n", "\n\n", "\t", "\x00", "\u200b", "&", "#", ";",
    "<a href=", "<a ", "</a>", "<b>", "</b>", "<blockquote cite=", "<q cite=", "<code>",
    "javascript:", "java", "script:", "&#106;", "&#x6A", "&colon;", "alert(1)", "<script>",
    "</script>", "<svg>", "<math>", "<style>", "<noscript>", "<template>", "<textarea>", "<!--",
    "-->", "<![CDATA[", "]]>", "onerror=", "onload=", "<img src=x ", "https://x.org/a?b=1&c",
    "www.x.org", "data:", "vbscript:", "<p>", "<br>", "xlink:href=", "<iframe srcdoc=",
]  # fmt: skip
hostile_text = st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=3)).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.text() | hostile_text)
def test_any_comment_text_comes_out_inert_and_stays_inert(text: str) -> None:
    once = sanitize_comment(text)
    assert_inert(once, COMMENT)
    assert_inert(sanitize_comment(once), COMMENT)


@settings(max_examples=100, deadline=None)
@given(st.text() | hostile_text)
def test_any_markdown_comes_out_inert(text: str) -> None:
    once = render_markdown(text)
    assert_inert(once, AUTHOR)
    assert_inert(sanitize_author_html(once), AUTHOR)


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(exclude_categories=())))
def test_any_code_point_including_surrogates_gives_encodable_output(text: str) -> None:
    for clean in (sanitize_comment, render_markdown):
        clean(text).encode("utf-8")


@settings(max_examples=100, deadline=None)
@given(st.text() | hostile_text)
def test_safe_url_result_is_stable_and_safe(url: str) -> None:
    result = safe_url(url)
    if result is not None:
        assert browser_scheme(result) in {"http", "https", "mailto", None}
        assert safe_url(result) == result


# --- WordPress's alignment: classes and text-align on post bodies ------------------------------


def test_wordpress_alignment_classes_and_text_align_are_kept() -> None:
    source = (
        '<p style="text-align: center;">Centred</p>'
        '<h2 style="TEXT-ALIGN:Right">Right</h2>'
        '<figure class="wp-caption aligncenter"><img class="aligncenter size-large wp-image-50"'
        ' src="https://ok.example/a.png" alt="a"><figcaption class="wp-caption-text">c'
        "</figcaption></figure>"
        '<p><a class="embed" href="https://www.youtube.com/watch?v=x">video</a></p>'
    )
    root = parse(sanitize_author_html(source))
    assert [p.get("style") for p in root.iter("p")] == ["text-align: center;", None]
    assert root.find(".//h2").get("style") == "text-align: right;"
    assert root.find(".//figure").get("class") == "wp-caption aligncenter"
    assert root.find(".//img").get("class") == "aligncenter size-large wp-image-50"
    assert root.find(".//figcaption").get("class") == "wp-caption-text"
    assert root.find(".//a").get("class") == "embed"


@pytest.mark.parametrize(
    ("style", "kept"),
    [
        ("text-align:expression(alert(1))", None),
        ("text-align:url(javascript:alert(1))", None),
        ("behavior:url(x.htc)", None),
        ("-moz-binding:url(x.xml#x)", None),
        ("text-align:center;-moz-binding:url(x.xml#x)", "text-align: center;"),
        ("color:red;text-align:left", "text-align: left;"),
        ("text-align:center !important", None),
        ("text-al\\69gn:center", None),
        ("text-align:cent\\65r", None),
        ("text-align:/**/center", None),
        ("text-align:center;text-align:evil", None),
    ],
)
def test_only_a_plain_text_align_keyword_survives_in_style(style: str, kept: str | None) -> None:
    for render in (sanitize_author_html, render_markdown):
        [paragraph] = parse(render(f'<p style="{style}">x</p>')).iter("p")
        assert paragraph.get("style") == kept


def test_only_alignment_classes_survive() -> None:
    output = sanitize_author_html(
        '<p class="alignleft hidden modal wp-image-7 size-thumbnail wp-image-x">x</p>'
        '<b class="aligncenter">b</b><span class="evil">s</span>'
    )
    root = parse(output)
    assert root.find(".//p").get("class") == "alignleft wp-image-7 size-thumbnail"
    assert "class" not in root.find(".//b").attrib
    assert "class" not in root.find(".//span").attrib


def test_comments_keep_no_class_or_style() -> None:
    output = sanitize_comment('<b class="aligncenter" style="text-align:center">x</b>')
    assert "<b>x</b>" in output
    assert all(not ({"class", "style"} & set(e.attrib)) for e in parse(output).iter())


def test_the_second_wall_allows_the_same_alignment_and_nothing_more() -> None:
    kept = '<p style="text-align: center;" class="alignright">x</p>'
    assert second_wall(kept, author=True) == kept
    hostile = (
        '<p style="color:red" class="evil">x</p><span style="text-align: left;">s</span>'
        '<b class="aligncenter">b</b><code class="evil">c</code>'
    )
    cleaned = second_wall(hostile, author=True)
    assert "style" not in cleaned and "class" not in cleaned
