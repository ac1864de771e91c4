"""``flask blog demo``, ``create-user`` and ``recount`` through the CLI runner."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, select, update

from blog.extensions import db
from blog.models import Comment, Post, Role, User
from tests import factories


def test_demo_serves_the_reference_page_and_is_idempotent(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["blog", "demo"])
    assert first.exit_code == 0, first.output
    counts = (
        db.session.scalar(select(func.count(Post.id))),
        db.session.scalar(select(func.count(Comment.id))),
    )
    second = runner.invoke(args=["blog", "demo"])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    assert counts == (
        db.session.scalar(select(func.count(Post.id))),
        db.session.scalar(select(func.count(Comment.id))),
    )
    assert counts[0] >= 5

    client = app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert "Kaspersky closing down its UK office" in home
    assert "2 Comments" in home
    page = client.get("/blog/kaspersky-closing-down-its-uk-office/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for expected in (
        "Cyber1Defense Communication Ltd",
        "Posted by: Evans Asare",
        "Author: Evans Asare",
        "Leave a Reply",
        "2 Comments",
    ):
        assert expected in text
    crumbs = re.search(r'<nav class="breadcrumbs.*?</nav>', html, re.S)
    assert crumbs is not None
    assert re.findall(r">([^<>]+)</(?:a|span)>", crumbs.group(0)) == [
        "Cyber1Defense Communication Ltd",
        "Blog",
        "Uncategorized",
        "Kaspersky closing down its UK office",
    ]
    # Every category page and a nested one have something to show.
    assert client.get("/category/security/awareness/").status_code == 200


def test_create_user_reads_password_from_stdin(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["blog", "create-user", "alice", "--role", "editor"], input="s3cret-pass\n"
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.username == "alice")).one()
    assert user.role == Role.EDITOR
    assert user.password_hash != "s3cret-pass"
    again = runner.invoke(args=["blog", "create-user", "alice"], input="another-pass\n")
    assert again.exit_code != 0 and "taken" in again.output
    short = runner.invoke(args=["blog", "create-user", "bob"], input="short\n")
    assert short.exit_code != 0 and "at least" in short.output


def test_recount_reports_and_repairs_drift(app: Flask) -> None:
    post = factories.make_post()
    factories.make_comment(post)
    factories.make_comment(post)
    runner = app.test_cli_runner()
    assert "exact" in runner.invoke(args=["blog", "recount"]).output
    db.session.execute(update(Post).where(Post.id == post.id).values(comment_count=7))
    db.session.commit()
    result = runner.invoke(args=["blog", "recount"])
    assert f"fixed {post.slug}: stored 7, actual 2" in result.output
    db.session.expire_all()
    assert db.session.get(Post, post.id).comment_count == 2


def test_a_new_comment_does_not_count_as_an_edit_of_the_post(app: Flask) -> None:
    post = factories.make_post()
    db.session.expire_all()
    before = db.session.get(Post, post.id).updated_at
    factories.make_comment(post)
    db.session.expire_all()
    after = db.session.get(Post, post.id)
    assert after.comment_count == 1
    assert after.updated_at == before
