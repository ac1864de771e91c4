"""Property-based: whatever a reader sends to the preview, edit, delete, report, confirmation,
permalink, avatar and recent-comments endpoints, no 500, and a refusal stores nothing."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, post_comment, reader
from tests.helpers import seeded, snapshot

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
hostile = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "<!-- -->",
        "<script>alert(1)</script>",
        "spam",
        "other",
        "abuse\x00",
        "x" * 401,
        "é" * 40_000,
        "-1",
        "0",
        "99999999999999999999",
        "%00",
        "\u202e",
        "🙂" * 70,
    ]
)
value = st.one_of(text, hostile)
form = st.dictionaries(
    st.sampled_from(["body", "preview", "reason", "details", "csrf_token", "extra"]),
    value,
    max_size=5,
)
path_part = st.one_of(text.filter(lambda t: "/" not in t), hostile)
# Several fields of "é" * 40_000 together pass MAX_CONTENT_LENGTH (1 MB): such a form is a
# clean 413, which the tests accept beside their own answers.
examples = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def reader_with_a_held_comment(app: Flask) -> tuple[str, int, int, FlaskClient]:
    """A post, an approved comment and a browser's own held comment, made once per test."""

    def build() -> tuple[str, int, int, FlaskClient]:
        save_settings({"flood_interval_seconds": 0, "report_hold_threshold": 0})
        post = factories.make_post()
        approved = factories.make_comment(post)
        author = reader(app)
        own = comment_id(post_comment(author, post, body="My own words"))
        return post.slug, approved.id, own, author

    return seeded(app, "reader", build)


@examples
@given(data=form)
def test_preview_never_fails_and_never_stores(app: Flask, data: dict[str, str]) -> None:
    slug, _approved, _own, author = reader_with_a_held_comment(app)
    before = snapshot()
    page = author.post(f"/blog/{slug}/comments", data={**data, "preview": "1"})
    assert page.status_code in (200, 400, 413)
    instant = author.post(f"/blog/{slug}/comments/preview", data=data)
    assert instant.status_code in (200, 400, 413)
    assert instant.is_json or instant.status_code == 413
    assert snapshot() == before


@examples
@given(data=form)
def test_editing_never_fails_and_a_refusal_changes_nothing(
    app: Flask, data: dict[str, str]
) -> None:
    _slug, _approved, own, author = reader_with_a_held_comment(app)
    before = snapshot()
    answer = author.post(f"/comments/{own}/edit", data=data)
    assert answer.status_code in (200, 303, 400, 409, 413)
    if answer.status_code != 303:
        assert snapshot() == before
    assert author.get(f"/comments/{own}/edit").status_code == 200
    assert reader(app).post(f"/comments/{own}/edit", data=data).status_code in (404, 413)
    assert reader(app).post(f"/comments/{own}/delete", data=data).status_code in (404, 413)


@examples
@given(data=form)
def test_reporting_never_fails_and_a_refusal_stores_nothing(
    app: Flask, data: dict[str, str]
) -> None:
    _slug, approved, own, _author = reader_with_a_held_comment(app)
    before = snapshot()
    answer = reader(app).post(f"/comments/{approved}/report", data=data)
    assert answer.status_code in (200, 400, 413)
    if answer.status_code != 200:
        assert snapshot() == before
    held = reader(app).post(f"/comments/{own}/report", data=data)
    assert held.status_code in (404, 413)


@examples
@given(part=path_part, cpage=value)
def test_links_pictures_and_lists_never_fail(app: Flask, part: str, cpage: str) -> None:
    slug, _approved, _own, _author = reader_with_a_held_comment(app)
    client = app.test_client()
    before = snapshot()
    quoted = quote(part, safe="")
    for url, allowed in (
        (f"/comments/confirm/{quoted}", {400, 404}),
        (f"/avatar/{quoted}.svg", {200, 400, 404}),
        (f"/comments/{quoted}", {302, 400, 404}),
        (f"/comments/{quoted}/report", {200, 400, 404}),
        (f"/blog/{slug}/?cpage={quote(cpage, safe='')}", {200, 400, 404}),
        (f"/api/v1/comments/recent?per_page={quote(cpage, safe='')}", {200, 400}),
    ):
        answer = client.get(url)
        assert answer.status_code in allowed, (url, answer.status_code)
    assert client.post(f"/comments/confirm/{quoted}").status_code in (400, 404)
    assert snapshot() == before
