"""In a real browser: preview a comment instantly (our script, CSP-clean), post it, edit it, and
follow a permalink to a comment on another comment page; no script errors, no CSP violations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from blog.models import utcnow
from blog.settings import save_settings
from tests import factories
from tests.live import LiveServer, PageWatch

pytestmark = pytest.mark.browser


def test_preview_then_post_then_edit_a_comment(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    with live_server.app.app_context():
        save_settings({"flood_interval_seconds": 0})
        slug = factories.make_post(title="Preview me").slug
    tab, watch = page
    requests: list[str] = []
    tab.on("request", lambda request: requests.append(request.url))
    tab.goto(live_server(f"/blog/{slug}/"))
    assert tab.locator("#comment-preview").is_hidden()
    tab.fill("#comment-name", "Ann")
    tab.fill("#comment-email", "ann@example.org")
    tab.fill("#comment-body", "Hello <b>world</b> <script>alert(1)</script>")
    tab.click("#commentform button[name=preview]")
    preview = tab.locator("#comment-preview .comment-content")
    preview.wait_for()
    assert tab.url == live_server(f"/blog/{slug}/")  # no page load: the script answered
    assert preview.locator("b").inner_text() == "world"
    assert "<script>alert(1)</script>" in preview.inner_text()  # shown as text, never run
    assert tab.input_value("#comment-body").startswith("Hello <b>world</b>")

    tab.click("#commentform button[name=submit]")
    tab.wait_for_load_state()
    assert "#comment-" in tab.url
    own = tab.locator(".comment-pending").last
    assert "Your comment is awaiting moderation." in own.inner_text()
    assert own.locator("img.avatar").get_attribute("src").startswith("/avatar/")

    own.locator(".comment-edit-link").click()
    tab.wait_for_load_state()
    tab.fill("#comment-body", "Hello again")
    tab.click("button[name=save]")
    tab.wait_for_load_state()
    assert "Hello again" in tab.locator(".comment-pending").last.inner_text()
    assert all(url.startswith(live_server.url) for url in requests), requests
    watch.assert_clean()


def test_a_bare_comment_anchor_finds_its_comment_page(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    with live_server.app.app_context():
        save_settings({"comments_per_page": 2})
        post = factories.make_post(title="Many threads")
        start = utcnow() - timedelta(hours=1)
        made = [
            factories.make_comment(
                post, body=f"Thread {i}", created_at=start + timedelta(minutes=i)
            )
            for i in range(6)
        ]
        slug, last = post.slug, made[-1].id
    tab, watch = page
    tab.goto(live_server(f"/blog/{slug}/#comment-{last}"))
    tab.wait_for_url(f"**/blog/{slug}/?cpage=3#comment-{last}")
    assert tab.locator(f"#comment-{last}").is_visible()
    watch.assert_clean()
