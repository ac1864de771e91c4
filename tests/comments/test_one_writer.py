"""One writer per invariant: only blog.comments.transitions writes a comment's status, its
moderation events and the posts' comment counts, and every path that adds, moves or removes a
comment leaves the counts exact and each comment's latest event naming its status."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from blog.comments.confirmation import confirm_comment
from blog.comments.counts import find_drift
from blog.comments.edits import delete_own_comment, edit_own_comment
from blog.comments.moderation import ModerationAction, moderate_comment
from blog.comments.notifications import confirmation_token
from blog.comments.purge import purge_comments
from blog.comments.reports import report_comment
from blog.comments.submit import CommentForm, Submitter, submit_comment
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, utcnow
from blog.porting.demo import load_demo
from blog.porting.wxr_import import import_wxr
from blog.porting.wxr_read import read_wxr
from blog.settings import load_settings, save_settings
from tests import factories
from tests.paths import ROOT, WXR_FIXTURE
from tests.smtp import Inbox, plain_server

WRITER = Path("blog/comments/transitions.py")
SCANNED = [*sorted((ROOT / "blog").rglob("*.py")), ROOT / "tests" / "factories.py"]
# Post.status is a post's own (drafts, publishing), not a comment's.
POST_STATUS_WRITERS = ("blog/posts/",)


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _assigned_attributes(node: ast.AST) -> list[str]:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    flat: list[ast.expr] = []
    for target in targets:
        flat += list(target.elts) if isinstance(target, ast.Tuple) else [target]
    # self.status is an object's own attribute (an error's HTTP status), not a comment's.
    return [
        t.attr
        for t in flat
        if isinstance(t, ast.Attribute)
        and not (isinstance(t.value, ast.Name) and t.value.id == "self")
    ]


def _writes(node: ast.AST, post_status_allowed: bool) -> list[str]:
    """What this node writes of the guarded invariant, as words for the failure message."""
    found: list[str] = []
    for attribute in _assigned_attributes(node):
        if attribute == "comment_count" or (attribute == "status" and not post_status_allowed):
            found.append(f"assigns .{attribute}")
    if isinstance(node, ast.Call):
        called = _name(node.func)
        keywords = {k.arg for k in node.keywords}
        if called == "ModerationEvent":
            found.append("constructs ModerationEvent")
        if called == "apply_count_delta":
            found.append("calls apply_count_delta")
        if "comment_count" in keywords:
            found.append("writes comment_count")
        if called == "Comment" and keywords & {"status", "held_reason"}:
            found.append("constructs a Comment with a status")
        if called == "values" and "status" in keywords and not post_status_allowed:
            found.append("updates a status in SQL")
    return found


def violations(root: Path, files: list[Path]) -> list[str]:
    """Every write of a comment's status, an event or a count outside the one writer."""
    found = []
    for path in files:
        relative = path.relative_to(root).as_posix()
        if relative == WRITER.as_posix():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        post_status_allowed = relative.startswith(POST_STATUS_WRITERS)
        for node in ast.walk(tree):
            for what in _writes(node, post_status_allowed):
                found.append(f"{relative}:{getattr(node, 'lineno', 0)} {what}")
    return found


def test_only_transitions_writes_statuses_events_and_counts() -> None:
    assert violations(ROOT, SCANNED) == []


def test_the_scan_finds_a_write_by_hand(tmp_path: Path) -> None:
    """The scan is not blind: each kind of write by hand, as submit, wxr_import, demo, purge and
    the factories did before transitions, is reported."""
    module = tmp_path / "blog" / "comments" / "by_hand.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "def store(comment, post_id, delta):\n"
        "    db.session.add(ModerationEvent(comment_id=comment.id, to_status=comment.status))\n"
        "    comment.status = CommentStatus.SPAM\n"
        "    apply_count_delta(post_id, delta)\n"
        "    update(Post).values(comment_count=Post.comment_count + 1)\n"
        "    return Comment(post_id=post_id, status=CommentStatus.APPROVED)\n",
        encoding="utf-8",
    )
    found = violations(tmp_path, [module])
    assert sorted(found) == [
        "blog/comments/by_hand.py:2 constructs ModerationEvent",
        "blog/comments/by_hand.py:3 assigns .status",
        "blog/comments/by_hand.py:4 calls apply_count_delta",
        "blog/comments/by_hand.py:5 writes comment_count",
        "blog/comments/by_hand.py:6 constructs a Comment with a status",
    ]


