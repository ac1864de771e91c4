"""Cleaning up after a spam wave: match an IP, email, link domain or word; preview; act."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from blog.comments.cleanup import CleanupRejected, parse_criteria
from blog.comments.counts import find_drift
from blog.comments.spam.learning import IMPORTED_REASON
from blog.comments.transitions import create_comments
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, Role, User
from blog.sanitize import sanitize_comment
from tests import factories
from tests.conftest import login
from tests.helpers import seeded, snapshot, status_of

P, A, S, T = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM, CommentStatus.TRASH


def add(
    post: Post,
    body: str = "A fine reply.",
    status: CommentStatus = P,
    ip: str = "198.51.100.1",
    email: str = "reader@example.org",
    name: str = "Reader",
    url: str = "",
    parent: Comment | None = None,
) -> Comment:
    comment = Comment(
        post_id=post.id,
        parent_id=parent.id if parent else None,
        author_name=name,
        author_email=email,
        author_url=url,
        body_source=body,
        body_html=sanitize_comment(body),
        ip_address=ip,
    )
    create_comments([(comment, status)], IMPORTED_REASON, at=comment.created_at)
    db.session.commit()
    return comment


def previewed(client: FlaskClient, kind: str, value: str) -> tuple[int, str, set[int], int]:
    """(status code, page text, ids listed, upto) of a preview."""
    response = client.get("/admin/comments/cleanup?" + urlencode({"kind": kind, "value": value}))
    html = response.get_data(as_text=True)
    listed = {int(n) for n in re.findall(r'<tr id="comment-(\d+)"', html)}
    upto = re.search(r'name="upto" value="(\d+)"', html)
    return response.status_code, " ".join(html.split()), listed, int(upto[1]) if upto else 0


@pytest.fixture
def wave(app: Flask) -> dict[str, Any]:
    """Two posts, ordinary readers and a spam wave mixed in."""
    post, other = factories.make_post(), factories.make_post()
    made = {
        "post": post,
        "other": other,
        "good": add(post, "Thanks, the part on backups helped.", A, ip="192.0.2.10"),
        "specialist": add(post, "As a specialist I disagree.", A, ip="192.0.2.11"),
        "good_link": add(
            post, "See https://notexample-pills.com/docs for more.", P, ip="192.0.2.12"
        ),
        "s1": add(post, "Buy cialis at http://cheap-pills.example/buy", P, ip="203.0.113.7"),
        "s2": add(
            post,
            'Great <a href="https://shop.cheap-pills.example/x">deals</a>!',
            A,
            ip="203.0.113.8",
            email="Promo@Spam.example",
        ),
        "s3": add(other, "CIALIS cheap.", S, ip="203.0.113.7", url="http://cheap-pills.example"),
        "s4": add(other, "Nice post.", T, ip="2001:db8::7", email="promo@spam.example"),
    }
    return made


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("ip", "203.0.113.7", {"s1", "s3"}),
        ("ip", " 203.0.113.0/24 ", {"s1", "s2", "s3"}),
        ("ip", "2001:db8::/32", {"s4"}),
        ("email", "promo@spam.example", {"s2", "s4"}),
        ("email", "@SPAM.example", {"s2", "s4"}),
        ("domain", "cheap-pills.example", {"s1", "s2", "s3"}),
        ("domain", "https://www.shop.cheap-pills.example/anything", {"s2"}),
        ("word", "cialis", {"s1", "s3"}),
        ("word", "backups helped", {"good"}),
    ],
)
def test_preview_lists_what_matches_and_changes_nothing(
    moderator: FlaskClient, wave: dict[str, Any], kind: str, value: str, expected: set[str]
) -> None:
    before = snapshot()
    code, text, listed, upto = previewed(moderator, kind, value)
    assert code == 200
    assert listed == {wave[name].id for name in expected}
    n = len(expected)
    assert f"{n} comment{'s' if n != 1 else ''} match" in text
    assert upto == max(listed)
    assert snapshot() == before


def test_a_domain_matches_links_only_and_a_word_whole_words_only(
    moderator: FlaskClient, wave: dict[str, Any]
) -> None:
    _, _, listed, _ = previewed(moderator, "domain", "pills.com")
    assert listed == set()
    _, _, listed, _ = previewed(moderator, "domain", "notexample-pills.com")
    assert listed == {wave["good_link"].id}
    _, text, listed, _ = previewed(moderator, "word", "cial")
    assert listed == set() and "0 comments match" in text
    assert wave["specialist"].id not in previewed(moderator, "word", "cialis")[2]


def apply(client: FlaskClient, kind: str, value: str, action: str, upto: int) -> Any:
    return client.post(
        "/admin/comments/cleanup",
        data={"kind": kind, "value": value, "action": action, "upto": str(upto)},
    )


def test_mark_as_spam_changes_exactly_the_matched_comments(
    moderator: FlaskClient, wave: dict[str, Any], users: dict[Role, User]
) -> None:
    _, _, listed, upto = previewed(moderator, "domain", "cheap-pills.example")
    counts = dict(db.session.execute(select(Post.id, Post.comment_count)).all())
    response = apply(moderator, "domain", "cheap-pills.example", "spam", upto)
    assert response.status_code == 303
    followed = " ".join(moderator.get(response.headers["Location"]).text.split())
    assert "2 comments marked as spam; 1 already in spam or trash left as they were." in followed
    assert {status_of(wave[n]) for n in ("s1", "s2", "s3")} == {S}
    for name, status in [("good", A), ("specialist", A), ("good_link", P), ("s4", T)]:
        assert status_of(wave[name]) == status
    post = wave["post"]
    assert db.session.scalar(select(Post.comment_count).where(Post.id == post.id)) == (
        counts[post.id] - 1  # s2 was approved
    )
    assert find_drift() == []
    events = db.session.execute(
        select(ModerationEvent.comment_id, ModerationEvent.actor_id, ModerationEvent.reason).where(
            ModerationEvent.to_status == S, ModerationEvent.from_status.is_not(None)
        )
    ).all()
    moderator_id = users[Role.MODERATOR].id
    assert sorted(events) == sorted(
        (wave[n].id, moderator_id, 'clean-up: link domain "cheap-pills.example"')
        for n in ("s1", "s2")
    )
    assert listed == {wave[n].id for n in ("s1", "s2", "s3")}


def test_delete_permanently_removes_exactly_the_matched_comments(
    moderator: FlaskClient, wave: dict[str, Any]
) -> None:
    reply = add(wave["post"], "A reply to the spam.", A, ip="192.0.2.99", parent=wave["s2"])
    ids = {name: wave[name].id for name in ("s1", "s2", "s3", "good", "specialist", "good_link")}
    ids["s4"] = wave["s4"].id
    _, _, _, upto = previewed(moderator, "ip", "203.0.113.0/24")
    response = apply(moderator, "ip", "203.0.113.0/24", "delete", upto)
    assert response.status_code == 303
    assert "3 comments deleted permanently." in moderator.get(response.headers["Location"]).text
    for name in ("s1", "s2", "s3"):
        assert status_of(ids[name]) is None
    for name in ("good", "specialist", "good_link", "s4"):
        assert status_of(ids[name]) is not None
    assert db.session.scalar(select(Comment.parent_id).where(Comment.id == reply.id)) is None
    assert find_drift() == []


def test_comments_arriving_after_the_preview_are_left_alone(
    moderator: FlaskClient, wave: dict[str, Any]
) -> None:
    _, _, _, upto = previewed(moderator, "word", "cialis")
    late = add(wave["post"], "More cialis here.", P, ip="203.0.113.9")
    assert apply(moderator, "word", "cialis", "spam", upto).status_code == 303
    assert status_of(wave["s1"]) == S
    assert status_of(late) == P


def test_authors_clean_up_only_the_comments_on_their_own_posts(
    app: Flask, users: dict[Role, User]
) -> None:
    author = users[Role.AUTHOR]
    own, others = factories.make_post(author=author), factories.make_post()
    mine = add(own, "casino casino", P, ip="203.0.113.50")
    theirs = add(others, "casino again", P, ip="203.0.113.50")
    client = login(app.test_client(), author)
    _, text, listed, _ = previewed(client, "ip", "203.0.113.50")
    assert listed == {mine.id} and "1 comment matches" in text
    assert apply(client, "ip", "203.0.113.50", "spam", theirs.id).status_code == 303
    assert (status_of(mine), status_of(theirs)) == (S, P)
    assert find_drift() == []


def test_the_clean_up_needs_a_moderator(
    app: Flask, client_as: Callable[[Role], FlaskClient], wave: dict[str, Any]
) -> None:
    anonymous = app.test_client().get("/admin/comments/cleanup?kind=ip&value=203.0.113.7")
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]
    before = snapshot()
    response = app.test_client().post(
        "/admin/comments/cleanup",
        data={"kind": "ip", "value": "203.0.113.7", "action": "delete", "upto": "999"},
    )
    assert response.status_code == 302
    assert snapshot() == before


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("ip", "203.0.113", "not an IP address or network"),
        ("ip", "203.0.113.7/33", "not an IP address or network"),
        ("email", "nobody", "not an email address"),
        ("email", "a b@example.org", "not an email address"),
        ("domain", "not a domain", "not a domain name"),
        ("domain", "http://", "not a domain name"),
        ("word", "  ", "Please type the word to look for"),
        ("word", "!!!", "at least one letter or digit"),
        ("word", "x" * 201, "At most 200 characters"),
        ("color", "red", "Choose what to match"),
    ],
)
def test_bad_criteria_are_refused_beside_the_field_with_the_typed_value_kept(
    moderator: FlaskClient, wave: dict[str, Any], kind: str, value: str, message: str
) -> None:
    before = snapshot()
    response = moderator.get("/admin/comments/cleanup?" + urlencode({"kind": kind, "value": value}))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    if value.strip():
        assert 'value="' + value.replace("&", "&amp;")[:30] in html
    response = apply(moderator, kind, value, "delete", 10_000)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("action", "upto", "message"),
    [
        ("burn", "5", "Choose Mark as spam or Delete permanently."),
        ("spam", "", "Preview the matching comments first"),
        ("delete", "-3", "Preview the matching comments first"),
    ],
)
def test_a_bad_action_changes_nothing(
    moderator: FlaskClient, wave: dict[str, Any], action: str, upto: str, message: str
) -> None:
    before = snapshot()
    response = moderator.post(
        "/admin/comments/cleanup",
        data={"kind": "word", "value": "cialis", "action": action, "upto": upto},
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_the_clean_up_form_works_with_csrf_on(make_app: Callable[..., Flask]) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        moderator = factories.make_user(role=Role.MODERATOR)
        post = factories.make_post()
        spam = add(post, "casino bonus", P)
        client = login(app.test_client(), moderator)
        page = client.get("/admin/comments/cleanup?kind=word&value=casino").text
        upto = re.search(r'name="upto" value="(\d+)"', page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert upto and token
        form = {"kind": "word", "value": "casino", "action": "spam", "upto": upto[1]}
        refused = client.post("/admin/comments/cleanup", data=form)
        assert refused.status_code == 400
        assert status_of(spam) == P
        done = client.post("/admin/comments/cleanup", data={**form, "csrf_token": token[1]})
        assert done.status_code == 303
        assert status_of(spam) == S


def test_the_queue_links_to_the_clean_up(moderator: FlaskClient, wave: dict[str, Any]) -> None:
    page = moderator.get("/admin/comments/").text
    assert 'href="/admin/comments/cleanup"' in page
    assert 'href="/admin/comments/cleanup?kind=ip&amp;value=203.0.113.7"' in page


def test_parse_criteria_normalizes_what_was_typed() -> None:
    assert parse_criteria("ip", " 2001:DB8:0::1 ").value == "2001:db8::1"
    assert parse_criteria("ip", "203.0.113.9/24").value == "203.0.113.0/24"
    assert parse_criteria("email", "Ann@Example.ORG").value == "ann@example.org"
    assert parse_criteria("domain", "HTTPS://WWW.Example.com/path").value == "example.com"
    assert parse_criteria("word", "  free\tspins ").value == "free spins"
    with pytest.raises(CleanupRejected):
        parse_criteria("email", "@")


# --- Property tests --------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
hostile = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "%",
        "_",
        "\\",
        "*",
        "'; DROP TABLE comments; --",
        "203.0.113.7",
        "0.0.0.0/0",
        "::/0",
        "::ffff:203.0.113.7",
        "fe80::1%eth0",
        "@",
        "@spam.example",
        "cheap-pills.example",
        "http://[::1]:80/",
        "http://exa mple.com",
        "xn--bcher-kva.example",
        "bücher.example",
        "cialis",
        "é" * 300,
        "1",
        "-1",
        "99999999999999999999",
        "spam",
        "delete",
        "word",
        "ip",
        "email",
        "domain",
    ]
)
value = st.one_of(text, hostile)
kinds = st.one_of(st.sampled_from(["ip", "email", "domain", "word", ""]), text)
examples = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def moderator_over_a_wave(app: Flask) -> FlaskClient:
    def build() -> FlaskClient:
        post = factories.make_post()
        add(post, "Buy cialis at http://cheap-pills.example/buy", P, ip="203.0.113.7")
        add(post, "Thanks for this.", A, ip="192.0.2.1")
        return login(app.test_client(), factories.make_user(role=Role.MODERATOR))

    return seeded(app, "cleanup", build)


@examples
@given(kind=kinds, typed=value)
def test_any_preview_answers_without_a_500_and_changes_nothing(
    app: Flask, kind: str, typed: str
) -> None:
    client = moderator_over_a_wave(app)
    before = snapshot()
    response = client.get("/admin/comments/cleanup", query_string={"kind": kind, "value": typed})
    assert response.status_code in (200, 400), response.status_code
    event(f"preview {response.status_code}")
    db.session.rollback()
    assert snapshot() == before


FORM_FIELDS = ["kind", "value", "action", "upto", "csrf_token", "extra"]
VALID = {"kind": "word", "value": "cialis", "action": "spam", "upto": "2000000000"}
# Half from scratch, half a valid form with a field or two changed, so that actions happen too.
forms = st.one_of(
    st.dictionaries(st.sampled_from(FORM_FIELDS), value, max_size=6),
    st.builds(
        lambda changed: {**VALID, **changed},
        st.dictionaries(st.sampled_from(FORM_FIELDS), value, max_size=2),
    ),
)


@examples
@given(form=forms)
def test_any_clean_up_post_answers_without_a_500_and_a_refusal_changes_nothing(
    app: Flask, form: dict[str, str]
) -> None:
    client = moderator_over_a_wave(app)
    before = snapshot()
    response = client.post("/admin/comments/cleanup", data=form)
    assert response.status_code in (303, 400), response.status_code
    event(f"action {response.status_code}")
    db.session.rollback()
    if response.status_code != 303:
        assert snapshot() == before
    assert find_drift() == []
