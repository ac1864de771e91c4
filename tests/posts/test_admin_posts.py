"""The post form and the posts list, as a writer uses them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostStatus, Role, Tag, User, utcnow
from blog.posts import reading
from tests import factories
from tests.posts.test_public_pages import text_of


def form(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"title": "A title", "body": "Some text.", "status": "draft"}
    base.update(fields)
    return base


def post_count() -> int:
    return db.session.scalar(select(func.count(Post.id))) or 0


def only_post(title: str) -> Post:
    db.session.expire_all()
    found = db.session.scalars(select(Post).where(Post.title == title)).one()
    return found


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<span class="field-error" id="{name}-error">([^<]*)</span>', html)
    return match.group(1) if match else ""


def test_a_new_admin_writes_previews_and_publishes_a_post_that_readers_see(
    app: Flask,
) -> None:
    """The issue's walk-through: create-user, sign in, write with a new category and tags,
    preview, publish, and find it on the home page with breadcrumbs and "No Comments"."""
    created = app.test_cli_runner().invoke(
        args=["blog", "create-user", "boss", "--role", "admin"], input="a long password\n"
    )
    assert created.exit_code == 0, created.output
    client = app.test_client()
    signed_in = client.post("/login", data={"username": "boss", "password": "a long password"})
    assert signed_in.headers["Location"] == "/admin/"
    assert client.get("/admin/posts/new").status_code == 200
    fields = form(
        title="Patch Tuesday, explained",
        body="## What changed\n\n- one\n- two\n\n**Update now.**",
        new_category="Security",
        tags="updates, Windows, updates",
        status="published",
        comments_open="y",
    )
    preview = client.post("/admin/posts/new", data={**fields, "action": "preview"})
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "<h2>What changed</h2>" in html and "<strong>Update now.</strong>" in html
    assert "Patch Tuesday, explained" in html  # the typed title is still in the form
    assert post_count() == 0  # a preview saves nothing

    saved = client.post("/admin/posts/new", data={**fields, "action": "save"})
    assert saved.status_code == 303
    post = only_post("Patch Tuesday, explained")
    assert post.slug == "patch-tuesday-explained"
    assert [c.name for c in post.categories] == ["Security"]
    assert post.primary_category is not None and post.primary_category.name == "Security"
    assert sorted(t.name for t in post.tags) == ["Windows", "updates"]
    assert reading.is_visible(post)

    home = text_of(app.test_client().get("/"))
    assert "Patch Tuesday, explained" in home and "No Comments" in home
    page = app.test_client().get(f"/blog/{post.slug}/").get_data(as_text=True)
    crumbs = re.search(r'<nav class="breadcrumbs.*?</nav>', page, re.S)
    assert crumbs is not None
    labels = re.findall(r">([^<>]+)</(?:a|span)>", crumbs.group(0))
    assert labels == ["My Blog", "Blog", "Security", "Patch Tuesday, explained"]
    assert "No Comments" in page


def test_slugs_come_from_the_title_stay_unique_and_can_be_typed(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    client = client_as(Role.EDITOR)
    for _ in range(2):
        assert client.post("/admin/posts/new", data=form(title="Hello World")).status_code == 303
    slugs = sorted(db.session.scalars(select(Post.slug)))
    assert slugs == ["hello-world", "hello-world-2"]
    typed = client.post("/admin/posts/new", data=form(title="Other", slug="My Own Address"))
    assert typed.status_code == 303
    assert only_post("Other").slug == "my-own-address"


def test_a_taken_slug_is_refused_beside_the_field_with_everything_typed_kept(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    factories.make_post(title="First", status=PostStatus.DRAFT)
    client = client_as(Role.EDITOR)
    body = "A long text that must not be lost.\n\nSecond paragraph <b>bold</b>."
    response = client.post(
        "/admin/posts/new", data=form(title="Second", slug="first", body=body, tags="a, b")
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "used by the post “First”" in field_error(html, "slug")
    assert "A long text that must not be lost.\n\nSecond paragraph &lt;b&gt;bold&lt;/b&gt;." in html
    assert 'value="a, b"' in html and 'value="Second"' in html
    assert post_count() == 1


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"title": "   "}, "title", "Please give the post a title."),
        ({"title": "x" * 301}, "title", "at most 300"),
        ({"published_at": "next tuesday"}, "published_at", "Enter a date and time"),
        ({"categories": ["abc"]}, "categories", "Choose categories from the list."),
        ({"categories": ["999999"]}, "categories", "no longer exists"),
        ({"primary_category": "999999"}, "categories", "no longer exists"),
        ({"status": "deleted"}, "status", "Choose Draft or Published."),
        ({"tags": ",".join(f"t{i}" for i in range(60))}, "tags", "at most 50 tags"),
    ],
    ids=[
        "blank-title",
        "long-title",
        "bad-date",
        "bad-category",
        "gone-category",
        "gone-primary",
        "bad-status",
        "too-many-tags",
    ],
)
def test_bad_fields_get_a_message_beside_them_and_nothing_is_saved(
    client_as: Callable[[Role], FlaskClient], fields: dict[str, Any], field: str, message: str
) -> None:
    response = client_as(Role.ADMIN).post(
        "/admin/posts/new", data=form(body="Keep me, please.", **fields)
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in field_error(html, field)
    assert "Keep me, please." in html
    assert post_count() == 0


def test_a_scheduled_post_appears_at_its_time_without_any_job(
    client_as: Callable[[Role], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    when = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    client = client_as(Role.AUTHOR)
    response = client.post(
        "/admin/posts/new",
        data=form(
            title="Tomorrow", status="published", published_at=when.strftime("%Y-%m-%dT%H:%M")
        ),
    )
    assert response.status_code == 303
    post = only_post("Tomorrow")
    assert post.published_at == when.astimezone(UTC)
    listing = client.get("/admin/posts/?status=scheduled").get_data(as_text=True)
    assert "Tomorrow" in listing
    assert "Tomorrow" not in text_of(client.get("/"))
    readers = client.application.test_client()
    assert readers.get(f"/blog/{post.slug}/").status_code == 404
    # The clock moves past the publish date: the very same rows are now public.
    later = when + timedelta(minutes=1)
    monkeypatch.setattr(reading, "utcnow", lambda: later)
    assert readers.get(f"/blog/{post.slug}/").status_code == 200
    assert "Tomorrow" in text_of(readers.get("/"))


def test_editing_keeps_the_address_and_the_seconds_of_the_publish_date(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    published = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    post = factories.make_post(author=users[Role.AUTHOR], title="Old", published_at=published)
    client = client_as(Role.AUTHOR)
    page = client.get(f"/admin/posts/{post.id}/edit").get_data(as_text=True)
    assert 'value="2024-05-06T07:08"' in page
    shown = re.search(r'name="published_at" type="datetime-local" value="([^"]*)"', page)
    assert shown is not None
    response = client.post(
        f"/admin/posts/{post.id}/edit",
        data=form(
            title="New title", status="published", slug=post.slug, published_at=shown.group(1)
        ),
    )
    assert response.status_code == 303
    edited = only_post("New title")
    assert edited.slug == "old" and edited.published_at == published


def test_publish_and_unpublish_buttons(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    post = factories.make_post(author=users[Role.AUTHOR], title="Draft", status=PostStatus.DRAFT)
    client = client_as(Role.AUTHOR)
    assert client.post(f"/admin/posts/{post.id}/publish").status_code == 303
    assert reading.is_visible(only_post("Draft"))
    assert client.post(f"/admin/posts/{post.id}/unpublish").status_code == 303
    assert only_post("Draft").status == PostStatus.DRAFT
    assert client.get(f"/admin/posts/{post.id}/publish").status_code == 405


def test_delete_asks_first_then_deletes_the_post_and_its_comments(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    post = factories.make_post(author=users[Role.AUTHOR], title="Doomed")
    factories.make_comments(post, 3)
    post_id = post.id
    client = client_as(Role.AUTHOR)
    question = client.get(f"/admin/posts/{post.id}/delete")
    assert question.status_code == 200
    assert "Are you sure" in question.get_data(as_text=True)
    assert post_count() == 1  # asking deletes nothing
    done = client.post(f"/admin/posts/{post.id}/delete")
    assert done.status_code == 303 and done.headers["Location"] == "/admin/posts/"
    assert post_count() == 0
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert client.get(f"/admin/posts/{post_id}/edit").status_code == 404


def test_the_post_form_works_with_csrf_on_and_keeps_the_text_when_the_token_is_stale(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        editor = factories.make_user(role=Role.EDITOR, username="ed")
        client = app.test_client()
        from tests.conftest import login

        login(client, editor)
        stale = client.post("/admin/posts/new", data=form(title="Kept", body="My long text"))
        assert stale.status_code == 400
        html = stale.get_data(as_text=True)
        assert "session expired" in html and "My long text" in html and 'value="Kept"' in html
        assert post_count() == 0
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token is not None
        fresh = client.post(
            "/admin/posts/new", data=form(title="Kept", body="My long text", csrf_token=token[1])
        )
        assert fresh.status_code == 303
        assert post_count() == 1
        post = only_post("Kept")
        assert client.post(f"/admin/posts/{post.id}/delete").status_code == 400
        assert post_count() == 1


def test_the_posts_list_filters_and_counts_in_constant_queries(
    app: Flask,
    users: dict[Role, User],
    client_as: Callable[[Role], FlaskClient],
    count_queries: Callable[[], Any],
) -> None:
    news = factories.make_category("News")
    client = client_as(Role.EDITOR)

    def seed(n: int) -> None:
        for i in range(n):
            author = users[Role.AUTHOR] if i % 2 else users[Role.EDITOR]
            post = factories.make_post(author=author, categories=[news] if i % 3 == 0 else [])
            factories.make_comment(post, status=CommentStatus.APPROVED)
            factories.make_comment(post, status=CommentStatus.PENDING)

    def measure() -> int:
        with count_queries() as counter:
            assert client.get("/admin/posts/").status_code == 200
        return counter.count

    seed(3)
    small = measure()
    seed(25)
    assert measure() == small
    page = client.get(f"/admin/posts/?category={news.id}&author={users[Role.EDITOR].id}")
    rows = re.findall(r'<tr id="post-(\d+)"', page.get_data(as_text=True))
    expected = db.session.scalars(
        select(Post.id).where(
            Post.author_id == users[Role.EDITOR].id, Post.categories.any(id=news.id)
        )
    ).all()
    assert len(expected) == 6
    assert sorted(map(int, rows)) == sorted(expected)
    html = page.get_data(as_text=True)
    assert "1 pending" in html and 'class="approved-count" title="Approved comments">1<' in html
    draft = factories.make_post(
        author=users[Role.EDITOR], title="Unfinished", status=PostStatus.DRAFT
    )
    drafts = client.get("/admin/posts/?status=draft").get_data(as_text=True)
    assert re.findall(r'<tr id="post-(\d+)"', drafts) == [str(draft.id)]
    assert client.get("/admin/posts/?status=nonsense").status_code == 400
    assert client.get("/admin/posts/?category=abc").status_code == 400
    assert client.get("/admin/posts/?page=99").status_code == 404


def test_an_author_lists_only_their_own_posts(
    users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    factories.make_post(author=users[Role.ADMIN], title="By the admin")
    factories.make_post(author=users[Role.AUTHOR], title="By the author")
    html = client_as(Role.AUTHOR).get("/admin/posts/").get_data(as_text=True)
    assert "By the author" in html and "By the admin" not in html


def test_the_dashboard_counts_and_lists_recent_comments_in_constant_queries(
    users: dict[Role, User],
    client_as: Callable[[Role], FlaskClient],
    count_queries: Callable[[], Any],
) -> None:
    client = client_as(Role.ADMIN)

    def seed(n: int) -> None:
        for _ in range(n):
            post = factories.make_post(author=users[Role.AUTHOR])
            factories.make_comment(post, body="Nice one", status=CommentStatus.APPROVED)
            factories.make_comment(post, body="Held back", status=CommentStatus.PENDING)
            factories.make_comment(post, status=CommentStatus.SPAM)
        factories.make_post(author=users[Role.AUTHOR], status=PostStatus.DRAFT)

    def measure() -> int:
        with count_queries() as counter:
            assert client.get("/admin/").status_code == 200
        return counter.count

    seed(2)
    small = measure()
    seed(20)
    assert measure() == small
    text = text_of(client.get("/admin/"))
    assert "Published (22)" in text and "Drafts (2)" in text and "Scheduled (0)" in text
    assert "Pending (22)" in text and "Spam (22)" in text and "Approved (22)" in text
    assert "Held back" in text and "Nice one" in text


def test_tags_are_created_on_the_fly_once(client_as: Callable[[Role], FlaskClient]) -> None:
    client = client_as(Role.AUTHOR)
    client.post("/admin/posts/new", data=form(title="One", tags="Privacy, privacy ,  UK,,"))
    client.post("/admin/posts/new", data=form(title="Two", tags="uk"))
    names = sorted(db.session.scalars(select(Tag.name)))
    assert names == ["Privacy", "UK"]


# -- sticky posts: WordPress's "Stick to the top of the blog" ----------------------------------

STICK_BOX = 'name="sticky"'


def home_titles(app: Flask) -> list[str]:
    page = app.test_client().get("/").get_data(as_text=True)
    return re.findall(r'<h2 class="entry-title"><a [^>]*>([^<]+)</a>', page)


def test_an_editor_sticks_a_post_to_the_top_of_the_home_page_and_unsticks_it(
    app: Flask, client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    day = timedelta(days=1)
    older = factories.make_post(title="Older news", published_at=utcnow() - 3 * day)
    factories.make_post(title="Newest news", published_at=utcnow() - day)
    assert home_titles(app)[:2] == ["Newest news", "Older news"]
    editor = client_as(Role.EDITOR)
    assert STICK_BOX in editor.get(f"/admin/posts/{older.id}/edit").get_data(as_text=True)
    fields = form(title="Older news", slug=older.slug, status="published", sticky="y")
    assert editor.post(f"/admin/posts/{older.id}/edit", data=fields).status_code == 303
    assert only_post("Older news").sticky
    assert home_titles(app)[:2] == ["Older news", "Newest news"]
    page = editor.get(f"/admin/posts/{older.id}/edit").get_data(as_text=True)
    assert re.search(r'name="sticky"[^>]* checked', page)
    del fields["sticky"]  # the box left unticked
    assert editor.post(f"/admin/posts/{older.id}/edit", data=fields).status_code == 303
    assert not only_post("Older news").sticky
    assert home_titles(app)[:2] == ["Newest news", "Older news"]


def test_an_author_neither_sees_nor_sets_the_sticky_flag_and_keeps_an_editors(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    author = client_as(Role.AUTHOR)
    own = factories.make_post(author=users[Role.AUTHOR], title="Mine")
    assert STICK_BOX not in author.get(f"/admin/posts/{own.id}/edit").get_data(as_text=True)
    assert STICK_BOX not in author.get("/admin/posts/new").get_data(as_text=True)
    fields = form(title="Mine", slug=own.slug, status="published", sticky="y")  # forged
    assert author.post(f"/admin/posts/{own.id}/edit", data=fields).status_code == 303
    assert not only_post("Mine").sticky
    # Stuck by an editor: the author's next save leaves it stuck.
    only_post("Mine").sticky = True
    db.session.commit()
    del fields["sticky"]
    assert author.post(f"/admin/posts/{own.id}/edit", data=fields).status_code == 303
    assert only_post("Mine").sticky


def test_a_page_is_never_sticky(client_as: Callable[[Role], FlaskClient]) -> None:
    admin = client_as(Role.ADMIN)
    assert STICK_BOX not in admin.get("/admin/pages/new").get_data(as_text=True)
    fields = form(title="About us", status="published", sticky="y")
    assert admin.post("/admin/pages/new", data=fields).status_code == 303
    assert not only_post("About us").sticky
