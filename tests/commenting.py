"""Helpers for the reply and moderation tests: readers with addresses of their own, posting."""

from __future__ import annotations

import itertools
import re
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blog.models import Post

_readers = itertools.count(1)


def reader(app: Flask) -> FlaskClient:
    """An anonymous browser with an IP address of its own (so flood checks keep apart)."""
    n = next(_readers)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return client


def post_comment(client: FlaskClient, post: Post | str, **fields: Any) -> TestResponse:
    """Submit the reply form; name, email and body default to values of their own."""
    n = next(_readers)
    slug = post if isinstance(post, str) else post.slug
    data = {"name": f"Reader {n}", "email": f"reader{n}@example.org", "body": f"Reply {n}."}
    data.update({k: v for k, v in fields.items() if v is not None})
    return client.post(f"/blog/{slug}/comments", data=data)


def comment_id(response: TestResponse) -> int:
    """The id in a successful submission's redirect (``.../#comment-<id>``)."""
    messages = re.findall(r'class="(?:form|field)-error"[^>]*>([^<]*)<', response.text)
    assert response.status_code == 303, (response.status_code, messages)
    found = re.search(r"#comment-(\d+)$", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def page_text(response: TestResponse) -> str:
    """Visible text with tags removed and whitespace collapsed (sidebar left out)."""
    html = response.get_data(as_text=True)
    html = re.sub(r'<aside class="sidebar".*?</aside>', " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def comments_title(response: TestResponse) -> str:
    found = re.search(r'class="comments-title">([^<]*)<', response.get_data(as_text=True))
    assert found, "no comments title"
    return found.group(1)


def field_errors(response: TestResponse) -> dict[str, str]:
    """The message beside each field of the reply form."""
    html = response.get_data(as_text=True)
    return dict(re.findall(r'class="field-error" id="(\w+)-error">([^<]*)<', html))
