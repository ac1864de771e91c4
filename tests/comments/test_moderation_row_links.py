"""The queue's row links (RowLinks): every link is the one url_for builds, whatever the values."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from blog.comments.submit import MAX_ID
from blog.web.moderation import RowLinks

# (endpoint, values) in the order the rows ask for them: one link object serves them all.
CALLS: list[tuple[str, dict[str, object]]] = [
    ("moderation.act", {"comment_id": 7, "action": "spam", "status": "pending"}),
    ("moderation.act", {"comment_id": 8, "action": "approve", "status": "pending"}),
    ("moderation.act", {"comment_id": MAX_ID, "action": "spam", "status": "pending"}),
    ("moderation.act", {"comment_id": MAX_ID - 1, "action": "trash", "q": "50% off_x"}),
    ("moderation.queue", {"reply": 12, "status": "approved", "page": "3"}),
    ("moderation.queue", {"reply": MAX_ID - 1, "status": "approved", "page": "2147483647"}),
    ("moderation.queue", {"edit": 12, "q": "a&b=c d/é?#"}),
    ("moderation.queue", {"status": "spam", "post": 3}),
    ("moderation.queue", {"status": "pending", "post": None}),
    ("moderation.queue", {"post": 3, "status": "spam"}),  # the same names in another order
    ("moderation.queue", {"edit": 0, "flag": True}),
    ("moderation.cleanup", {"kind": "ip", "value": "203.0.113.9"}),
    ("moderation.cleanup", {"kind": "ip", "value": "2001:db8::1"}),
    ("moderation.cleanup", {"kind": "ip", "value": "zStandIn0z"}),
    ("moderation.cleanup", {"kind": "ip", "value": "not plain: ünïcode & spaces"}),
    ("public.post", {"slug": "fifty-threaded-comments"}),
    ("public.post", {"slug": "zStandIn0z-zStandIn0z"}),
    ("public.post", {"slug": "a~b.c_d"}),
    ("public.post", {"slug": "with space"}),
    ("public.post", {"slug": "x", "cpage": 2, "_anchor": "comment-5"}),
    ("moderation.act", {"comment_id": 9, "action": "delete", "status": "pending"}),
]


@pytest.mark.parametrize("root", ["http://localhost/", f"http://localhost/{MAX_ID}/zStandIn0z/"])
def test_row_links_are_the_links_url_for_builds(app: Flask, root: str) -> None:
    """Also under a script root holding the stand-ins the links are built with."""
    with app.test_request_context("/admin/comments/", base_url=root):
        links = RowLinks()
        for _ in range(2):  # the second time every kind of link comes from its pattern
            for endpoint, values in CALLS:
                assert links(endpoint, **values) == url_for(endpoint, **values), values


def test_a_value_no_rule_accepts_still_fails_as_url_for_does(app: Flask) -> None:
    with app.test_request_context("/admin/comments/"):
        links = RowLinks()
        assert links("moderation.act", comment_id=5, action="spam").endswith("/5/spam")
        with pytest.raises(Exception) as from_links:
            links("moderation.act", comment_id=5, action="not-an-action")
        with pytest.raises(Exception) as from_url_for:
            url_for("moderation.act", comment_id=5, action="not-an-action")
        assert type(from_links.value) is type(from_url_for.value)
