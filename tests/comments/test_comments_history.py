"""The sender's history a submission is checked against, for each kind of sender: with or
without an email address, with or without an IP address (each is a statement of its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from blog.comments.submit import CommentForm, Submitter, submit_comment
from blog.extensions import db
from blog.models import Comment, CommentStatus
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, post_comment, reader


def test_without_an_email_a_duplicate_is_told_by_the_name(app: Flask) -> None:
    save_settings({"require_name_email": False, "flood_interval_seconds": 0})
    post = factories.make_post()
    comment_id(post_comment(reader(app), post, name="Ann", email="", body="Same words"))
    again = post_comment(reader(app), post, name="Ann", email="", body="Same words")
    assert again.status_code == 409
    other = post_comment(reader(app), post, name="Bob", email="", body="Same words")
    assert other.status_code == 303


def test_without_an_email_the_flood_check_goes_by_the_address(app: Flask) -> None:
    save_settings({"require_name_email": False})
    post = factories.make_post()
    browser = reader(app)
    comment_id(post_comment(browser, post, email=""))
    assert post_comment(browser, post, email="").status_code == 429
    assert post_comment(reader(app), post, email="").status_code == 303


def test_without_an_address_or_an_email_no_flood_check_applies(app: Flask) -> None:
    save_settings({"require_name_email": False})
    post = factories.make_post()
    for n in range(2):
        form = CommentForm(body=f"Reply {n}", name="Nobody")
        comment = submit_comment(post, form, Submitter(ip_address=""))
        assert comment.status == CommentStatus.PENDING


def test_without_an_address_the_flood_check_goes_by_the_email(app: Flask) -> None:
    post = factories.make_post()
    form = CommentForm(body="First", name="Ann", email="ann@example.com")
    submit_comment(post, form, Submitter(ip_address=""))
    second = CommentForm(body="Second", name="Ann", email="ann@example.com")
    try:
        submit_comment(post, second, Submitter(ip_address=""))
    except Exception as refused:  # CommentRejected
        assert getattr(refused, "status_code", None) == 429
    else:
        raise AssertionError("the second comment within the flood interval was stored")


def test_the_stored_comment_tells_its_id_without_a_query(
    app: Flask, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post()
    comment = submit_comment(
        post, CommentForm(body="Hi", name="Ann", email="a@example.com"), Submitter()
    )
    with count_queries() as counter:
        stored_id = comment.id
    assert counter.count == 0
    found = db.session.get(Comment, stored_id)
    assert found is not None and found.body_source == "Hi"
    assert comment.body_source == "Hi"  # the rest of the row still loads when asked for
