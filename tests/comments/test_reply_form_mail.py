"""The reply form's mail boxes ("Notify me of follow-up comments", "Email me when my comment is
approved") are offered only when the site has a mail server; without one the server ignores
them, whoever sends them (an old page, a hand-made request, the JSON API)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from blog.extensions import db
from blog.models import Comment
from tests import factories
from tests.commenting import comment_id, post_comment, reader

BOXES = ('name="notify_replies"', 'name="notify_approved"')
TICKED = {"notify_replies": "yes", "notify_approved": "yes"}


def _stored(app: Flask, new_id: int) -> Comment:
    with app.app_context():
        comment = db.session.get(Comment, new_id)
        assert comment is not None
        db.session.expunge(comment)
        return comment


def test_without_a_mail_server_the_form_offers_no_mail_and_ticked_boxes_are_ignored(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    with app.app_context():
        slug = factories.make_post().slug
    page = app.test_client().get(f"/blog/{slug}/").get_data(as_text=True)
    assert 'id="commentform"' in page
    for box in BOXES:
        assert box not in page
    assert "by email" not in page
    comment = _stored(app, comment_id(post_comment(reader(app), slug, **TICKED)))
    assert (comment.notify_replies, comment.notify_approved) == (False, False)
    typed = {"name": "Ann", "email": "ann@example.org", "body": "Via the API"}
    api = reader(app).post(f"/api/v1/posts/{slug}/comments", json={**typed, "notify_replies": True})
    assert api.status_code == 201, api.get_json()
    assert _stored(app, api.get_json()["id"]).notify_replies is False


def test_with_a_mail_server_the_form_offers_both_boxes_and_keeps_them(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_SEND_AFTER_COMMIT=False)
    with app.app_context():
        slug = factories.make_post().slug
    page = app.test_client().get(f"/blog/{slug}/").get_data(as_text=True)
    for box in BOXES:
        assert box in page
    assert "Notify me of follow-up comments by email." in page
    comment = _stored(app, comment_id(post_comment(reader(app), slug, **TICKED)))
    assert (comment.notify_replies, comment.notify_approved) == (True, True)
