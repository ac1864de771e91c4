"""Hostile comments posted through the reply form render inert on the post page and in the queue.

The pages are parsed the way a browser reads them (html5lib) and checked as a whole: no script,
no foreign content, no event handler, no URL that is not http, https, mailto or relative, and
inside each comment only WordPress's comment tags.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from xml.etree.ElementTree import Element

import pytest
from bleach.html5lib_shim import HTMLParser
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.comments.moderation import ModerationAction, moderate_comments
from blog.extensions import db
from blog.models import Comment, Role
from blog.sanitize import COMMENT_ATTRIBUTES, COMMENT_TAGS
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, field_errors, post_comment, reader
from tests.paths import PUBLIC_VECTORS
from tests.xss_payloads import PAYLOADS

XHTML = "http://www.w3.org/1999/xhtml"
DANGEROUS = {"script", "iframe", "frame", "object", "embed", "applet", "style", "base", "meta"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "cite", "poster", "data", "background"}
SAFE_SCHEMES = {"http", "https", "mailto", None}
ALLOWED_IN_COMMENTS = COMMENT_TAGS | {"p", "br"}


def browser_scheme(url: str) -> str | None:
    """The scheme a browser would see, read generously (entities, invisibles); None: relative."""
    previous = None
    while previous != url:
        previous, url = url, html.unescape(url)
    squeezed = "".join(c for c in url if unicodedata.category(c)[0] not in "CZ").lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", squeezed)
    return match[1] if match else None


def elements(root: Element) -> Iterator[tuple[str, Element]]:
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            namespace, _, name = element.tag[1:].partition("}")
            assert namespace == XHTML, f"foreign element {element.tag}"
            yield name, element


def assert_page_inert(page: str) -> None:
    root = HTMLParser(namespaceHTMLElements=True).parse(page, scripting=True)
    for name, element in elements(root):
        if name == "script" and element.get("type") == "application/ld+json":
            json.loads(element.text or "")  # data for crawlers (breadcrumbs), never run
        elif name == "script":  # only the site's own file, never anything inline
            own = re.fullmatch(r"/static/comments\.js\?v=[0-9a-f]{12}", element.get("src") or "")
            assert own and not (element.text or "").strip()
        elif name == "meta":
            # Open Graph names its field in "property"; never http-equiv (a refresh, a cookie).
            assert set(element.attrib) <= {"charset", "name", "property", "content"}, element.attrib
        else:
            assert name not in DANGEROUS, f"<{name} {element.attrib}>"
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on"), f"<{name} {attribute}={value!r}>"
            if attribute.lower() in URL_ATTRIBUTES or attribute.lower().endswith("href"):
                assert browser_scheme(value) in SAFE_SCHEMES, f"<{name} {attribute}={value!r}>"
        if name == "div" and "comment-content" in element.get("class", "").split():
            for inner, child in elements(element):
                if child is element:
                    continue
                assert inner in ALLOWED_IN_COMMENTS, f"<{inner}> inside a comment"
                allowed = COMMENT_ATTRIBUTES.get(inner, frozenset()) | {"rel"}
                assert set(child.attrib) <= allowed, f"<{inner} {child.attrib}>"


def corpus(public: bool) -> list[str]:
    """The project's payloads, and the shared public corpus when asked for and present."""
    payloads = [payload for _, payload in PAYLOADS]
    if public and PUBLIC_VECTORS.exists():
        with PUBLIC_VECTORS.open(encoding="utf-8") as lines:
            payloads += [json.loads(line)["payload"] for line in lines if line.strip()]
    return list(dict.fromkeys(payloads))


NOTHING_LEFT = "Nothing of your comment would show once unsafe markup is taken out."


def post_hostile(app: Flask, payloads: list[str]) -> tuple[str, list[int]]:
    """Post each payload as a comment (also as name and website now and then); the ids stored.

    A payload with nothing left to show after sanitizing (an unclosed tag, an HTML comment) is
    refused with a message and stores nothing.
    """
    save_settings({"flood_interval_seconds": 0})
    post = factories.make_post(title="Target")
    ids = []
    for n, payload in enumerate(payloads):
        name = payload[:245] if n % 3 == 0 else f"Reader {n}"
        url = payload[:200] if n % 5 == 0 else ""
        response = post_comment(reader(app), post, name=name, url=url, body=payload)
        if response.status_code != 303:  # a payload as name or website may be refused
            response = post_comment(reader(app), post, body=payload)
        if response.status_code == 400 and NOTHING_LEFT in field_errors(response).get("body", ""):
            continue
        ids.append(comment_id(response))
    assert db.session.scalar(select(func.count(Comment.id))) == len(ids)
    return post.slug, ids


def test_hostile_comments_render_inert_in_the_queue_and_on_the_post_page(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    # Rendering does not depend on the database: the large public corpus runs on SQLite only;
    # PostgreSQL stores the project's own payloads (NUL bytes and all).
    payloads = corpus(public=db.engine.dialect.name == "sqlite")
    assert len(payloads) >= 80
    slug, ids = post_hostile(app, payloads)
    assert len(set(ids)) >= len(payloads) * 0.9
    moderator = client_as(Role.MODERATOR)
    pages = -(-len(ids) // 20)
    for page in range(1, pages + 1):
        queue = moderator.get(f"/admin/comments/?page={page}")
        assert queue.status_code == 200
        assert_page_inert(queue.get_data(as_text=True))

    moderate_comments(ids, ModerationAction.APPROVE, None)
    save_settings({"comments_per_page": 1000})  # every comment on one comment page
    for browser in (reader(app), moderator):
        response = browser.get(f"/blog/{slug}/")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert page.count('class="comment-content"') == len(ids)
        assert_page_inert(page)
    approved = moderator.get("/admin/comments/?status=approved")
    assert_page_inert(approved.get_data(as_text=True))


def test_the_reader_sees_what_was_typed(app: Flask) -> None:
    slug, ids = post_hostile(app, ["<script>alert('hi')</script> & <img src=x onerror=alert(1)>"])
    moderate_comments(ids, ModerationAction.APPROVE, None)
    page = reader(app).get(f"/blog/{slug}/").get_data(as_text=True)
    assert "&lt;script&gt;alert('hi')&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in (
        page.replace("&#39;", "'")
    )
    stored = db.session.scalars(select(Comment.body_source)).one()
    assert stored.startswith("<script>")


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,x"],
)
def test_hostile_website_is_refused_not_stored(app: Flask, url: str) -> None:
    post = factories.make_post()
    response = post_comment(reader(app), post, url=url)
    assert response.status_code == 400
    assert db.session.scalars(select(Comment)).all() == []
