"""Migration 0008 fills what it adds for the rows already there: a public slug for every user
(never the login name) and the duplicate rule's digest for every comment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from blog import create_app
from blog.comments.submit import CommentForm, CommentRejected, Submitter, submit_comment
from blog.extensions import db
from blog.models import Post, digest_of_body

SEED = (
    "INSERT INTO users (id, username, display_name, email, password_hash, role, active,"
    " session_token, bio, created_at) VALUES"
    " (1, 'evans', 'Evans Asare', '', '!', 'author', true, 't1', '', '2025-01-01'),"
    " (2, 'lena', 'lena', '', '!', 'editor', true, 't2', '', '2025-01-01'),"
    " (3, 'js', 'Evans Asare', '', '!', 'author', true, 't3', '', '2025-01-01')",
    "INSERT INTO posts (id, title, slug, body_source, body_html, excerpt, author_id, status,"
    " published_at, created_at, updated_at, comments_open, comment_count) VALUES"
    " (1, 'Old', 'old', '', '<p>x</p>', '', 1, 'published', '2025-01-02', '2025-01-02',"
    " '2025-01-02', true, 1)",
    "INSERT INTO comments (id, post_id, author_name, author_email, author_url, body_source,"
    " body_html, status, held_reason, ip_address, user_agent, notify_replies, created_at,"
    " updated_at) VALUES (1, 1, 'Ann', 'ann@example.com', '', 'Seen it  before ',"
    " '<p>Seen it before</p>', 'approved', '', '10.0.0.1', '', false, '2025-01-03',"
    " '2025-01-03')",
)


def test_upgrade_fills_slugs_and_digests_and_downgrade_removes_them(
    database: dict[str, Any], tmp_path: Path
) -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", **database}, instance_path=str(tmp_path / "i")
    )
    with app.app_context():
        upgrade(revision="0006")
        for statement in SEED:
            db.session.execute(text(statement))
        db.session.commit()
        upgrade()
        slugs = dict(db.session.execute(text("SELECT username, slug FROM users")).all())
        assert slugs["evans"] == "evans-asare" and slugs["js"] == "evans-asare-2"
        assert re.fullmatch(r"author-[0-9a-f]{8}", slugs["lena"]), slugs
        digest = db.session.scalar(text("SELECT body_digest FROM comments WHERE id = 1"))
        assert digest == digest_of_body("Seen it before")
        post = db.session.get(Post, 1)
        assert post is not None
        form = CommentForm(body="Seen it before", name="Other", email="ANN@example.com")
        refused = None
        try:
            submit_comment(post, form, Submitter(ip_address="10.0.0.2"))
        except CommentRejected as error:
            refused = error.status_code
        assert refused == 409  # the old comment counts for the duplicate rule
        db.session.rollback()
        db.session.remove()

        downgrade(revision="0006")
        columns = {c["name"] for c in db.inspect(db.engine).get_columns("users")}
        assert "slug" not in columns
        assert "sign_in_failures" not in db.inspect(db.engine).get_table_names()
        downgrade(revision="base")
        db.session.remove()
        db.engine.dispose()