# --- Every path keeps the ledger --------------------------------------------------------------


def assert_ledger_exact() -> None:
    """The counts equal the approved comments, and each comment's latest event says the status
    it has: nothing wrote a status, an event or a count on the side."""
    db.session.expire_all()
    assert find_drift() == []
    latest = (
        select(ModerationEvent.comment_id, func.max(ModerationEvent.id).label("event_id"))
        .group_by(ModerationEvent.comment_id)
        .subquery()
    )
    disagreeing = db.session.execute(
        select(Comment.id, Comment.status, ModerationEvent.to_status)
        .outerjoin(latest, latest.c.comment_id == Comment.id)
        .outerjoin(ModerationEvent, ModerationEvent.id == latest.c.event_id)
        .where(ModerationEvent.to_status.is_(None) | (ModerationEvent.to_status != Comment.status))
    ).all()
    assert disagreeing == []


@pytest.fixture
def mail_app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    with plain_server(Inbox()) as port:
        app = make_app(
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            MAIL_FROM="blog@blog.example",
            SITE_URL="https://blog.example",
        )
        with app.app_context():
            yield app


def submit(post: Post, body: str, email: str = "ann@example.org") -> Comment:
    form = CommentForm(body=body, name="Reader", email=email)
    return submit_comment(post, form, Submitter(None, "192.0.2.7", "Browser/1.0"))


def test_counts_and_events_stay_exact_through_every_path(mail_app: Flask) -> None:
    save_settings(
        {
            "comment_moderation": False,
            "comment_previously_approved": False,
            "flood_interval_seconds": 0,
            "moderation_keys": "casino",
        }
    )
    factories.make_comments(factories.make_post(), 4)  # the test factories
    assert_ledger_exact()
    import_wxr(read_wxr(str(WXR_FIXTURE)))
    assert_ledger_exact()
    load_demo()
    assert_ledger_exact()

    post = factories.make_post()
    approved = submit(post, "Approved at once")
    assert approved.status == CommentStatus.APPROVED
    edit_own_comment(approved.id, "Now about a casino", [approved.id], load_settings())
    assert db.session.get(Comment, approved.id).status == CommentStatus.PENDING  # type: ignore[union-attr]
    assert_ledger_exact()

    reported = submit(post, "Reported three times")
    for n in range(3):
        report_comment(reported.id, "abuse", "", f"198.51.100.{n}", load_settings())
    assert db.session.get(Comment, reported.id).status == CommentStatus.PENDING  # type: ignore[union-attr]
    assert_ledger_exact()

    save_settings({"require_email_confirmation": True})
    waiting = submit(post, "Waiting for my address", email="eve@example.org")
    assert waiting.status == CommentStatus.UNCONFIRMED
    assert_ledger_exact()
    confirm_comment(confirmation_token(waiting), load_settings())
    assert db.session.get(Comment, waiting.id).status == CommentStatus.APPROVED  # type: ignore[union-attr]
    assert_ledger_exact()

    mine = submit(post, "Mine to delete", email="eve@example.org")
    delete_own_comment(mine.id, [mine.id], load_settings())
    waiting_id = waiting.id
    moderate_comment(waiting_id, ModerationAction.TRASH, None)
    purge_comments(spam_days=0, trash_days=0, now=utcnow() + timedelta(days=1))
    assert db.session.get(Comment, waiting_id) is None
    assert_ledger_exact()
    assert db.session.get(Post, post.id).comment_count == 0  # type: ignore[union-attr]
