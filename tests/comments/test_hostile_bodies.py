"""No input buys more than its share (SPEC section 11): the worst bodies at the size limit.

Every hostile shape of ``bench.worst.SHAPES`` goes through the reply form, the queue, approval
and the post page; the nastiest also through the API, the preview, the reader's edit and the
admin post form. A refused body is a 4xx with a message, the typed text kept and nothing stored.
The work done is asserted by counting function calls (deterministic), never by timing: the
bench (``python -m bench.worst``) measures the CPU time.
"""

from __future__ import annotations

import html
import logging
import sys
from collections.abc import Callable
from typing import Any

import nh3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select

from bench.worst import SHAPES
from blog.accounts.tokens import create_token
from blog.comments.spam.features import Sample, features
from blog.comments.spam.filter import HAM, SPAM, SpamModel, load_model, save_model
from blog.comments.submit import (
    BODY_MAX_BYTES,
    BODY_MAX_LINES,
    BODY_MAX_LINKS,
    BODY_MAX_MARKUP,
    CommentForm,
    clean_fields,
)
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role
from blog.posts.authoring import MAX_BODY_MARKUP
from blog.sanitize import (
    MAX_AUTHOR_DEPTH,
    PARSER_FAILED,
    SanitizeFailed,
    render_markdown,
    sanitize_comment,
    second_wall,
)
from blog.settings import Settings, save_settings
from tests import factories
from tests.commenting import field_errors, reader

# The shapes refused at the size limit, with what the message says: the limits of lines and
# links, or an unclosed tag that leaves nothing to show.
OVER_A_LIMIT = "the limit is"
NOTHING_LEFT = "Nothing of your comment would show"
REFUSED = {
    **dict.fromkeys(["many lines", "many paragraphs", "bare links", "anchors"], OVER_A_LIMIT),
    **dict.fromkeys(["many ampersands", "many less-than signs", "unclosed tags"], OVER_A_LIMIT),
    "deep nesting": OVER_A_LIMIT,
    "unclosed attribute": NOTHING_LEFT,
    "unclosed href": NOTHING_LEFT,
}
NASTIEST = [
    "huge decimal reference",
    "long run of digits",
    "open parentheses",
    "many lines",
    "tags at the markup limit",
]


def stored() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def trained_filter() -> None:
    """A spam filter with enough examples to score submissions and the queue."""
    save_settings({"flood_interval_seconds": 0, "spam_min_examples": 2})
    model = SpamModel()
    for n in range(6):
        model.learn({f"w:word{n}", "ua:none"}, SPAM if n % 2 else HAM)
    save_model(model)
    db.session.commit()


def form_for(body: str) -> dict[str, str]:
    return {"name": "Hostile", "email": "hostile@example.org", "body": body}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_worst_body_at_the_size_limit_is_stored_or_refused_never_a_500(
    app: Flask, client_as: Callable[[Role], FlaskClient], shape: str
) -> None:
    post = factories.make_post()
    trained_filter()
    body = SHAPES[shape](BODY_MAX_BYTES)
    sent = reader(app).post(f"/blog/{post.slug}/comments", data=form_for(body))
    if shape in REFUSED:
        assert sent.status_code == 400
        assert REFUSED[shape] in field_errors(sent)["body"]
        assert str(escape(body[:40])) in sent.get_data(as_text=True)
        assert stored() == 0
        return
    assert sent.status_code == 303, field_errors(sent)
    comment = db.session.scalars(select(Comment)).one()
    assert comment.status == CommentStatus.PENDING and comment.body_html
    moderator = client_as(Role.EDITOR)
    assert moderator.get("/admin/comments/").status_code == 200
    assert moderator.post(f"/admin/comments/{comment.id}/approve").status_code == 303
    assert load_model().examples[HAM] == 4  # approving it taught the filter
    page = reader(app).get(f"/blog/{post.slug}/")
    assert page.status_code == 200 and f'id="comment-{comment.id}"' in page.get_data(as_text=True)


@pytest.mark.parametrize("shape", NASTIEST)
def test_the_api_answers_the_worst_bodies_with_201_or_a_json_400(app: Flask, shape: str) -> None:
    post = factories.make_post()
    trained_filter()
    body = SHAPES[shape](BODY_MAX_BYTES)
    sent = reader(app).post(f"/api/v1/posts/{post.slug}/comments", json=form_for(body))
    if shape in REFUSED:
        assert sent.status_code == 400
        assert "the limit is" in sent.get_json()["error"]["fields"]["body"]
        assert stored() == 0
    else:
        assert sent.status_code == 201 and stored() == 1


