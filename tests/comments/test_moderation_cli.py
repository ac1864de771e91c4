"""``flask blog settings``, ``flask blog purge`` and ``flask blog recount`` after a corruption."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from blog.comments.moderation import set_status
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, utcnow
from blog.settings import load_settings
from tests import factories


def test_settings_lists_every_setting_with_wordpress_defaults(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["blog", "settings"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for expected in (
        "comment_moderation = on",
        "comment_previously_approved = on",
        "comment_max_links = 2",
        "flood_interval_seconds = 15",
        "close_comments_for_old_posts = off",
        "close_comments_days_old = 14",
        "thread_comments_depth = 5",
        "comments_per_page = 50",
        "default_comments_page = oldest",
        "require_name_email = on",
    ):
        assert expected in lines


def test_settings_set_changes_and_reports(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "blog", "settings", "--set", "comment_max_links=5", "--set",
            "comment_moderation=off", "--set", "disallowed_keys=casino",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "comment_max_links = 5  (changed)" in result.output
    settings = load_settings()
    assert settings.comment_max_links == 5 and settings.comment_moderation is False
    assert settings.disallowed_keys == "casino"


def test_settings_refuses_unknown_names_and_bad_values_and_changes_nothing(app: Flask) -> None:
    runner = app.test_cli_runner()
    for args, message in [
        (["--set", "no_such=1"], "Unknown setting 'no_such'"),
        (["--set", "comment_max_links=many"], "comment_max_links must be a whole number"),
        (["--set", "comment_moderation=perhaps"], "must be on or off"),
        (["--set", "comment_max_links"], "use NAME=VALUE"),
        (["--set", "comment_max_links=3", "--set", "thread_comments_depth=-1"], "between 0"),
    ]:
        result = runner.invoke(args=["blog", "settings", *args])
        assert result.exit_code != 0
        assert message in result.output
    assert load_settings().comment_max_links == 2


def test_purge_deletes_old_spam_and_trash_only(app: Flask) -> None:
    post = factories.make_post()
    now = utcnow()
    old_spam = factories.make_comment(post, status=CommentStatus.PENDING)
    set_status(old_spam.id, CommentStatus.SPAM, None)
    fresh_spam = factories.make_comment(post, status=CommentStatus.PENDING)
    set_status(fresh_spam.id, CommentStatus.SPAM, None)
    old_trash = factories.make_comment(post, created_at=now - timedelta(days=100))
    set_status(old_trash.id, CommentStatus.TRASH, None)
    reply = factories.make_comment(post, parent=old_trash)
    imported_trash = factories.make_comment(
        post, status=CommentStatus.TRASH, created_at=now - timedelta(days=40)
    )
    old_pending = factories.make_comment(
        post, status=CommentStatus.PENDING, created_at=now - timedelta(days=400)
    )
    # Backdate the moves into spam and trash.
    for comment_id, days in ((old_spam.id, 16), (old_trash.id, 31)):
        db.session.execute(
            update(ModerationEvent)
            .where(ModerationEvent.comment_id == comment_id)
            .values(at=now - timedelta(days=days))
        )
    db.session.commit()
    keep = {fresh_spam.id, reply.id, old_pending.id}
    gone = {old_spam.id, old_trash.id, imported_trash.id}
    reply_id = reply.id

    result = app.test_cli_runner().invoke(args=["blog", "purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 spam comment(s) older than 15 days" in result.output
    assert "2 trashed comment(s) older than 30 days" in result.output
    remaining = set(db.session.scalars(select(Comment.id)))
    assert keep <= remaining and not (gone & remaining)
    assert db.session.scalar(select(Comment.parent_id).where(Comment.id == reply_id)) is None
    assert db.session.scalar(select(Post.comment_count).where(Post.id == post.id)) == 1

    again = app.test_cli_runner().invoke(args=["blog", "purge", "--spam-days", "0"])
    assert "deleted 1 spam comment(s)" in again.output


def test_recount_reports_and_repairs_a_count_corrupted_by_hand(app: Flask) -> None:
    post = factories.make_post()
    factories.make_comments(post, 3)
    factories.make_comment(post, status=CommentStatus.PENDING)
    db.session.execute(update(Post).where(Post.id == post.id).values(comment_count=42))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["blog", "recount"])
    assert result.exit_code == 0
    assert f"fixed {post.slug}: stored 42, actual 3" in result.output
    assert db.session.scalar(select(Post.comment_count).where(Post.id == post.id)) == 3
    assert "all comment counts are exact" in runner.invoke(args=["blog", "recount"]).output
