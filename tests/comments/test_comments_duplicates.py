"""The duplicate rule (SPEC 5) cannot be dodged by spacing or by the case of an email address:
the text is compared trimmed and with its whitespace normalised, the email case-insensitively."""

from __future__ import annotations

import pytest
from flask import Flask

from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, page_text, post_comment, reader

FIRST = {"name": "Ann", "email": "ann@example.com", "body": "I agree with every word."}


@pytest.fixture
def post(app: Flask) -> str:
    save_settings({"flood_interval_seconds": 0})
    slug = factories.make_post().slug
    comment_id(post_comment(reader(app), slug, **FIRST))
    return slug


@pytest.mark.parametrize(
    "body",
    [
        "I agree with every word. ",  # a trailing space
        "  I agree with every word.\n\n",  # spaces before, blank lines after
        "I agree  with every\nword.",  # inner double space and a newline
        "I\tagree with\r\n\r\nevery word.",  # a tab and Windows line ends
        "I agree with\u00a0every\u200b word.",  # a no-break space and a zero-width space
    ],
)
def test_the_same_text_spaced_differently_is_a_duplicate(app: Flask, post: str, body: str) -> None:
    again = post_comment(reader(app), post, **{**FIRST, "body": body})
    assert again.status_code == 409
    assert "Duplicate comment detected" in page_text(again)
    assert "every" in again.get_data(as_text=True).split("<textarea")[1]  # the text is kept


@pytest.mark.parametrize("email", ["ANN@EXAMPLE.COM", "Ann@Example.com", "ann@EXAMPLE.com"])
def test_the_email_is_compared_without_regard_to_case(app: Flask, post: str, email: str) -> None:
    again = post_comment(reader(app), post, name="Someone else", email=email, body=FIRST["body"])
    assert again.status_code == 409


def test_the_name_is_compared_without_regard_to_case(app: Flask, post: str) -> None:
    again = post_comment(reader(app), post, name="ANN", email="new@example.com", body=FIRST["body"])
    assert again.status_code == 409


@pytest.mark.parametrize(
    "fields",
    [
        {"body": "I agree with every word, mostly."},  # other words
        {"body": "Iagree with every word."},  # a space taken out is other text
        {"body": "I agree with every word.", "name": "Bob", "email": "bob@example.com"},
    ],
)
def test_a_genuinely_different_comment_still_passes(
    app: Flask, post: str, fields: dict[str, str]
) -> None:
    comment_id(post_comment(reader(app), post, **{**FIRST, **fields}))


def test_the_same_text_on_another_post_is_not_a_duplicate(app: Flask, post: str) -> None:
    other = factories.make_post().slug
    comment_id(post_comment(reader(app), other, **{**FIRST, "body": FIRST["body"] + " "}))
