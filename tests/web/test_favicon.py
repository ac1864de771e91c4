"""The favicon: ``/favicon.ico`` answers with the icon in static/, kept by browsers and caches
for a week, and every page links it by its fingerprinted static URL."""

from __future__ import annotations

import re

from flask import Flask

from blog.web.discovery import FAVICON_MAX_AGE
from tests import factories
from tests.paths import ROOT

ICON = ROOT / "static" / "favicon.ico"


def test_favicon_ico_answers_the_icon_with_long_lived_public_headers(app: Flask) -> None:
    answer = app.test_client(use_cookies=False).get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.data == ICON.read_bytes()
    assert answer.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert answer.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}
    assert answer.cache_control.public
    assert answer.cache_control.max_age == FAVICON_MAX_AGE >= 7 * 24 * 3600
    assert "Set-Cookie" not in answer.headers
    answer.close()
    again = app.test_client(use_cookies=False).get(
        "/favicon.ico", headers={"If-None-Match": answer.headers["ETag"]}
    )
    assert again.status_code == 304
    again.close()
    head = app.test_client().head("/favicon.ico")
    assert head.status_code == 200
    head.close()


def test_every_page_links_the_icon_by_its_fingerprinted_url(app: Flask) -> None:
    post = factories.make_post()
    client = app.test_client(use_cookies=False)
    for url in ("/", f"/blog/{post.slug}/", "/login", "/no-such-page/"):
        page = client.get(url).get_data(as_text=True)
        link = re.search(r'<link rel="icon" href="(/static/favicon\.ico\?v=[0-9a-f]{12})"', page)
        assert link, url
        icon = client.get(link.group(1))
        assert icon.data == ICON.read_bytes()
        icon.close()
