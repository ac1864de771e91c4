"""In a real browser, as a moderator: the spam filter's scores in the queue, and a spam wave
cleaned up from the IP address in a row, previewed, then marked as spam in one click."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from blog.comments.spam.learning import retrain
from blog.extensions import db
from blog.models import Comment, CommentStatus, Role
from blog.settings import save_settings
from tests import factories
from tests.comments.spam.test_spam import store_all
from tests.comments.test_comments_browser import sign_in
from tests.live import LiveServer, PageWatch
from tests.spam_corpus import corpus

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("BLOG_TEST_SCREENSHOTS", "")


def seed(live_server: LiveServer) -> list[int]:
    """A trained filter, and a wave of three spam comments from one address among good ones."""
    with live_server.app.app_context():
        save_settings({"flood_interval_seconds": 0})
        factories.make_user(role=Role.MODERATOR, username="mod")
        post = factories.make_post(title="Backups that work")
        train, held_out = corpus(31)
        store_all(post, [i for i in train if i.spam][:25], CommentStatus.SPAM)
        store_all(post, [i for i in train if not i.spam][:25], CommentStatus.APPROVED)
        retrain()
        wave = store_all(post, [i for i in held_out if i.spam][:3], CommentStatus.PENDING)
        store_all(post, [i for i in held_out if not i.spam][:2], CommentStatus.PENDING)
        for comment in wave:
            comment.ip_address = "203.0.113.66"
        db.session.commit()
        return [c.id for c in wave]


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_a_moderator_sees_scores_and_cleans_up_a_wave(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    browser_page, watch = page
    wave = seed(live_server)
    sign_in(browser_page, live_server)
    browser_page.goto(live_server("/admin/comments/"))
    assert "Spam filter: on" in browser_page.inner_text(".spam-filter-state")
    assert browser_page.locator(".spam-score-high").count() >= 3
    shot(browser_page, "queue-with-scores")

    browser_page.click(f"#comment-{wave[0]} a.comment-ip")
    browser_page.wait_for_load_state()
    assert "3 comments match the IP address" in browser_page.inner_text("#cleanup-count")
    assert browser_page.locator(".cleanup-preview tbody tr").count() == 3
    shot(browser_page, "cleanup-preview")

    browser_page.click("button[value=spam]")
    browser_page.wait_for_load_state()
    assert "3 comments marked as spam." in browser_page.inner_text(".flash")
    watch.assert_clean()
    with live_server.app.app_context():
        statuses = db.session.scalars(select(Comment.status).where(Comment.id.in_(wave)))
        assert set(statuses) == {CommentStatus.SPAM}
