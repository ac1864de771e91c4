"""The moderation decision of SPEC section 6: each of the eight rules alone, then their order.

`decide` is pure: these tests build its inputs by hand, with no app and no database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from blog.comments.policy import (
    WAITING_REASON,
    Candidate,
    Decision,
    History,
    ParentFacts,
    decide,
    decide_reported,
)
from blog.models import CommentStatus, Post
from blog.sanitize import sanitize_comment
from blog.settings import Settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PENDING, APPROVED, SPAM = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM


def a_post(**changes: Any) -> Post:
    values = {"id": 7, "comments_open": True, "published_at": NOW - timedelta(days=3)}
    return Post(**{**values, **changes})


def a_candidate(body: str = "A kind and plain reply.", **changes: Any) -> Candidate:
    base = Candidate(
        name="Ann",
        email="ann@example.com",
        url="",
        body=body,
        body_html=sanitize_comment(body),
        submitted_at=NOW,
        ip_address="192.0.2.10",
        user_agent="Mozilla/5.0",
    )
    return replace(base, **changes)


# Manual moderation off, so that the later rules are reachable; WordPress's other defaults.
OPEN = Settings(comment_moderation=False)
KNOWN = History(has_approved=True)


def run(
    candidate: Candidate | None = None,
    post: Post | None = None,
    settings: Settings = OPEN,
    history: History = KNOWN,
) -> Decision:
    return decide(candidate or a_candidate(), post or a_post(), settings, history)


def test_a_known_commenter_with_a_plain_reply_is_approved_by_rule_8() -> None:
    decision = run()
    assert (decision.status, decision.rule) == (APPROVED, 8)
    assert decision.reason == "approved: previously approved commenter"


# --- each rule on its own --------------------------------------------------------------------


def test_rule_1_invalid_fields_reject_with_400_and_the_fields() -> None:
    decision = run(a_candidate(errors={"email": "Please enter a valid email address."}))
    assert (decision.status, decision.rule, decision.http_status) == (None, 1, 400)
    assert decision.rejected
    assert decision.fields == {"email": "Please enter a valid email address."}


@pytest.mark.parametrize(
    ("parent", "message"),
    [
        (None, "not available"),
        (ParentFacts(post_id=8, status=APPROVED, depth=1), "not available"),
        (ParentFacts(post_id=7, status=PENDING, depth=1), "not available"),
        (ParentFacts(post_id=7, status=SPAM, depth=1), "not available"),
        (ParentFacts(post_id=7, status=APPROVED, depth=5), "at most 5 levels"),
    ],
)
def test_rule_1_a_reply_needs_an_approved_parent_on_the_post_within_the_depth(
    parent: ParentFacts | None, message: str
) -> None:
    decision = run(a_candidate(parent_requested=True, parent=parent))
    assert (decision.rule, decision.http_status) == (1, 400)
    assert message in decision.reason
    assert message in decision.fields["parent_id"]


def test_rule_1_a_reply_within_the_depth_passes() -> None:
    parent = ParentFacts(post_id=7, status=APPROVED, depth=4)
    assert run(a_candidate(parent_requested=True, parent=parent)).status == APPROVED


def test_rule_2_closed_post_rejects_with_403() -> None:
    decision = run(post=a_post(comments_open=False))
    assert (decision.status, decision.rule, decision.http_status) == (None, 2, 403)


def test_rule_2_old_post_closes_only_when_the_setting_is_on() -> None:
    old = a_post(published_at=NOW - timedelta(days=15))
    assert run(post=old).status == APPROVED
    closing = OPEN.replace(close_comments_for_old_posts=True, close_comments_days_old=14)
    decision = run(post=old, settings=closing)
    assert (decision.rule, decision.http_status) == (2, 403)
    assert "14 days" in decision.reason
    assert run(post=a_post(published_at=NOW - timedelta(days=13)), settings=closing).rule == 8


def test_rule_3_duplicate_rejects_with_409() -> None:
    decision = run(history=History(duplicate=True, has_approved=True))
    assert (decision.status, decision.rule, decision.http_status) == (None, 3, 409)


def test_rule_3_flood_rejects_with_429_and_the_seconds_left() -> None:
    decision = run(history=History(last_comment_at=NOW - timedelta(seconds=4), has_approved=True))
    assert (decision.rule, decision.http_status, decision.retry_after) == (3, 429, 11)
    later = History(last_comment_at=NOW - timedelta(seconds=15), has_approved=True)
    assert run(history=later).status == APPROVED
    off = OPEN.replace(flood_interval_seconds=0)
    assert run(settings=off, history=History(last_comment_at=NOW, has_approved=True)).rule == 8


def test_rule_4_honeypot_is_spam_not_a_rejection() -> None:
    decision = run(a_candidate(honeypot="http://bot.example"))
    assert (decision.status, decision.rule, decision.http_status) == (SPAM, 4, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Cheap VIAGRA Ann"),
        ("email", "viagra@example.com"),
        ("url", "http://viagra.example"),
        ("body", "buy viagra now"),
        ("ip_address", "203.0.113.66"),
        ("user_agent", "ViagraBot/1.0"),
    ],
)
def test_rule_4_disallowed_word_in_any_field_is_spam(field: str, value: str) -> None:
    settings = OPEN.replace(disallowed_keys="\n  casino \nviagra\n203.0.113.\n")
    changes: dict[str, Any] = {field: value}
    if field == "body":
        changes["body_html"] = sanitize_comment(value)
    decision = run(a_candidate(**changes), settings=settings)
    assert (decision.status, decision.rule) == (SPAM, 4)
    assert decision.reason.startswith("spam: disallowed word")


def test_rule_5_a_moderator_of_the_post_is_approved_even_when_held_otherwise() -> None:
    decision = run(
        a_candidate(by_moderator=True),
        settings=Settings(),  # manual moderation on
        history=History(),
    )
    assert (decision.status, decision.rule) == (APPROVED, 5)


def test_rule_5_moderators_are_not_held_back_by_the_flood_check() -> None:
    history = History(last_comment_at=NOW - timedelta(seconds=1))
    assert run(a_candidate(by_moderator=True), history=history).rule == 5


def test_rule_6_manual_moderation_holds_everything_else() -> None:
    decision = run(settings=Settings())
    assert (decision.status, decision.rule) == (PENDING, 6)
    assert decision.reason == "held: manual moderation is on"


def test_rule_7_as_many_links_as_the_limit_holds() -> None:
    body = "See https://a.example and <a href='https://b.example'>this</a>."
    decision = run(a_candidate(body))
    assert (decision.status, decision.rule) == (PENDING, 7)
    assert decision.reason == "held: 2 links, limit 2"
    assert run(a_candidate("Only https://a.example here.")).rule == 8
    assert run(a_candidate(body), settings=OPEN.replace(comment_max_links=0)).rule == 8


def test_rule_7_bare_links_count_too() -> None:
    decision = run(a_candidate("www.a.example http://b.example https://c.example"))
    assert decision.reason == "held: 3 links, limit 2"


def test_rule_7_moderation_word_holds() -> None:
    settings = OPEN.replace(moderation_keys="refund\n")
    decision = run(a_candidate("I want a REFUND please"), settings=settings)
    assert (decision.status, decision.rule) == (PENDING, 7)
    assert decision.reason == 'held: moderation word "refund" in comment'


def test_rule_8_a_first_time_commenter_is_held() -> None:
    decision = run(history=History())
    assert (decision.status, decision.rule) == (PENDING, 8)


def test_rule_8_off_approves_whoever_passed_the_other_rules() -> None:
    settings = OPEN.replace(comment_previously_approved=False)
    decision = run(history=History(), settings=settings)
    assert (decision.status, decision.rule) == (APPROVED, 8)


# --- the order: when two rules apply, the earlier one wins -----------------------------------

EVERYTHING_WRONG: dict[int, dict[str, Any]] = {
    1: {"candidate": {"errors": {"name": "Please enter your name."}}},
    2: {"post": {"comments_open": False}},
    3: {"history": {"duplicate": True}},
    4: {"candidate": {"honeypot": "filled"}},
    5: {"candidate": {"by_moderator": True}},
    6: {"settings": {"comment_moderation": True}},
    7: {"settings": {"moderation_keys": "reply"}},
    8: {"history": {"has_approved": False}},
}


@pytest.mark.parametrize("first", range(1, 9))
def test_the_first_rule_that_applies_wins(first: int) -> None:
    candidate, post, settings, history = {}, {}, {}, {}
    parts = {"candidate": candidate, "post": post, "settings": settings, "history": history}
    for rule in range(first, 9):
        for part, changes in EVERYTHING_WRONG[rule].items():
            parts[part].update(changes)
    decision = decide(
        a_candidate(**candidate),
        a_post(**post),
        OPEN.replace(**settings),
        replace(KNOWN, **history),
    )
    assert decision.rule == first


# --- Rule 9: email confirmation; rule 10: readers' reports -------------------------------------

CONFIRMING = replace(OPEN, require_email_confirmation=True)


@pytest.mark.parametrize(
    ("candidate", "settings", "status"),
    [
        (a_candidate(confirmable=True), CONFIRMING, CommentStatus.UNCONFIRMED),
        (a_candidate(confirmable=True), replace(CONFIRMING, comment_moderation=True), "waits"),
        (a_candidate(confirmable=True), OPEN, APPROVED),  # the setting is off
        (a_candidate(confirmable=False), CONFIRMING, APPROVED),  # signed in, or no mail server
        (a_candidate(confirmable=True, email=""), CONFIRMING, APPROVED),  # nowhere to write
        (a_candidate(confirmable=True, honeypot="x"), CONFIRMING, SPAM),  # spam stays spam
    ],
)
def test_an_anonymous_commenter_confirms_their_address_before_the_other_rules_apply(
    candidate: Candidate, settings: Settings, status: CommentStatus | str
) -> None:
    decision = run(candidate, settings=settings)
    if status == "waits":  # held or approved alike, it waits for the address first
        status = CommentStatus.UNCONFIRMED
    assert decision.status == status
    if status == CommentStatus.UNCONFIRMED:
        assert decision.reason == WAITING_REASON


@pytest.mark.parametrize(
    ("reports", "threshold", "held"), [(2, 3, False), (3, 3, True), (4, 3, True), (9, 0, False)]
)
def test_reports_reaching_the_threshold_send_a_comment_back_to_the_queue(
    reports: int, threshold: int, held: bool
) -> None:
    decision = decide_reported(reports, Settings(report_hold_threshold=threshold))
    if held:
        assert decision is not None
        assert (decision.status, decision.reason) == (PENDING, f"held: {reports} reports")
    else:
        assert decision is None
