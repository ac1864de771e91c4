"""The duplicate rule's check on a post with many comments, before and after the digest index.

``python -m bench.duplicate_check [N]`` (from the checkout, SQLite in a temporary directory,
about a second): N comments (default 50,000) on one post, then the old check (``body_source``
compared through the (post_id, status, created_at) index, which reads every comment of the post)
and the new one (``body_digest`` through its (post_id, body_digest) index), 50 runs each.
docs/security.md has the figures.
"""

from __future__ import annotations

import sys
import tempfile
import time

from sqlalchemy import TextClause, text

from blog import create_app
from blog.extensions import db
from blog.models import digest_of_body

OLD = text(
    "SELECT EXISTS (SELECT id FROM comments WHERE post_id = 1 AND status != 'trash'"
    " AND (author_name = :n OR author_email = :e) AND body_source = :b)"
)
NEW = text(
    "SELECT EXISTS (SELECT id FROM comments WHERE post_id = 1 AND body_digest = :d"
    " AND status != 'trash'"
    " AND (lower(author_name) = lower(:n) OR lower(author_email) = lower(:e)))"
)
USER = (
    "INSERT INTO users (id, username, display_name, slug, email, password_hash, role, active,"
    " session_token, bio, created_at) VALUES (1, 'u', 'U', 'author-bench', '', '!', 'author', 1,"
    " 't', '', '2025-01-01')"
)
POST = (
    "INSERT INTO posts (id, title, slug, body_source, body_html, excerpt, author_id, status,"
    " published_at, created_at, updated_at, comments_open, comment_count) VALUES (1, 't', 't',"
    " '', '', '', 1, 'published', '2025-01-01', '2025-01-01', '2025-01-01', 1, 0)"
)
COMMENT = (
    "INSERT INTO comments (id, post_id, author_name, author_email, author_url, body_source,"
    " body_digest, body_html, status, held_reason, ip_address, user_agent, notify_replies,"
    " notify_approved, created_at, updated_at) VALUES (:i, 1, 'Reader', :e, '', :b, :d, '',"
    " 'approved', '', '10.0.0.1', '', 0, 0, '2025-01-02', '2025-01-02')"
)


def _seed(n: int) -> None:
    db.create_all()
    db.session.execute(text(USER))
    db.session.execute(text(POST))
    bodies = (f"Comment number {i} with some words" for i in range(1, n + 1))
    rows = [
        {"i": i, "b": b, "d": digest_of_body(b), "e": f"r{i}@example.org"}
        for i, b in enumerate(bodies, start=1)
    ]
    db.session.execute(text(COMMENT), rows)
    db.session.commit()


def _milliseconds(statement: TextClause, runs: int = 50) -> float:
    params = {"n": "Someone", "e": "s@example.org", "b": "Fresh", "d": digest_of_body("Fresh")}
    db.session.execute(statement, params)
    started = time.perf_counter()
    for _ in range(runs):
        db.session.execute(statement, params).scalar()
    return (time.perf_counter() - started) / runs * 1000


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/duplicates.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"}, instance_path=folder)
        with app.app_context():
            _seed(n)
            print(f"{n:,} comments on one post, SQLite")
            print(f"  old check (body_source): {_milliseconds(OLD):.3f} ms")
            print(f"  new check (body_digest): {_milliseconds(NEW):.3f} ms")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