@pytest.mark.parametrize("shape", NASTIEST)
def test_preview_and_edit_answer_the_worst_bodies_without_a_500(app: Flask, shape: str) -> None:
    post = factories.make_post()
    save_settings({"flood_interval_seconds": 0})
    author = reader(app)
    first = author.post(f"/blog/{post.slug}/comments", data=form_for("My first words."))
    assert first.status_code == 303
    comment_id = db.session.scalars(select(Comment.id)).one()
    body = SHAPES[shape](BODY_MAX_BYTES)
    preview = author.post(f"/blog/{post.slug}/comments/preview", data={"body": body})
    edit = author.post(f"/comments/{comment_id}/edit", data={"body": body})
    db.session.expire_all()
    kept = db.session.get(Comment, comment_id)
    assert kept is not None
    if shape in REFUSED:
        assert preview.status_code == 400 and "the limit is" in preview.get_json()["error"]
        assert edit.status_code == 400
        assert str(escape(body[:40])) in edit.get_data(as_text=True)
        assert kept.body_source == "My first words."
    else:
        assert preview.status_code == 200 and preview.get_json()["html"]
        assert edit.status_code == 303 and kept.body_source == body


def test_a_comment_at_the_line_link_and_markup_limits_passes_and_one_more_is_refused() -> None:
    lines = "\n".join(["Line."] * BODY_MAX_LINES)
    links = " ".join(f"https://example.org/{n}" for n in range(BODY_MAX_LINKS))
    markup = "<b>x</b> &amp; " * (BODY_MAX_MARKUP // 5)  # 5 of < > & each
    for body in (lines, links, markup):
        assert not clean_fields(CommentForm(body=body), None, Settings()).errors.get("body")
    for body in (lines + "\none more", links + " www.example.com", markup + "<"):
        error = clean_fields(CommentForm(body=body), None, Settings()).errors["body"]
        assert "the limit is" in error


def test_each_link_counts_once_however_it_is_written() -> None:
    one_each = [
        '<a href="https://www.example.org/">https://www.example.org/</a>',
        "https://www.example.org/",
        "<A HREF=http://example.org>x</A>",
        "www.example.org",
    ]
    body = " and ".join(one_each * (BODY_MAX_LINKS // 4 + 1))
    error = clean_fields(CommentForm(body=body), None, Settings()).errors["body"]
    assert f"{BODY_MAX_LINKS + 4:,} links" in error


def test_a_normal_long_comment_with_hundreds_of_lines_and_dozens_of_links_passes() -> None:
    paragraph = "Some thoughts on the subject, see https://example.org/page for more.\n"
    body = "\n".join(paragraph * 6 for _ in range(50))  # 350 lines, 300 links
    fields = clean_fields(CommentForm(body=body, name="A", email="a@example.org"), None, Settings())
    assert fields.errors == {} and fields.body_html.count("<a href=") == 300


def failing_nh3(*_args: Any, **_kwargs: Any) -> str:
    raise RuntimeError("a bug in the parser")


def test_a_parser_failure_is_a_400_with_the_text_kept_everywhere_nothing_stored(
    app: Flask, client_as: Callable[[Role], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    post = factories.make_post()
    save_settings({"flood_interval_seconds": 0})
    author = reader(app)
    assert author.post(f"/blog/{post.slug}/comments", data=form_for("First.")).status_code == 303
    comment_id = db.session.scalars(select(Comment.id)).one()
    monkeypatch.setattr(nh3, "clean", failing_nh3)
    typed = "Words that must not be lost <b>even bold</b>"
    sent = author.post(f"/blog/{post.slug}/comments", data=form_for(typed))
    assert sent.status_code == 400 and field_errors(sent)["body"] == html.escape(PARSER_FAILED)
    assert html.escape("Words that must not be lost") in sent.get_data(as_text=True)
    api = author.post(f"/api/v1/posts/{post.slug}/comments", json=form_for(typed))
    assert api.status_code == 400 and api.get_json()["error"]["fields"]["body"] == PARSER_FAILED
    preview = author.post(f"/blog/{post.slug}/comments/preview", data={"body": typed})
    assert preview.status_code == 400 and preview.get_json()["error"] == PARSER_FAILED
    edit = author.post(f"/comments/{comment_id}/edit", data={"body": typed})
    assert edit.status_code == 400 and "Words that must not be lost" in edit.get_data(as_text=True)
    editor = client_as(Role.EDITOR)
    for action in ("preview", "save"):
        data = {"title": "Kept title", "body": typed, "status": "draft", "action": action}
        saved = editor.post("/admin/posts/new", data=data)
        assert saved.status_code == 400, action
        assert "Kept title" in saved.get_data(as_text=True)
        assert "Words that must not be lost" in saved.get_data(as_text=True)
    token = create_token("editor").secret
    api = editor.post(
        "/api/v1/posts",
        json={"title": "Kept title", "body": typed},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 400 and api.get_json()["error"]["fields"]["body"] == PARSER_FAILED
    db.session.expire_all()
    assert stored() == 1 and db.session.get(Comment, comment_id).body_source == "First."
    assert db.session.scalar(select(func.count(Post.id))) == 1


def test_the_second_wall_keeps_nh3s_stricter_output_and_logs_a_digest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "x" * 50
    passed_by_bleach = f'<p><b onclick="steal()">{secret}</b><img src="x"></p>'
    with caplog.at_level(logging.WARNING, logger="blog.sanitize"):
        kept = second_wall(passed_by_bleach)
    assert kept == f"<p><b>{secret}</b></p>"
    (record,) = caplog.records
    assert "sha256" in record.getMessage() and secret not in record.getMessage()


def test_the_second_wall_leaves_agreeing_output_alone(caplog: pytest.LogCaptureFixture) -> None:
    typed = 'a\u00a0b > c <a href="https://x.example/" title=\'say "hi" > bye\'>x</a>\n\nnext'
    with caplog.at_level(logging.WARNING, logger="blog.sanitize"):
        cleaned = sanitize_comment(typed)
    assert second_wall(cleaned) == cleaned and caplog.records == []


def test_huge_numeric_references_are_read_as_a_browser_does() -> None:
    body = "a &#" + "9" * 60_000 + "; b &#" + "0" * 60_000 + "106; c &#x" + "0" * 9 + "6b;"
    assert sanitize_comment(body) == "<p>a \ufffd b j c k</p>"
    escaped = '<a href="&amp;#' + "1" * 60_000 + ';">link</a>'
    assert "link</a>" in sanitize_comment(escaped)


def test_sanitize_failed_carries_a_message_for_people() -> None:
    assert SanitizeFailed().message == PARSER_FAILED


def calls_made(work: Callable[[], object]) -> int:
    """How many Python and C functions ``work`` calls: a deterministic measure of its cost."""
    count = 0

    def profile(_frame: Any, event: str, _arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def submission_work(body: str) -> Callable[[], object]:
    """What a submission does with a body, without the database: limits, sanitizing, the
    spam filter's features and the link count of the moderation rules."""

    def work() -> object:
        fields = clean_fields(CommentForm(body=body, name="A", email="a@b.org"), None, Settings())
        return features(Sample(body_html=fields.body_html))

    return work


@pytest.mark.parametrize(
    "shape", ["many less-than signs", "deep nesting", "unclosed tags", "many references"]
)
def test_the_work_on_a_hostile_body_grows_no_faster_than_the_body(shape: str) -> None:
    half, full = (calls_made(submission_work(SHAPES[shape](n))) for n in (3_000, 6_000))
    assert full <= 2.3 * half, (half, full)


ALPHABET = "a7<>&#;x/\n (.:\u0301\u202e\"'=bq"


@st.composite
def bodies_at_the_limit(draw: st.DrawFn) -> str:
    """A short random unit repeated up to the size limit, between random short text: long
    runs of whatever the unit is (hypothesis cannot draw 65,525 characters one by one)."""
    head = draw(st.text(alphabet=ALPHABET, max_size=30))
    unit = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=12))
    tail = draw(st.text(alphabet=ALPHABET, max_size=30))
    room = BODY_MAX_BYTES - len((head + tail).encode())
    return head + unit * (room // len(unit.encode())) + tail


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=bodies_at_the_limit())
def test_random_bodies_at_the_size_limit_are_cleaned_or_refused(body: str) -> None:
    assert len(body.encode()) >= BODY_MAX_BYTES - 60
    fields = clean_fields(CommentForm(body=body, name="A", email="a@b.org"), None, Settings())
    assert bool(fields.body_html) != bool(fields.errors.get("body"))
    features(Sample(body_html=fields.body_html))


def test_an_author_html_nested_past_the_limit_is_a_400_with_the_text_kept(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    body = "Intro\n\n" + "<div>" * (MAX_AUTHOR_DEPTH + 1) + "deep"
    data = {"title": "Nested", "body": body, "status": "draft", "action": "save"}
    saved = client_as(Role.EDITOR).post("/admin/posts/new", data=data)
    assert saved.status_code == 400 and f"the limit is {MAX_AUTHOR_DEPTH:,}" in saved.text
    assert str(escape(body[:60])) in saved.text
    assert db.session.scalar(select(func.count(Post.id))) == 0
    wide = "<table>" + "<tr><td>cell" * 5_000 + "</table>"  # wide, not deep: it passes
    assert render_markdown(wide).count("<td>") == 5_000


def test_a_post_past_the_markup_limit_is_a_400_with_the_text_kept_and_one_at_it_is_saved(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    """html5lib appends each character reference to one growing text node (quadratic): a post
    body holds at most MAX_BODY_MARKUP of <, > and &, which still render within a second."""
    editor = client_as(Role.EDITOR)
    over = "Code:\n\n" + "<" * (MAX_BODY_MARKUP + 1)
    data = {"title": "Brackets", "body": over, "status": "draft", "action": "save"}
    refused = editor.post("/admin/posts/new", data=data)
    assert refused.status_code == 400 and f"the limit is {MAX_BODY_MARKUP:,}" in refused.text
    assert "&lt;" * 50 in refused.text  # the typed text is back in the form
    assert db.session.scalar(select(func.count(Post.id))) == 0
    at_limit = {**data, "body": "Code:\n\n" + "<" * MAX_BODY_MARKUP}
    assert editor.post("/admin/posts/new", data=at_limit).status_code in (302, 303)
    assert db.session.scalar(select(func.count(Post.id))) == 1
