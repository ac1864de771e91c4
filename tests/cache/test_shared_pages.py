"""Shared pages (SPEC section 12): a request without cookies gets no cookie and the same bytes as
every other such request, with headers that let any HTTP cache keep the answer."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from blog.cache.conditional import SHARED_MAX_AGE, STALE_WHILE_REVALIDATE
from blog.models import CommentStatus, Role
from blog.web.commenter import COOKIE_NAME, REMEMBER_COOKIE, CommenterCookie, dump_commenter_cookie
from tests import factories
from tests.conftest import login

SHARED = (
    f"public, max-age=0, s-maxage={SHARED_MAX_AGE}, stale-while-revalidate={STALE_WHILE_REVALIDATE}"
)


def _public_urls() -> list[str]:
    """One URL of every kind of public page, the post page with its reply form first."""
    author = factories.make_user(username="ann")
    category = factories.make_category("Travel")
    post = factories.make_post(author=author, title="Shared", categories=[category], tags=["walks"])
    factories.make_comments(post, 3)
    year = post.published_at.year if post.published_at else 2026
    return [
        f"/blog/{post.slug}/",
        "/",
        "/blog/",
        f"/archive/{year}/",
        "/category/travel/",
        "/tag/walks/",
        f"/author/{author.slug}/",
        "/search/?q=shared",
        "/feed/",
        "/feed/atom/",
        "/comments/feed/",
        f"/blog/{post.slug}/feed/",
        "/category/travel/feed/",
        "/sitemap.xml",
        "/robots.txt",
        "/api/v1/posts",
        f"/api/v1/posts/{post.slug}",
        f"/api/v1/posts/{post.slug}/comments",
        "/api/v1/comments/recent",
    ]


def _first_visit(app: Flask, url: str, **headers: str) -> TestResponse:
    """A GET from a browser that has never been here: no cookie sent, none kept."""
    return app.test_client(use_cookies=False).get(url, headers=headers)


def test_every_public_page_is_the_same_for_every_cookieless_reader(app: Flask) -> None:
    for url in _public_urls():
        first, second = _first_visit(app, url), _first_visit(app, url)
        assert first.status_code == 200, url
        assert "Set-Cookie" not in first.headers, url
        assert first.get_data() == second.get_data(), url
        assert first.headers["Cache-Control"] == SHARED, url
        assert first.headers["ETag"] == second.headers["ETag"], url
        assert first.headers["Last-Modified"], url
        if not url.startswith("/api/"):  # the API never reads a cookie
            assert first.headers["Vary"] == "Cookie", url
        again = _first_visit(app, url, **{"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, url
        assert "Set-Cookie" not in again.headers, url


def test_the_anonymous_reply_form_has_no_per_reader_token(app: Flask) -> None:
    post = factories.make_post()
    page = _first_visit(app, f"/blog/{post.slug}/").get_data(as_text=True)
    assert 'id="commentform"' in page
    assert "csrf_token" not in page


def test_an_anonymous_reply_posts_without_a_token_with_csrf_on(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        post = factories.make_post()
        slug = post.slug
    reader = app.test_client()
    reader.get(f"/blog/{slug}/")
    typed = {"name": "Ann", "email": "ann@example.com", "body": "Posted from a shared page."}
    response = reader.post(
        f"/blog/{slug}/comments", data=typed, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 303
    assert "Posted from a shared page." in reader.get(f"/blog/{slug}/").get_data(as_text=True)


def test_a_signed_in_users_reply_still_needs_its_token(make_app: Callable[..., Flask]) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        slug = factories.make_post().slug
        browser = login(app.test_client(), factories.make_user(role=Role.ADMIN))
        page = browser.get(f"/blog/{slug}/")
        assert page.headers["Cache-Control"].startswith("private")
        assert "ETag" not in page.headers
        typed = {"body": "Signed-in words kept."}
        refused = browser.post(f"/blog/{slug}/comments", data=typed)
        assert refused.status_code == 400
        assert "Signed-in words kept." in refused.get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        assert token is not None
        posted = browser.post(
            f"/blog/{slug}/comments", data={**typed, "csrf_token": token.group(1)}
        )
        assert posted.status_code == 303


def test_a_reader_shown_their_held_comment_gets_a_private_page(app: Flask) -> None:
    post = factories.make_post()
    mine = factories.make_comment(post, status=CommentStatus.PENDING, body="Only for me")
    with app.test_request_context():
        cookie = dump_commenter_cookie(CommenterCookie([mine.id]))
    author = app.test_client()
    author.set_cookie(COOKIE_NAME, cookie)
    page = author.get(f"/blog/{post.slug}/")
    assert "Only for me" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"].startswith("private")
    assert "Only for me" not in _first_visit(app, f"/blog/{post.slug}/").get_data(as_text=True)


def test_a_reader_with_saved_details_gets_a_private_page(app: Flask) -> None:
    post = factories.make_post()
    reader = app.test_client()
    posted = reader.post(
        f"/blog/{post.slug}/comments",
        data={"name": "Bea", "email": "bea@example.com", "body": "Hello", "remember": "yes"},
    )
    assert posted.status_code == 303
    assert reader.get_cookie(REMEMBER_COOKIE) is not None
    page = reader.get(f"/blog/{post.slug}/")
    assert 'value="bea@example.com"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"].startswith("private")
    shared = _first_visit(app, f"/blog/{post.slug}/").get_data(as_text=True)
    assert "bea@example.com" not in shared


@pytest.mark.parametrize("url", ["/login", "/admin/"])
def test_pages_that_are_not_public_are_never_shared(app: Flask, url: str) -> None:
    response = _first_visit(app, url)
    assert "public" not in response.headers.get("Cache-Control", "")
