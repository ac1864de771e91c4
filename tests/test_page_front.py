"""The page front: first visits answered from what Flask sent, exactly as Flask would."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from blog.extensions import db
from blog.models import Comment, CommentStatus, Role
from blog.page_front import PageFront
from tests import factories
from tests.conftest import sqlite_file_app

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def front_of(app: Flask) -> PageFront:
    front = app.extensions["blog_page_front"]
    assert isinstance(front, PageFront)
    return front


def first_visit(app: Flask, url: str, method: str = "GET", **kwargs: Any) -> TestResponse:
    """A request from a browser with no cookie (a new client each time, as a new reader is)."""
    return app.test_client(use_cookies=False).open(url, method=method, **kwargs)


def masked(response: TestResponse) -> tuple[str, dict[str, str], str]:
    """The response with its personal parts (CSRF token, session cookie value, request id)
    taken out."""
    body = TOKEN.sub('name="csrf_token" value="*"', response.get_data(as_text=True))
    headers = {name.lower(): value for name, value in response.headers.items()}
    headers.pop("content-length")
    assert headers.pop("x-request-id")  # one of its own for every request
    cookie = re.sub(r"^session=[^;]+", "session=*", headers.pop("set-cookie", ""))
    return body, headers, cookie


def test_a_second_first_visit_is_answered_by_the_front_exactly_as_flask_did(app: Flask) -> None:
    post = factories.make_post(title="Front page")
    factories.make_comments(post, 5)
    url = f"/blog/{post.slug}/"
    front = front_of(app)
    from_flask = first_visit(app, url)
    assert front.hits == 0
    from_front = first_visit(app, url)
    assert front.hits == 1
    assert from_front.status_code == from_flask.status_code == 200
    assert masked(from_front) == masked(from_flask)
    assert from_front.headers["Content-Length"] == str(len(from_front.get_data()))
    # Each reader gets a token and a session of their own.
    tokens = {TOKEN.findall(r.get_data(as_text=True))[0] for r in (from_flask, from_front)}
    cookies = {r.headers["Set-Cookie"] for r in (from_flask, from_front)}
    assert len(tokens) == len(cookies) == 2
    assert "HttpOnly" in from_front.headers["Set-Cookie"]
    assert "SameSite=Lax" in from_front.headers["Set-Cookie"]


def test_a_page_without_a_form_sets_no_cookie_from_the_front(app: Flask) -> None:
    factories.make_post(title="On the home page")
    first_visit(app, "/")
    again = first_visit(app, "/")
    assert front_of(app).hits == 1
    assert "Set-Cookie" not in again.headers
    assert "On the home page" in again.get_data(as_text=True)


def test_a_front_page_costs_one_query(app: Flask, count_queries: Callable[[], Any]) -> None:
    post = factories.make_post()
    factories.make_comments(post, 30)
    url = f"/blog/{post.slug}/"
    first_visit(app, url)
    with count_queries() as counter:
        assert first_visit(app, url).status_code == 200
    assert front_of(app).hits == 1
    assert counter.count == 1, counter.statements


def test_a_token_from_the_front_lets_the_reader_comment_with_csrf_on(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        post = factories.make_post(title="Protected")
        slug, post_id = post.slug, post.id
        db.session.commit()
    url = f"/blog/{slug}/"
    first_visit(app, url)
    page = first_visit(app, url)
    other = first_visit(app, url)
    assert front_of(app).hits == 2
    token = TOKEN.findall(page.get_data(as_text=True))[0]
    cookie = page.headers["Set-Cookie"].split(";")[0]
    form = {"name": "Ann", "email": "ann@example.com", "body": "Through the front."}
    reader = app.test_client(use_cookies=False)
    # Another reader's session does not go with this token: CSRF is really checked.
    refused = reader.post(
        f"{url}comments",
        data={**form, "csrf_token": token},
        headers={"Cookie": other.headers["Set-Cookie"].split(";")[0]},
    )
    assert refused.status_code == 400
    accepted = reader.post(
        f"{url}comments", data={**form, "csrf_token": token}, headers={"Cookie": cookie}
    )
    assert accepted.status_code == 303
    with app.app_context():
        bodies = [c.body_source for c in db.session.query(Comment).filter_by(post_id=post_id)]
    assert any("Through the front." in body for body in bodies)


def session_cookie(response: TestResponse) -> str:
    return response.headers["Set-Cookie"].split(";")[0]


def test_a_returning_reader_gets_the_same_page_from_the_front_with_their_own_session(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        slugs = [factories.make_post(title=f"Returning {n}").slug for n in range(2)]
        db.session.commit()
    first, second = (f"/blog/{slug}/" for slug in slugs)
    # First visit, then a second request: Flask-Login marks the session not fresh, and Flask
    # writes the cookie again (both by Flask: nothing is kept from a request with a cookie).
    cookie = session_cookie(first_visit(app, first))
    cookie = session_cookie(first_visit(app, first, headers={"Cookie": cookie}))
    assert front_of(app).hits == 0
    # With that cookie, Flask answers the second post once, sending no cookie ...
    from_flask = first_visit(app, second, headers={"Cookie": cookie})
    assert "Set-Cookie" not in from_flask.headers
    first_visit(app, second)  # ... a new reader's visit is kept ...
    from_front = first_visit(app, second, headers={"Cookie": cookie})  # ... and served again
    assert front_of(app).hits == 1
    assert "Set-Cookie" not in from_front.headers
    assert masked(from_front) == masked(from_flask)
    token = TOKEN.findall(from_front.get_data(as_text=True))[0]
    posted = app.test_client(use_cookies=False).post(
        f"{second}comments",
        data={"name": "Bo", "email": "bo@example.com", "body": "Back again.", "csrf_token": token},
        headers={"Cookie": cookie},
    )
    assert posted.status_code == 303


@pytest.mark.parametrize(
    "cookie",
    [
        "session=tampered.value.here",
        "theme=dark",
        "blog_commenter=x",
    ],
)
def test_other_cookies_go_to_flask(app: Flask, cookie: str) -> None:
    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    first_visit(app, url)
    assert first_visit(app, url, headers={"Cookie": cookie}).status_code == 200
    assert front_of(app).hits == 0


def test_an_approved_comment_shows_at_once_on_a_front_page(app: Flask) -> None:
    post = factories.make_post()
    pending = factories.make_comment(post, status=CommentStatus.PENDING, body="Late arrival")
    url = f"/blog/{post.slug}/"
    first_visit(app, url)
    assert "Late arrival" not in first_visit(app, url).get_data(as_text=True)
    assert front_of(app).hits == 1
    pending.status = CommentStatus.APPROVED
    db.session.commit()
    assert "Late arrival" in first_visit(app, url).get_data(as_text=True)
    assert "Late arrival" in first_visit(app, url).get_data(as_text=True)
    assert front_of(app).hits == 2  # the stale page was never served; the new one is


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-token"},
        {"If-None-Match": '"an-old-etag"'},
        {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
        {"Range": "bytes=0-10"},
    ],
)
def test_requests_of_someone_in_particular_go_to_flask(app: Flask, headers: dict[str, str]) -> None:
    factories.make_post()
    first_visit(app, "/")
    assert first_visit(app, "/", headers=headers).status_code == 200
    assert first_visit(app, "/", method="HEAD").status_code == 200
    assert front_of(app).hits == 0


def test_a_signed_in_user_never_gets_the_shared_page(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    factories.make_post()
    first_visit(app, "/")
    first_visit(app, "/")
    signed_in = client_as(Role.ADMIN).get("/")
    assert "private" in signed_in.headers["Cache-Control"]
    assert front_of(app).hits == 1


def test_a_forged_host_never_reaches_other_readers(app: Flask) -> None:
    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    poisoned = first_visit(app, url, headers={"Host": "evil.example"})
    assert "http://evil.example/" in poisoned.get_data(as_text=True)
    for _ in range(2):  # from Flask's page cache, then from the front
        page = first_visit(app, url).get_data(as_text=True)
        assert "evil.example" not in page
        assert f"http://localhost{url}" in page
    assert front_of(app).hits == 1


def test_behind_a_proxy_each_forwarded_host_and_scheme_has_its_own_page(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PROXY_COUNT=1)
    with app.app_context():
        slug = factories.make_post().slug
        db.session.commit()
    url = f"/blog/{slug}/"
    for host, scheme in [("a.example", "https"), ("b.example", "http"), ("a.example", "http")]:
        forwarded = {"X-Forwarded-Host": host, "X-Forwarded-Proto": scheme}
        for _ in range(2):
            text = first_visit(app, url, headers=forwarded).get_data(as_text=True)
            assert f'<link rel="canonical" href="{scheme}://{host}{url}">' in text
    assert front_of(app).hits == 3


def test_with_the_page_cache_off_there_is_no_front(make_app: Callable[..., Flask]) -> None:
    app = make_app(PAGE_CACHE=False)
    assert "blog_page_front" not in app.extensions
    with app.app_context():
        factories.make_post(title="Uncached")
        db.session.commit()
    assert "Uncached" in first_visit(app, "/").get_data(as_text=True)


def test_a_locked_database_still_gets_the_503_page(tmp_path: Path) -> None:
    path = tmp_path / "front.sqlite3"
    app = sqlite_file_app(tmp_path, path.name)
    with app.app_context():
        factories.make_post(title="Locked out")
        db.session.commit()
        db.session.remove()
    first_visit(app, "/")
    assert first_visit(app, "/").status_code == 200
    assert front_of(app).hits == 1
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        with app.app_context():
            db.engine.dispose()  # new connections, which the lock below then blocks
        blocker.execute("PRAGMA journal_mode=DELETE")
        blocker.execute("BEGIN EXCLUSIVE")
        response = first_visit(app, "/")
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.get_data(as_text=True)
        assert front_of(app).hits == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        with app.app_context():
            db.engine.dispose()


def test_a_public_api_read_is_answered_by_the_front_exactly_as_flask_did(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(API_CORS_ORIGINS="https://reader.example")
    with app.app_context():
        post = factories.make_post()
        factories.make_comments(post, 3)
        slug = post.slug
        db.session.commit()
    url = f"/api/v1/posts/{slug}/comments"
    from_flask = first_visit(app, url)
    from_front = first_visit(app, url)
    assert front_of(app).hits == 1
    assert from_front.status_code == 200
    assert from_front.get_data() == from_flask.get_data()
    assert masked(from_front)[1] == masked(from_flask)[1]  # the headers, but the request id
    assert len(from_front.get_json()["items"]) == 3
    # A cross-origin read gets its CORS headers from Flask, as before.
    crossing = first_visit(app, url, headers={"Origin": "https://reader.example"})
    assert crossing.headers["Access-Control-Allow-Origin"] == "https://reader.example"
    assert front_of(app).hits == 1


def test_a_front_copy_out_of_date_costs_no_second_version_read(
    app: Flask, count_queries: Callable[[], Any]
) -> None:
    from blog.settings import VERSION_SQL

    factories.make_post(title="Old news")
    first_visit(app, "/")
    factories.make_post(title="Fresh news")
    db.session.commit()
    with count_queries() as counter:
        page = first_visit(app, "/")
    assert "Fresh news" in page.get_data(as_text=True)
    assert counter.statements.count(VERSION_SQL) == 1, counter.statements


@pytest.mark.parametrize("url", ["/feed/", "/comments/feed/atom/", "/sitemap-archives.xml"])
def test_feeds_and_sitemaps_are_kept_with_their_content_type(
    app: Flask, count_queries: Callable[[], Any], url: str
) -> None:
    import feedparser

    post = factories.make_post(title="Syndicated")
    factories.make_comments(post, 2)
    first = first_visit(app, url, headers={"Cookie": "theme=dark"})  # Flask, rendered
    with count_queries() as counter:
        kept = first_visit(app, url, headers={"Cookie": "theme=dark"})  # Flask, kept
    first_visit(app, url)
    with count_queries() as front_counter:
        front = first_visit(app, url)
    assert front_of(app).hits == 1
    assert counter.count == front_counter.count == 1, counter.statements
    for response in (kept, front):
        assert response.get_data() == first.get_data()
        assert response.headers["Content-Type"] == first.headers["Content-Type"]
    assert "xml" in first.headers["Content-Type"]
    if "feed" in url:
        assert not feedparser.parse(front.get_data()).bozo


header_text = st.text(st.characters(blacklist_characters="\r\n"), max_size=80)
cookie_text = st.one_of(
    header_text,
    st.builds(lambda v: f"session={v}", header_text),
    st.sampled_from(["session=", "session=a.b.c", 'session="x"', ";;", "=", "session=\x00"]),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cookie=cookie_text,
    host=st.sampled_from(["localhost", "evil.example", "LOCALHOST", "localhost:80", "a..b", ""]),
    query=st.text(max_size=30),
)
def test_any_cookie_host_or_query_never_500_nor_leaks_a_page_to_another_host(
    app: Flask, cookie: str, host: str, query: str
) -> None:
    if not getattr(app, "_front_seeded", False):
        post = factories.make_post(title="Fuzzed front")
        db.session.commit()
        app._front_url = f"/blog/{post.slug}/"  # type: ignore[attr-defined]
        app._front_seeded = True  # type: ignore[attr-defined]
        first_visit(app, app._front_url)  # type: ignore[attr-defined]
    url = app._front_url  # type: ignore[attr-defined]
    headers = {"Cookie": cookie, "Host": host} if host else {"Cookie": cookie}
    response = first_visit(app, url, headers=headers, query_string={"q": query})
    assert response.status_code < 500
    plain = first_visit(app, url)
    assert plain.status_code == 200
    assert "evil.example" not in plain.get_data(as_text=True)
