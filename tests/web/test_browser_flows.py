"""End to end in Chromium: a reply through moderation to the page, a bulk action, publishing
in one click."""

from __future__ import annotations

from typing import Any

import pytest

from blog.models import CommentStatus, Role
from blog.settings import save_settings
from tests import factories
from tests.live import LiveServer, PageWatch

pytestmark = pytest.mark.browser


def sign_in(page: Any, live_server: LiveServer, username: str, next_path: str) -> None:
    page.goto(live_server(f"/login?next={next_path}"))
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def test_reply_is_approved_from_the_queue_and_the_count_rises(
    live_server: LiveServer, browser: Any, page: tuple[Any, PageWatch]
) -> None:
    with live_server.app.app_context():
        save_settings({"flood_interval_seconds": 0})
        factories.make_user(role=Role.MODERATOR, username="mod")
        post = factories.make_post(title="Moderated in a browser")
        factories.make_comment(post, author_name="Ann", body="One.")
        factories.make_comment(post, author_name="Ben", body="Two.")
        url = live_server(f"/blog/{post.slug}/")
    reader, watch = page
    reader.goto(url)
    assert reader.inner_text(".comments-title") == "2 Comments"
    reader.fill("#comment-body", "A reader's considered reply.")
    reader.fill("#comment-name", "Cleo")
    reader.fill("#comment-email", "cleo@example.com")
    reader.click("#commentform button[type=submit]")
    reader.wait_for_load_state()
    assert "Your comment is awaiting moderation." in reader.inner_text("#comments")
    assert reader.inner_text(".comments-title") == "2 Comments"

    moderator_context = browser.new_context()
    try:
        moderator = moderator_context.new_page()
        sign_in(moderator, live_server, "mod", "/admin/comments/?status=pending")
        row = moderator.locator("tr.comment-row", has_text="A reader's considered reply.")
        row.locator("button", has_text="Approve").click()
        moderator.wait_for_load_state()
        assert moderator.locator("tr.comment-row", has_text="considered reply").count() == 0
    finally:
        moderator_context.close()

    reader.goto(url)
    assert reader.inner_text(".comments-title") == "3 Comments"
    assert "A reader's considered reply." in reader.inner_text("#comments")
    assert "awaiting moderation" not in reader.inner_text("#comments")
    # A stranger sees it too.
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(url)
        assert "A reader's considered reply." in other.inner_text("#comments")
    finally:
        stranger.close()
    watch.assert_clean()


def test_bulk_spam_from_the_queue(live_server: LiveServer, page: tuple[Any, PageWatch]) -> None:
    with live_server.app.app_context():
        factories.make_user(role=Role.MODERATOR, username="mod")
        post = factories.make_post(title="Spam wave")
        for n in range(3):
            factories.make_comment(
                post, body=f"Cheap pills {n}", status=CommentStatus.PENDING, author_name="Bot"
            )
        factories.make_comment(post, body="A real question", status=CommentStatus.PENDING)
    moderator, watch = page
    sign_in(moderator, live_server, "mod", "/admin/comments/?status=pending")
    for row in moderator.locator("tr.comment-row", has_text="Cheap pills").all():
        row.locator("input[type=checkbox]").check()
    moderator.select_option("#bulk-action", "spam")
    moderator.click("#queue-form .bulk-actions button")
    moderator.wait_for_load_state()
    pending = moderator.inner_text("table.comment-queue")
    assert "Cheap pills" not in pending and "A real question" in pending
    moderator.goto(live_server("/admin/comments/?status=spam"))
    assert moderator.locator("tr.comment-row", has_text="Cheap pills").count() == 3
    watch.assert_clean()


def test_an_author_publishes_a_post_that_readers_see(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    with live_server.app.app_context():
        factories.make_user(role=Role.AUTHOR, username="writer", display_name="Wren Writer")
    author, watch = page
    sign_in(author, live_server, "writer", "/admin/posts/new")
    author.fill("#f-title", "Fresh from the browser")
    author.fill("#f-body", "Some **bold** words.\n\n- one\n- two")
    author.click("button[value=preview]")
    author.wait_for_load_state()
    assert author.locator("strong", has_text="bold").count() >= 1
    publish = author.locator("#publish-button")
    assert publish.inner_text() == "Publish"
    author.fill("#f-published_at", "2999-01-01T09:00")
    assert publish.inner_text() == "Schedule"  # a date ahead schedules
    author.fill("#f-published_at", "")
    assert publish.inner_text() == "Publish"
    publish.click()  # one click publishes
    author.wait_for_load_state()
    assert "Post published." in author.inner_text("main")
    assert publish.inner_text() == "Update"
    author.goto(live_server("/"))
    summary = author.locator("article.post-summary", has_text="Fresh from the browser")
    assert summary.count() == 1
    assert "No Comments" in summary.inner_text()
    summary.locator("h2 a").click()
    author.wait_for_load_state()
    assert "Posted by: Wren Writer" in author.inner_text(".entry-meta")
    crumbs = [c.strip() for c in author.locator("nav.breadcrumbs li").all_inner_texts()]
    assert crumbs[1:] == ["Blog", "Uncategorized", "Fresh from the browser"]
    watch.assert_clean()


def test_an_author_compares_two_revisions_and_restores_the_older(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    with live_server.app.app_context():
        writer = factories.make_user(role=Role.AUTHOR, username="writer")
        post = factories.make_post(author=writer, title="Kept title", body="The good text.")
        edit_url = live_server(f"/admin/posts/{post.id}/edit")
    author, watch = page
    sign_in(author, live_server, "writer", f"/admin/posts/{post.id}/edit")
    author.fill("#f-title", "Worse title")
    author.fill("#f-body", "The bad text.")
    author.click("#publish-button")
    author.wait_for_load_state()
    assert "Post updated." in author.inner_text("main")
    assert author.locator("table.revisions tbody tr").count() == 2
    author.locator("table.revisions tbody tr").first.locator("a", has_text="Compare").click()
    author.wait_for_load_state()
    text = author.get_by_role("region", name="Text", exact=True)
    assert text.locator("del").inner_text() == "good"
    assert text.locator("ins").inner_text() == "bad"
    author.locator(".revision-restore button").click()
    author.wait_for_load_state()
    assert author.url == edit_url
    assert "Restored the revision of" in author.inner_text("main")
    assert author.input_value("#f-title") == "Kept title"
    assert author.locator("table.revisions tbody tr").count() == 3
    watch.assert_clean()
