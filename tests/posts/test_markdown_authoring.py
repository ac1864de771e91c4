"""Authors write Markdown; readers get the wider author allowlist and nothing active, whoever
wrote it. The sanitizer's own tests cover the big corpus; here a handful of hostile payloads go
end to end through the post form, its preview, and the public page, for every writing role."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post, Role
from tests.xss_payloads import PAYLOADS

CHOSEN = {
    "script-plain",
    "script-split",
    "img-onerror",
    "svg-onload",
    "a-onclick",
    "href-javascript",
    "href-javascript-digits",
    "href-javascript-tab",
    "href-javascript-hex-entity",
}
HOSTILE = [payload for name, payload in PAYLOADS if name in CHOSEN]
HOSTILE += [
    "<style>body { display: none }</style>",
    '<iframe src="https://evil.example/"></iframe>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "[click me](javascript:alert(1))",
    "[click me too](JaVaScRiPt:alert(1))",
    "![image](javascript:alert(1))",
    "<object data='https://evil.example/x.swf'></object>",
    '<form action="https://evil.example/"><button>go</button></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]
assert len(HOSTILE) == len(CHOSEN) + 9

FORBIDDEN_ELEMENTS = {"script", "style", "iframe", "object", "embed", "form", "frame", "base"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcset"}


class ActiveContent(HTMLParser):
    """Collects whatever a browser would run or load from a page."""

    def __init__(self, forbidden: set[str], own_scripts: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.forbidden = forbidden
        self.own_scripts = own_scripts
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") == "application/ld+json":
            return  # the breadcrumbs' structured data: not executable
        src = (attributes.get("src") or "").partition("?v=")[0]  # fingerprinted: ?v=<digest>
        if tag == "script" and src in self.own_scripts:
            return  # the site's own file (a whole page only), never the author's
        if tag in self.forbidden:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if name == "style":
                self.found.append(f"{tag}[style]")
            if name in URL_ATTRIBUTES and value is not None:
                plain = re.sub(r"[\x00-\x20\u00ad\u200b-\u200f\u2060\ufeff]", "", value).lower()
                if plain.startswith(("javascript:", "vbscript:", "data:")):
                    self.found.append(f"{tag}[{name}={value!r}]")


def active_content(html: str, only_inside: str | None = None, page: bool = False) -> list[str]:
    """What would run or load. ``page``: a whole page of the site, whose own forms (reply,
    sign out) are expected; inside an author's text a form is not."""
    if only_inside is not None:
        match = re.search(only_inside, html, re.S)
        assert match is not None, only_inside
        html = match.group(0)
    if page:
        own = frozenset({"/static/comments.js", "/static/post_form.js", "/static/media.js"})
        parser = ActiveContent(FORBIDDEN_ELEMENTS - {"form"}, own)
    else:
        parser = ActiveContent(FORBIDDEN_ELEMENTS)
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_would_notice_active_content() -> None:
    assert active_content('<img src=x onerror="alert(1)"><a href=" java\tscript:x">y</a>') == [
        "img[onerror]",
        "a[href=' java\\tscript:x']",
    ]
    assert active_content("<script>alert(1)</script>") == ["<script>"]


def test_markdown_renders_headings_lists_tables_images_code_quotes_and_figures(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    body = "\n".join(
        [
            "## Heading",
            "",
            "1. first",
            "2. second",
            "",
            "| Name | Value |",
            "|------|-------|",
            "| a    | 1     |",
            "",
            "![A chart](https://img.example/chart.png)",
            "",
            "```python",
            "print('<b>not bold</b>')",
            "```",
            "",
            "> Quoted *words*",
            "",
            '<figure><img src="/static/photo.jpg" alt="Photo"><figcaption>Caption</figcaption>'
            "</figure>",
            "",
            "[Relative link](/blog/) and [mail](mailto:me@example.com)",
        ]
    )
    client = client_as(Role.AUTHOR)
    saved = client.post(
        "/admin/posts/new", data={"title": "Rich", "body": body, "status": "published"}
    )
    assert saved.status_code == 303
    post = db.session.scalars(select(Post).where(Post.title == "Rich")).one()
    html = client.application.test_client().get(f"/blog/{post.slug}/").get_data(as_text=True)
    for fragment in (
        "<h2>Heading</h2>",
        "<ol>",
        "<li>first</li>",
        "<table>",
        "<th>Name</th>",
        '<img src="https://img.example/chart.png" alt="A chart">',
        "&lt;b&gt;not bold&lt;/b&gt;",
        '<code class="language-python">',
        "<blockquote>",
        "<em>words</em>",
        "<figure>",
        "<figcaption>Caption</figcaption>",
        '<a href="/blog/">Relative link</a>',
        '<a href="mailto:me@example.com">mail</a>',
    ):
        assert fragment in html, fragment


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.AUTHOR], ids=lambda r: r.value)
def test_no_role_can_publish_anything_active(
    client_as: Callable[[Role], FlaskClient], role: Role
) -> None:
    client = client_as(role)
    body = "\n\n".join(HOSTILE)
    hostile_title = '<img src=x onerror=alert(1)> "quoted" title'
    fields = {
        "title": hostile_title,
        "body": body,
        "excerpt": "<script>alert('excerpt')</script>",
        "tags": "<svg onload=alert(1)>, ok",
        "status": "published",
        "comments_open": "y",
    }
    preview = client.post("/admin/posts/new", data={**fields, "action": "preview"})
    assert preview.status_code == 200
    preview_html = preview.get_data(as_text=True)
    assert active_content(preview_html, r'<section class="post-preview".*?</section>') == []
    saved = client.post("/admin/posts/new", data={**fields, "action": "save"})
    assert saved.status_code == 303
    post = db.session.scalars(select(Post)).one()
    assert active_content(post.body_html) == []
    assert "styled" in post.body_html and "click me" in post.body_html  # the words stay
    readers = client.application.test_client()
    for url in (f"/blog/{post.slug}/", "/", "/feed/"):
        page = readers.get(url)
        if page.status_code == 404:
            continue  # a page another part of the project may not serve yet
        assert page.status_code == 200, url
        if page.mimetype == "text/html":
            html = page.get_data(as_text=True)
            assert active_content(html, page=True) == [], url
            if url.startswith("/blog/"):
                assert active_content(html, r'<div class="entry-content">.*?</div>') == []
    edit = client.get(f"/admin/posts/{post.id}/edit").get_data(as_text=True)
    assert active_content(edit, page=True) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in edit  # the title is shown as typed, inert
