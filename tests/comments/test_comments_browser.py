"""In a real browser: replying through the form, the Reply link without JavaScript, and hostile
comments that must not run on the post page or in the moderation queue."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from blog.comments.moderation import ModerationAction, moderate_comments
from blog.comments.submit import CommentForm, CommentRejected, Submitter, submit_comment
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role
from blog.settings import save_settings
from tests import factories
from tests.live import LiveServer, PageWatch
from tests.paths import PUBLIC_VECTORS
from tests.xss_payloads import PAYLOADS

pytestmark = pytest.mark.browser

TYPED = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">click me</a>',
    '<a href="jav&#x09;ascript:alert(1)">tab trick</a>',
    "<details open ontoggle=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
]


def seed(live_server: LiveServer) -> tuple[str, int]:
    with live_server.app.app_context():
        save_settings({"flood_interval_seconds": 0})
        factories.make_user(role=Role.MODERATOR, username="mod")
        post = factories.make_post(title="Browser target")
        first = factories.make_comment(post, author_name="Ann", body="First, approved.")
        return post.slug, first.id


def fill_and_send(page: Any, name: str, email: str, body: str) -> None:
    page.fill("#comment-name", name)
    page.fill("#comment-email", email)
    page.fill("#comment-body", body)
    page.click("#commentform button[type=submit]")
    page.wait_for_load_state()


def sign_in(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server("/login?next=/admin/comments/"))
    page.fill("#username", "mod")
    page.fill("#password", factories.PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def provoke(page: Any) -> None:
    """Hover and focus everything inside the comments, for payloads that wait for a person."""
    page.locator(".comment-content *, .comment-author *").evaluate_all(
        """elements => elements.forEach(element => {
            for (const kind of ["mouseover", "mouseenter", "focus", "toggle", "animationstart"]) {
                element.dispatchEvent(new Event(kind));
            }
        })"""
    )


def test_typed_hostile_comments_show_as_text_and_never_run(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    slug, _ = seed(live_server)
    browser_page, watch = page
    for n, payload in enumerate(TYPED):
        browser_page.goto(live_server(f"/blog/{slug}/"))
        fill_and_send(browser_page, f"<b>Reader {n}</b>", f"r{n}@example.org", payload)
        assert "#comment-" in browser_page.url
        held = browser_page.locator(".comment-pending").last
        assert "Your comment is awaiting moderation." in held.inner_text()
    assert "<script>alert(1)</script>" in browser_page.inner_text(".comment-list")
    provoke(browser_page)

    sign_in(browser_page, live_server)
    assert browser_page.url.endswith("/admin/comments/")
    assert browser_page.locator("tr.comment-row").count() == len(TYPED)
    provoke(browser_page)
    with live_server.app.app_context():
        ids = list(db.session.scalars(select(Comment.id)))
        moderate_comments(ids, ModerationAction.APPROVE, None)
    browser_page.goto(live_server(f"/blog/{slug}/"))
    assert browser_page.inner_text(".comments-title") == f"{len(TYPED) + 1} Comments"
    provoke(browser_page)
    watch.assert_clean()


def public_vectors() -> list[str]:
    """The 562 public payloads of ../shared/xss (skipped in a clone without them)."""
    if not PUBLIC_VECTORS.exists():
        pytest.skip(f"{PUBLIC_VECTORS} is not here")
    lines = PUBLIC_VECTORS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["payload"] for line in lines if line.strip()]


@pytest.mark.parametrize("corpus", ["ours", "public"])
def test_the_whole_payload_corpus_is_inert_on_both_pages(
    live_server: LiveServer, page: tuple[Any, PageWatch], corpus: str
) -> None:
    payloads = [p for _, p in PAYLOADS] if corpus == "ours" else public_vectors()
    slug, _ = seed(live_server)
    with live_server.app.app_context():
        post = db.session.scalars(select(Post).where(Post.slug == slug)).one()
        for n, payload in enumerate(payloads):
            # Names differ: two payloads may be equal once control characters are dropped.
            form = CommentForm(body=payload, name=f"{payload[:200]} {n}", email=f"x{n}@x.org")
            try:
                submit_comment(post, form, Submitter(ip_address=f"192.0.2.{n % 250}"))
            except CommentRejected:  # nothing left to show once sanitized: not stored
                continue
        stored = len(db.session.scalars(select(Comment.id)).all())
    assert stored > 100
    browser_page, watch = page
    sign_in(browser_page, live_server)
    for number in range(1, len(payloads) // 20 + 2):
        browser_page.goto(live_server(f"/admin/comments/?page={number}"))
        provoke(browser_page)
    with live_server.app.app_context():
        held = db.session.scalars(select(Comment.id).where(Comment.status == CommentStatus.PENDING))
        moderate_comments(list(held), ModerationAction.APPROVE, None)
        save_settings({"comments_per_page": 1000})  # every comment on one comment page
    browser_page.goto(live_server(f"/blog/{slug}/"))
    assert browser_page.locator(".comment-content").count() == stored
    provoke(browser_page)
    watch.assert_clean()


def test_reply_link_works_with_javascript_off(live_server: LiveServer, browser: Any) -> None:
    slug, first_id = seed(live_server)
    context = browser.new_context(java_script_enabled=False)
    try:
        reader = context.new_page()
        reader.goto(live_server(f"/blog/{slug}/"))
        reader.click(f"#comment-{first_id} .comment-reply-link")
        assert f"replytocom={first_id}" in reader.url
        assert "Leave a Reply to Ann" in reader.inner_text("#reply-title")
        fill_and_send(reader, "Bo", "bo@example.org", "Replying without scripts.")
        assert "#comment-" in reader.url
        assert "awaiting moderation" in reader.inner_text(".comment-list")
    finally:
        context.close()
    with live_server.app.app_context():
        reply = db.session.scalars(select(Comment).where(Comment.author_name == "Bo")).one()
        assert reply.parent_id == first_id
