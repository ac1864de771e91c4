"""``flask blog backup FILE`` (a consistent copy of a live SQLite database) and ``resanitize``."""

from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from blog.extensions import db
from blog.models import Comment, Post
from blog.porting.backup import BackupError, backup_database
from blog.sanitize import render_markdown, sanitize_comment
from tests import factories
from tests.paths import WXR_FIXTURE

FIXTURE = WXR_FIXTURE
WRITES_AT_MOST = 2000


def sqlite_only(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the backup API is SQLite's; PostgreSQL uses pg_dump")


def test_backup_while_another_connection_writes_is_consistent(app: Flask, tmp_path: Path) -> None:
    sqlite_only(app)
    post = factories.make_post(title="Busy post")
    factories.make_comments(post, 20)
    post_id = post.id
    started, stop = threading.Event(), threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def write_comments() -> None:
        # Each comment and its count change commit together, as every real write does.
        try:
            with app.app_context():
                target = db.session.get(Post, post_id)
                assert target is not None
                for i in range(WRITES_AT_MOST):
                    factories.make_comment(target, body=f"during the backup {i}")
                    written.append(i)
                    started.set()
                    if stop.is_set():
                        break
        except BaseException as error:  # reported by the main thread
            failures.append(error)
            started.set()

    writer = threading.Thread(target=write_comments)
    writer.start()
    try:
        assert started.wait(timeout=30)
        result = app.test_cli_runner().invoke(args=["blog", "backup", str(tmp_path / "copy.db")])
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not failures, failures
    assert result.exit_code == 0, result.output
    assert "integrity check: ok" in result.output

    copy = tmp_path / "copy.db"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with closing(sqlite3.connect(copy)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        stored, approved = connection.execute(
            "SELECT comment_count, (SELECT count(*) FROM comments WHERE post_id = posts.id "
            "AND status = 'approved') FROM posts WHERE id = ?",
            (post_id,),
        ).fetchone()
    assert stored == approved  # one instant: no comment without its count, or the reverse
    assert 20 < approved <= 20 + len(written)


def test_a_backup_opens_as_a_working_site(
    app: Flask, make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    sqlite_only(app)
    post = factories.make_post(title="Restored post")
    factories.make_comments(post, 3)
    copy = tmp_path / "restored.sqlite3"
    result = app.test_cli_runner().invoke(args=["blog", "backup", str(copy)])
    assert result.exit_code == 0, result.output
    restored = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{copy}")
    page = restored.test_client().get(f"/blog/{post.slug}/")
    assert page.status_code == 200
    assert "3 Comments" in page.get_data(as_text=True)
    with restored.app_context():
        found = restored.test_client().get("/search/?q=restored").get_data(as_text=True)
        assert "Restored post" in found


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing-dir/copy.db", "does not exist"),
        (".", "is a directory"),
    ],
)
def test_backup_refuses_bad_destinations(
    app: Flask, tmp_path: Path, target: str, message: str
) -> None:
    sqlite_only(app)
    result = app.test_cli_runner().invoke(args=["blog", "backup", str(tmp_path / target)])
    assert result.exit_code != 0
    assert message in result.output


def test_backup_never_overwrites_the_live_database(app: Flask) -> None:
    sqlite_only(app)
    live = Path(str(db.engine.url.database))
    before = live.stat().st_size
    result = app.test_cli_runner().invoke(args=["blog", "backup", str(live)])
    assert result.exit_code != 0
    assert "cannot overwrite the live database" in result.output
    assert live.stat().st_size == before


def test_postgresql_is_pointed_at_pg_dump(tmp_path: Path) -> None:
    url = make_url("postgresql+psycopg://blog@127.0.0.1:5432/blog")
    with pytest.raises(BackupError, match="pg_dump"):
        backup_database(url, tmp_path / "x.db")


def test_backup_command_on_postgresql_explains_itself(app: Flask, tmp_path: Path) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL half")
    result = app.test_cli_runner().invoke(args=["blog", "backup", str(tmp_path / "x.db")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output and "pg_restore" in result.output
    assert not (tmp_path / "x.db").exists()


# --- resanitize ------------------------------------------------------------------------------


def test_resanitize_renders_stale_bodies_again_from_their_source(app: Flask) -> None:
    fresh = factories.make_post(title="Fresh", body="Already *clean*.")
    stale = factories.make_post(title="Stale", body="Text with **bold** words.")
    clean_comment = factories.make_comment(fresh, body="Fine as it is")
    stale_comment = factories.make_comment(fresh, body="Hello <b>there</b>")
    # As if stored under an older, looser allowlist.
    db.session.execute(
        update(Post).where(Post.id == stale.id).values(body_html="<p onclick=x>old</p>")
    )
    db.session.execute(
        update(Comment)
        .where(Comment.id == stale_comment.id)
        .values(body_html="<p>Hello <b>there</b><script>x</script></p>")
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["blog", "resanitize"])
    assert result.exit_code == 0, result.output
    assert "posts: 1 of 2 re-rendered; comments: 1 of 2 re-rendered" in result.output
    db.session.expire_all()
    assert db.session.get(Post, stale.id).body_html == render_markdown(  # type: ignore[union-attr]
        "Text with **bold** words."
    )
    refreshed = db.session.get(Comment, stale_comment.id)
    assert refreshed is not None and refreshed.body_html == sanitize_comment("Hello <b>there</b>")
    assert db.session.get(Comment, clean_comment.id) is not None
    found = app.test_client().get("/search/?q=bold").get_data(as_text=True)
    assert "Stale" in found  # the search index followed the new body


def test_resanitize_makes_automatic_excerpts_again_and_keeps_typed_ones(app: Flask) -> None:
    body = "## Plan\n\n| Step | Who |\n| --- | --- |\n| Isolate | IT |"
    old_rule = factories.make_post(title="Old rule", body=body)
    typed = factories.make_post(title="Typed", body=body)
    db.session.execute(
        update(Post).where(Post.id == old_rule.id).values(excerpt="Plan Step Who Isolate IT")
    )
    db.session.execute(update(Post).where(Post.id == typed.id).values(excerpt="My summary."))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["blog", "resanitize"])
    assert result.exit_code == 0, result.output
    assert "automatic excerpts: 1 made again" in result.output
    db.session.expire_all()
    excerpts = dict(db.session.execute(select(Post.title, Post.excerpt)).tuples().all())
    assert excerpts == {"Old rule": "Plan · Step · Who · Isolate · IT", "Typed": "My summary."}


def test_imported_html_bodies_are_stable_under_resanitize(app: Flask) -> None:
    imported = app.test_cli_runner().invoke(args=["blog", "import-wxr", str(FIXTURE)])
    assert imported.exit_code == 0, imported.output
    before = dict(db.session.execute(select(Post.slug, Post.body_html)).all())
    result = app.test_cli_runner().invoke(args=["blog", "resanitize"])
    assert result.exit_code == 0, result.output
    assert "posts: 0 of 13 re-rendered; comments: 0 of 13 re-rendered" in result.output
    db.session.expire_all()
    assert dict(db.session.execute(select(Post.slug, Post.body_html)).all()) == before
