"""Commenters' personal data: `flask blog personal-data export|erase EMAIL`, and IP retention."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, func, inspect, select, update

from blog.comments.counts import find_drift
from blog.comments.moderation import set_status
from blog.comments.privacy import (
    DELETED_TEXT,
    Shortened,
    erase_personal_data,
    export_personal_data,
    shorten_quoted_ips,
    truncate_ip,
    truncate_old_ips,
)
from blog.comments.spam.filter import load_model
from blog.comments.spam.learning import IMPORTED_REASON, retrain
from blog.comments.transitions import create_comments
from blog.extensions import db
from blog.models import (
    Comment,
    CommentReport,
    CommentRevision,
    CommentStatus,
    ModerationEvent,
    Post,
    Role,
    utcnow,
)
from blog.sanitize import sanitize_comment
from blog.settings import save_settings
from tests import factories
from tests.helpers import seeded

P, A, S = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM
ADDRESS = "Ann.Lee@Example.org"


def add(
    post: Post,
    body: str,
    status: CommentStatus = A,
    email: str = "ann.lee@example.org",
    parent: Comment | None = None,
    ip: str = "203.0.113.77",
    created_at: Any = None,
    notify: bool = False,
    approval: bool = False,
) -> Comment:
    comment = Comment(
        post_id=post.id,
        parent_id=parent.id if parent else None,
        author_name="Ann Lee" if "ann" in email.lower() else "Bob",
        author_email=email,
        author_url="https://ann-lee.example/blog" if "ann" in email.lower() else "",
        body_source=body,
        body_html=sanitize_comment(body),
        ip_address=ip,
        user_agent="Mozilla/5.0 Firefox/128.0 AnnBrowser" if "ann" in email else "Mozilla/5.0",
        notify_replies=notify,
        notify_approved=approval,
        created_at=created_at or utcnow(),
    )
    create_comments([(comment, status)], IMPORTED_REASON, at=comment.created_at)
    db.session.commit()
    return comment


def report(comment: Comment, ip: str, reason: str, created_at: Any = None) -> CommentReport:
    filed = CommentReport(
        comment_id=comment.id, ip=ip, reason=reason, created_at=created_at or utcnow()
    )
    db.session.add(filed)
    db.session.commit()
    return filed


def reports() -> set[tuple[int, str, str]]:
    return set(
        db.session.execute(
            select(CommentReport.comment_id, CommentReport.ip, CommentReport.reason)
        ).all()
    )


@pytest.fixture
def threads(app: Flask) -> dict[str, Any]:
    """Ann's comments in several states on two posts, with replies by Bob and by herself;
    a report Ann filed, one of hers by Bob that names her, and one by Dave."""
    first, second = factories.make_post(title="First post"), factories.make_post()
    lone = add(first, "Ann's lone remark.", notify=True)
    answered = add(first, "Ann's question, answered by Bob.")
    bob = add(first, "Bob answers Ann.", parent=answered, email="bob@example.net", ip="192.0.2.5")
    held = add(second, "Ann's held comment.", P, approval=True)
    spam = add(second, "Ann's comment marked as spam.", P)
    set_status(spam.id, S, factories.make_user(role=Role.MODERATOR), "by ann.lee@example.org")
    own_thread = add(second, "Ann starts a thread.")
    own_reply = add(second, "Ann replies to herself.", parent=own_thread, notify=True)
    other = add(second, "Carol's comment.", email="carol@example.com", ip="192.0.2.9")
    filed = utcnow() - timedelta(hours=1)
    report(other, "203.0.113.77", "Off topic: not about the post at all", filed)
    report(lone, "192.0.2.5", "Shares someone's personal information: see ann-lee.example/blog")
    report(other, "198.51.100.4", "Spam or advertising")
    return {
        "first": first,
        "second": second,
        "ann": [lone, answered, held, spam, own_thread, own_reply],
        "lone": lone,
        "answered": answered,
        "bob": bob,
        "own_thread": own_thread,
        "own_reply": own_reply,
        "other": other,
        "filed": filed,
    }


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["blog", "personal-data", *args])


def everything_stored() -> str:
    """Every text value in every table, the settings included, as one string."""
    values: list[str] = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String)]
        if not columns or not inspect(db.engine).has_table(table.name):
            continue
        for row in db.session.execute(select(*columns)):
            values.extend(str(v) for v in row if v is not None)
    return "\n".join(values)


def test_export_gives_every_comment_and_notification_setting_of_the_address(
    app: Flask, threads: dict[str, Any]
) -> None:
    result = run(app, "export", ADDRESS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["email"] == "ann.lee@example.org"
    exported = data["comments"]
    assert [c["id"] for c in exported] == [c.id for c in threads["ann"]]
    lone = exported[0]
    assert lone["post"] == {"slug": threads["first"].slug, "title": "First post"}
    assert lone["body"] == "Ann's lone remark."
    assert lone["status"] == "approved"
    assert lone["name"] == "Ann Lee"
    assert lone["url"] == "https://ann-lee.example/blog"
    assert lone["ip_address"] == "203.0.113.77"
    assert lone["user_agent"].endswith("AnnBrowser")
    assert lone["notify_replies"] is True
    assert lone["notify_approved"] is False
    assert exported[2]["notify_approved"] is True  # the held one
    assert lone["created_at"].endswith("+00:00")
    assert (lone["edited_at"], lone["revisions"]) == (None, [])
    assert {c["status"] for c in exported} == {"approved", "pending", "spam"}
    assert data["notifications"] == {
        "reply_notifications": True,
        "subscribed_comment_ids": [threads["lone"].id, threads["own_reply"].id],
        "approval_notifications": True,
        "approval_comment_ids": [threads["ann"][2].id],
    }
    # The report filed from Ann's address; not Bob's report of her comment, nor Dave's.
    assert data["reports"] == [
        {
            "comment_id": threads["other"].id,
            "post": {"slug": threads["second"].slug, "title": threads["second"].title},
            "reason": "Off topic: not about the post at all",
            "ip_address": "203.0.113.77",
            "created_at": threads["filed"].isoformat(),
        }
    ]
    assert "Bob answers" not in result.output and "Carol" not in result.output


def test_export_writes_a_file_only_its_owner_can_read(
    app: Flask, threads: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "ann.json"
    result = run(app, "export", "ann.lee@example.org", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "wrote 6 comment(s) of ann.lee@example.org" in result.output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert len(json.loads(target.read_text(encoding="utf-8"))["comments"]) == 6


def test_export_includes_an_account_with_that_address(app: Flask) -> None:
    factories.make_user(role=Role.AUTHOR, username="ann", email="ann.lee@example.org")
    data = json.loads(run(app, "export", ADDRESS).output)
    assert data["comments"] == []
    assert [a["username"] for a in data["accounts"]] == ["ann"]


def test_erase_anonymizes_every_comment_and_leaves_no_trace(
    app: Flask, threads: dict[str, Any]
) -> None:
    retrain()  # the filter learns the comments (as after an import)
    counts = dict(db.session.execute(select(Post.id, Post.comment_count)).all())
    before = everything_stored()
    assert "ann.lee@example.org" in before and "203.0.113.77" in before
    assert "ann-lee.example" in before  # in the spam filter's model too
    result = run(app, "erase", ADDRESS)
    assert result.exit_code == 0, result.output
    assert "anonymized 6 comment(s) of ann.lee@example.org" in result.output
    stored = everything_stored().casefold()
    for trace in ("ann.lee@example.org", "203.0.113.77", "ann-lee.example", "annbrowser"):
        assert trace not in stored, trace
    rows = db.session.execute(
        select(
            Comment.author_name,
            Comment.author_email,
            Comment.author_url,
            Comment.ip_address,
            Comment.user_agent,
            Comment.notify_replies,
            Comment.notify_approved,
        ).where(Comment.id.in_([c.id for c in threads["ann"]]))
    ).all()
    assert set(rows) == {("Anonymous", "", "", "", "", False, False)}
    assert "emptied the IP address of 1 report(s) filed from its IP addresses" in result.output
    # Reports keep their reasons (struck of Ann's website) and count as before.
    lone, other = threads["lone"].id, threads["other"].id
    assert reports() == {
        (other, "", "Off topic: not about the post at all"),
        (lone, "192.0.2.5", "Shares someone's personal information: see [erased]"),
        (other, "198.51.100.4", "Spam or advertising"),
    }
    texts = db.session.scalars(select(Comment.body_source).order_by(Comment.id)).all()
    assert "Ann's lone remark." in texts  # the text stays unless asked otherwise
    assert dict(db.session.execute(select(Post.id, Post.comment_count)).all()) == counts
    assert find_drift() == []
    assert db.session.scalar(select(Comment.author_email).where(Comment.id == threads["bob"].id))
    assert run(app, "export", ADDRESS).output.count('"id"') == 0
    # The spam filter took back what Ann's comments taught it and learned them anonymized.
    learned = load_model()
    assert learned.examples == [1, 6]
    assert (retrain().spam, load_model().counts) == (1, learned.counts)


def test_erase_with_delete_text_keeps_only_what_holds_other_peoples_replies(
    app: Flask, threads: dict[str, Any]
) -> None:
    answered_id, bob_id = threads["answered"].id, threads["bob"].id
    ann_ids = [c.id for c in threads["ann"]]
    result = run(app, "erase", ADDRESS, "--delete-text")
    assert result.exit_code == 0, result.output
    assert "anonymized 1 comment(s)" in result.output
    assert "deleted 5 comment(s) for good (3 of them approved)" in result.output
    assert "replaced the text of 1 that have approved replies" in result.output
    assert "emptied the IP address of 1 report(s)" in result.output
    left = db.session.execute(
        select(Comment.id, Comment.author_name, Comment.body_source).where(Comment.id.in_(ann_ids))
    ).all()
    assert left == [(answered_id, "Anonymous", DELETED_TEXT)]
    assert db.session.scalar(select(Comment.parent_id).where(Comment.id == bob_id)) == answered_id
    assert find_drift() == []
    first, second = threads["first"].id, threads["second"].id
    counts = dict(db.session.execute(select(Post.id, Post.comment_count)).all())
    assert counts == {first: 2, second: 1}  # the placeholder, Bob; Carol
    assert "ann.lee@example.org" not in everything_stored().casefold()
    assert "203.0.113.77" not in everything_stored()
    changes = select(func.count(ModerationEvent.id)).where(
        ModerationEvent.reason != IMPORTED_REASON
    )
    assert db.session.scalar(changes) == 0  # only the survivors' creation events are left
    other = threads["other"].id  # Bob's report went with Ann's deleted comment
    assert reports() == {
        (other, "", "Off topic: not about the post at all"),
        (other, "198.51.100.4", "Spam or advertising"),
    }


def test_erasing_an_address_without_comments_changes_nothing(
    app: Flask, threads: dict[str, Any]
) -> None:
    result = run(app, "erase", "nobody@example.org", "--delete-text")
    assert result.exit_code == 0
    assert "no comments by nobody@example.org; nothing changed" in result.output
    assert erase_personal_data("NOBODY@example.org").anonymized == 0


@pytest.mark.parametrize("bad", ["", "   ", "ann", "@example.org", "ann@", "a b@example.org"])
def test_commands_refuse_what_is_not_an_address_and_change_nothing(
    app: Flask, threads: dict[str, Any], bad: str
) -> None:
    before = everything_stored()
    for command in ("export", "erase"):
        result = run(app, command, bad)
        assert result.exit_code == 1, result.output
        assert "is not an email address" in result.output
    assert everything_stored() == before


def test_ips_are_shortened_to_a_24_or_48_network() -> None:
    assert truncate_ip("203.0.113.77") == "203.0.113.0"
    assert truncate_ip(" 10.1.2.3 ") == "10.1.2.0"
    assert truncate_ip("2001:db8:abcd:12:3456::1") == "2001:db8:abcd::"
    assert truncate_ip("2001:DB8:ABCD::") == "2001:db8:abcd::"
    assert truncate_ip("::ffff:198.51.100.200") == "198.51.100.0"
    assert truncate_ip("fe80::1%eth0") == "fe80::"
    assert truncate_ip("not an address") == ""
    assert truncate_ip("") == ""


def test_purge_shortens_old_ips_when_retention_is_set(app: Flask) -> None:
    post = factories.make_post()
    now = utcnow()
    old_v4 = add(post, "old", created_at=now - timedelta(days=40), ip="203.0.113.77")
    old_v6 = add(post, "old six", created_at=now - timedelta(days=31), ip="2001:db8:1:2::9")
    old_junk = add(post, "old junk", created_at=now - timedelta(days=35), ip="unknown")
    fresh = add(post, "fresh", created_at=now - timedelta(days=29), ip="203.0.113.78")
    updated = db.session.scalar(select(Comment.updated_at).where(Comment.id == old_v4.id))
    runner = app.test_cli_runner()
    kept = runner.invoke(args=["blog", "purge"])
    assert "IP addresses are kept (ip_retention_days = 0)" in kept.output
    save_settings({"ip_retention_days": 30})
    result = runner.invoke(args=["blog", "purge"])
    assert result.exit_code == 0, result.output
    assert "shortened the IP address of 3 comment(s) older than 30 days" in result.output
    ips = dict(db.session.execute(select(Comment.id, Comment.ip_address)).all())
    assert ips[old_v4.id] == "203.0.113.0"
    assert ips[old_v6.id] == "2001:db8:1::"
    assert ips[old_junk.id] == ""
    assert ips[fresh.id] == "203.0.113.78"
    assert db.session.scalar(select(Comment.updated_at).where(Comment.id == old_v4.id)) == updated
    again = runner.invoke(args=["blog", "purge"])
    assert "shortened the IP address of 0 comment(s)" in again.output
    assert truncate_old_ips(0) == Shortened(0, 0, 0, 0)


def test_ip_retention_is_a_setting(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["blog", "settings", "--set", "ip_retention_days=90"]
    )
    assert "ip_retention_days = 90  (changed)" in result.output
    post = factories.make_post()
    comment = add(post, "old", created_at=utcnow() - timedelta(days=91))
    db.session.execute(update(Comment).values(ip_address="198.51.100.7"))
    db.session.commit()
    assert truncate_old_ips(90).comments == 1
    assert db.session.scalar(select(Comment.ip_address).where(Comment.id == comment.id)) == (
        "198.51.100.0"
    )


# --- Property tests --------------------------------------------------------------------------

addresses = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.sampled_from(
        [
            "ann.lee@example.org",
            "ANN.LEE@EXAMPLE.ORG",
            "%@%",
            "_@_",
            "@",
            "a@b",
            "-",
            "--delete-text",
            "x" * 300 + "@example.org",
            "\x00@example.org",
            "jörg@bücher.example",
            "' OR 1=1 --@x",
        ]
    ),
)
examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def someone_elses_comment(app: Flask) -> None:
    def build() -> None:
        add(
            factories.make_post(),
            "Someone else's words.",
            email="carol@example.com",
            ip="192.0.2.9",
        )

    seeded(app, "privacy", build)


@examples
@given(address=addresses)
def test_export_never_crashes_and_changes_nothing(app: Flask, address: str) -> None:
    someone_elses_comment(app)
    before = everything_stored()
    result = run(app, "export", "--", address)
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    event(f"export exit {result.exit_code}")
    if result.exit_code == 0:
        json.loads(result.output)
    db.session.rollback()
    assert everything_stored() == before


@examples
@given(address=addresses, delete=st.booleans())
def test_erase_never_crashes_and_touches_only_that_address(
    app: Flask, address: str, delete: bool
) -> None:
    someone_elses_comment(app)
    before = everything_stored()
    args = ["erase", "--", address] if not delete else ["erase", "--delete-text", "--", address]
    result = run(app, *args)
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    event(f"erase exit {result.exit_code}")
    db.session.rollback()
    if address.strip().casefold() != "carol@example.com":
        assert everything_stored() == before
    assert find_drift() == []


def test_erase_reaches_the_earlier_versions_of_edited_comments(app: Flask) -> None:
    from blog.models import CommentRevision

    post = factories.make_post()
    edited = factories.make_comment(post, author_name="Edna", author_email="edna@example.com")
    other = factories.make_comment(post, author_name="Otto", author_email="otto@example.com")
    for comment, name in ((edited, "Edna"), (other, "Otto")):
        db.session.add(
            CommentRevision(
                comment_id=comment.id,
                body_source=f"{name}'s first words",
                body_html=sanitize_comment(f"{name}'s first words"),
                editor_name=name,
            )
        )
    db.session.commit()
    erase_personal_data("edna@example.com")
    names = set(db.session.scalars(select(CommentRevision.editor_name)))
    assert names == {"Anonymous", "Otto"}
    erase_personal_data("edna@example.com", delete_text=True)  # already anonymous: nothing left
    factories.make_comment(post, author_name="Edna", author_email="edna@example.com")
    again = db.session.scalars(
        select(Comment).where(Comment.author_email == "edna@example.com")
    ).one()
    db.session.add(CommentRevision(comment_id=again.id, body_source="secret", editor_name="Edna"))
    db.session.commit()
    erase_personal_data("edna@example.com", delete_text=True)
    sources = list(db.session.scalars(select(CommentRevision.body_source)))
    assert "secret" not in sources and "Otto's first words" in sources


def test_addresses_quoted_in_text_are_shortened() -> None:
    assert shorten_quoted_ips('clean-up: IP "203.0.113.77"') == 'clean-up: IP "203.0.113.0"'
    assert shorten_quoted_ips("from 198.51.100.9.") == "from 198.51.100.0."
    assert shorten_quoted_ips("IP 2001:db8:1:2::9 and ::ffff:192.0.2.77") == (
        "IP 2001:db8:1:: and 192.0.2.0"
    )
    assert shorten_quoted_ips('IP "203.0.113.64/26"') == 'IP "203.0.113.0/24"'
    assert shorten_quoted_ips('IP "2001:db8:1:2::/64"') == 'IP "2001:db8:1::/48"'
    for kept in (
        'clean-up: IP "203.0.113.0/24"',
        'clean-up: IP "2001:db8::/32"',
        "held: 3 links, limit 2",
        'spam: disallowed word "cafe.babe" in text',
        "at 12:30:45 on 2024.01.02",
        "version 1.2.3",
    ):
        assert shorten_quoted_ips(kept) == kept


def test_purge_shortens_old_report_ips_and_addresses_in_reasons(app: Flask) -> None:
    post = factories.make_post()
    now = utcnow()
    old, recent = now - timedelta(days=40), now - timedelta(days=10)
    spam = add(post, "old spam", S, email="x@example.com", ip="203.0.113.77", created_at=old)
    spam.held_reason = 'spam: disallowed word "203.0.113.77" in IP address'
    fresh_spam = add(post, "new spam", S, email="x@example.com", ip="203.0.113.7")
    fresh_spam.held_reason = 'spam: disallowed word "203.0.113.7" in IP address'
    kept_reason = fresh_spam.held_reason
    for comment, at in ((spam, old), (fresh_spam, recent)):
        reason = f'clean-up: IP "{comment.ip_address}"'
        db.session.add(ModerationEvent(comment_id=comment.id, to_status=S, reason=reason, at=at))
    db.session.commit()
    target = add(post, "reported", email="carol@example.com", ip="192.0.2.9")
    report(target, "198.51.100.23", "Spam or advertising", old)
    report(target, "2001:db8:aa:bb::1", "Off topic", old)
    report(target, "198.51.100.24", "Off topic", recent)
    save_settings({"ip_retention_days": 30})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["blog", "purge", "--spam-days", "60"])
    assert result.exit_code == 0, result.output
    assert "shortened the IP address of 1 comment(s) older than 30 days" in result.output
    assert "shortened the IP address of 2 report(s) older than 30 days" in result.output
    assert (
        "shortened the IP addresses quoted in 1 held reason(s) and 1 moderation event(s) older "
        "than 30 days" in result.output
    )
    assert {ip for _, ip, _ in reports()} == {"198.51.100.0", "2001:db8:aa::", "198.51.100.24"}
    held = dict(db.session.execute(select(Comment.id, Comment.held_reason)).all())
    assert held[spam.id] == 'spam: disallowed word "203.0.113.0" in IP address'
    assert held[fresh_spam.id] == kept_reason
    events = set(
        db.session.scalars(
            select(ModerationEvent.reason).where(ModerationEvent.reason != IMPORTED_REASON)
        )
    )
    assert events == {'clean-up: IP "203.0.113.0"', 'clean-up: IP "203.0.113.7"'}
    again = runner.invoke(args=["blog", "purge", "--spam-days", "60"])
    assert "of 0 report(s)" in again.output
    assert "quoted in 0 held reason(s) and 0 moderation event(s)" in again.output


def test_export_gives_the_earlier_versions_of_edited_comments(app: Flask) -> None:
    post = factories.make_post()
    moderator = factories.make_user(role=Role.MODERATOR, display_name="Mo Derator")
    edited = add(post, "Ann's words, third version.")
    edited.edited_at = utcnow()
    first, second = utcnow() - timedelta(hours=2), utcnow() - timedelta(hours=1)
    db.session.add_all(
        [
            CommentRevision(
                comment_id=edited.id, body_source="v1", edited_at=first, editor_name="Ann L."
            ),
            CommentRevision(
                comment_id=edited.id,
                body_source="v2",
                edited_at=second,
                editor_id=moderator.id,
                editor_name="Mo Derator",
            ),
        ]
    )
    db.session.commit()
    data = export_personal_data(ADDRESS)
    (comment,) = data["comments"]
    assert comment["body"] == "Ann's words, third version."
    assert comment["edited_at"] == edited.edited_at.isoformat()
    assert comment["revisions"] == [
        {
            "body": "v1",
            "replaced_at": first.isoformat(),
            "replaced_by": "commenter",
            "name": "Ann L.",
        },
        {"body": "v2", "replaced_at": second.isoformat(), "replaced_by": "moderator", "name": None},
    ]
    assert "Mo Derator" not in json.dumps(data)


def test_an_address_already_shortened_names_nobody(app: Flask) -> None:
    post = factories.make_post()
    add(post, "Ann, long ago.", ip="203.0.113.0")  # shortened by IP retention
    add(post, "Ann, from a proxy.", ip="unknown")
    someone = add(post, "Carol's comment.", email="carol@example.com", ip="192.0.2.9")
    report(someone, "203.0.113.0", "Off topic")  # someone else in that network, long ago
    report(someone, "unknown", "Spam or advertising")
    assert export_personal_data(ADDRESS)["reports"] == []
    assert erase_personal_data(ADDRESS).reports == 0
    assert {ip for _, ip, _ in reports()} == {"203.0.113.0", "unknown"}
