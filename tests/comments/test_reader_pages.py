"""Reading comments: pages of threads and permalinks, avatars, badges, recent comments."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostStatus, Role, User, utcnow
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, post_comment, reader


def threads(post: Post, n: int, replies_each: int = 0) -> list[Comment]:
    """``n`` top-level comments a minute apart, each with ``replies_each`` replies under it."""
    start = utcnow() - timedelta(days=1)
    tops: list[Comment] = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        top = factories.make_comment(
            post, body=f"Thread {i + 1}", created_at=at, author_name=f"T{i + 1}", commit=False
        )
        for j in range(replies_each):
            factories.make_comment(
                post,
                body=f"Reply {j + 1} to thread {i + 1}",
                parent=top,
                created_at=at + timedelta(seconds=j + 1),
                commit=False,
            )
        tops.append(top)
    db.session.commit()
    return tops


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="comment[^"]*" id="comment-(\d+)"', html)]


def test_threads_are_paginated_with_navigation_and_replies_stay_with_their_thread(
    client: FlaskClient,
) -> None:
    save_settings({"comments_per_page": 2})
    post = factories.make_post(title="Busy")
    tops = threads(post, 5, replies_each=1)
    first = client.get(f"/blog/{post.slug}/")
    assert "Thread 1" in first.text and "Thread 2" in first.text and "Thread 3" not in first.text
    assert "Reply 1 to thread 2" in first.text
    assert "10 Comments" in first.text  # the count is of every approved comment
    assert f'href="/blog/{post.slug}/?cpage=2#comments">Newer Comments' in first.text
    third = client.get(f"/blog/{post.slug}/?cpage=3")
    assert shown_ids(third.text) == [tops[4].id, tops[4].id + 1]
    assert f'href="/blog/{post.slug}/?cpage=2#comments">&laquo; Older Comments' in third.text
    assert "Newer Comments" not in third.text
    for bad in ("4", "0", "x", "1.5"):
        assert client.get(f"/blog/{post.slug}/?cpage={bad}").status_code == 404


def test_newest_setting_shows_the_last_page_first(client: FlaskClient) -> None:
    save_settings({"comments_per_page": 2, "default_comments_page": "newest"})
    post = factories.make_post()
    tops = threads(post, 5)
    page = client.get(f"/blog/{post.slug}/")
    assert shown_ids(page.text) == [tops[4].id]
    assert f'href="/blog/{post.slug}/?cpage=2#comments">&laquo; Older Comments' in page.text
    assert shown_ids(client.get(f"/blog/{post.slug}/?cpage=1").text) == [tops[0].id, tops[1].id]


def test_permalink_of_a_comment_on_page_3_redirects_to_that_page(client: FlaskClient) -> None:
    save_settings({"comments_per_page": 2})
    post = factories.make_post()
    tops = threads(post, 6, replies_each=2)
    reply_on_page_3 = db.session.scalars(
        db.select(Comment).where(Comment.parent_id == tops[4].id).order_by(Comment.id)
    ).all()[1]
    answer = client.get(f"/comments/{reply_on_page_3.id}")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location == f"/blog/{post.slug}/?cpage=3#comment-{reply_on_page_3.id}"
    landed = client.get(location)
    assert f'id="comment-{reply_on_page_3.id}"' in landed.text
    # The link in the page points at the page it is on.
    assert f'href="/blog/{post.slug}/?cpage=3#comment-{reply_on_page_3.id}"' in landed.text
    # On the first page the permalink needs no cpage.
    first = client.get(f"/comments/{tops[0].id}")
    assert first.headers["Location"] == f"/blog/{post.slug}/?cpage=1#comment-{tops[0].id}"


def test_permalinks_of_unknown_held_or_hidden_comments_are_404(client: FlaskClient) -> None:
    post = factories.make_post()
    held = factories.make_comment(post, status=CommentStatus.PENDING)
    spam = factories.make_comment(post, status=CommentStatus.SPAM, body="Buy")
    draft = factories.make_post(status=PostStatus.DRAFT)
    on_draft = factories.make_comment(draft)
    for cid in (held.id, spam.id, on_draft.id, 999_999):
        assert client.get(f"/comments/{cid}").status_code == 404
    assert client.get("/comments/99999999999").status_code == 404


def test_a_new_comment_on_a_later_page_lands_there(app: Flask) -> None:
    save_settings({"comments_per_page": 2, "comment_moderation": False})
    save_settings({"comment_previously_approved": False, "flood_interval_seconds": 0})
    post = factories.make_post()
    threads(post, 4)
    browser = reader(app)
    answer = post_comment(browser, post, body="Late to the party")
    new_id = comment_id(answer)
    assert answer.headers["Location"] == f"/blog/{post.slug}/?cpage=3#comment-{new_id}"
    assert "Late to the party" in browser.get(answer.headers["Location"]).text


def test_held_comment_of_the_reader_counts_on_their_pages_only(app: Flask) -> None:
    save_settings({"comments_per_page": 1, "flood_interval_seconds": 0})
    post = factories.make_post()
    threads(post, 1)
    author, other = reader(app), reader(app)
    held = comment_id(post_comment(author, post, body="Mine, held"))
    assert author.get(f"/comments/{held}").headers["Location"].endswith(f"cpage=2#comment-{held}")
    assert other.get(f"/comments/{held}").status_code == 404
    assert other.get(f"/blog/{post.slug}/?cpage=2").status_code == 404


@pytest.fixture
def no_page_cache(make_app: Callable[..., Flask]) -> Any:
    app = make_app(PAGE_CACHE=False)
    with app.app_context():
        yield app


def test_post_page_with_paginated_comments_runs_constant_queries(
    no_page_cache: Flask, count_queries: Callable[[], Any]
) -> None:
    save_settings({"comments_per_page": 3})
    staff = factories.make_user(Role.EDITOR)
    small, large = factories.make_post(title="Small"), factories.make_post(title="Large")
    threads(small, 2, replies_each=1)
    threads(large, 40, replies_each=4)
    comments = db.session.scalars(db.select(Comment).where(Comment.post_id == large.id)).all()
    for comment in comments[::7]:
        comment.user_id = staff.id
    db.session.commit()
    client = no_page_cache.test_client()

    def measure(url: str) -> int:
        client.get(url)
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    few = measure(f"/blog/{small.slug}/")
    many = measure(f"/blog/{large.slug}/")
    later = measure(f"/blog/{large.slug}/?cpage=9")
    assert few == many == later, (few, many, later)
    assert many <= 8, many


def test_avatars_are_local_identicons_by_default(client: FlaskClient) -> None:
    post = factories.make_post()
    factories.make_comment(post, author_email="ann@example.com", author_name="Ann")
    factories.make_comment(post, author_email="ANN@example.com ", author_name="Ann again")
    factories.make_comment(post, author_email="bob@example.com", author_name="Bob")
    page = client.get(f"/blog/{post.slug}/").text
    sources = re.findall(r'<img class="avatar" src="([^"]+)"', page)
    assert len(sources) == 3
    assert sources[0] == sources[1] != sources[2]  # the address decides, not its case
    assert all(re.fullmatch(r"/avatar/[0-9a-f]{32}\.svg", s) for s in sources)
    assert "gravatar" not in page and "ann@example.com" not in page
    assert not re.search(r'(src|href)="(https?:)?//(?!localhost)', page)  # nothing from elsewhere

    picture = client.get(sources[0])
    assert picture.status_code == 200
    assert picture.mimetype == "image/svg+xml"
    assert "max-age=31536000" in picture.headers["Cache-Control"]
    ElementTree.fromstring(picture.data)  # well-formed SVG
    assert client.get(sources[0]).data == picture.data  # deterministic
    assert client.get(sources[2]).data != picture.data
    for bad in ("nothex", "A" * 32, "0" * 31, "0" * 64):
        assert client.get(f"/avatar/{bad}.svg").status_code == 404


def test_avatar_needs_no_database(client: FlaskClient, count_queries: Callable[[], Any]) -> None:
    with count_queries() as counter:
        assert client.get("/avatar/" + "ab" * 16 + ".svg").status_code == 200
    assert counter.count == 0


def test_gravatar_only_when_the_operator_turns_it_on(client: FlaskClient) -> None:
    post = factories.make_post()
    factories.make_comment(post, author_email="Ann@Example.com")
    save_settings({"show_gravatar": True})
    page = client.get(f"/blog/{post.slug}/")
    assert "https://secure.gravatar.com/avatar/" in page.text
    found = re.search(r"gravatar\.com/avatar/([0-9a-f]{64})\?s=96&amp;d=identicon", page.text)
    # Gravatar's hash: SHA-256 of the trimmed, lower-cased address.
    assert found and found.group(1) == hashlib.sha256(b"ann@example.com").hexdigest()
    assert "img-src" in page.headers["Content-Security-Policy"]
    assert "https:" in page.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]


def test_badges_for_the_post_author_and_staff(client: FlaskClient, users: dict[Role, User]) -> None:
    writer = users[Role.AUTHOR]
    post = factories.make_post(author=writer)
    by_author = factories.make_comment(post, body="From the author")
    by_editor = factories.make_comment(post, body="From an editor")
    by_moderator = factories.make_comment(post, body="From a moderator")
    by_reader = factories.make_comment(post, body="From a reader")
    other_author = factories.make_comment(post, body="From another author")
    by_author.user_id = writer.id
    by_editor.user_id = users[Role.EDITOR].id
    by_moderator.user_id = users[Role.MODERATOR].id
    other_author.user_id = factories.make_user(Role.AUTHOR).id
    db.session.commit()
    html = client.get(f"/blog/{post.slug}/").text

    def badge(comment: Comment) -> str | None:
        block = html.split(f'id="comment-{comment.id}"')[1].split("</footer>")[0]
        found = re.search(r'class="comment-badge">([^<]+)<', block)
        return found.group(1) if found else None

    assert badge(by_author) == "Post author"
    assert badge(by_editor) == "Editor"
    assert badge(by_moderator) == "Moderator"
    assert badge(by_reader) is None and badge(other_author) is None
    assert f'class="comment depth-1 bypostauthor" id="comment-{by_author.id}"' in html


def test_recent_comments_in_the_sidebar_and_the_api(client: FlaskClient) -> None:
    seen = factories.make_post(title="Seen post")
    hidden = factories.make_post(title="Draft post", status=PostStatus.DRAFT)
    start = utcnow() - timedelta(hours=1)
    made = [
        factories.make_comment(
            seen,
            author_name=f"Writer {i}",
            body=f"Note {i}",
            created_at=start + timedelta(minutes=i),
        )
        for i in range(7)
    ]
    factories.make_comment(hidden, author_name="Secret", created_at=utcnow())
    factories.make_comment(seen, author_name="Held", status=CommentStatus.PENDING)
    html = client.get("/").text
    sidebar = html[html.index('class="widget widget-recent-comments"') :].split("</section>")[0]
    names = re.findall(r'class="comment-author-link">([^<]+)<', sidebar)
    assert names == ["Writer 6", "Writer 5", "Writer 4", "Writer 3", "Writer 2"]
    assert f'href="/comments/{made[6].id}">Seen post</a>' in sidebar
    assert "Secret" not in sidebar and "Held" not in sidebar

    answer = client.get("/api/v1/comments/recent?per_page=3")
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [i["author"]["name"] for i in items] == ["Writer 6", "Writer 5", "Writer 4"]
    assert items[0]["post"] == {
        "slug": seen.slug,
        "title": "Seen post",
        "url": f"http://localhost/blog/{seen.slug}/",
    }
    assert items[0]["url"] == f"http://localhost/comments/{made[6].id}"
    assert items[0]["body_html"] == "<p>Note 6</p>"
    assert "email" not in str(items) and "ip" not in items[0]
    assert len(client.get("/api/v1/comments/recent").get_json()["items"]) == 5
    etag = answer.headers["ETag"]
    again = client.get("/api/v1/comments/recent?per_page=3", headers={"If-None-Match": etag})
    assert again.status_code == 304
    for bad in ("0", "51", "x", "-1"):
        wrong = client.get(f"/api/v1/comments/recent?per_page={bad}")
        assert wrong.status_code == 400 and "per_page" in wrong.get_json()["error"]["fields"]


def test_recent_comments_cost_one_query(
    no_page_cache: Flask, count_queries: Callable[[], Any]
) -> None:
    from blog.comments.recent import recent_comments

    post = factories.make_post()
    threads(post, 30)
    with count_queries() as counter:
        found = recent_comments()
    assert len(found) == 5 and counter.count == 1
