"""Exact counts under concurrent load: several processes post and moderate 500 comments at once.

Each process builds its own app on the same database (as gunicorn workers do) and drives it
through the test client: readers post replies, a moderator bulk-approves ranges of ids that
overlap with the other processes' (so the same comment is approved by two processes at once),
and now and then trashes and restores a comment. Afterwards every comment is stored once, every
post's count equals its approved comments, and each comment's events chain without a gap.
"""

from __future__ import annotations

import multiprocessing
import re
import traceback
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from blog import create_app
from blog.comments.counts import find_drift
from blog.comments.moderation import ModerationAction, moderate_comments
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, Role, User
from blog.settings import save_settings
from tests import factories

WORKERS = 4
COMMENTS = 500
POSTS = 3
OVERLAP = 6  # each bulk approval covers the last few ids, other processes' included


def run_worker(
    config: dict[str, Any], instance: str, index: int, slugs: list[str], barrier: Any, out: Any
) -> None:
    """One "gunicorn worker": post its share of the comments and moderate as it goes."""
    problems: list[str] = []
    try:
        app = create_app(config, instance_path=instance)
        with app.app_context():
            moderator = db.session.scalars(select(User).where(User.username == "mod")).one()
            session_id = moderator.get_id()
        reader = app.test_client()
        staff = app.test_client()
        with staff.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        barrier.wait(timeout=60)
        for i in range(COMMENTS // WORKERS):
            n = f"{index}-{i}"
            reply = reader.post(
                f"/blog/{slugs[i % len(slugs)]}/comments",
                data={"name": f"Reader {n}", "email": f"r{n}@example.org", "body": f"Body {n}"},
            )
            found = re.search(r"#comment-(\d+)$", reply.headers.get("Location", ""))
            if reply.status_code != 303 or not found:
                problems.append(f"post {n}: {reply.status_code}")
                continue
            newest = int(found.group(1))
            ids = [str(x) for x in range(max(1, newest - OVERLAP), newest + 1)]
            done = staff.post("/admin/comments/bulk", data={"action": "approve", "ids": ids})
            if done.status_code != 303:
                problems.append(f"approve {n}: {done.status_code}")
            if i % 10 == 5:
                for action in ("trash", "restore"):
                    moved = staff.post(f"/admin/comments/{newest}/{action}")
                    if moved.status_code not in (303, 409):
                        problems.append(f"{action} {n}: {moved.status_code}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    except Exception:  # reported to the test process, which fails with it
        problems.append(traceback.format_exc())
    out.put((index, problems))


@pytest.mark.slow
def test_counts_stay_exact_with_four_processes_posting_and_approving_500_comments(
    app: Any, database: dict[str, Any], tmp_path: Path
) -> None:
    save_settings({"flood_interval_seconds": 0})
    factories.make_user(role=Role.MODERATOR, username="mod")
    slugs = [factories.make_post(title=f"Busy post {i}").slug for i in range(POSTS)]
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        **database,
    }
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    out = context.Queue()
    workers = [
        context.Process(
            target=run_worker,
            args=(config, str(tmp_path / f"instance{i}"), i, slugs, barrier, out),
        )
        for i in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        reports = dict(out.get(timeout=180) for _ in workers)
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
    assert all(not problems for problems in reports.values()), reports

    db.session.rollback()
    bodies = db.session.execute(
        select(func.count(Comment.id), func.count(func.distinct(Comment.body_source)))
    ).one()
    assert tuple(bodies) == (COMMENTS, COMMENTS)  # every comment stored once
    assert find_drift() == []  # every count exact right after the storm

    events = db.session.execute(
        select(
            ModerationEvent.comment_id, ModerationEvent.from_status, ModerationEvent.to_status
        ).order_by(ModerationEvent.id)
    ).all()
    last: dict[int, CommentStatus] = {}
    for comment_id, before, after in events:
        assert before == last.get(comment_id), f"comment {comment_id}: a lost or doubled change"
        last[comment_id] = after
    statuses = dict(db.session.execute(select(Comment.id, Comment.status)).tuples().all())
    assert last == statuses

    pending = [cid for cid, status in statuses.items() if status != CommentStatus.APPROVED]
    moderate_comments(pending, ModerationAction.APPROVE, None)
    moderate_comments(pending, ModerationAction.RESTORE, None)
    moderate_comments(pending, ModerationAction.APPROVE, None)
    counts = db.session.execute(select(func.sum(Post.comment_count))).scalar()
    assert counts == COMMENTS
    assert find_drift() == []
