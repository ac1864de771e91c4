"""Migration 0004 on a database with data: statuses widened, nothing lost, and back again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from blog import create_app
from blog.extensions import db

SEED = (
    "INSERT INTO users (id, username, display_name, email, password_hash, role, active,"
    " session_token, bio, created_at) VALUES (1, 'ann', 'Ann', 'ann@example.com', '', 'author',"
    " true, 'token', '', '2025-01-01 00:00:00')",
    "INSERT INTO posts (id, title, slug, body_source, body_html, excerpt, author_id, status,"
    " published_at, created_at, updated_at, comments_open, comment_count) VALUES (1, 'Post',"
    " 'post', '', '', '', 1, 'published', '2025-01-01 00:00:00', '2025-01-01 00:00:00',"
    " '2025-01-01 00:00:00', true, 2)",
    *(
        "INSERT INTO comments (id, post_id, parent_id, author_name, author_email, author_url,"
        " body_source, body_html, status, held_reason, ip_address, user_agent, notify_replies,"
        f" created_at, updated_at) VALUES ({i}, 1, {parent}, 'Bo', 'bo@example.com', '', 'Hi',"
        f" '<p>Hi</p>', 'approved', '', '', '', false, '2025-01-0{i} 00:00:00',"
        " '2025-01-01 00:00:00')"
        for i, parent in ((1, "NULL"), (2, "1"))
    ),
    *(
        "INSERT INTO moderation_events (comment_id, actor_id, from_status, to_status, reason, at)"
        f" VALUES ({i}, 1, 'pending', 'approved', 'ok', '2025-01-02 00:00:00')"
        for i in (1, 2)
    ),
)


def _rows(sql: str) -> list[Any]:
    return list(db.session.execute(text(sql)).all())


def test_upgrade_keeps_threads_and_events_and_downgrade_holds_unconfirmed_comments(
    database: dict[str, Any], tmp_path: Path
) -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", **database}, instance_path=str(tmp_path / "i")
    )
    with app.app_context():
        upgrade(revision="0003")
        for statement in SEED:
            db.session.execute(text(statement))
        db.session.commit()

        upgrade()
        assert _rows("SELECT id, parent_id FROM comments ORDER BY id") == [(1, None), (2, 1)]
        assert _rows("SELECT count(*) FROM moderation_events") == [(2,)]
        assert _rows("SELECT notify_approved FROM comments") == [(False,), (False,)]
        db.session.execute(text("UPDATE comments SET status = 'unconfirmed' WHERE id = 2"))
        db.session.execute(
            text(
                "INSERT INTO moderation_events (comment_id, actor_id, from_status, to_status,"
                " reason, at) VALUES (2, NULL, 'approved', 'unconfirmed', '', '2025-01-03')"
            )
        )
        db.session.commit()
        refused = False
        try:
            db.session.execute(text("UPDATE comments SET status = 'bogus' WHERE id = 1"))
        except Exception:  # the CHECK constraint is still there
            refused = True
        db.session.rollback()
        assert refused

        downgrade(revision="0003")
        assert _rows("SELECT id, parent_id, status FROM comments ORDER BY id") == [
            (1, None, "approved"),
            (2, 1, "pending"),
        ]
        assert _rows("SELECT count(*) FROM moderation_events WHERE to_status = 'pending'") == [(1,)]
        db.session.commit()  # a reading transaction would hold locks that DDL waits for
        downgrade(revision="base")
        db.session.remove()
        db.engine.dispose()
