"""The post form's publish box, as WordPress has it: "Save Draft" and "Publish" (or "Schedule",
or "Update"), one click to publish a new post, the preview kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.extensions import db
from blog.models import Post, PostStatus, Role, User, utcnow
from blog.permissions import MATRIX, Action
from blog.posts import publishing, reading
from tests import factories
from tests.posts.test_public_pages import text_of

DATE_INPUT = "%Y-%m-%dT%H:%M"


def buttons(html: str) -> dict[str, str]:
    """The post form's publishing buttons: their value (the action) -> their label (the media
    box's "Upload and insert" is not one of them)."""
    button = r'<button type="submit" name="action" value="(\w+)"[^>]*>([^<]*)</button>'
    found = re.findall(button, html)
    return {value: label.strip() for value, label in found if value != "upload"}


def the_post(title: str) -> Post:
    db.session.expire_all()
    return db.session.scalars(select(Post).where(Post.title == title)).one()


@pytest.mark.parametrize("role", [Role.AUTHOR, Role.EDITOR, Role.ADMIN])
def test_the_new_post_form_offers_save_draft_and_publish_not_a_status_select(
    client_as: Callable[[Role], FlaskClient], role: Role
) -> None:
    html = client_as(role).get("/admin/posts/new").get_data(as_text=True)
    assert buttons(html) == {"preview": "Preview", "draft": "Save Draft", "publish": "Publish"}
    assert 'name="status"' not in html


def test_one_click_on_publish_puts_a_new_post_on_the_home_page(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    author = client_as(Role.AUTHOR)
    typed = {"title": "One click", "body": "Straight **out**.", "comments_open": "y"}
    preview = author.post("/admin/posts/new", data={**typed, "action": "preview"})
    assert preview.status_code == 200
    assert "<strong>out</strong>" in preview.get_data(as_text=True)  # the preview stays
    assert db.session.scalar(select(Post.id)) is None

    published = author.post("/admin/posts/new", data={**typed, "action": "publish"})
    assert published.status_code == 303
    post = the_post("One click")
    assert post.status == PostStatus.PUBLISHED and reading.is_visible(post)
    follow = author.get(published.headers["Location"]).get_data(as_text=True)
    assert "Post published." in follow
    assert buttons(follow)["publish"] == "Update"
    assert "One click" in text_of(author.application.test_client().get("/"))


def test_save_draft_keeps_a_new_post_off_the_site(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    author = client_as(Role.AUTHOR)
    saved = author.post(
        "/admin/posts/new", data={"title": "Not yet", "body": "Thinking.", "action": "draft"}
    )
    assert saved.status_code == 303
    post = the_post("Not yet")
    assert post.status == PostStatus.DRAFT and not reading.is_visible(post)
    page = author.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Draft saved." in page
    assert buttons(page) == {"preview": "Preview", "draft": "Save Draft", "publish": "Publish"}
    readers = author.application.test_client()
    assert readers.get(f"/blog/{post.slug}/").status_code == 404


def test_a_date_ahead_makes_the_button_schedule_and_schedules_the_post(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    when = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    typed = {"title": "Later", "body": "Soon.", "published_at": when.strftime(DATE_INPUT)}
    author = client_as(Role.AUTHOR)
    preview = author.post("/admin/posts/new", data={**typed, "action": "preview"})
    assert buttons(preview.get_data(as_text=True))["publish"] == "Schedule"
    scheduled = author.post("/admin/posts/new", data={**typed, "action": "publish"})
    assert scheduled.status_code == 303
    post = the_post("Later")
    assert post.status == PostStatus.PUBLISHED and post.published_at == when.astimezone(UTC)
    assert not reading.is_visible(post)
    page = author.get(scheduled.headers["Location"]).get_data(as_text=True)
    assert "Post scheduled for" in page and "Scheduled" in page
    # A date in the past publishes at once, under the plain label.
    past = {**typed, "title": "Backdated", "published_at": "2020-01-02T03:04"}
    preview = author.post("/admin/posts/new", data={**past, "action": "preview"})
    assert buttons(preview.get_data(as_text=True))["publish"] == "Publish"


def test_a_published_post_offers_update_and_switch_to_draft(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    post = factories.make_post(author=users[Role.AUTHOR], title="Live", body="First words.")
    author = client_as(Role.AUTHOR)
    form = author.get(f"/admin/posts/{post.id}/edit").get_data(as_text=True)
    assert buttons(form) == {"preview": "Preview", "draft": "Switch to Draft", "publish": "Update"}
    typed = {"title": "Live", "slug": post.slug, "body": "Better words."}
    updated = author.post(f"/admin/posts/{post.id}/edit", data={**typed, "action": "publish"})
    assert updated.status_code == 303
    assert "Post updated." in author.get(updated.headers["Location"]).get_data(as_text=True)
    live = the_post("Live")
    assert live.status == PostStatus.PUBLISHED and "Better words." in live.body_html
    pulled = author.post(f"/admin/posts/{post.id}/edit", data={**typed, "action": "draft"})
    assert "Post moved back to drafts." in author.get(pulled.headers["Location"]).get_data(
        as_text=True
    )
    assert the_post("Live").status == PostStatus.DRAFT


def test_a_role_that_may_not_publish_gets_only_save_draft(
    client_as: Callable[[Role], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No role is so limited today (authors publish their own posts, SPEC 7); the form follows
    the matrix if one becomes so. There is no "pending review" status to submit to."""
    monkeypatch.delitem(MATRIX[Action.PUBLISH_POST], Role.AUTHOR)
    author = client_as(Role.AUTHOR)
    html = author.get("/admin/posts/new").get_data(as_text=True)
    assert buttons(html) == {"preview": "Preview", "draft": "Save Draft"}
    assert "an editor or administrator publishes them" in html
    refused = author.post("/admin/posts/new", data={"title": "Sneaky", "action": "publish"})
    assert refused.status_code == 403
    saved = author.post("/admin/posts/new", data={"title": "Honest", "action": "draft"})
    assert saved.status_code == 303 and the_post("Honest").status == PostStatus.DRAFT


def test_the_publish_box_rules_without_http(app: object, users: dict[Role, User]) -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    author = users[Role.AUTHOR]
    new = publishing.publish_box(author, None, None, now)
    assert (new.primary, new.draft) == ("Publish", "Save Draft")
    ahead = publishing.publish_box(author, None, now + timedelta(hours=1), now)
    assert ahead.primary == "Schedule"
    draft = factories.make_post(author=author, status=PostStatus.DRAFT)
    assert publishing.publish_box(author, draft, None, now).primary == "Publish"
    scheduled = factories.make_post(author=author, published_at=now + timedelta(days=1))
    assert publishing.publish_box(author, scheduled, scheduled.published_at, now).primary == (
        "Update"
    )
    others = factories.make_post(author=users[Role.EDITOR], status=PostStatus.DRAFT)
    assert not publishing.may_publish(author, others)
    assert publishing.publish_box(users[Role.EDITOR], others, None, now).primary == "Publish"
    assert publishing.status_for("publish", draft, None) == PostStatus.PUBLISHED
    assert publishing.status_for("draft", scheduled, "published") == PostStatus.DRAFT
    # A client that sends the status field instead of pressing a button is still understood.
    assert publishing.status_for("save", None, "published") == PostStatus.PUBLISHED
    assert publishing.status_for("", scheduled, None) == PostStatus.PUBLISHED
