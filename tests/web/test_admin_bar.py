"""The admin bar and the moderation links of public pages (issue 15): shown to signed-in staff as
their role allows, never to a reader, and never in a page that a cache could share."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role, User
from blog.web.commenter import COOKIE_NAME, REMEMBER_COOKIE, CommenterCookie, dump_commenter_cookie
from tests import factories
from tests.commenting import post_comment, reader
from tests.conftest import login

BAR = 'class="admin-bar"'
MODERATION = 'class="comment-moderation"'


def _html(response: TestResponse) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _bar(page: str) -> dict[str, str]:
    """The bar's links: label -> href (empty when there is no bar)."""
    found = re.search(r'<nav class="admin-bar".*?</nav>', page, flags=re.S)
    if found is None:
        return {}
    links = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', found.group(0))
    return {label.strip(): href for href, label in links}


def _moderation_forms(page: str, comment: Comment) -> dict[str, str]:
    """The moderation forms beside one comment: label -> action URL."""
    found = re.search(
        rf'id="comment-{comment.id}".*?<div class="comment-moderation">(.*?)</div>', page, re.S
    )
    if found is None:
        return {}
    forms = re.findall(r'<form [^>]*action="([^"]+)".*?<button[^>]*>(\w+)', found.group(1))
    return {label: action for action, label in forms}


def _public_pages(post: Post, author: User) -> list[str]:
    year = post.published_at.year if post.published_at else 2026
    return [
        f"/blog/{post.slug}/",
        "/",
        "/blog/",
        f"/archive/{year}/",
        "/category/walks/",
        "/tag/hills/",
        f"/author/{author.slug}/",
        "/search/?q=hill",
        f"/blog/{post.slug}/?cpage=1",
    ]


@pytest.fixture
def site(app: Flask) -> tuple[Post, User, Comment]:
    """A post by an author, one approved comment and two held ones."""
    author = factories.make_user(Role.AUTHOR, username="ann", display_name="Ann Author")
    category = factories.make_category("Walks")
    post = factories.make_post(
        author=author, title="Hill walks", categories=[category], tags=["hills"]
    )
    approved = factories.make_comment(post, body="Lovely route.", author_name="Bea")
    factories.make_comment(post, body="Held one", status=CommentStatus.PENDING)
    factories.make_comment(post, body="Held two", status=CommentStatus.PENDING)
    return post, author, approved


def test_signed_in_staff_see_the_bar_with_what_their_role_allows(
    app: Flask, site: tuple[Post, User, Comment], users: dict[Role, User]
) -> None:
    post, author, _approved = site
    url = f"/blog/{post.slug}/"
    edit = f"/admin/posts/{post.id}/edit"

    admin = _bar(_html(login(app.test_client(), users[Role.ADMIN]).get(url)))
    assert admin["Dashboard"] == "/admin/"
    assert admin["New post"] == "/admin/posts/new"
    assert admin["Edit post"] == edit
    assert admin["2 held comments"] == "/admin/comments/"

    editor = _bar(_html(login(app.test_client(), users[Role.EDITOR]).get(url)))
    assert {"Dashboard", "New post", "Edit post", "2 held comments"} <= set(editor)

    moderator = _bar(_html(login(app.test_client(), users[Role.MODERATOR]).get(url)))
    assert set(moderator) >= {"Dashboard", "2 held comments"}
    assert "New post" not in moderator and "Edit post" not in moderator

    own = _bar(_html(login(app.test_client(), author).get(url)))
    assert own["Edit post"] == edit and own["2 held comments"] == "/admin/comments/"
    other_author = _bar(_html(login(app.test_client(), users[Role.AUTHOR]).get(url)))
    assert "New post" in other_author
    assert "Edit post" not in other_author  # not theirs to edit
    assert other_author["0 held comments"] == "/admin/comments/"  # only their own posts count


def test_the_bar_is_on_every_public_page_and_not_in_the_admin(
    app: Flask, site: tuple[Post, User, Comment], users: dict[Role, User]
) -> None:
    post, author, _approved = site
    admin = login(app.test_client(), users[Role.ADMIN])
    for url in _public_pages(post, author):
        bar = _bar(_html(admin.get(url)))
        assert bar.get("Dashboard") == "/admin/", url
        assert ("Edit post" in bar) == url.startswith(f"/blog/{post.slug}/"), url
    missing = admin.get("/no-such-page/")
    assert missing.status_code == 404
    assert "Dashboard" in _bar(missing.get_data(as_text=True))
    for url in ("/admin/", "/admin/comments/", "/admin/posts/"):
        assert BAR not in _html(admin.get(url)), url


def test_no_cookieless_reader_ever_gets_the_bar_and_every_one_gets_the_same_bytes(
    app: Flask, site: tuple[Post, User, Comment], users: dict[Role, User]
) -> None:
    post, author, _approved = site
    admin = login(app.test_client(), users[Role.ADMIN])
    for url in _public_pages(post, author):
        staff_page = admin.get(url)  # first, so that a shared copy would hold the bar
        assert BAR in _html(staff_page) and staff_page.headers["Cache-Control"].startswith(
            "private"
        )
        first = app.test_client(use_cookies=False).get(url)
        second = app.test_client(use_cookies=False).get(url)
        page = _html(first)
        assert BAR not in page and MODERATION not in page, url
        assert "/admin/" not in page and "csrf_token" not in page, url
        assert first.get_data() == second.get_data(), url
        assert first.headers["Cache-Control"].startswith("public"), url


