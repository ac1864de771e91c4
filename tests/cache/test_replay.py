"""blog.cache.replay: cookieless readers' public pages answered before Flask, by a shared
cache's rules, fresh for a second and never past this process's own writes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.cache import replay
from blog.extensions import db
from blog.models import CommentStatus, Role
from tests import factories

# Counted queries here include the replay's (none, when it answers): see conftest's app fixture.
pytestmark = pytest.mark.replay


class Clock:
    """The replay's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(replay, "monotonic", moved)
    return moved


def reader(app: Flask) -> FlaskClient:
    """A new reader with no cookies."""
    return app.test_client()


def test_a_second_cookieless_reader_gets_the_same_bytes_without_a_query(
    app: Flask, count_queries: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    post = factories.make_post(title="Shared")
    factories.make_comments(post, 5)
    url = f"/blog/{post.slug}/"
    first = reader(app).get(url)
    caplog.set_level(logging.INFO, logger="blog.request")
    with count_queries() as counter:
        second = reader(app).get(url)
    assert counter.count == 0, counter.statements
    assert second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert second.headers["Age"] == "0"
    # Its own request id, and its own log line.
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    lines = [r.getMessage() for r in caplog.records if r.name == "blog.request"]
    assert lines and f"GET {url} 200" in lines[-1]
    assert second.headers["X-Request-ID"] in lines[-1]


def test_this_workers_own_write_shows_at_once(app: Flask) -> None:
    post = factories.make_post()
    held = factories.make_comment(post, status=CommentStatus.PENDING, body="Approve me")
    url = f"/blog/{post.slug}/"
    assert "Approve me" not in reader(app).get(url).get_data(as_text=True)
    assert "Approve me" not in reader(app).get(url).get_data(as_text=True)
    held.status = CommentStatus.APPROVED
    db.session.commit()
    assert "Approve me" in reader(app).get(url).get_data(as_text=True)


def test_another_workers_write_shows_within_the_replay_window(
    app: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = factories.make_post()
    held = factories.make_comment(post, status=CommentStatus.PENDING, body="From elsewhere")
    url = f"/blog/{post.slug}/"
    assert "From elsewhere" not in reader(app).get(url).get_data(as_text=True)
    # Another worker approves: this worker's count of its own writes does not move.
    seen = replay.writes_seen()
    monkeypatch.setattr(replay, "writes_seen", lambda: seen)
    held.status = CommentStatus.APPROVED
    db.session.commit()
    clock.now += replay.REPLAY_SECONDS / 2
    stale = reader(app).get(url)
    assert "From elsewhere" not in stale.get_data(as_text=True)
    assert int(stale.headers["Age"]) <= replay.REPLAY_SECONDS
    clock.now += replay.REPLAY_SECONDS
    assert "From elsewhere" in reader(app).get(url).get_data(as_text=True)


def test_a_conditional_or_head_request_is_answered_from_the_kept_page(
    app: Flask, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    first = reader(app).get(url)
    with count_queries() as counter:
        not_modified = reader(app).get(url, headers={"If-None-Match": first.headers["ETag"]})
        since = reader(app).get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        changed = reader(app).get(url, headers={"If-None-Match": '"another"'})
        head = reader(app).head(url)
    assert counter.count == 0
    assert not_modified.status_code == since.status_code == 304
    assert not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == first.headers["ETag"]
    assert "Content-Type" not in not_modified.headers
    assert changed.status_code == 200 and changed.get_data() == first.get_data()
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == first.headers["Content-Length"]


def test_readers_with_cookies_a_reload_and_signed_in_staff_go_to_the_app(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    reader(app).get(url)
    with_cookie = reader(app)
    with_cookie.set_cookie("theme", "dark")
    reloading = reader(app)
    for client, headers in ((with_cookie, {}), (reloading, {"Cache-Control": "no-cache"})):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200
        assert "Age" not in answer.headers, headers
    staff = client_as(Role.ADMIN).get(url)
    assert "private" in staff.headers["Cache-Control"]
    assert "admin-bar" in staff.get_data(as_text=True)
    # And what staff saw never reaches a cookieless reader.
    assert "admin-bar" not in reader(app).get(url).get_data(as_text=True)


def test_without_site_url_each_host_has_its_own_page(app: Flask) -> None:
    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    reader(app).get(url, headers={"Host": "evil.example"})
    page = reader(app).get(url).get_data(as_text=True)
    assert "evil.example" not in page
    assert "http://localhost/" in page


def test_with_site_url_every_host_shares_the_sites_page(
    make_app: Callable[..., Flask], count_queries: Callable[[], Any]
) -> None:
    app = make_app(SITE_URL="https://blog.example/")
    with app.app_context():
        post = factories.make_post()
        url = f"/blog/{post.slug}/"
        first = reader(app).get(url, headers={"Host": "evil.example"})
        with count_queries() as counter:
            second = reader(app).get(url)
        assert counter.count == 0
        assert second.get_data() == first.get_data()
        assert "https://blog.example/" in second.get_data(as_text=True)
        app.config["SITE_URL"] = "https://moved.example/"  # the key holds the site's address
        assert "https://moved.example/" in reader(app).get(url).get_data(as_text=True)


def test_errors_private_answers_and_answers_that_vary_are_never_kept(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(API_CORS_ORIGINS="*")
    with app.app_context():
        post = factories.make_post()
        for url in ("/blog/missing/", f"/api/v1/posts/{post.slug}/comments", "/admin/", "/"):
            reader(app).get(url)
            again = reader(app).get(url)
            assert ("Age" in again.headers) == (url == "/"), url  # only the page is replayed


def test_off_when_the_page_cache_is_off_or_the_window_is_zero(
    make_app: Callable[..., Flask],
) -> None:
    assert isinstance(make_app().wsgi_app.app.app, replay.PageReplay)  # type: ignore[attr-defined]
    for config in ({"PAGE_CACHE": False}, {"PAGE_REPLAY_SECONDS": 0}):
        wrapped = make_app(**config).wsgi_app
        while hasattr(wrapped, "app"):
            assert not isinstance(wrapped, replay.PageReplay), config
            wrapped = wrapped.app


# -- the middleware alone, around a plain WSGI app ------------------------------------------


def page_app(body: bytes, headers: list[tuple[str, str]] | None = None) -> Any:
    calls: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        start_response(
            "200 OK",
            headers
            or [
                ("Content-Type", "text/html"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "public, s-maxage=10"),
            ],
        )
        return [body]

    app.calls = calls  # type: ignore[attr-defined]
    return app


def get(middleware: replay.PageReplay, path: str) -> tuple[str, bytes]:
    started: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "HTTP_HOST": "h"}
    body = b"".join(middleware(environ, lambda s, h, e=None: started.append(s)))  # type: ignore[arg-type]
    return started[0], body


def test_memory_is_bounded_by_entries_and_bytes() -> None:
    inner = page_app(b"x" * 1000)
    middleware = replay.PageReplay(inner, {}, seconds=60)
    for n in range(replay.MAX_ENTRIES + 10):
        get(middleware, f"/{n}")
    assert len(middleware.entries) == replay.MAX_ENTRIES
    get(middleware, "/0")  # the oldest went first: asked again, rendered again
    assert inner.calls.count("/0") == 2
    get(middleware, f"/{replay.MAX_ENTRIES + 9}")  # the newest is still kept
    assert inner.calls.count(f"/{replay.MAX_ENTRIES + 9}") == 1

    megabyte = page_app(b"m" * 2**20)
    middleware = replay.PageReplay(megabyte, {}, seconds=60)
    for n in range(40):
        get(middleware, f"/{n}")
    assert middleware.entries.weight == len(middleware.entries) * 2**20 <= replay.MAX_TOTAL_BYTES
    assert len(middleware.entries) == replay.MAX_TOTAL_BYTES // 2**20

    big = b"y" * (replay.MAX_PAGE_BYTES + 1)
    large = page_app(big)
    middleware = replay.PageReplay(large, {}, seconds=60)
    assert get(middleware, "/big") == ("200 OK", big)
    get(middleware, "/big")
    assert large.calls == ["/big", "/big"]  # too large to keep, still served whole


@pytest.mark.parametrize(
    "headers",
    [
        [("Cache-Control", "private"), ("Content-Length", "2")],
        [("Cache-Control", "public"), ("Content-Length", "2"), ("Set-Cookie", "a=b")],
        [("Cache-Control", "public"), ("Content-Length", "2"), ("Vary", "Cookie, Accept")],
        [("Cache-Control", "public")],  # streamed: no length
        [("Cache-Control", "public"), ("Content-Length", "3")],  # the length is wrong
    ],
)
def test_only_a_public_whole_answer_with_no_cookie_is_kept(headers: list[tuple[str, str]]) -> None:
    inner = page_app(b"ok", headers)
    middleware = replay.PageReplay(inner, {}, seconds=60)
    assert get(middleware, "/p")[1] == b"ok"
    assert get(middleware, "/p")[1] == b"ok"
    assert inner.calls == ["/p", "/p"]
