"""Absolute links come from BLOG_SITE_URL when it is set, never from the Host header, and no
client's Host, X-Forwarded-Host or SCRIPT_NAME changes what another cookieless reader gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tests import factories

SITE = "https://blog.example"
FORGED: list[dict[str, Any]] = [
    {"headers": {"Host": "evil.example"}},
    {"headers": {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}},
    {"environ_overrides": {"SCRIPT_NAME": "/evil"}},
    {"headers": {"SCRIPT_NAME": "/evil"}},
]


def first_visit(app: Flask, url: str, **kwargs: Any) -> TestResponse:
    return app.test_client(use_cookies=False).get(url, **kwargs)


def seeded(app: Flask) -> list[str]:
    with app.app_context():
        post = factories.make_post(title="Linked", categories=[factories.make_category("News")])
        factories.make_comments(post, 2)
        slug = post.slug
    return [
        f"/blog/{slug}/",
        "/",
        "/category/news/",
        "/feed/",
        f"/blog/{slug}/feed/atom/",
        "/sitemap.xml",
        "/robots.txt",
        f"/api/v1/posts/{slug}",
    ]


@pytest.mark.parametrize("proxy_count", [0, 1])
def test_with_site_url_every_absolute_link_is_its_whatever_the_request_says(
    make_app: Callable[..., Flask], proxy_count: int
) -> None:
    app = make_app(SITE_URL=SITE, PROXY_COUNT=proxy_count)
    for url in seeded(app):
        honest = first_visit(app, url)
        assert honest.status_code == 200, url
        assert SITE in honest.get_data(as_text=True), url
        assert "localhost" not in honest.get_data(as_text=True), url
        for forged in FORGED:
            response = first_visit(app, url, **forged)
            # The page asked for, or none: a server that took SCRIPT_NAME from the client has
            # cut it off the path, and the path is put back together (/evil/blog/...: 404).
            assert response.status_code in (200, 404), (url, forged)
            if response.status_code == 200:
                assert response.get_data() == honest.get_data(), (url, forged)
        assert first_visit(app, url).get_data() == honest.get_data(), url


def test_the_canonical_link_and_json_ld_follow_site_url(make_app: Callable[..., Flask]) -> None:
    app = make_app(SITE_URL=SITE)
    url = seeded(app)[0]
    page = first_visit(app, url, headers={"Host": "evil.example"}).get_data(as_text=True)
    assert f'<link rel="canonical" href="{SITE}{url}">' in page
    assert f'"item": "{SITE}/"' in page


def test_a_site_under_a_path_links_under_it_with_or_without_the_prefix_passed_on(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SITE_URL=f"{SITE}/journal/")
    post_url = seeded(app)[0]
    passed_on = first_visit(app, f"/journal{post_url}")
    stripped = first_visit(app, post_url)
    assert passed_on.status_code == stripped.status_code == 200
    assert passed_on.get_data() == stripped.get_data()
    page = passed_on.get_data(as_text=True)
    assert f'<link rel="canonical" href="{SITE}/journal{post_url}">' in page
    assert 'href="/journal/static/style.css' in page
    assert f'action="/journal{post_url}comments"' in page
    feed = first_visit(app, "/journal/feed/").get_data(as_text=True)
    assert f"{SITE}/journal{post_url}" in feed and "/journal/journal/" not in feed
    api = first_visit(app, f"/journal/api/v1/posts/{post_url.split('/')[2]}").get_json()
    assert api["url"] == f"{SITE}/journal{post_url}"


def test_without_site_url_a_forged_request_never_reaches_other_readers(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PROXY_COUNT=1)
    urls = seeded(app)
    honest = {url: first_visit(app, url).get_data() for url in urls}
    for url in urls:
        for forged in FORGED:
            first_visit(app, url, **forged)
            again = first_visit(app, url)
            assert again.get_data() == honest[url], (url, forged)
            assert b"evil" not in again.get_data()


def test_without_site_url_links_follow_the_request_in_development(app: Flask) -> None:
    url = seeded(app)[0]
    page = first_visit(app, url, headers={"Host": "dev.example:5000"}).get_data(as_text=True)
    assert f'<link rel="canonical" href="http://dev.example:5000{url}">' in page


header_text = st.text(st.characters(blacklist_characters="\r\n"), max_size=60)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cookie=header_text,
    host=st.sampled_from(["localhost", "evil.example", "LOCALHOST", "localhost:80", "a..b", ""]),
    script=st.sampled_from(["", "/evil", "/blog", "/%2e%2e"]),
    query=st.text(max_size=20),
)
def test_any_cookie_host_script_name_or_query_never_500_nor_leaks_to_another_reader(
    app: Flask, cookie: str, host: str, script: str, query: str
) -> None:
    if not hasattr(app, "_seeded_url"):
        app._seeded_url = seeded(app)[0]  # type: ignore[attr-defined]
        app._seeded_page = first_visit(app, app._seeded_url).get_data()  # type: ignore[attr-defined]
    url = app._seeded_url  # type: ignore[attr-defined]
    headers = {"Cookie": cookie, **({"Host": host} if host else {})}
    response = first_visit(
        app,
        url,
        headers=headers,
        query_string={"q": query},
        environ_overrides={"SCRIPT_NAME": script},
    )
    assert response.status_code < 500
    assert first_visit(app, url).get_data() == app._seeded_page  # type: ignore[attr-defined]