def test_a_reader_with_commenter_cookies_never_sees_the_bar_or_moderation_links(
    app: Flask, site: tuple[Post, User, Comment]
) -> None:
    post, author, _approved = site
    browser = reader(app)
    posted = post_comment(browser, post, name="Cy", body="My held words", remember="yes")
    assert posted.status_code == 303
    assert browser.get_cookie(COOKIE_NAME) is not None
    assert browser.get_cookie(REMEMBER_COOKIE) is not None
    for url in _public_pages(post, author):
        page = _html(browser.get(url))
        assert BAR not in page and MODERATION not in page, url
        assert 'href="/admin/' not in page, url
    assert "My held words" in _html(browser.get(f"/blog/{post.slug}/"))


def test_moderation_links_appear_for_those_who_may_moderate_the_comment(
    app: Flask, site: tuple[Post, User, Comment], users: dict[Role, User]
) -> None:
    post, author, approved = site
    url = f"/blog/{post.slug}/"
    expected = {
        "Unapprove": f"/admin/comments/{approved.id}/unapprove",
        "Spam": f"/admin/comments/{approved.id}/spam",
        "Trash": f"/admin/comments/{approved.id}/trash",
    }
    for who in (users[Role.ADMIN], users[Role.EDITOR], users[Role.MODERATOR], author):
        page = _html(login(app.test_client(), who).get(url))
        assert _moderation_forms(page, approved) == expected, who.role
        edit = f"/admin/comments/?status=approved&amp;edit={approved.id}"
        assert f'href="{edit}"' in page, who.role
    other_author = _html(login(app.test_client(), users[Role.AUTHOR]).get(url))
    assert MODERATION not in other_author
    assert _moderation_forms(other_author, approved) == {}


def test_a_held_comment_shown_to_its_moderator_offers_approve(
    app: Flask, users: dict[Role, User]
) -> None:
    post = factories.make_post()
    moderator = login(app.test_client(), users[Role.MODERATOR])
    mine = factories.make_comment(post, body="Mine, held", status=CommentStatus.PENDING)
    with app.test_request_context():
        moderator.set_cookie(COOKIE_NAME, dump_commenter_cookie(CommenterCookie([mine.id])))
    page = _html(moderator.get(f"/blog/{post.slug}/"))
    assert set(_moderation_forms(page, mine)) == {"Approve", "Spam", "Trash"}
    back = f"/blog/{post.slug}/#comment-{mine.id}"  # approved, it stays where it is
    assert f'<input type="hidden" name="next" value="{back}"><button' in page
    approved = moderator.post(f"/admin/comments/{mine.id}/approve", data={"next": back})
    assert approved.status_code == 303 and approved.headers["Location"] == back
    shown = _html(app.test_client(use_cookies=False).get(f"/blog/{post.slug}/"))
    assert "Mine, held" in shown


def test_a_moderation_link_acts_with_its_token_and_lands_back_on_the_comment(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        post = factories.make_post()
        first = factories.make_comment(post, body="Stays")
        spam = factories.make_comment(post, body="Buy pills now")
        slug, spam_id, first_id = post.slug, spam.id, first.id
        moderator = login(app.test_client(), factories.make_user(Role.MODERATOR))
    page = _html(moderator.get(f"/blog/{slug}/"))
    form = re.search(
        rf'<form [^>]*action="(/admin/comments/{spam_id}/spam)"[^>]*>'
        r'<input type="hidden" name="csrf_token" value="([^"]+)">'
        r'<input type="hidden" name="next" value="([^"]+)">',
        page,
    )
    assert form is not None
    action, token, back = form.groups()
    assert back == f"/blog/{slug}/#comments"  # the comment leaves the page: its anchor would not
    refused = moderator.post(action, data={"next": back})
    assert refused.status_code == 400  # no token: nothing done
    with app.app_context():
        assert db.session.get(Comment, spam_id).status == CommentStatus.APPROVED  # type: ignore[union-attr]

    done = moderator.post(action, data={"csrf_token": token, "next": back})
    assert done.status_code == 303
    assert done.headers["Location"] == back
    after = _html(moderator.get(back))
    assert "Comment marked as spam." in after
    assert "Buy pills now" not in after and f'id="comment-{first_id}"' in after
    with app.app_context():
        assert db.session.get(Comment, spam_id).status == CommentStatus.SPAM  # type: ignore[union-attr]

    offsite = moderator.post(
        f"/admin/comments/{first_id}/trash",
        data={"csrf_token": token, "next": "https://elsewhere.example/"},
    )
    assert offsite.status_code == 303
    assert offsite.headers["Location"] == "/admin/comments/"


def test_the_edit_link_opens_the_comment_in_the_queues_editor(
    app: Flask, site: tuple[Post, User, Comment], users: dict[Role, User]
) -> None:
    post, _author, approved = site
    moderator = login(app.test_client(), users[Role.MODERATOR])
    page = _html(moderator.get(f"/blog/{post.slug}/"))
    link = re.search(r'class="comment-moderation-edit" href="([^"]+)"', page)
    assert link is not None
    editor = _html(moderator.get(link.group(1).replace("&amp;", "&")))
    assert f"/admin/comments/{approved.id}/edit" in editor
    assert "Lovely route." in editor


def test_a_reader_cannot_use_the_moderation_endpoints(
    client: FlaskClient, site: tuple[Post, User, Comment]
) -> None:
    post, _author, approved = site
    answer = client.post(
        f"/admin/comments/{approved.id}/trash", data={"next": f"/blog/{post.slug}/"}
    )
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert db.session.get(Comment, approved.id).status == CommentStatus.APPROVED  # type: ignore[union-attr]
