"""Login names are not public (SPEC 4, 11): author archives live under a public slug made from
the display name, answer only for authors with something published, and nothing a reader, a
feed reader, a crawler or an API client gets shows a login name."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.extensions import db
from blog.models import PostStatus, Role, User, utcnow
from tests import factories
from tests.conftest import login


def test_the_archive_answers_under_the_slug_and_never_under_the_login_name(
    app: Flask, client: FlaskClient
) -> None:
    author = factories.make_user(username="evans", display_name="Evans Asare")
    factories.make_post(author, "Kaspersky leaves")
    assert author.slug == "evans-asare"
    page = client.get("/author/evans-asare/")
    assert page.status_code == 200 and "Kaspersky leaves" in page.get_data(as_text=True)
    assert client.get("/author/evans/").status_code == 404


def test_everyone_without_a_visible_post_gets_the_same_404(app: Flask, client: FlaskClient) -> None:
    """A moderator, an admin with no posts, an author with only a draft or a scheduled post,
    a slug nobody has: one and the same page, so the archive tells no account from none."""
    moderator = factories.make_user(Role.MODERATOR, username="mod", display_name="Mo Derator")
    admin = factories.make_user(Role.ADMIN, username="root", display_name="Site Admin")
    drafter = factories.make_user(username="dan", display_name="Dan Drafts")
    factories.make_post(drafter, "Unfinished", status=PostStatus.DRAFT)
    planner = factories.make_user(username="pat", display_name="Pat Plans")
    factories.make_post(planner, "Tomorrow", published_at=utcnow() + timedelta(days=1))
    paths = [f"/author/{user.slug}/" for user in (moderator, admin, drafter, planner)]
    paths += ["/author/no-such-author/", "/author/mod/", "/author/root/"]
    answers = {path: client.get(path) for path in paths}
    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(paths, 404)
    # The same page but for its own address (the canonical link).
    assert len({r.get_data(as_text=True).replace(path, "") for path, r in answers.items()}) == 1


@pytest.mark.parametrize(
    ("username", "display_name"),
    [("lena", "lena"), ("Lena", "LENA"), ("lena.ok", "Lena.ok"), ("nobody", "")],
)
def test_a_display_name_that_would_show_the_login_name_gives_a_generated_slug(
    app: Flask, username: str, display_name: str
) -> None:
    result = app.test_cli_runner().invoke(
        args=["blog", "create-user", username, "--display-name", display_name],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.username == username)).one()
    assert re.fullmatch(r"author-[0-9a-f]{8}", user.slug), user.slug


def test_the_same_display_name_twice_gets_a_number(app: Flask) -> None:
    runner = app.test_cli_runner()
    for username in ("js1", "js2"):
        result = runner.invoke(
            args=["blog", "create-user", username, "--display-name", "John Smith"],
            input="a long enough password\n",
        )
        assert result.exit_code == 0, result.output
    slugs = db.session.scalars(select(User.slug).order_by(User.id)).all()
    assert slugs == ["john-smith", "john-smith-2"]


def _save(client: FlaskClient, user: User, slug: str) -> tuple[int, str]:
    response = client.post(
        f"/admin/users/{user.id}/",
        data={
            "display_name": user.display_name,
            "email": user.email,
            "role": "author",
            "slug": slug,
        },
    )
    return response.status_code, response.get_data(as_text=True)


def test_an_admin_changes_the_slug_and_the_archive_moves(
    app: Flask, client_as: Callable[[Role], FlaskClient], client: FlaskClient
) -> None:
    author = factories.make_user(username="evans", display_name="Evans Asare")
    factories.make_post(author, "Moved along")
    status, _ = _save(client_as(Role.ADMIN), author, "e-asare")
    assert status == 303
    assert client.get("/author/e-asare/").status_code == 200
    assert client.get("/author/evans-asare/").status_code == 404


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("evans", "must not show the username"),
        ("Not A Slug!", "lower-case letters"),
        ("", "lower-case letters"),
        ("taken-name", "Another user has that address"),
    ],
)
def test_a_slug_that_shows_the_login_name_or_is_taken_is_refused_with_the_text_kept(
    app: Flask, client_as: Callable[[Role], FlaskClient], typed: str, message: str
) -> None:
    factories.make_user(username="other", display_name="Taken Name")
    author = factories.make_user(username="evans", display_name="Evans Asare")
    admin = client_as(Role.ADMIN)
    status, page = _save(admin, author, typed)
    assert status == 400 and message in page
    assert f'value="{typed}"' in page.replace("&#34;", '"')
    db.session.expire_all()
    assert db.session.get(User, author.id).slug == "evans-asare"  # type: ignore[union-attr]


def test_the_api_filter_takes_the_slug_and_says_nothing_about_accounts(
    app: Flask, client: FlaskClient
) -> None:
    author = factories.make_user(username="evans", display_name="Evans Asare")
    post = factories.make_post(author, "By slug")
    staff = factories.make_user(Role.ADMIN, username="root", display_name="Site Admin")
    listed = client.get("/api/v1/posts?author=evans-asare").get_json()
    assert [p["slug"] for p in listed["items"]] == [post.slug]
    assert listed["items"][0]["author"]["slug"] == "evans-asare"
    answers = [
        client.get(f"/api/v1/posts?author={value}")
        for value in ("evans", "root", staff.slug, "no-such-author")
    ]
    assert [r.status_code for r in answers] == [200] * 4
    assert {r.get_data() for r in answers} == {answers[0].get_data()}
    assert answers[0].get_json()["items"] == []


def _public_addresses(client: FlaskClient) -> list[str]:
    """Every public page, feed, sitemap and API answer the demo content has."""
    posts = client.get("/api/v1/posts?per_page=100").get_json()["items"]
    paths = ["/", "/blog/", "/feed/", "/feed/atom/", "/comments/feed/", "/sitemap.xml"]
    paths += ["/robots.txt", "/search/?q=kaspersky", "/api/v1/posts?per_page=100"]
    for item in posts:
        paths += [f"/blog/{item['slug']}/", f"/blog/{item['slug']}/feed/"]
        paths += [f"/api/v1/posts/{item['slug']}", f"/api/v1/posts/{item['slug']}/comments"]
        paths.append(item["author"]["url"].removeprefix("http://localhost"))
        paths += [c["url"].removeprefix("http://localhost") for c in item["categories"]]
    return paths


def test_no_login_name_of_the_demo_users_appears_anywhere_public(
    app: Flask, client: FlaskClient
) -> None:
    assert app.test_cli_runner().invoke(args=["blog", "demo"]).exit_code == 0
    logins = db.session.scalars(select(User.username)).all()
    assert logins
    # A login name as a word of its own: "evans" in "evans-asare" is the display name's.
    shown = [re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])") for name in logins]
    paths = _public_addresses(client)
    assert len(paths) > 10
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        # The demo's first admin is called "admin" (blog.accounts.first_run), as is the path
        # robots.txt keeps crawlers out of: the path is not the login name shown.
        text = response.get_data(as_text=True).replace("/admin/", "/")
        leaks = [p.pattern for p in shown if p.search(text)]
        assert not leaks, (path, leaks)


def test_a_signed_in_author_still_finds_their_archive(app: Flask) -> None:
    author = factories.make_user(username="evans", display_name="Evans Asare")
    post = factories.make_post(author, "Mine")
    page = login(app.test_client(), author).get(f"/blog/{post.slug}/").get_data(as_text=True)
    assert 'href="/author/evans-asare/"' in page
