"""A reader's view in a real browser: the demo's reference page renders, no script errors."""

from __future__ import annotations

from typing import Any

import pytest

from blog.porting.demo import load_demo
from tests.live import LiveServer, PageWatch

pytestmark = pytest.mark.browser


def test_reference_page_reads_like_a_blog_in_a_browser(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    with live_server.app.app_context():
        load_demo()
    browser_page, watch = page
    browser_page.goto(live_server("/"))
    browser_page.click("text=Kaspersky closing down its UK office")
    assert browser_page.url.endswith("/blog/kaspersky-closing-down-its-uk-office/")
    crumbs = browser_page.locator("nav.breadcrumbs li").all_inner_texts()
    assert [c.strip() for c in crumbs] == [
        "Cyber1Defense Communication Ltd",
        "Blog",
        "Uncategorized",
        "Kaspersky closing down its UK office",
    ]
    assert "Posted by: Evans Asare" in browser_page.inner_text(".entry-meta")
    assert browser_page.inner_text(".comments-title") == "2 Comments"
    assert browser_page.locator("ol.comment-list > li").count() == 2
    # The stylesheet loaded (no CSP or 404 on it): the sidebar sits beside the content.
    assert (
        browser_page.evaluate("getComputedStyle(document.querySelector('.layout')).display")
        == "grid"
    )
    watch.assert_clean()
