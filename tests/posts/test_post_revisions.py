"""Post revisions: every save keeps one (form, API, restore), the edit page lists them, two
compare as a readable diff, and an older one can be restored by whoever may edit the post."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.accounts.tokens import create_token
from blog.extensions import db
from blog.models import Post, PostRevision, PostStatus, Role, User
from blog.permissions import NotAllowed
from blog.posts import authoring, revisions
from blog.posts.diffs import MAX_SHOWN_LINES, diff_html
from tests import factories
from tests.conftest import login


def revision_rows(post_id: int) -> list[PostRevision]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(PostRevision).where(PostRevision.post_id == post_id).order_by(PostRevision.id)
        )
    )


def edit(client: FlaskClient, post: Post, **fields: str) -> int:
    data = {"title": post.title, "slug": post.slug, "body": post.body_source, "action": "publish"}
    return client.post(f"/admin/posts/{post.id}/edit", data={**data, **fields}).status_code


def test_every_save_through_the_form_keeps_a_revision_with_who_and_when(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    author = client_as(Role.AUTHOR)
    created = author.post(
        "/admin/posts/new", data={"title": "Diary", "body": "Day one.", "action": "draft"}
    )
    assert created.status_code == 303
    post = db.session.scalars(select(Post).where(Post.title == "Diary")).one()
    assert edit(author, post, body="Day one.\n\nDay two.", action="draft") == 303
    assert edit(client_as(Role.EDITOR), post, title="Diary, edited", excerpt="Two days.") == 303
    rows = revision_rows(post.id)
    assert [r.title for r in rows] == ["Diary", "Diary", "Diary, edited"]
    two_days = "Day one.\n\nDay two."
    assert [r.body_source for r in rows] == ["Day one.", two_days, two_days]
    assert rows[-1].excerpt == "Two days." and rows[0].excerpt == "Day one."
    assert [r.author_id for r in rows] == [users[Role.AUTHOR].id] * 2 + [users[Role.EDITOR].id]
    assert rows[-1].author_name == users[Role.EDITOR].display_name
    assert rows[0].saved_at <= rows[1].saved_at <= rows[2].saved_at

    page = author.get(f"/admin/posts/{post.id}/edit").get_data(as_text=True)
    assert "Revisions (3)" in page
    listed = re.findall(r'<tr id="revision-(\d+)"', page)
    assert listed == [str(r.id) for r in reversed(rows)]  # newest first
    assert users[Role.EDITOR].display_name in page and "(current)" in page


def test_a_save_through_the_api_keeps_a_revision(app: Flask, users: dict[Role, User]) -> None:
    token = create_token(users[Role.AUTHOR].username).secret
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    made = client.post("/api/v1/posts", json={"title": "Via API", "body": "v1"}, headers=headers)
    assert made.status_code == 201
    slug = made.get_json()["slug"]
    patched = client.patch(f"/api/v1/posts/{slug}", json={"body": "v2"}, headers=headers)
    assert patched.status_code == 200
    post = db.session.scalars(select(Post).where(Post.slug == slug)).one()
    assert [r.body_source for r in revision_rows(post.id)] == ["v1", "v2"]
    assert {r.author_id for r in revision_rows(post.id)} == {users[Role.AUTHOR].id}


def test_compare_shows_changed_words_as_ins_and_del_with_the_text_escaped(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    post = factories.make_post(
        author=users[Role.AUTHOR], title="Fox", body="The quick brown fox.\n\nSame line."
    )
    author = client_as(Role.AUTHOR)
    assert edit(author, post, body="The slow brown fox <script>x</script>.\n\nSame line.") == 303
    first, second = revision_rows(post.id)
    page = author.get(
        f"/admin/posts/{post.id}/revisions/compare?from={first.id}&to={second.id}"
    ).get_data(as_text=True)
    assert "<del>quick</del><ins>slow</ins>" in page
    assert "&lt;script&gt;" in page and "<script>x" not in page
    assert 'Title <span class="revision-unchanged">(unchanged)</span>' in page
    assert "Same line." in page  # context around the change
    # Without parameters: the newest against the one before it.
    assert "<del>quick</del><ins>slow</ins>" in author.get(
        f"/admin/posts/{post.id}/revisions/compare"
    ).get_data(as_text=True)


def test_the_diff_keeps_a_few_lines_of_context_and_marks_whole_lines() -> None:
    old = "\n".join(f"line {n}" for n in range(20))
    new = old.replace("line 10", "line ten") + "\nan added line"
    html = str(diff_html(old, new))
    assert '<div class="diff-line diff-changed">line <del>10</del><ins>ten</ins></div>' in html
    assert '<div class="diff-line diff-added"><ins>an added line</ins></div>' in html
    assert "line 8" in html and "line 12" in html  # two lines of context each side
    assert "line 2<" not in html and "line 15" not in html  # the rest left out
    assert html.count("diff-skip") == 2
    removed = str(diff_html("a\n<b>&\nc", "a\nc"))
    assert '<div class="diff-line diff-removed"><del>&lt;b&gt;&amp;</del></div>' in removed
    assert "No changes." in str(diff_html("same", "same"))


@pytest.mark.parametrize(
    "line, count",
    [
        (lambda r: r.choice("abc"), 200_000),  # many short lines: difflib's worst case
        (lambda r: " ".join(r.choice("ab") for _ in range(120)), 2_000),  # long changed lines
        (lambda r: " ".join(r.choice("abcd") for _ in range(999)), 120),
    ],
    ids=["short-lines", "long-lines", "longer-lines"],
)
def test_the_diff_of_the_largest_texts_stays_cheap(
    line: Callable[[random.Random], str], count: int
) -> None:
    """Texts at the size limit, made so that every line and word could match many others
    (difflib alone took 48 s of CPU on the first)."""
    r = random.Random(15)
    old, new = ("\n".join(line(r) for _ in range(count)) for _ in range(2))
    assert len(old) <= authoring.MAX_BODY
    started = time.process_time()
    html = str(diff_html(old, new))
    assert time.process_time() - started < 5
    assert html.count('<div class="diff-line') <= MAX_SHOWN_LINES + 1


def test_restoring_a_revision_is_a_save_that_keeps_a_new_revision(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        writer = factories.make_user(role=Role.AUTHOR, username="writer")
        post = factories.make_post(author=writer, title="Original", body="Good text.")
        authoring.update_post(
            writer,
            post,
            authoring.PostChanges(
                title="Ruined", body="Bad text.", slug=post.slug, status=PostStatus.PUBLISHED
            ),
        )
        first = revision_rows(post.id)[0]
        client = login(app.test_client(), writer)
        compare = client.get(f"/admin/posts/{post.id}/revisions/compare?from={first.id}")
        html = compare.get_data(as_text=True)
        url = f"/admin/posts/{post.id}/revisions/{first.id}/restore"
        assert f'action="{url}"' in html
        assert client.post(url).status_code == 400  # no CSRF token: nothing restored
        assert db.session.get(Post, post.id).title == "Ruined"  # type: ignore[union-attr]
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token is not None
        restored = client.post(url, data={"csrf_token": token[1]})
        assert restored.status_code == 303
        assert "Restored the revision of" in client.get(restored.headers["Location"]).get_data(
            as_text=True
        )
        db.session.expire_all()
        now = db.session.get(Post, post.id)
        assert now is not None and now.title == "Original" and "Good text." in now.body_html
        assert now.excerpt == "Good text."  # automatic again, from the restored text
        rows = revision_rows(post.id)
        assert [r.title for r in rows] == ["Original", "Ruined", "Original"]
        assert (
            client.get(f"/admin/posts/{post.id}/edit")
            .get_data(as_text=True)
            .count('<tr id="revision-')
            == 3
        )


def test_only_whoever_may_edit_the_post_sees_or_restores_its_revisions(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    post = factories.make_post(author=users[Role.EDITOR], title="Editor's")
    (rev,) = revision_rows(post.id)
    restore = f"/admin/posts/{post.id}/revisions/{rev.id}/restore"
    for role in (Role.AUTHOR, Role.MODERATOR):
        client = client_as(role)
        assert client.get(f"/admin/posts/{post.id}/revisions/").status_code == 403
        assert client.get(f"/admin/posts/{post.id}/revisions/compare").status_code == 403
        assert client.post(restore).status_code == 403
    anonymous = client_as(Role.ADMIN).application.test_client()
    assert anonymous.post(restore).status_code in (302, 303)
    admin = client_as(Role.ADMIN)
    assert admin.get(f"/admin/posts/{post.id}/revisions/").status_code == 200
    assert admin.post(restore).status_code == 303
    other = factories.make_post(author=users[Role.EDITOR], title="Other")
    (other_rev,) = revision_rows(other.id)
    wrong = f"/admin/posts/{post.id}/revisions/compare?from={other_rev.id}&to={rev.id}"
    assert admin.get(wrong).status_code == 404  # a revision of another post
    assert admin.post(f"/admin/posts/{post.id}/revisions/{other_rev.id}/restore").status_code == (
        404
    )
    with pytest.raises(NotAllowed):
        revisions.restore_revision(users[Role.AUTHOR], post, rev.id)


def test_the_revisions_list_pages_newest_first(app: Flask, users: dict[Role, User]) -> None:
    writer = users[Role.AUTHOR]
    post = factories.make_post(author=writer, title="Busy", body="x")
    for n in range(4):
        authoring.update_post(
            writer, post, authoring.PostChanges(title="Busy", body=f"v{n}", slug=post.slug)
        )
    page = revisions.revisions_of(post, page=2, per_page=2)
    assert page.total == 5 and page.pages == 3
    assert [r.id for r in page.items] == [r.id for r in revision_rows(post.id)][::-1][2:4]
    client = login(app.test_client(), writer)
    assert client.get(f"/admin/posts/{post.id}/revisions/?page=9").status_code == 404
    listing = client.get(f"/admin/posts/{post.id}/revisions/").get_data(as_text=True)
    assert listing.count('<tr id="revision-') == 5
