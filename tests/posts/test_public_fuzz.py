"""Property-based: no URL or query string a reader can type makes a public page answer 500."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.helpers import seeded

PREFIXES = ["/", "/blog/", "/category/", "/tag/", "/author/", "/archive/", "/blog/x/"]
segment = st.text(min_size=1, max_size=30)
query_value = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["", "0", "-1", "abc", "99999", "1e3", "\x00", "%00", "1/0", "🙂"]),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.sampled_from(PREFIXES), parts=st.lists(segment, max_size=3), page=query_value)
def test_public_urls_never_500(app: Flask, prefix: str, parts: list[str], page: str) -> None:
    seeded(app, "public", lambda: factories.make_post(title="Fuzz target", tags=["t"]))
    path = prefix + "/".join(quote(p, safe="") for p in parts)
    response = app.test_client().get(path, query_string={"page": page})
    assert response.status_code < 500, (path, page, response.status_code)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=60))
def test_raw_bytes_in_the_path_never_500(app: Flask, raw: bytes) -> None:
    path = "/blog/" + "".join(f"%{b:02X}" for b in raw) + "/"
    response = app.test_client().get(path)
    assert response.status_code < 500


def test_nul_bytes_in_paths_and_queries_are_refused_cleanly(app: Flask) -> None:
    post = factories.make_post(title="Nul target")
    client = app.test_client()
    assert client.get("/blog/%00/").status_code == 404
    assert client.get(f"/blog/{post.slug}%00/").status_code == 404
    assert client.get("/", query_string={"page": "1\x00"}).status_code == 400
    assert client.get("/search/", query_string={"q": "a\x00b"}).status_code == 400
