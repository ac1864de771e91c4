"""ETag / Last-Modified on anonymous pages, 304 on conditional requests, and invalidation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role
from tests import factories


def test_anonymous_page_has_validators_and_answers_304(client: FlaskClient) -> None:
    factories.make_post(title="Cached")
    first = client.get("/")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    assert "public" in first.headers["Cache-Control"]
    assert "s-maxage" in first.headers["Cache-Control"]
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    since = client.get("/", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304


def test_conditional_request_costs_one_query(
    client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post()
    factories.make_comments(post, 20)
    url = f"/blog/{post.slug}/"
    etag = client.get(url).headers["ETag"]
    with count_queries() as counter:
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert counter.count == 1, counter.statements


def test_approving_a_comment_invalidates_the_page_at_once(client: FlaskClient) -> None:
    post = factories.make_post()
    pending = factories.make_comment(post, status=CommentStatus.PENDING, body="Now you see me")
    first = client.get(f"/blog/{post.slug}/")
    assert "Now you see me" not in first.get_data(as_text=True)
    # Any status change through the ORM, the way moderation does it, bumps the version.
    pending.status = CommentStatus.APPROVED
    db.session.commit()
    second = client.get(f"/blog/{post.slug}/", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert "Now you see me" in second.get_data(as_text=True)
    assert second.headers["ETag"] != first.headers["ETag"]


def test_bulk_sql_updates_also_invalidate(client: FlaskClient) -> None:
    from blog.comments.transitions import apply_count_delta

    post = factories.make_post()
    etag = client.get("/").headers["ETag"]
    apply_count_delta(post.id, 3)
    db.session.commit()
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 200


def test_signed_in_users_get_no_shared_caching(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    factories.make_post()
    response = client_as(Role.ADMIN).get("/")
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]
    assert "ETag" not in response.headers


def test_errors_are_not_given_validators(client: FlaskClient) -> None:
    response = client.get("/blog/missing/")
    assert response.status_code == 404
    assert "ETag" not in response.headers


# -- the rendered-page cache ---------------------------------------------------------------


def test_a_second_reader_gets_the_post_page_from_the_page_store(
    client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post()
    factories.make_comments(post, 5)
    url = f"/blog/{post.slug}/"
    first = client.get(url).get_data()
    other_reader = client.application.test_client()
    with count_queries() as counter:
        second = other_reader.get(url).get_data()
    assert counter.count == 1  # the content version; the page itself came from the store
    assert second == first


@pytest.mark.parametrize("url", ["/feed/", "/comments/feed/atom/", "/sitemap-archives.xml"])
def test_feeds_and_sitemaps_are_kept_with_their_content_type(
    app: Flask, count_queries: Callable[[], Any], url: str
) -> None:
    import feedparser

    post = factories.make_post(title="Syndicated")
    factories.make_comments(post, 2)
    first = app.test_client().get(url)
    with count_queries() as counter:
        kept = app.test_client().get(url)
    assert counter.count == 1, counter.statements
    assert kept.get_data() == first.get_data()
    assert kept.headers["Content-Type"] == first.headers["Content-Type"]
    assert "xml" in first.headers["Content-Type"]
    if "feed" in url:
        assert not feedparser.parse(kept.get_data()).bozo


def test_a_new_comment_shows_at_once_without_conditional_headers(client: FlaskClient) -> None:
    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    assert "Fresh words" not in client.get(url).get_data(as_text=True)
    factories.make_comment(post, body="Fresh words")
    assert "Fresh words" in client.get(url).get_data(as_text=True)


def test_a_reader_with_a_pending_comment_is_not_served_the_shared_page(
    client: FlaskClient,
) -> None:
    from blog.web.commenter import COOKIE_NAME, CommenterCookie, dump_commenter_cookie

    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    client.get(url)  # fills the shared cache
    mine = factories.make_comment(post, status=CommentStatus.PENDING, body="Only for me")
    with client.application.test_request_context():
        cookie = dump_commenter_cookie(CommenterCookie([mine.id]))
    author = client.application.test_client()
    author.set_cookie(COOKIE_NAME, cookie)
    page = author.get(url)
    assert "Only for me" in page.get_data(as_text=True)
    assert "private" in page.headers["Cache-Control"]
    assert "Only for me" not in client.get(url).get_data(as_text=True)


def test_redis_page_store_is_shared_between_workers(make_app: Callable[..., Any]) -> None:
    import os

    import pytest
    import redis

    url = os.environ.get("BLOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable")
    from blog.cache.stores import RedisPageStore

    first, second = RedisPageStore(url), RedisPageStore(url)
    first.set("shared-key-test", b"<p>rendered once</p>")
    assert second.get("shared-key-test") == b"<p>rendered once</p>"
    assert RedisPageStore("redis://127.0.0.1:1/0").get("anything") is None  # dead Redis: a miss


def test_a_scheduled_post_appears_at_its_time_without_any_write(
    client: FlaskClient, monkeypatch: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from blog.cache import versions as caching
    from blog.posts import reading as posts
    from blog.settings import load_settings_and_version

    due = datetime.now(UTC) + timedelta(hours=2)
    factories.make_post(title="Visible now")
    factories.make_post(title="Scheduled one", published_at=due)
    stamp = load_settings_and_version()[1]
    before = caching.effective_version(stamp, due - timedelta(seconds=1))
    after = caching.effective_version(stamp, due + timedelta(seconds=1))
    assert before != after
    assert caching.effective_version(stamp, due + timedelta(minutes=5)) == after

    first = client.get("/")
    assert "Scheduled one" not in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304
    # Two hours later, with nothing written in between:
    later = due + timedelta(seconds=1)
    monkeypatch.setattr(caching, "_now", lambda: later)
    monkeypatch.setattr(posts, "utcnow", lambda: later)
    page = client.get("/", headers={"If-None-Match": etag})
    assert page.status_code == 200
    assert "Scheduled one" in page.get_data(as_text=True)


def test_a_setting_changed_by_another_worker_shows_on_the_next_page(
    make_app: Callable[..., Any],
) -> None:
    """Each worker keeps the parsed settings for as long as the content version stays the same;
    a change made elsewhere (another worker, the CLI) moves the version, so it shows at once."""
    from blog.settings import save_settings

    reader_side, writer_side = make_app(), make_app()
    with reader_side.app_context():
        factories.make_post(title="Any post")
    client = reader_side.test_client()
    assert "My Blog" in client.get("/").get_data(as_text=True)
    assert "My Blog" in client.get("/blog/").get_data(as_text=True)  # settings now kept
    with writer_side.app_context():
        save_settings({"site_title": "Renamed Elsewhere"})
    page = client.get("/").get_data(as_text=True)
    assert "Renamed Elsewhere" in page and "My Blog" not in page


def test_a_new_release_of_the_templates_changes_every_etag(tmp_path: Any) -> None:
    """Pages cached in Redis by an older release are not served once the templates change."""
    from flask import Flask

    from blog.cache.conditional import page_format

    site = Flask(__name__, root_path=str(tmp_path), template_folder="t", static_folder="s")
    (tmp_path / "t").mkdir()
    (tmp_path / "s").mkdir()
    (tmp_path / "t" / "post.html").write_text("<p>{{ post.title }}</p>")
    (tmp_path / "s" / "style.css").write_text("p { color: black }")
    before = page_format(site)
    assert page_format(site) == before
    (tmp_path / "s" / "style.css").write_text("p { color: navy }")
    after_css = page_format(site)
    (tmp_path / "t" / "post.html").write_text("<h1>{{ post.title }}</h1>")
    assert len({before, after_css, page_format(site)}) == 3


def test_held_and_spam_comments_leave_cached_pages_alone_until_one_is_approved(
    app: Flask, client: FlaskClient
) -> None:
    post = factories.make_post()
    url = f"/blog/{post.slug}/"
    etag = client.get("/").headers["ETag"]
    reader = app.test_client()
    form = {"name": "New Reader", "email": "new@example.com", "body": "Held back"}
    assert reader.post(f"{url}comments", data=form).status_code == 303
    held = db.session.scalars(select(Comment).where(Comment.post_id == post.id)).one()
    assert held.status == CommentStatus.PENDING  # a first comment is held, as in WordPress
    spam = factories.make_comment(post, status=CommentStatus.SPAM, body="Buy now")
    assert spam.status == CommentStatus.SPAM  # loaded, as moderation loads what it changes
    spam.status = CommentStatus.TRASH
    db.session.commit()
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304
    # Its author sees a held comment: an edit to it is seen at once.
    held.body_source = "Held back, edited"
    db.session.commit()
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 200
    etag = client.get("/").headers["ETag"]
    held.status = CommentStatus.APPROVED
    db.session.commit()
    assert "Held back" in client.get(url).get_data(as_text=True)
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 200
    # Taking an approved comment away is seen at once as well.
    etag = client.get(url).headers["ETag"]
    held.status = CommentStatus.TRASH
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
    assert "Held back" not in client.get(url).get_data(as_text=True)


def test_an_approval_keeps_the_sidebar_worked_out_but_a_new_post_shows_in_it(
    make_app: Callable[..., Flask], count_queries: Callable[[], Any]
) -> None:
    """The sidebar (its category counts read every published post) depends on posts alone:
    it is kept per posts version, which an approved comment does not move."""
    from blog.comments.moderation import ModerationAction, moderate_comment

    app = make_app(PAGE_CACHE=False)
    with app.app_context():
        post = factories.make_post(title="Discussed", categories=[factories.make_category("Old")])
        held = factories.make_comment(post, status=CommentStatus.PENDING, body="Wait for me")
        moderator = factories.make_user(role=Role.MODERATOR)
        db.session.commit()
        client = app.test_client()
        assert "No Comments" in client.get("/").get_data(as_text=True)
        moderate_comment(held.id, ModerationAction.APPROVE, moderator)
        with count_queries() as counter:
            page = client.get("/").get_data(as_text=True)
        assert "1 Comment" in page  # the approval shows at once ...
        sidebar = [s for s in counter.statements if "count(*) AS n" in s]
        assert sidebar == []  # ... and the sidebar was not worked out again
        factories.make_post(title="Newer", categories=[factories.make_category("Fresh")])
        db.session.commit()
        with count_queries() as counter:
            page = client.get("/").get_data(as_text=True)
        assert "Fresh" in page and "Newer" in page
        assert [s for s in counter.statements if "count(*) AS n" in s]


def test_a_bulk_update_of_anything_but_the_count_moves_the_posts_version(
    make_app: Callable[..., Flask],
) -> None:
    """Nobody tells the cache about a write: a bulk UPDATE that only moves a comment count
    keeps the sidebar (test above), one that changes anything else is seen as a posts change."""
    app = make_app(PAGE_CACHE=False)
    with app.app_context():
        post = factories.make_post(title="Before the rename")
        db.session.commit()
        client = app.test_client()

        def sidebar() -> str:
            html = client.get("/").get_data(as_text=True)
            return html[html.index('class="sidebar"') :]

        assert "Before the rename" in sidebar()
        db.session.execute(update(Post).where(Post.id == post.id).values(title="After it"))
        db.session.commit()
        assert "After it" in sidebar()
