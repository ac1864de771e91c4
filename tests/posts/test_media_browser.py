"""In Chromium: the post form's "Upload and insert" puts the image's Markdown at the cursor
without leaving the page (static/media.js, no CSP violation), and the published post shows the
image with its srcset."""

from __future__ import annotations

from typing import Any

import pytest

from blog.models import Role
from tests import factories
from tests.live import LiveServer, PageWatch
from tests.web.test_browser_flows import sign_in

pytestmark = pytest.mark.browser


def test_an_image_uploaded_from_the_post_form_is_inserted_at_the_cursor(
    live_server: LiveServer, page: tuple[Any, PageWatch]
) -> None:
    with live_server.app.app_context():
        factories.make_user(role=Role.AUTHOR, username="writer", display_name="Wren Writer")
    author, watch = page
    sign_in(author, live_server, "writer", "/admin/posts/new")
    form_url = author.url
    author.fill("#f-title", "A picture from the browser")
    author.fill("#f-body", "Before the picture.\n\nAfter the picture.")
    # The cursor at the start of "After", as an author would click it.
    place_cursor = "b => { b.focus(); const at = b.value.indexOf('After'); "
    author.eval_on_selector("#f-body", place_cursor + "b.setSelectionRange(at, at); b.blur(); }")
    author.set_input_files(
        "#f-file",
        {"name": "wide.png", "mimeType": "image/png", "buffer": factories.image_bytes(800, 400)},
    )
    author.fill("#f-alt_text", "A wide red box")
    author.click("button[value=upload]")
    author.wait_for_selector("#media-upload-status p.flash:has-text('inserted')")
    assert author.url == form_url  # no page load: the title typed is still there, unsaved
    body = author.input_value("#f-body")
    before, snippet, after = body.partition("![A wide red box](/media/")
    assert before == "Before the picture.\n\n" and snippet
    assert after.split(")", 1)[1] == "\n\nAfter the picture."
    author.click("#publish-button")
    author.wait_for_load_state()
    author.click("text=View post")
    author.wait_for_load_state()
    image = author.locator(".entry-content img")
    assert image.get_attribute("alt") == "A wide red box"
    assert "300w" in (image.get_attribute("srcset") or "")
    assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    watch.assert_clean()
